"""The Twilio Voice webhook: scripted calls, signed as Twilio signs them, every TwiML checked."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from app import create_app
from skill.channels.outbound import OutboundSMS
from skill.channels.voice import speakable
from skill.content import sms
from skill.followup import queue
from skill.safety.vignettes import answer_for, load_cases
from skill.service import get_triage
from skill.stores import conversation_key
from tests.common import PUBLIC_VIGNETTES, TWILIO_TOKEN, message_text, twilio_id
from tests.texting import form, post, said

NUMBERS = {  # callers' numbers by locale (fictional ranges)
    "en-GB": "+447700900123",
    "en-US": "+12025550123",
    "en-IE": "+353855550123",
    "en-AU": "+61255550123",
    "en-NZ": "+6495550123",
}
CLINIC = "+441632960000"
ACCOUNT = "AC" + "0" * 32
SENDER = "+441632960999"
ALERTS = "+441632960111"  # the clinic's alert number (ESCALATION_SMS_TO)
VERBS = {"Say", "Gather", "Redirect", "Hangup", "Dial"}
READ_OUT = re.compile(r"[*#/&\[\]{}<>_|~^@\\]|https?:|www\.")
CASES = load_cases(PUBLIC_VIGNETTES)


def spoken(script, key: str, locale: str = "en-GB") -> str:
    """A message of the content as a call says it."""
    return speakable(message_text(script, key, locale))


class Call:
    """A caller on the line: posts what Twilio would post, signed, and follows the TwiML."""

    def __init__(self, script, send, base, *, sid=None, locale="en-GB", voice=None):
        self.script, self.send, self.base = script, send, base
        self.sid = sid or twilio_id("CA", "call")
        self.number = NUMBERS[locale]
        profile = script.locales[locale]
        self.language, self.voice = profile.voice_language, voice or profile.voice_name
        self.root, self.last = None, None

    def answer(self):
        """The call answered: the greeting and the open question."""
        return self.post("/twilio/voice", {})

    def start(self):
        """Answered, and a key pressed at the open question: straight to the questions."""
        self.answer()
        return self.press("1")

    def say(self, text, confidence=0.92):
        return self.post(self.action, {"SpeechResult": text, "Confidence": str(confidence)})

    def press(self, digits):
        return self.post(self.action, {"Digits": digits})

    def silence(self):
        """Nothing heard: Twilio falls through the Gather to the Redirect."""
        redirect = self.root.find("Redirect")
        assert redirect is not None, "no Redirect after the Gather: the line would go dead"
        return self.post(redirect.text, {})

    def hang_up(self):
        status, body = self.signed("/twilio/voice/status", {"CallStatus": "completed"})
        assert status == 200 and ET.fromstring(body).tag == "Response"

    def post(self, url, fields, *, check=True):
        status, body = self.signed(url, fields)
        self.last = (url, fields, body)
        assert status == 200, body
        self.root = check_twiml(body, self.language, self.voice) if check else ET.fromstring(body)
        return self.root

    def signed(self, url, fields):
        url = urljoin(self.base, url)
        params = {
            "CallSid": self.sid,
            "AccountSid": ACCOUNT,
            "From": self.number,
            "To": CLINIC,
            "CallStatus": "in-progress",
            **fields,
        }
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        return self.send(url, params, {"X-Twilio-Signature": signature})

    @property
    def action(self):
        return self.root.find("Gather").get("action")

    @property
    def waiting(self):
        """The question id (or "end:<outcome>") the last TwiML's Gather comes back with."""
        query = parse_qs(urlsplit(self.action).query)
        return query["q"][0] if "q" in query else "end:" + query["end"][0]

    def said(self):
        return " ".join(say.text for say in self.root.iter("Say"))


def check_twiml(body, language, voice):
    """Parse a TwiML reply and check what a caller would hear; return the root."""
    root = ET.fromstring(body)
    assert root.tag == "Response"
    verbs = [child.tag for child in root]
    assert set(verbs) <= VERBS, verbs
    assert verbs and verbs[-1] in ("Redirect", "Hangup"), f"dead air after {verbs}"
    assert "Say" in verbs or "Gather" in verbs
    for say in root.iter("Say"):
        text = say.text or ""
        assert text.strip() and len(text) < 4096
        assert not READ_OUT.search(text), text
        assert all(32 <= ord(ch) < 127 for ch in text), text  # no emoji or odd symbols
        assert say.attrib == {"voice": voice, "language": language}
    for gather in root.iter("Gather"):
        assert gather.get("input") == "speech dtmf" and gather.get("method") == "POST"
        assert gather.get("speechTimeout") == "auto" and gather.get("language") == language
        assert [child.tag for child in gather] == ["Say"]
        action = urlsplit(gather.get("action"))
        assert action.path == "/twilio/voice" and "step" in parse_qs(action.query)
        assert gather.get("numDigits") == "1" or gather.get("timeout")
    for redirect in root.iter("Redirect"):
        assert redirect.get("method") == "POST" and "noinput=1" in redirect.text
        assert verbs.index("Redirect") == verbs.index("Gather") + 1
    return root


def client_sender(client):
    def send(url, params, headers):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.post(path, data=params, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return send


def http_sender(url, params, headers):
    response = requests.post(url, data=params, headers=headers, timeout=10)
    return response.status_code, response.text


@pytest.fixture
def call(script, client):
    return Call(script, client_sender(client), "http://localhost")


def app_with(settings, script, **changes):
    app = create_app(dataclasses.replace(settings, **changes), script)
    app.config["TESTING"] = True
    return app


def keys_for(question, answer):
    """The keypad version of a spoken answer."""
    if question.type == "yes_no":
        return {"yes": "1", "no": "2"}[answer]
    if question.type == "choice":
        return next(str(i) for i, o in enumerate(question.options, 1) if o.label == answer)
    return answer


def run_case(call, script, case, by):
    """Answer every question from the case's facts; return the outcome the call ends with."""
    call.answer()
    if by == "speech":
        call.say(case["opening"])  # the runner's own words at the open question
    else:
        call.press("1")
    for _ in range(len(script.questions) + 1):
        if call.waiting.startswith("end:"):
            return script.outcomes[call.waiting[4:]]
        question = script.questions[call.waiting]
        answer = answer_for(question, case["facts"])
        if by == "speech":
            call.say(answer)
        else:
            call.press(keys_for(question, answer))
    raise AssertionError("the call never reached advice")


def test_call_opens_with_what_this_is_the_emergency_number_and_an_open_question(call, script):
    root = call.answer()
    assert [child.tag for child in root] == ["Say", "Gather", "Redirect"]
    intro = root.find("Say").text
    assert spoken(script, "voice_intro") in intro and "9 9 9" in intro
    gather = root.find("Gather")
    describe = script.fill(script.messages["voice_describe"], "en-GB")
    assert gather.find("Say").text == speakable(describe)
    assert "q" not in parse_qs(urlsplit(call.action).query) and gather.get("numDigits") == "1"
    call.press("1")  # a key instead of words: the questions start, nothing counted as missed
    gather = call.root.find("Gather")
    assert call.waiting == "fall" and gather.get("hints") == "yes, no, not sure"
    assert spoken(script, "voice_yes_no") in gather.find("Say").text
    assert "did not catch" not in call.said()


def test_a_caller_who_describes_the_pain_first_is_heard(call, script):
    call.answer()
    call.say("my outer hip aches when I lie on it, I'm 45 and it came on gradually")
    assert call.waiting == "fall"  # red flags are still asked about, by the script
    for key in ("2", "1", "2", "2", "2"):  # no fall, can stand, no fever, nerves, circulation
        call.press(key)
    assert call.waiting == "history"  # the age was taken from the description
    other = Call(script, call.send, call.base, sid=twilio_id("CA", "0002"))
    other.answer()
    other.say("I came down hard on the ice and now I can't get up")
    fracture = script.outcomes["fracture_or_dislocation"]
    assert other.waiting == f"end:{fracture.id}"
    assert speakable(script.fill(fracture.short, "en-GB")) in other.said()


def test_silence_or_unreadable_words_at_the_open_question_start_the_questions(call, script):
    for nothing in (call.silence, lambda: call.say("purple monkey dishwasher")):
        call.answer()
        nothing()
        assert call.waiting == "fall" and "did not catch" not in call.said()
        call.hang_up()
    call.answer()
    call.silence()
    call.silence()  # the first question's own silences count from here
    call.silence()
    assert call.waiting == "fall" and "did not catch that" in call.said()


def test_locale_and_voice_come_from_the_callers_country(script, client):
    call = Call(script, client_sender(client), "http://localhost", locale="en-US")
    call.answer()
    assert "call 9 1 1" in call.said()  # check_twiml saw en-US and Polly.Joanna-Neural


def test_voice_name_setting_overrides_the_locales_voice(script, settings):
    app = app_with(settings, script, voice_name="Polly.Brian-Neural")
    call = Call(
        script, client_sender(app.test_client()), "http://localhost", voice="Polly.Brian-Neural"
    )
    root = call.answer()
    assert {say.get("voice") for say in root.iter("Say")} == {"Polly.Brian-Neural"}


def test_speech_and_keypad_answers_both_move_the_call_on(call, script):
    call.start()
    call.say("no it didn't")
    assert call.waiting == "bear_weight"
    call.press("1")
    assert call.waiting == "fever"
    for _ in range(3):  # fever, nerves, circulation: no
        call.press("2")
    assert call.waiting == "age"
    gather = call.root.find("Gather")
    assert gather.get("numDigits") is None and gather.get("finishOnKey") == "#"
    call.press("42")
    assert call.waiting == "history"
    call.say("no", 0.95)
    call.say("no")
    call.say("no")
    assert call.waiting == "location" and "outer hip, press 1" in call.said()
    call.press("5")  # buttock
    assert call.waiting == "back_tingling"


def test_silence_reprompts_twice_then_gives_the_safe_ending_and_hangs_up(call, script):
    call.start()
    for _ in range(2):
        call.silence()
        assert call.waiting == "fall" and spoken(script, "not_understood") in call.said()
    root = call.silence()
    safe = script.outcomes[script.safe_ending]
    assert call.waiting == f"end:{safe.id}"
    assert speakable(script.fill(safe.short, "en-GB")) in call.said()
    assert spoken(script, "safe_ending") in call.said() and "9 9 9" in call.said()
    assert [child.tag for child in root][-2:] == ["Say", "Hangup"]


def test_garbled_speech_and_meaningless_keys_get_the_question_again(call, script):
    call.start()
    call.say("purple monkey dishwasher")
    assert call.waiting == "fall" and spoken(script, "not_understood") in call.said()
    call.press("*")
    assert call.waiting == "fall" and spoken(script, "voice_yes_no") in call.said()
    call.press("2")
    assert call.waiting == "bear_weight"


def test_low_confidence_answer_that_would_lower_the_advice_is_read_back(call, script):
    heard, confirm = spoken(script, "voice_heard"), spoken(script, "voice_confirm")
    call.start()
    call.say("no", confidence=0.31)
    assert call.waiting == "fall" and "confirm" in call.action
    assert f"{heard} no." in call.said() and confirm in call.said()
    call.press("1")
    assert call.waiting == "bear_weight"
    call.say("yes I can", confidence=0.2)  # the safer answer here is no
    assert f"{heard} yes." in call.said()
    call.say("no")
    assert call.waiting == "bear_weight" and spoken(script, "voice_try_again") in call.said()
    call.say("yes I can", confidence=0.2)
    call.silence()  # nothing said to the read-back: the question again
    assert call.waiting == "bear_weight" and "confirm" not in call.action


def test_facts_said_with_an_answer_are_kept_after_the_read_back_and_when_unreadable(call):
    call.start()
    call.say("no, I'm 45 and it's my outer hip", confidence=0.3)
    assert "I heard no. Is that right?" in call.said()
    call.say("yes")
    for key in ("1", "2", "2", "2"):  # can stand, no fever, nerves, circulation
        call.press(key)
    assert call.waiting == "history"  # the age was kept through the read-back
    other = Call(call.script, call.send, call.base, sid=twilio_id("CA", "0003"))
    other.start()
    other.say("purple, I'm 45 and it's my outer hip")  # no answer to the fall question
    assert other.waiting == "fall" and "did not catch that" in other.said()
    for key in ("2", "1", "2", "2", "2"):
        other.press(key)
    assert other.waiting == "history"  # the age was kept from the unreadable answer


def test_low_confidence_answer_that_raises_the_advice_is_taken_at_once(call, script):
    call.start()
    call.say("yes", confidence=0.2)
    assert call.waiting == "fall_weight"
    call.say("no I can't", confidence=0.1)
    outcome = call.waiting
    assert outcome == "end:fracture_or_dislocation"
    assert spoken(script, "voice_emergency") in call.said()


def test_a_retried_step_gets_the_same_twiml_and_moves_the_call_once(call):
    call.start()
    call.press("2")
    url, fields, first = call.last
    call.post(url, fields)  # Twilio retries the same request
    assert call.last[2] == first and call.waiting == "bear_weight"
    call.press("1")
    assert call.waiting == "fever"  # had the retry counted, "2" would have ended the check


def test_hanging_up_mid_way_ends_the_conversation(call, script):
    call.start()
    call.press("2")
    call.press("1")
    assert call.waiting == "fever"
    call.hang_up()
    call.press("2")  # anything later on this CallSid starts afresh
    assert call.waiting == "fall" and spoken(script, "voice_intro") in call.said()
    assert call.root.find("Gather").get("action").endswith("q=fall")


def test_hanging_up_closes_the_call_and_keeps_its_audit_record(call, app):
    call.start()
    call.press("2")
    call.press("1")
    call.hang_up()
    call.hang_up()  # Twilio may send the callback again
    triage = get_triage(app)
    key = conversation_key(triage.settings.state_secret, "voice", call.sid)
    [record] = triage.store.audits(key, triage.clock())
    assert [answer[:2] for answer in record["answers"]] == [["fall", "no"], ["bear_weight", "yes"]]
    assert record["questions"][-1] == "fever" and record["outcome"] is None


def test_forged_or_altered_requests_get_403_and_change_nothing(call, client):
    call.start()
    params = {"CallSid": call.sid, "From": call.number, "Digits": "1"}
    url = "http://localhost" + call.action
    good = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    forged = RequestValidator("not-the-token").compute_signature(url, params)
    path = call.action
    for headers, data in [
        ({"X-Twilio-Signature": forged}, params),
        ({}, params),
        ({"X-Twilio-Signature": good}, {**params, "Digits": "2"}),  # changed after signing
    ]:
        assert client.post(path, data=data, headers=headers).status_code == 403
    closing = {"CallSid": call.sid, "CallStatus": "completed"}
    status = client.post(
        "/twilio/voice/status", data=closing, headers={"X-Twilio-Signature": forged}
    )
    assert status.status_code == 403
    call.press("2")
    assert call.waiting == "bear_weight"  # the conversation neither moved nor was forgotten


def signed_post(client, path, params):
    url = "http://localhost" + path
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_missing_callsid_or_a_bad_step_answers_400(client):
    sound = {"CallSid": twilio_id("CA", "9"), "AccountSid": ACCOUNT}
    assert signed_post(client, "/twilio/voice", {"AccountSid": ACCOUNT}).status_code == 400
    closing = {"CallStatus": "completed", "AccountSid": ACCOUNT}
    assert signed_post(client, "/twilio/voice/status", closing).status_code == 400
    for step in ("two", "\u00b2", "\u0663", "-1", "1234567", ""):  # ² and Arabic-Indic 3
        assert signed_post(client, f"/twilio/voice?step={quote(step)}", sound).status_code == 400


@pytest.mark.parametrize(
    "field, value",
    [
        ("CallSid", "CA9"),
        ("CallSid", twilio_id("CA", "9") + "T"),
        ("CallSid", twilio_id("SM", "9")),
        ("AccountSid", "AC0001"),
        ("AccountSid", ""),
    ],
)
def test_call_ids_not_in_twilios_form_are_refused(client, field, value):
    params = {"CallSid": twilio_id("CA", "9"), "AccountSid": ACCOUNT, field: value}
    for path in ("/twilio/voice", "/twilio/voice?step=1&q=fall", "/twilio/voice/status"):
        response = signed_post(client, path, {**params, "CallStatus": "completed"})
        assert response.status_code == 400 and field in response.text


def test_emergency_advice_says_hang_up_and_call_and_never_dials(call, script):
    call.start()
    call.say("yes")
    call.say("no")  # cannot stand after a fall
    root = call.root
    outcome = script.outcomes[call.waiting[4:]]
    assert outcome.level == "emergency_ambulance"
    assert spoken(script, "voice_emergency") in call.said() and "9 9 9" in call.said()
    assert root.find("Dial") is None and [c.tag for c in root][-2:] == ["Say", "Hangup"]
    assert root[-2].text == spoken(script, "voice_emergency")


def test_advice_can_be_heard_again_or_in_more_detail(call, script):
    outcome = run_case(call, script, CASES[6], "keypad")  # P07, outer hip
    short = speakable(script.fill(outcome.short, "en-GB"))
    assert short in call.said() and spoken(script, "voice_repeat") in call.said()
    assert "press 2" not in call.said()  # no clinic offer below consultation_24
    for again in (lambda: call.press("1"), lambda: call.say("repeat"), lambda: call.press("2")):
        again()
        assert short in call.said() and call.waiting == f"end:{outcome.id}"
    call.press("3")
    assert speakable(script.fill(outcome.more, "en-GB")) in call.said()


def test_within_24_hours_advice_offers_the_clinic_when_one_is_set(script, settings):
    app = app_with(settings, script, clinic_phone=CLINIC)
    call = Call(script, client_sender(app.test_client()), "http://localhost")
    outcome = run_case(call, script, CASES[2], "keypad")  # P03, stress fracture
    assert outcome.level == "consultation_24" and "press 2" in call.said()
    root = call.press("2")
    assert [c.tag for c in root] == ["Say", "Dial", "Say", "Hangup"]
    assert root.find("Dial").text == CLINIC


def next_step(call, query: str) -> str:
    """The action URL of the call's next step, with another query than the one we gave."""
    step = parse_qs(urlsplit(call.action).query)["step"][0]
    return f"/twilio/voice?step={step}&{query}"


def test_a_confirm_for_another_question_does_not_answer_the_waiting_one(call):
    call.start()
    call.press("2")
    call.press("1")
    assert call.waiting == "fever"
    # Signed, but for another question's read-back: the caller's yes was never about a fever.
    call.post(next_step(call, "q=fall&confirm=no"), {"Digits": "1"})
    assert call.waiting == "fever"
    call.press("2")
    assert call.waiting != "fever"  # the caller's own answer still moves the call on


@pytest.mark.parametrize("stands", ["question", "emergency"])
def test_a_menu_url_dials_the_clinic_only_when_the_stored_advice_offers_it(
    script, settings, stands
):
    app = app_with(settings, script, clinic_phone=CLINIC)
    call = Call(script, client_sender(app.test_client()), "http://localhost")
    call.start()
    if stands == "emergency":
        call.say("yes")
        call.say("no")  # cannot stand after a fall
        assert script.outcomes[call.waiting[4:]].level == "emergency_ambulance"
    else:
        call.press("2")
    waited = call.waiting
    offered = next(o for o in script.outcomes.values() if o.level == "consultation_24")
    root = call.post(next_step(call, f"end={offered.id}"), {"Digits": "2"})
    assert root.find("Dial") is None and call.waiting == waited


def test_an_internal_fault_answers_200_with_the_emergency_number(call, settings):
    call.start()
    db = sqlite3.connect(settings.state_url.removeprefix("sqlite:///"))
    db.execute("DROP TABLE conversations")
    db.close()
    root = call.press("1")
    said = call.said()
    assert "call 9 9 9" in said and "try again" in said and root[-1].tag == "Hangup"


def test_every_public_vignette_by_speech_over_http(script, live_server):
    wrong = []
    for case in CASES:  # one server for all: each call has its own CallSid
        locale = case.get("locale", "en-GB")
        sid = twilio_id("CA", case["id"])
        call = Call(script, http_sender, live_server, sid=sid, locale=locale)
        outcome = run_case(call, script, case, "speech")
        if outcome.level not in case["accept"]:
            wrong.append((case["id"], outcome.id))
        assert speakable(script.fill(outcome.short, locale)) in call.said()
    assert not wrong


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_public_vignette_by_keypad(script, client, case):
    locale = case.get("locale", "en-GB")
    call = Call(script, client_sender(client), "http://localhost", locale=locale)
    outcome = run_case(call, script, case, "keypad")
    assert outcome.level in case["accept"], (case["id"], outcome.id)
    assert speakable(script.fill(outcome.short, locale)) in call.said()


def test_all_advice_is_speakable_in_every_locale(script):
    for code in script.locales:
        for outcome in script.outcomes.values():
            for text in (outcome.short, outcome.more):
                spoken = speakable(script.fill(text, code))
                assert len(spoken) < 4096 and not READ_OUT.search(spoken), (code, outcome.id)


def texting(settings, script, twilio_api, **changes):
    """An app that sends texts through the local Twilio API stand-in."""
    configured = dataclasses.replace(
        settings, twilio_account_sid=ACCOUNT, twilio_from=SENDER, **changes
    )
    outbound = OutboundSMS(configured, http_client=twilio_api.http_client(), backoff=0)
    return create_app(configured, script, outbound=outbound), outbound


def test_with_voice_sms_summary_the_caller_is_texted_the_advice_once(settings, script, twilio_api):
    app, outbound = texting(
        settings, script, twilio_api, voice_sms_summary=True, escalation_sms_to=ALERTS
    )
    call = Call(script, client_sender(app.test_client()), "http://localhost", locale="en-US")
    outcome = run_case(call, script, CASES[2], "speech")  # P03, within 24 hours
    call.press("1")  # hearing it again sends nothing more
    call.post(*call.last[:2])  # nor does a retried step
    outbound.flush(20)
    texts = {m["To"]: m["Body"] for m in twilio_api.messages}
    assert len(twilio_api.messages) == 2 and set(texts) == {NUMBERS["en-US"], ALERTS}
    summary = texts[NUMBERS["en-US"]]
    assert script.fill(outcome.short, "en-US") in summary and "911" in summary
    assert sms.is_gsm7(summary) and sms.segments(summary) <= 2
    assert NUMBERS["en-US"] not in texts[ALERTS]  # the clinic gets no number


def test_without_voice_sms_summary_nothing_is_texted(settings, script, twilio_api):
    app, outbound = texting(settings, script, twilio_api)
    call = Call(script, client_sender(app.test_client()), "http://localhost")
    run_case(call, script, CASES[6], "keypad")  # P07, self care
    outbound.flush(20)
    assert twilio_api.attempts == []


def test_a_caller_presses_4_for_a_check_in_texted_to_their_number(
    checkin_settings, script, twilio_api
):
    """The offer after self-care advice on the keypad; the check-in goes by SMS to the
    caller's number and its answer comes back by SMS (docs/follow-up.md)."""
    configured = checkin_settings
    app = create_app(configured, script, outbound=OutboundSMS(configured, backoff=0))
    consumer = queue.consumer(app.extensions["checkins"].queue, in_process=True)
    consumer.start()
    try:
        client = app.test_client()
        call = Call(script, client_sender(client), "http://localhost")
        outcome = run_case(call, script, CASES[6], "keypad")  # P07, self care
        assert outcome.level == "self_care"
        offer = script.fill(script.messages["voice_checkin_offer"], "en-GB", "1 second")
        assert speakable(offer) in call.said()
        call.press("4")
        booked = script.fill(script.messages["voice_checkin_booked"], "en-GB", "1 second")
        assert speakable(booked) in call.said()
        assert twilio_api.wait(lambda: twilio_api.messages, 15)
        [sent] = twilio_api.messages
        assert (sent["To"], sent["From"]) == (NUMBERS["en-GB"], configured.twilio_from)
        assert sent["Body"] == message_text(script, "checkin_ask")
        reply = said(post(client, form(sender=NUMBERS["en-GB"], body="better")))
        assert reply == message_text(script, "checkin_better")
    finally:
        consumer.stop()


def test_a_call_without_texts_offers_no_check_in(client, script):
    call = Call(script, client_sender(client), "http://localhost")
    run_case(call, script, CASES[6], "keypad")
    offer = script.fill(script.messages["voice_checkin_offer"], "en-GB", "2 days")
    assert speakable(offer) not in call.said()
