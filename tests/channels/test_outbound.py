"""Texts sent through Twilio's REST API, against a local stand-in for the API."""

import logging
import runpy
import threading
from dataclasses import replace
from types import SimpleNamespace

from app import create_app
from skill.channels.outbound import OutboundSMS, clinic_alert
from tests.common import ROOT

ACCOUNT = "AC" + "0" * 32
CLINIC = "+447700900001"
RUNNER = "+447700900123"


def outbound(settings, twilio_api, clinic=CLINIC):
    configured = replace(
        settings,
        twilio_account_sid=ACCOUNT,
        twilio_from="+447700900999",
        escalation_sms_to=clinic,
    )
    return OutboundSMS(configured, http_client=twilio_api.http_client(), backoff=0)


def test_a_text_reaches_the_api_with_account_credentials(settings, twilio_api):
    sms = outbound(settings, twilio_api)
    sms.send_later(RUNNER, "Your summary")
    assert twilio_api.wait(lambda: twilio_api.messages)
    (sent,) = twilio_api.messages
    assert (sent["To"], sent["From"], sent["Body"]) == (RUNNER, "+447700900999", "Your summary")
    assert sent["account"] == ACCOUNT
    assert sent["auth"] == f"{ACCOUNT}:{settings.twilio_auth_token}"


def test_send_later_returns_while_the_api_is_still_answering(settings, twilio_api):
    twilio_api.release.clear()  # the API holds every request until released
    sms = outbound(settings, twilio_api)
    sms.send_later(RUNNER, "held")
    assert twilio_api.wait(lambda: twilio_api.attempts)
    assert twilio_api.messages == []
    twilio_api.release.set()
    assert twilio_api.wait(lambda: twilio_api.messages)


def test_a_server_error_is_retried_and_the_text_sent_once(settings, twilio_api):
    twilio_api.failures = [500]
    sms = outbound(settings, twilio_api)
    sms.send_later(RUNNER, "retry me")
    sms.flush(20)
    assert len(twilio_api.attempts) == 2
    assert [m["Body"] for m in twilio_api.messages] == ["retry me"]


def test_after_three_failures_it_gives_up_quietly(settings, twilio_api, caplog):
    twilio_api.failures = [500, 503, 500, 500]
    sms = outbound(settings, twilio_api)
    with caplog.at_level(logging.INFO):
        sms.send_later(RUNNER, "secret words")
        sms.flush(20)
    assert len(twilio_api.attempts) == 3
    assert twilio_api.messages == []
    assert "gave up" in caplog.text
    assert RUNNER not in caplog.text and "secret words" not in caplog.text


def test_a_refused_text_is_not_retried(settings, twilio_api):
    twilio_api.failures = [400]
    sms = outbound(settings, twilio_api)
    sms.send_later("not-a-number", "x")
    sms.flush(20)
    assert len(twilio_api.attempts) == 1


def test_clinic_alert_only_for_urgent_advice_and_without_message_text(settings, twilio_api, script):
    sms = outbound(settings, twilio_api)
    by_level = {o.level: o for o in script.outcomes.values()}
    assert not sms.alert_clinic(script.name, by_level["self_care"], "sms:abc", 0)
    assert not sms.alert_clinic(script.name, by_level["consultation"], "sms:abc", 0)
    urgent = by_level["emergency"]
    assert sms.alert_clinic(script.name, urgent, "sms:abc123", 1_800_000_000)
    sms.flush(20)
    (sent,) = twilio_api.messages
    assert sent["To"] == CLINIC
    assert sent["Body"] == clinic_alert(script.name, urgent, "sms:abc123", 1_800_000_000)
    assert urgent.level in sent["Body"] and urgent.title in sent["Body"]
    assert "sms:abc123" in sent["Body"] and "2027-01-15 08:00 UTC" in sent["Body"]


def test_no_clinic_number_means_no_alert(settings, twilio_api, script):
    sms = outbound(settings, twilio_api, clinic="")
    urgent = next(o for o in script.outcomes.values() if o.level == "emergency_ambulance")
    assert not sms.alert_clinic(script.name, urgent, "sms:abc", 0)


def test_not_configured_without_account_and_sender(settings):
    assert OutboundSMS.from_settings(settings) is None
    full = replace(settings, twilio_account_sid=ACCOUNT, twilio_from="+447700900999")
    assert isinstance(OutboundSMS.from_settings(full), OutboundSMS)


def test_a_stopping_gunicorn_worker_waits_for_texts_still_being_sent(
    settings, script, twilio_api, monkeypatch, tmp_path
):
    """gunicorn.conf.py's worker_exit hook, given a worker whose app has a text in flight."""
    # Loading the config sets the metrics directory when unset: keep that out of other tests.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    namespace = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    sms = outbound(settings, twilio_api)
    app = create_app(settings, script, outbound=sms)
    twilio_api.release.clear()
    sms.send_later(RUNNER, "in flight")
    threading.Timer(0.2, twilio_api.release.set).start()
    namespace["worker_exit"](None, SimpleNamespace(wsgi=app))
    assert [m["Body"] for m in twilio_api.messages] == ["in flight"]
