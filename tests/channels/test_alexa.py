"""The Alexa endpoint over HTTP: signed requests checked against a test PKI, then the
conversation a runner has with the skill, request by request."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from skill.channels import alexa, alexa_model
from skill.channels.alexa_verify import CertificateCache
from skill.triage.engine import Reply
from tests.alexa_pki import (
    EXPIRED_URL,
    GOOD_URL,
    UNTRUSTED_URL,
    WRONG_SAN_URL,
    CountingFetch,
    make_pki,
    signed_headers,
)
from tests.common import ALEXA_SKILL_ID
from tests.drivers import resolve

USER_ID = "amzn1.ask.account.RUNNER-PRIVATE-ID"
# From launch to the age question (no fall, weight bearing, no red flags), then to the
# location question (aged 52, no worrying history, pain or night pain).
TO_AGE = ("AMAZON.NoIntent", "AMAZON.YesIntent", *["AMAZON.NoIntent"] * 3)
TO_LOCATION = (*TO_AGE, ("NumberIntent", "52"), *["AMAZON.NoIntent"] * 3)


@pytest.fixture(scope="module")
def pki():
    return make_pki(datetime.now(UTC))


@pytest.fixture
def fetch(pki):
    return CountingFetch(pki["served"])


@pytest.fixture
def client(app, pki, fetch):
    """The app trusting only the test root, with Amazon's certificate host played by fetch."""
    alexa.use_certificates(app, CertificateCache(fetch=fetch, roots=[pki["root"]]))
    return app.test_client()


class Echo:
    """One device in one Alexa session: builds, signs and posts requests as Alexa does."""

    def __init__(self, client, pki, session="amzn1.echo-api.session.test-1", locale="en-GB"):
        self.client, self.pki, self.session, self.locale = client, pki, session, locale
        self.count = 0

    def body(self, request: dict, *, timestamp=None, app_id=ALEXA_SKILL_ID) -> bytes:
        self.count += 1
        sent = timestamp or datetime.now(UTC)
        application = {"applicationId": app_id}
        payload = {
            "version": "1.0",
            "session": {
                "new": self.count == 1,
                "sessionId": self.session,
                "application": application,
                "user": {"userId": USER_ID},
            },
            "context": {"System": {"application": application, "user": {"userId": USER_ID}}},
            "request": {
                "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                "locale": self.locale,
                "timestamp": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
                **request,
            },
        }
        return json.dumps(payload).encode()

    def post(self, body: bytes, *, url=GOOD_URL, signed_body: bytes | None = None):
        headers = signed_headers(self.pki, signed_body or body, url)
        return self.client.post(
            "/alexa", data=body, headers=headers, content_type="application/json"
        )

    def send(self, request: dict) -> dict:
        response = self.post(self.body(request))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def launch(self) -> dict:
        return self.send({"type": "LaunchRequest"})

    def start(self, description: str = "hip hurts") -> dict:
        """Launch, and answer the open question with a description that tells nothing."""
        self.launch()
        return self.say(("FreeTextIntent", description))

    def intent(self, name: str, slots: dict | None = None) -> dict:
        intent = {"name": name, "confirmationStatus": "NONE"}
        if slots:
            intent["slots"] = slots
        return self.send({"type": "IntentRequest", "intent": intent})

    def say(self, step) -> dict:
        """An intent name, or (NumberIntent, value), or (FreeTextIntent, text)."""
        if isinstance(step, str):
            return self.intent(step)
        name, value = step
        slot = {"NumberIntent": "number", "FreeTextIntent": "query"}[name]
        return self.intent(name, {slot: {"name": slot, "value": value}})

    def walk(self, steps) -> dict:
        out = self.start()
        for step in steps:
            out = self.say(step)
        return out


@pytest.fixture
def echo(client, pki):
    return Echo(client, pki)


def speech(out: dict, part: str = "outputSpeech") -> str:
    """The words spoken, parsed from the SSML (which must be well-formed)."""
    holder = out["response"] if part == "outputSpeech" else out["response"][part]
    root = ET.fromstring(holder["outputSpeech"]["ssml"])
    assert root.tag == "speak"
    return " ".join("".join(root.itertext()).split())


def waiting(script, out: dict) -> str | None:
    """The question the spoken reply asks, by its voice wording."""
    said = speech(out)
    asked = [q.id for q in script.questions.values() if q.voice in said]
    return asked[-1] if asked else None


def fill(script, key: str, locale: str = "en-GB") -> str:
    return script.fill(script.messages[key], locale)


# ---------------------------------------------------------------- verification


def test_signed_launch_passes_and_fetches_the_chain_once(echo, fetch, script):
    first = echo.launch()
    assert waiting(script, echo.intent("AMAZON.NoIntent")) == script.start
    assert fill(script, "describe") in speech(first)
    assert fetch.calls == {GOOD_URL: 1}


def _forged(echo: Echo, case: str):
    """A request that must be refused, for each way verification can fail."""
    no = {"type": "IntentRequest", "intent": {"name": "AMAZON.NoIntent"}}
    body = echo.body(no)
    urls = {
        "wrong_san": WRONG_SAN_URL,
        "expired_leaf": EXPIRED_URL,
        "untrusted_root": UNTRUSTED_URL,
        "http": GOOD_URL.replace("https:", "http:"),
        "other_host": GOOD_URL.replace("s3.amazonaws.com", "s3.evil.example"),
        "wrong_case_path": GOOD_URL.replace("/echo.api/", "/EcHo.aPi/"),
        "dot_dot_path": "https://s3.amazonaws.com/echo.api/../x",
        "port_8443": GOOD_URL.replace("s3.amazonaws.com", "s3.amazonaws.com:8443"),
    }
    if case in urls:
        return echo.post(body, url=urls[case])
    if case == "tampered_body":
        yes = echo.body({"type": "IntentRequest", "intent": {"name": "AMAZON.YesIntent"}})
        return echo.post(body, signed_body=yes)
    if case == "unsigned":
        return echo.client.post("/alexa", data=body, content_type="application/json")
    if case == "old_timestamp":
        old = datetime.now(UTC) - timedelta(seconds=200)
        return echo.post(echo.body(no, timestamp=old))
    assert case == "wrong_skill_id"
    return echo.post(echo.body(no, app_id="amzn1.ask.skill.someone-else"))


FORGERIES = [
    "tampered_body",
    "wrong_san",
    "expired_leaf",
    "untrusted_root",
    "http",
    "other_host",
    "wrong_case_path",
    "dot_dot_path",
    "port_8443",
    "old_timestamp",
    "wrong_skill_id",
    "unsigned",
]


@pytest.mark.parametrize("case", FORGERIES)
def test_forged_request_is_refused_and_changes_nothing(echo, script, case):
    assert waiting(script, echo.start()) == script.start
    response = _forged(echo, case)
    assert response.status_code == 400
    # The refused "no" moved nothing: the runner is still on the first question.
    assert waiting(script, echo.intent("AMAZON.HelpIntent")) == script.start


def test_the_same_signed_request_sent_three_times_moves_the_conversation_once(echo, script):
    assert waiting(script, echo.start()) == script.start
    no = echo.body({"type": "IntentRequest", "intent": {"name": "AMAZON.NoIntent"}})
    replies = [echo.post(no) for _ in range(3)]
    assert all(reply.status_code == 200 for reply in replies)
    assert replies[0].data == replies[1].data == replies[2].data
    second = waiting(script, replies[0].get_json())
    assert second != script.start
    # Three moves would have answered "no" to two more questions.
    assert waiting(script, echo.intent("AMAZON.HelpIntent")) == second


def test_a_request_without_a_request_id_is_400(echo):
    payload = json.loads(echo.body({"type": "LaunchRequest"}))
    del payload["request"]["requestId"]
    assert echo.post(json.dumps(payload).encode()).status_code == 400


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_malformed_body_is_400(echo, body):
    assert echo.post(body).status_code == 400


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"a": ' * 10_000])
def test_deeply_nested_json_is_400_signed_or_not(echo, body):
    assert echo.post(body).status_code == 400
    unsigned = echo.client.post("/alexa", data=body, content_type="application/json")
    assert unsigned.status_code == 400


def test_nesting_in_strings_does_not_count(echo, script):
    # Alexa sends what the runner said in slots: brackets in it are text, not depth.
    said = '[{"\\' * 40
    out = echo.intent("AMAZON.FallbackIntent", {"query": {"name": "query", "value": said}})
    assert out["version"] == "1.0"


def test_request_without_a_session_is_400(echo):
    payload = json.loads(echo.body({"type": "LaunchRequest"}))
    del payload["session"]
    assert echo.post(json.dumps(payload).encode()).status_code == 400


@pytest.mark.parametrize(
    "request_part",
    [
        {"type": "LaunchRequest", "locale": ["en-GB"]},
        {"type": "IntentRequest", "intent": "AMAZON.YesIntent"},
        {"type": "IntentRequest", "intent": {"name": ["x"], "slots": []}},
        {"type": "IntentRequest", "intent": {"name": "ChoiceIntent", "slots": {"c": 7}}},
        {"type": ["LaunchRequest"]},
        {
            "type": "IntentRequest",
            "intent": {
                "name": "ChoiceIntent",
                "slots": {
                    "choice": {
                        "value": 3,
                        "resolutions": {
                            "resolutionsPerAuthority": [
                                {"status": {"code": "ER_SUCCESS_MATCH"}, "values": [None]},
                                "x",
                            ]
                        },
                    }
                },
            },
        },
    ],
)
def test_odd_shapes_get_an_answer_not_a_crash(echo, request_part):
    echo.launch()
    assert echo.post(echo.body(request_part)).status_code in (200, 400)


def test_other_request_types_get_an_empty_response(echo):
    out = echo.send({"type": "Display.ElementSelected", "token": "x"})
    assert out == {"version": "1.0", "response": {}}


def test_local_trial_mode_warns_at_start_and_still_checks_skill_and_clock(
    settings, script, pki, caplog
):
    app = create_app(dataclasses.replace(settings, alexa_verify=False), script)
    assert "ALEXA_VERIFY=0" in caplog.text
    echo = Echo(app.test_client(), pki)
    launch = echo.body({"type": "LaunchRequest"})
    assert echo.client.post("/alexa", data=launch).status_code == 200  # unsigned is fine here
    other = echo.body({"type": "LaunchRequest"}, app_id="amzn1.ask.skill.someone-else")
    assert echo.client.post("/alexa", data=other).status_code == 400
    old = echo.body({"type": "LaunchRequest"}, timestamp=datetime.now(UTC) - timedelta(hours=1))
    assert echo.client.post("/alexa", data=old).status_code == 400


# ---------------------------------------------------------------- the conversation


def test_launch_welcomes_warns_and_asks_what_is_wrong(echo, script):
    out = echo.launch()
    said = speech(out)
    # Alexa's own intro: a speaker cannot hang up, as a phone call's intro tells the caller to.
    assert fill(script, "say_intro") in said and fill(script, "voice_intro") not in said
    assert script.locales["en-GB"].emergency in said and "hang up" not in said
    assert waiting(script, out) is None and speech(out).endswith(fill(script, "describe"))
    assert speech(out, "reprompt") == fill(script, "describe")
    assert out["response"]["shouldEndSession"] is False
    assert "keypad" not in said and "press" not in said  # Alexa has no keypad
    out = echo.intent("AMAZON.YesIntent")  # a description that tells nothing: the questions
    assert waiting(script, out) == script.start


def test_a_description_said_first_is_read_as_the_opening(echo, client, pki, script):
    echo.launch()
    out = echo.say(("FreeTextIntent", "outer hip aches when i lie on it and i'm 45"))
    assert waiting(script, out) == script.start  # red flags are still asked about
    for answer in TO_AGE:
        out = echo.say(answer)
    assert waiting(script, out) == "history"  # the age was already told
    urgent = Echo(client, pki, session="amzn1.echo-api.session.test-3")
    urgent.launch()
    out = urgent.say(("FreeTextIntent", "fell on the ice and can't stand up"))
    fracture = script.outcomes["fracture_or_dislocation"]
    assert script.fill(fracture.short, "en-GB") in out["response"]["card"]["content"]


@pytest.mark.parametrize(
    "said,outcome",
    [
        ("by the way I've got a fever", "joint_infection"),
        ("also both my legs have gone numb", "cauda_equina"),
        ("oh and I can't put any weight on it", "cannot_bear_weight"),
        ("no but my legs are both numb", "cauda_equina"),
    ],
)
def test_a_symptom_said_mid_way_reaches_the_engine_through_the_model(echo, script, said, outcome):
    out = echo.walk(["AMAZON.NoIntent"])
    assert waiting(script, out) == "bear_weight"
    intent = resolve(script, said)  # the intent the checked-in model gives these words
    assert intent["name"] != alexa_model.FALLBACK_INTENT, intent
    out = echo.intent(intent["name"], intent.get("slots"))
    expected = script.outcomes[outcome]
    assert script.fill(expected.short, "en-GB") in out["response"]["card"]["content"]


def test_a_subject_alexa_drops_is_put_back_so_someone_elses_red_flag_stays_theirs(echo, script):
    echo.launch()
    said = "my wife has had a fever all week, and I've got pain on the outside of my hip"
    intent = resolve(script, said)  # "wife has had a fever ..." alone would be the runner's
    assert intent["name"] == "LeadMyIntent"
    assert not intent["slots"]["query"]["value"].startswith("my")
    out = echo.intent(intent["name"], intent["slots"])
    assert waiting(script, out) == script.start  # asked about, not sent to A&E at once
    assert "card" not in out["response"]


def test_a_hedge_reaches_the_engine_in_its_own_words_and_is_asked_again(echo, script):
    out = echo.walk(["AMAZON.NoIntent", "AMAZON.YesIntent"])
    assert waiting(script, out) == "fever"
    heard = {"name": "hedge", "value": "doubt it"}
    out = echo.intent("HedgeIntent", {"hedge": heard})
    assert fill(script, "hedged") in speech(out) and waiting(script, out) == "fever"
    assert script.questions["fever"].why.split(".")[0] in speech(out)


def test_answers_in_every_intent_lead_to_an_outcome_with_a_card(echo, script):
    out = echo.walk(TO_AGE)
    assert waiting(script, out) == "age"
    out = echo.say(("NumberIntent", "52"))
    assert waiting(script, out) == "history"
    out = echo.say("UnsureIntent")  # unsure counts as the safer answer
    history = script.questions["history"]
    outcome = script.outcomes[history.edges[history.unsure]]
    assert script.fill(outcome.short, "en-GB") in speech(out)
    response = out["response"]
    assert response["shouldEndSession"] is True and "reprompt" not in response
    assert response["card"]["type"] == "Simple"
    assert response["card"]["title"] == script.name
    assert script.fill(outcome.short, "en-GB") in response["card"]["content"]


def test_choice_answered_by_a_synonym_or_by_its_label(echo, client, pki, script):
    location = script.questions["location"]
    out = echo.walk(TO_LOCATION)
    assert waiting(script, out) == "location"
    for option in location.options:
        assert f"{option.label}." in speech(out)  # the options, without numbers to press
    outer = location.options[0]
    resolved = {
        "name": "choice",
        "value": outer.words[0],
        "resolutions": {
            "resolutionsPerAuthority": [
                {
                    "authority": "amzn1.er-authority.echo-sdk.test.CHOICE_OPTION",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": outer.label, "id": outer.id}}],
                }
            ]
        },
    }
    assert waiting(script, echo.intent("ChoiceIntent", {"choice": resolved})) == outer.next
    other = Echo(client, pki, session="amzn1.echo-api.session.test-2")
    other.walk(TO_LOCATION)
    buttock = next(o for o in location.options if o.id == "buttock")
    out = other.intent("ChoiceIntent", {"choice": {"name": "choice", "value": buttock.label}})
    assert waiting(script, out) == buttock.next


def test_help_says_what_to_do_and_repeats_the_question(echo, script):
    echo.start()
    out = echo.intent("AMAZON.HelpIntent")
    assert fill(script, "voice_help") in speech(out)
    assert waiting(script, out) == script.start
    assert "reprompt" in out["response"] and out["response"]["shouldEndSession"] is False


@pytest.mark.parametrize("name", ["AMAZON.StopIntent", "AMAZON.CancelIntent"])
def test_stop_and_cancel_say_goodbye_end_and_forget(echo, script, name):
    echo.walk(["AMAZON.NoIntent"])
    out = echo.intent(name)
    assert speech(out) == fill(script, "goodbye")
    assert out["response"]["shouldEndSession"] is True
    # Forgotten: the same session starts again from the welcome.
    assert fill(script, "say_intro") in speech(echo.intent("AMAZON.YesIntent"))


def test_fallback_asks_again_with_the_options_and_how_to_tell_something_new(echo, script):
    echo.walk(TO_LOCATION)
    out = echo.intent("AMAZON.FallbackIntent")
    said = speech(out)
    assert fill(script, "not_understood") in said and fill(script, "alexa_hint") in said
    assert said.index(fill(script, "alexa_hint")) < said.index(script.questions["location"].voice)
    assert waiting(script, out) == "location"
    assert all(o.label in said for o in script.questions["location"].options)
    assert fill(script, "alexa_hint") not in speech(out, "reprompt")


def test_navigate_home_starts_again(echo, script):
    out = echo.walk(["AMAZON.NoIntent", "AMAZON.YesIntent"])
    assert waiting(script, out) == "fever"
    out = echo.intent("AMAZON.NavigateHomeIntent")
    assert fill(script, "restarted") in speech(out)
    assert waiting(script, out) == script.start


def test_session_ended_answers_empty_and_closes_the_conversation(echo, script):
    echo.walk(["AMAZON.NoIntent"])
    out = echo.send({"type": "SessionEndedRequest", "reason": "USER_INITIATED"})
    assert out == {"version": "1.0", "response": {}}
    assert fill(script, "say_intro") in speech(echo.intent("AMAZON.NoIntent"))


@pytest.mark.parametrize(
    "heard,outcome",
    [("can't stand up", "cannot_bear_weight"), ("got a fever", "joint_infection")],
)
def test_red_flag_said_through_the_catch_all_at_a_later_step(echo, script, heard, outcome):
    out = echo.walk(TO_AGE)
    assert waiting(script, out) == "age"
    out = echo.say(("FreeTextIntent", heard))
    expected = script.outcomes[outcome]
    assert script.fill(expected.short, "en-GB") in out["response"]["card"]["content"]
    assert out["response"]["shouldEndSession"] is True


def test_ssml_escapes_what_xml_reserves(echo, script):
    out = echo.walk([*TO_AGE, ("FreeTextIntent", "can't stand up")])
    ssml = out["response"]["outputSpeech"]["ssml"]
    assert "A&amp;E" in ssml and "A&E" in speech(out)


@pytest.mark.parametrize(
    "locale,number", [("en-US", "call 911"), ("en-IN", "call 112 or your local emergency number")]
)
def test_emergency_number_follows_the_device_locale(client, pki, script, locale, number):
    assert number in speech(Echo(client, pki, locale=locale).launch())


def test_the_user_id_is_never_stored(echo, settings):
    echo.walk(["AMAZON.NoIntent"])
    path = settings.state_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, state FROM conversations").fetchall()
    assert len(rows) == 1
    assert not any(USER_ID in cell or echo.session in cell for row in rows for cell in row)


# ---------------------------------------------------------------- what Alexa accepts


def test_every_question_and_outcome_fits_alexa_limits(script):
    for locale in script.locales:
        replies = [
            Reply(script, locale, notices=("intro",), question=q) for q in script.questions.values()
        ] + [
            Reply(script, locale, outcome=o, detail=detail, ended=True)
            for o in script.outcomes.values()
            for detail in (False, True)
        ]
        for reply in replies:
            out = alexa.respond(script, reply)
            assert len(json.dumps(out).encode()) < 24 * 1024
            ssml = out["response"]["outputSpeech"]["ssml"]
            assert len(ssml) < 8000
            ET.fromstring(ssml)


def test_symbols_and_list_marks_are_not_spoken():
    said = alexa.ssml("Rest it \U0001f691 *now* #1\n1. Ice <10 min> & rest\n- Call 999")
    assert said == {
        "type": "SSML",
        "ssml": "<speak>Rest it now 1. Ice &lt;10 min&gt; &amp; rest. Call 999.</speak>",
    }
