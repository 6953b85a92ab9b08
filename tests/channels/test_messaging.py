"""The SMS and WhatsApp webhook, driven with requests signed the way Twilio signs them."""

import logging
import re
import shutil
import sqlite3
import threading
from dataclasses import replace
from urllib.parse import urlencode

import pytest
import requests
from werkzeug.datastructures import MultiDict

from app import create_app
from skill import config, content
from skill.content import sms
from skill.safety.vignettes import answer_for, load_cases
from skill.stores import conversation_key
from skill.triage import render
from tests.common import CLINIC_ALERTS, PUBLIC_VIGNETTES, TWILIO_TOKEN, message_text, twilio_id
from tests.texting import (
    LOCAL,
    PATH,
    RUNNER,
    advised,
    asked,
    form,
    post,
    post_http,
    question_texts,
    said,
    signature,
)

MAX_CHARS = 1600  # Twilio's limit for one message


def text(client, body, sender=RUNNER, **extra) -> str | None:
    return said(post(client, form(sender, body, **extra)))


def first_question(script, locale="en-GB"):
    return render.question_text(script, script.questions[script.start], locale, voice=False)


# The webhook and its replies


def test_a_first_text_gets_the_intro_and_first_question_in_sms_limits(client, script):
    reply = text(client, "hello")
    assert script.locales["en-GB"].emergency in reply
    assert reply.endswith(first_question(script))
    assert sms.is_gsm7(reply) and sms.segments(reply) <= 2


def test_help_says_what_the_service_is_and_the_emergency_number(client, script):
    text(client, "hello")
    reply = text(client, "HELP")
    assert script.fill(script.messages["help"], "en-GB") in reply
    assert "999" in reply and reply.endswith(first_question(script))


@pytest.mark.parametrize(
    "word",
    ["STOP", "Stop", "unsubscribe", "CANCEL", "stopall", "forget me please", "delete my data"],
)
def test_stop_answers_nothing_and_forgets_the_conversation(client, script, word):
    text(client, "hello")
    answered = text(client, "no")
    assert first_question(script) not in answered
    assert text(client, word) is None
    assert text(client, "back") == text_of_new_conversation(script)


def text_of_new_conversation(script) -> str:
    return "\n".join([script.fill(script.messages["intro"], "en-GB"), first_question(script)])


@pytest.mark.parametrize("word", ["START", "unstop"])
def test_start_after_stop_begins_again(client, script, word):
    text(client, "hello")
    text(client, "no")
    text(client, "STOP")
    assert text(client, word) == text_of_new_conversation(script)


def test_restart_mid_conversation_begins_again(client, script):
    text(client, "hello")
    text(client, "no")
    assert text(client, "restart").endswith(text_of_new_conversation(script))


# Who is writing: SMS, WhatsApp and locales


@pytest.mark.parametrize(
    "sender, locale",
    [
        ("+447700900123", "en-GB"),
        ("+12025550123", "en-US"),
        ("+353851234567", "en-IE"),
        ("+61412345678", "en-AU"),
        ("+64211234567", "en-NZ"),
        ("+33612345678", "en"),
        ("whatsapp:+12025550123", "en-US"),
        ("whatsapp:+353851234567", "en-IE"),
        ("whatsapp:US.ABC123", "en"),
        ("whatsapp:+33612345678", "en"),
    ],
)
def test_the_country_code_picks_the_locale_else_the_default(settings, script, sender, locale):
    client = create_app(replace(settings, default_locale="en"), script).test_client()
    reply = text(client, "hello", sender=sender)
    assert script.fill(script.messages["intro"], locale) in reply
    assert reply.endswith(first_question(script, locale))


def test_whatsapp_business_id_is_a_conversation_of_its_own(client, script):
    text(client, "hello", sender="whatsapp:US.ABC123")
    text(client, "no", sender="whatsapp:US.ABC123")
    # The same number over SMS is another conversation.
    assert text(client, "back", sender="US.ABC123") == text_of_new_conversation(script)
    assert text(client, "back", sender="whatsapp:US.ABC123").endswith(first_question(script))


def test_whatsapp_outcome_title_is_bold(client, script):
    opening = load_cases(PUBLIC_VIGNETTES)[0]["opening"]
    reply = text(client, opening, sender="whatsapp:+447700900123")
    outcome = next(o for o in script.outcomes.values() if f"*{o.title}*\n" in reply)
    assert outcome.level == "emergency_ambulance" and len(reply) <= MAX_CHARS
    assert f"*{outcome.title}*\n{script.fill(outcome.short, 'en-GB')}" in reply
    assert reply.startswith(script.fill(script.messages["intro"], "en-GB"))
    assert "*" not in text(client, opening, sender=RUNNER)


# Signatures and proxies


def bad_signatures():
    fields = form(body="yes", sid=twilio_id("SM", "forged"))
    good = signature(LOCAL, fields)
    yield "forged", fields, {"X-Twilio-Signature": signature(LOCAL, fields, token="guess")}
    yield "missing", fields, {}
    yield "not ascii", fields, {"X-Twilio-Signature": "\u00e9" * len(good)}
    yield "stale", {**fields, "Body": "no"}, {"X-Twilio-Signature": good}
    yield "extra field", {**fields, "Added": "1"}, {"X-Twilio-Signature": good}


@pytest.mark.parametrize("case", list(bad_signatures()), ids=lambda c: c[0])
def test_unsigned_requests_are_refused_and_change_nothing(client, script, case):
    _, fields, headers = case
    text(client, "hello")
    assert client.post(PATH, data=fields, headers=headers).status_code == 403
    # The refused answer was not taken, and its MessageSid was not used up.
    reply = text(client, "back", sid=twilio_id("SM", "forged"))
    assert script.messages["back_none"] in reply


def test_refused_over_real_http_too(live_server):
    fields = form()
    response = requests.post(
        live_server + PATH,
        data=fields,
        timeout=10,
        headers={"X-Twilio-Signature": signature(LOCAL, fields)},
    )
    assert response.status_code == 403
    assert said(post_http(live_server, fields)) is not None


def test_without_a_token_every_request_is_refused_with_advice_in_the_log(settings, script, caplog):
    client = create_app(replace(settings, twilio_auth_token=""), script).test_client()
    with caplog.at_level(logging.ERROR):
        assert post(client, form()).status_code == 403
    assert "TWILIO_AUTH_TOKEN" in caplog.text


def test_validation_off_takes_unsigned_requests_and_warns_at_start(settings, script, caplog):
    with caplog.at_level(logging.WARNING):
        assert not config.from_env({"TWILIO_VALIDATE": "0"}).twilio_validate
    assert "TWILIO_VALIDATE=0" in caplog.text
    client = create_app(replace(settings, twilio_validate=False), script).test_client()
    assert said(client.post(PATH, data=form())) is not None


@pytest.mark.parametrize("public", ["", "https://hips.example.org"])
def test_a_refused_signature_logs_the_url_it_was_checked_over(settings, script, caplog, public):
    client = create_app(replace(settings, public_base_url=public), script).test_client()
    fields = form(body="my hip hurts")
    sent = signature("https://elsewhere.example" + PATH, fields)
    with caplog.at_level(logging.WARNING):
        assert post(client, fields, url="https://elsewhere.example" + PATH).status_code == 403
    checked = (public or "http://localhost") + PATH
    assert f"for {checked}," in caplog.text
    assert ("PUBLIC_BASE_URL" if public else "Host header") in caplog.text
    for secret in (TWILIO_TOKEN, sent, fields["From"], fields["Body"]):
        assert secret not in caplog.text


def test_public_base_url_is_the_url_that_was_signed(settings, script):
    public = "https://hips.example.org"
    client = create_app(replace(settings, public_base_url=public), script).test_client()
    assert post(client, form(), url=public + PATH).status_code == 200
    assert post(client, form(), url=LOCAL).status_code == 403


@pytest.mark.parametrize("trusted, status", [(True, 200), (False, 403)])
def test_forwarded_headers_count_only_behind_a_trusted_proxy(settings, script, trusted, status):
    client = create_app(replace(settings, trust_proxy=trusted), script).test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hips.example.org"}
    response = post(client, form(), url="https://hips.example.org" + PATH, headers=forwarded)
    assert response.status_code == status


@pytest.mark.parametrize(
    "proto, host, signed, status",
    [
        ("https", "hips.example.org", "https://hips.example.org", 200),
        ("https", "evil.example, hips.example.org", "https://hips.example.org", 200),
        ("https", "evil.example, hips.example.org", "https://evil.example", 403),
        ("https", "evil.example,hips.example.org", "https://evil.example", 403),
        ("http, https", "hips.example.org", "https://hips.example.org", 200),
        ("http, https", "hips.example.org", "http://hips.example.org", 403),
    ],
)
def test_behind_a_trusted_proxy_the_last_forwarded_element_is_the_one_checked(
    settings, script, proto, host, signed, status
):
    """A proxy that appends puts its own value after the client's: the last one is ours."""
    client = create_app(replace(settings, trust_proxy=True), script).test_client()
    headers = {"X-Forwarded-Proto": proto, "X-Forwarded-Host": host}
    response = post(client, form(), url=signed + PATH, headers=headers)
    assert response.status_code == status


# Retries and duplicates


def test_a_captured_message_with_its_id_bent_is_refused(client, script):
    """Twilio signs names and values joined with no separator: a character moved from the
    next name into MessageSid's value still signs the same, as a new delivery id."""
    text(client, "hello")
    captured = form(body="no")  # the answer to the first question
    del captured["NumMedia"]  # so that "To" follows "MessageSid" in what is signed
    signed = {"X-Twilio-Signature": signature(LOCAL, captured)}
    first = said(client.post(PATH, data=captured, headers=signed))
    bent = {name: value for name, value in captured.items() if name != "To"}
    bent.update(MessageSid=captured["MessageSid"] + "T", o=captured["To"])
    assert signature(LOCAL, bent) == signed["X-Twilio-Signature"]
    assert client.post(PATH, data=bent, headers=signed).status_code == 400
    # Had it been taken, its "no" would have answered the second question too.
    assert asked(script, text(client, "help")) == asked(script, first)


@pytest.mark.parametrize(
    "field, value",
    [
        ("MessageSid", twilio_id("SM", "x")[:-1]),
        ("MessageSid", twilio_id("SM", "x") + "0"),
        ("MessageSid", twilio_id("CA", "x")),
        ("MessageSid", "SM" + "g" * 32),
        ("MessageSid", f" {twilio_id('SM', 'x')}"),
        ("AccountSid", "AC0001"),
        ("AccountSid", ""),
    ],
)
def test_ids_not_in_twilios_form_are_refused_and_change_nothing(client, script, field, value):
    text(client, "hello")
    response = post(client, form(body="no", **{field: value}))
    assert response.status_code == 400 and field in response.text
    assert asked(script, text(client, "help")).id == script.start


def test_a_repeated_message_sid_gets_the_same_reply_and_advances_once(client, script):
    text(client, "hello")
    repeated = form(body="purple", sid=twilio_id("SM", "repeat"))
    first = post(client, repeated).data
    assert script.messages["not_understood"] in first.decode()
    assert post(client, repeated).data == first
    assert post(client, repeated).data == first
    # One unreadable answer so far: a second one is asked again, a third ends safely.
    assert text(client, "orange").endswith(first_question(script))
    assert script.messages["safe_ending"] in text(client, "green")


def test_two_deliveries_at_once_to_two_instances_advance_once(live_server, settings, script):
    other = create_app(settings, script).test_client()  # a second instance on the same store
    post_http(live_server, form(body="hello"))
    repeated = form(body="purple", sid=twilio_id("SM", "twice"))
    start, replies = threading.Barrier(2), {}

    def deliver(name, send):
        start.wait()
        replies[name] = send()

    sends = {
        "http": lambda: post_http(live_server, repeated).content,
        "other": lambda: post(other, repeated).data,
    }
    threads = [threading.Thread(target=deliver, args=item) for item in sends.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert replies["http"] == replies["other"]
    assert script.messages["not_understood"] in replies["http"].decode()
    assert said(post_http(live_server, form(body="orange"))).endswith(first_question(script))
    assert script.messages["safe_ending"] in said(post_http(live_server, form(body="green")))


# Bad input and faults


@pytest.mark.parametrize("missing", ["From", "MessageSid"])
def test_a_message_without_sender_or_id_is_a_bad_request(client, missing):
    fields = form()
    fields[missing] = ""
    response = post(client, fields)
    assert response.status_code == 400 and missing in response.text
    del fields[missing]
    assert post(client, fields).status_code == 400


def test_a_picture_with_no_words_asks_for_words_and_changes_nothing(client, script):
    media = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/media/ME1"}
    ask = script.fill(script.messages["media_only"], "en-GB")
    assert text(client, "", **media) == ask
    assert text(client, "back") == text_of_new_conversation(script)  # nothing had started
    assert text(client, " ", **media) == ask
    assert script.messages["back_none"] in text(client, "back")  # still on the first question


@pytest.mark.parametrize(
    "body",
    [
        "no " * 700,
        "ye\x00s\x07\x1b[2J",
        "\U0001f44d\U0001f3c3\u200d\u2640\ufe0f",
        "Me duele la cadera cuando corro",
        "<Response><Hangup/></Response> & ]]>",
        "\ufffd\ufffd",
    ],
    ids=["2100 chars", "control chars", "emoji", "spanish", "markup", "replacement chars"],
)
def test_odd_messages_get_a_helpful_reply_in_sms_limits(client, script, body):
    text(client, "hello")
    reply = text(client, body)
    assert any(reply.endswith(question) for question in question_texts(script))
    assert sms.is_gsm7(reply) and sms.segments(reply) <= 2


def test_invalid_utf8_gets_a_helpful_reply(client, script):
    text(client, "hello")
    # Flask keeps bytes that are not UTF-8 percent-encoded in the text, and checks that text.
    fields = form(body="%FF%FEyes")
    raw = urlencode({k: v for k, v in fields.items() if k != "Body"}) + "&Body=%FF%FEyes"
    headers = {"X-Twilio-Signature": signature(LOCAL, fields)}
    response = client.post(
        PATH, data=raw, headers=headers, content_type="application/x-www-form-urlencoded"
    )
    reply = said(response)
    assert reply and sms.is_gsm7(reply)


def test_a_body_that_is_not_utf8_is_refused_and_changes_nothing(client, script):
    text(client, "hello")
    fields = form(body="yes", sid=twilio_id("SM", "not-utf8"))
    raw = urlencode(fields).encode().replace(b"Body=yes", b"Body=\xff\xfeyes")
    headers = {"X-Twilio-Signature": signature(LOCAL, fields)}
    response = client.post(
        PATH, data=raw, headers=headers, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (400, 403)  # read as no fields at all: never a 500
    # The answer was not taken, and its MessageSid was not used up.
    assert script.messages["back_none"] in text(client, "back", sid=twilio_id("SM", "not-utf8"))


def test_repeated_and_escaped_fields_are_read_as_twilio_signed_them(client, script):
    text(client, "hello")
    # A field sent twice is signed with both values; '+' and %-escapes are spaces and UTF-8.
    fields = form(body="I’m 41 + my hip")
    raw = urlencode(fields).replace("NumMedia=0", "NumMedia=0&Extra=1&Extra=2")
    signed = signature(LOCAL, MultiDict([*fields.items(), ("Extra", "1"), ("Extra", "2")]))
    response = client.post(
        PATH,
        data=raw,
        headers={"X-Twilio-Signature": signed},
        content_type="application/x-www-form-urlencoded",
    )
    assert said(response)


def test_unknown_extra_fields_are_accepted(client, script):
    extra = {"ProfileName": "Sam", "WaId": "447700900123", "SomethingNew": "x", "ButtonText": ""}
    assert text(client, "hello", **extra) == text_of_new_conversation(script)


def test_an_internal_fault_answers_200_with_the_emergency_number(client, settings, script, caplog):
    text(client, "hello")
    with sqlite3.connect(settings.state_url.removeprefix("sqlite:///")) as db:
        db.execute("DROP TABLE conversations")
    with caplog.at_level(logging.INFO):
        reply = text(client, "my hip hurts", sid=twilio_id("SM", "fault"))
    faults = {message_text(script, key) for key in ("fallback", "store_down")}
    assert "999" in reply and reply in faults
    assert twilio_id("SM", "fault") in caplog.text
    assert RUNNER not in caplog.text and "my hip hurts" not in caplog.text


# Escalation to the clinic


@pytest.fixture
def alerting(texting_settings, script, twilio_texts):
    """An app that alerts the clinic, through the local stand-in for Twilio's API."""
    return create_app(texting_settings, script, outbound=twilio_texts)


def test_an_emergency_alerts_the_clinic_once_without_waiting_for_it(
    alerting, twilio_api, twilio_texts, script, settings
):
    client = alerting.test_client()
    twilio_api.release.clear()  # the API holds the alert until the reply has gone
    opening = load_cases(PUBLIC_VIGNETTES)[0]["opening"]
    urgent = form(body=opening, sid=twilio_id("SM", "urgent"))
    reply = said(post(client, urgent))
    assert "999" in reply
    assert twilio_api.wait(lambda: twilio_api.attempts)
    assert twilio_api.messages == []  # the reply came back while the alert was still held
    twilio_api.release.set()
    post(client, urgent)  # Twilio's retry
    text(client, "more")
    twilio_texts.flush(20)
    (alert,) = twilio_api.messages
    outcome = script.outcomes[load_cases(PUBLIC_VIGNETTES)[0]["condition"]]
    assert alert["To"] == CLINIC_ALERTS
    assert alert["Body"].startswith(
        f"{script.name} alert: {outcome.level} advice ({outcome.title})"
    )
    assert conversation_key(settings.state_secret, "sms", RUNNER) in alert["Body"]
    assert opening not in alert["Body"] and RUNNER not in alert["Body"]


def test_one_runner_alerts_the_clinic_once_an_hour_unless_the_advice_goes_higher(
    alerting, twilio_api, twilio_texts, script
):
    client = alerting.test_client()
    cannot_walk = "my hip hurts and I can't put weight on it"
    for _ in range(5):  # the same runner starting again and again
        said(post(client, form(body="restart")))
        said(post(client, form(body=cannot_walk)))
    said(post(client, form(body="restart")))
    said(post(client, form(body=load_cases(PUBLIC_VIGNETTES)[0]["opening"])))  # now a fracture
    said(post(client, form(sender="+447700900777", body=cannot_walk)))  # another runner
    twilio_texts.flush(20)
    levels = sorted(m["Body"].split(" alert: ")[1].split(" advice")[0] for m in twilio_api.messages)
    weight = script.outcomes["cannot_bear_weight"].level
    ambulance = script.outcomes[load_cases(PUBLIC_VIGNETTES)[0]["condition"]].level
    assert levels == sorted([weight, weight, ambulance])  # one each, and one for going higher


def test_a_failed_alert_is_retried(alerting, twilio_api, twilio_texts):
    twilio_api.failures = [500]
    client = alerting.test_client()
    said(post(client, form(body=load_cases(PUBLIC_VIGNETTES)[1]["opening"])))
    twilio_texts.flush(20)
    assert len(twilio_api.attempts) == 2 and len(twilio_api.messages) == 1


def test_self_care_advice_sends_no_alert(alerting, twilio_api, twilio_texts, script):
    client = alerting.test_client()
    case = next(c for c in load_cases(PUBLIC_VIGNETTES) if c["accept"] == ["self_care"])
    assert run_case(script, lambda f: post(client, f), case, "sms").level == "self_care"
    twilio_texts.flush(20)
    assert twilio_api.attempts == []


# Every public vignette, end to end over real HTTP


def sender_for(script, locale, n, channel):
    number = f"{script.locales[locale].dial_codes[0]}7700900{n:03d}"
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def run_case(script, send, case, channel, n=0):
    """Hold the case's conversation; check every reply's limits; return the outcome given."""
    locale = case.get("locale", "en-GB")
    sender = sender_for(script, locale, n, channel)
    message = case["opening"]
    for _ in range(len(script.questions) + 1):
        reply = said(send(form(sender, message, ProfileName="Runner", WaId=sender[-12:])))
        assert len(reply) <= MAX_CHARS
        if channel == "sms":
            assert sms.is_gsm7(reply), case["id"]
        given = advised(script, reply, locale)
        if given:
            return given
        if channel == "sms":
            assert sms.segments(reply) <= 2, (case["id"], reply)
        message = answer_for(asked(script, reply, locale), case["facts"])
    raise AssertionError(f"{case['id']}: no outcome")


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_every_public_vignette_reaches_an_accepted_level(live_server, script, channel):
    wrong = {}
    for n, case in enumerate(load_cases(PUBLIC_VIGNETTES)):
        outcome = run_case(script, lambda f: post_http(live_server, f), case, channel, n)
        if outcome.level not in case["accept"]:
            wrong[case["id"]] = outcome.level
    assert wrong == {}


@pytest.mark.parametrize(
    "codes, fault",
    [('["+44", "+1"]', "'+1' is also in en-GB"), ('["44"]', "'44' is not a code like")],
)
def test_dial_codes_are_checked_when_content_loads(tmp_path, codes, fault):
    shutil.copytree(content.DEFAULT_DIR, tmp_path, dirs_exist_ok=True)
    locales = tmp_path / "locales.yaml"
    locales.write_text(locales.read_text().replace('dial_codes: ["+44"]', f"dial_codes: {codes}"))
    with pytest.raises(content.ContentError, match=re.escape(fault)) as err:
        content.load(tmp_path)
    assert err.value.file == "content/locales.yaml"
