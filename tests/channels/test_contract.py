"""The channel contract (skill.channels.base, skill.service) as every channel meets it: a fault
still answers with the emergency number, urgent advice alerts the clinic, a call or session
that ends closes its conversation and keeps the audit record, one rule picks the locale."""

from __future__ import annotations

import re

import pytest

from app import create_app
from skill.channels.outbound import ALERT_FROM
from skill.safety.vignettes import load_cases
from skill.service import get_triage
from skill.stores import conversation_key
from tests.common import CLINIC_ALERTS, PUBLIC_VIGNETTES
from tests.drivers import CHANNELS, Alexa

URGENT = load_cases(PUBLIC_VIGNETTES)[0]  # an opening that gets emergency advice at once


class BrokenStore:
    """A store that fails inside its transaction with an error the service does not expect
    (not StoreUnavailable), as a bug in the engine, the content or a renderer would."""

    def transact(self, key, change, **kwargs):
        raise LookupError("broken on purpose")

    def audits(self, key, now):
        return []

    def purge(self, now):
        return 0

    def ping(self):
        return True

    def hit(self, key, now, window):
        return 1


def _faults(client, channel: str) -> float:
    pattern = rf'^triage_faults_total\{{channel="{channel}"\}} (\S+)$'
    found = re.search(pattern, client.get("/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_a_fault_in_the_conversation_answers_200_with_the_emergency_number(
    settings, script, channel, caplog
):
    app = create_app(settings, script, store=BrokenStore())
    channel.prepare(app)
    client = app.test_client()
    talk = channel.conversation(script, "en-GB", 1)
    before = _faults(client, channel.name)
    response = talk.call(URGENT["opening"]).to_client(client)  # a launch, on Alexa
    said = channel.said(response)  # checks the platform's own format, and a 200
    assert f"call {script.locales['en-GB'].emergency}" in said
    assert _faults(client, channel.name) == before + 1
    assert "LookupError" in caplog.text and URGENT["opening"] not in caplog.text


def test_alexa_alerts_the_clinic_on_urgent_advice(
    texting_settings, script, twilio_api, twilio_texts
):
    app = create_app(texting_settings, script, outbound=twilio_texts)
    alexa = Alexa()
    alexa.prepare(app)
    client = app.test_client()
    talk = alexa.conversation(script, "en-GB", 1)
    talk.call("").to_client(client)  # the launch
    _, outcome = talk.read(talk.call(URGENT["opening"]).to_client(client))
    assert outcome.level >= ALERT_FROM
    twilio_texts.flush(20)
    (alert,) = twilio_api.messages
    assert alert["To"] == CLINIC_ALERTS
    assert f"{outcome.level} advice ({outcome.title})" in alert["Body"]
    assert conversation_key(texting_settings.state_secret, "alexa", talk.session) in alert["Body"]


def test_an_alexa_session_ended_by_its_advice_is_closed_and_keeps_its_audit(app, client, script):
    alexa = Alexa()
    alexa.prepare(app)
    talk = alexa.conversation(script, "en-GB", 1)
    talk.call("").to_client(client)
    _, outcome = talk.read(talk.call(URGENT["opening"]).to_client(client))
    triage = get_triage(app)
    key = conversation_key(triage.settings.state_secret, "alexa", talk.session)
    [record] = triage.store.audits(key, triage.clock())
    assert record["outcome"] == outcome.id
    # Closed: anything more on that session starts a new check.
    again = talk.call("hello").to_client(client)
    assert script.fill(script.messages["say_intro"], "en-GB") in alexa.said(again)


@pytest.mark.parametrize(
    "given,number,locale",
    [
        ("en-US", "", "en-US"),  # the platform's own locale wins
        ("de-DE", "+447700900123", "en"),  # one the content lacks: the generic wording
        (None, "+12025550123", "en-US"),  # else the dial code
        (None, "+33612345678", "en-GB"),  # else DEFAULT_LOCALE
    ],
)
def test_one_locale_rule(app, given, number, locale):
    assert get_triage(app).locale(number=number, platform=given) == locale
