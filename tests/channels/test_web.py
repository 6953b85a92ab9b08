"""The web chat's JSON calls over HTTP: retries, origins, limits, buttons, privacy, the alert."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from app import create_app
from skill.channels import web
from skill.channels.outbound import ALERT_FROM
from skill.config import SettingsError, from_env
from skill.safety.vignettes import load_cases
from skill.service import get_triage
from skill.triage import render, understand
from tests.common import CLINIC_ALERTS, PUBLIC_VIGNETTES
from tests.drivers import Web

URGENT = load_cases(PUBLIC_VIGNETTES)[0]  # an opening that gets emergency advice at once
CHAT = Web()
TOKEN = "tok_" + "a" * 28
CLINIC = "https://clinic.example"


@pytest.fixture
def settings(settings):
    return replace(settings, webchat_origins=(CLINIC,))


def post(client, path: str, body: dict, origin: str | None = None):
    headers = {"Origin": origin} if origin else {}
    return client.post(path, json=body, headers=headers)


def names_emergency(script, text: str) -> bool:
    return f"call {script.locales['en-GB'].emergency}" in text.lower()


def test_a_retried_send_gets_the_same_reply_and_moves_the_conversation_once(client, script):
    start = CHAT.said(CHAT.call(TOKEN, None, "s1").to_client(client))
    assert names_emergency(script, start)
    first = CHAT.call(TOKEN, "no", "m1").to_client(client)
    again = CHAT.call(TOKEN, "no", "m1").to_client(client)
    assert first.data == again.data
    # One answer was taken, not two: BACK goes back to the first question.
    back = CHAT.said(CHAT.call(TOKEN, "back", "m2").to_client(client))
    first_question = script.questions[script.start].text
    assert script.fill(first_question, "en-GB") in back


def test_a_yes_no_question_offers_buttons_that_read_as_its_answers(client, script):
    opening = CHAT.check(CHAT.call(TOKEN, None).to_client(client))
    assert opening["options"] == []  # the open question: the runner says what is wrong first
    reply = CHAT.check(CHAT.call(TOKEN, "my hip aches").to_client(client))
    question = script.questions[script.start]
    assert reply["options"] == render.buttons(script, question, "en-GB")
    read = [
        understand.read_answer(script, question, understand.read(script, o))
        for o in reply["options"]
    ]
    assert read == ["yes", "no", "unsure"]


def test_every_questions_buttons_read_as_its_answers(script):
    for question in script.questions.values():
        offered = render.buttons(script, question, "en-GB")
        if question.type == "choice":
            assert [
                understand.read_answer(script, question, understand.read(script, o))
                for o in offered
            ] == [o.id for o in question.options]
        elif question.type == "number":
            assert offered == []  # typed


def test_advice_ends_the_buttons_and_still_names_the_emergency_number(client, script):
    CHAT.call(TOKEN, None).to_client(client)
    reply = CHAT.check(CHAT.call(TOKEN, URGENT["opening"]).to_client(client))
    assert reply["options"] == [] and names_emergency(script, reply["text"])


@pytest.mark.parametrize("path", ["/web/start", "/web/message"])
def test_a_foreign_origin_is_refused_and_an_allowed_one_gets_cors(client, script, path):
    body = {"token": TOKEN, "id": "1", "text": "hello"}
    refused = post(client, path, body, origin="https://elsewhere.example")
    assert refused.status_code == 403 and refused.json["error"] == "origin"
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options(
        path,
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    allowed = post(client, path, body, origin=CLINIC)
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == CLINIC
    preflight = client.options(
        path, headers={"Origin": CLINIC, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == CLINIC
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    # The demo page is the service's own origin.
    assert post(client, path, body, origin="http://localhost").status_code == 200


def test_malformed_and_oversized_calls_get_a_clear_json_error(client, script):
    cases = [
        ({"token": "short", "id": "1", "text": "hi"}, 400, "token"),
        ({"token": TOKEN, "id": "", "text": "hi"}, 400, "id"),
        ({"token": TOKEN, "id": "1", "text": 5}, 400, "text"),
        ({"token": TOKEN, "id": "1", "text": "no " * 400}, 400, "too_long"),
    ]
    for body, status, error in cases:
        response = post(client, "/web/message", body)
        assert (response.status_code, response.json["error"]) == (status, error)
        assert names_emergency(script, response.json["text"])
    huge = client.post(
        "/web/message", data=b"{" + b" " * 70_000 + b"}", content_type="application/json"
    )
    assert huge.status_code == 413 and huge.json["error"] == "too_large"
    assert client.post("/web/message", data="token=x").status_code == 400


def test_rate_limits_per_token_and_per_client_address(settings, script):
    limited = replace(settings, webchat_token_limit=3, webchat_client_limit=6)
    client = create_app(limited, script).test_client()
    for n in range(3):
        assert CHAT.call(TOKEN, "no", f"a{n}").to_client(client).status_code == 200
    refused = CHAT.call(TOKEN, "no", "a3").to_client(client)
    assert refused.status_code == 429 and names_emergency(script, refused.json["text"])
    other = "tok_" + "b" * 28
    assert CHAT.call(other, "no", "b0").to_client(client).status_code == 200
    assert CHAT.call(other, "no", "b1").to_client(client).status_code == 200
    # The seventh call from this address (refused ones count): a fresh token is refused too.
    assert CHAT.call("tok_" + "c" * 28, None).to_client(client).status_code == 429
    # The limits reset with the window.
    triage = get_triage(client.application)
    later = triage.clock() + web.RATE_WINDOW
    triage.clock = lambda: later  # the service's injected clock
    assert CHAT.call(TOKEN, "no", "a4").to_client(client).status_code == 200


def test_logs_hold_no_token_address_or_words(settings, script, caplog):
    client = create_app(settings, script).test_client()
    secret = "my hip aches after my long run"
    CHAT.call(TOKEN, None).to_client(client)
    CHAT.call(TOKEN, secret).to_client(client)
    post(client, "/web/message", {"token": TOKEN, "id": "x", "text": secret}, "https://x.example")
    CHAT.call(TOKEN, "no " * 400).to_client(client)  # refused as too long
    assert TOKEN not in caplog.text and secret not in caplog.text
    assert "127.0.0.1" not in caplog.text  # the test client's address
    triage = get_triage(client.application)
    stored = json.dumps(triage.store.all_audits(triage.clock()))
    assert TOKEN not in stored and secret not in stored


def test_urgent_advice_on_the_web_alerts_the_clinic(
    texting_settings, script, twilio_api, twilio_texts
):
    client = create_app(texting_settings, script, outbound=twilio_texts).test_client()
    talk = CHAT.conversation(script, "en-GB", 1)
    talk.read(talk.call("").to_client(client))
    _, outcome = talk.read(talk.call(URGENT["opening"]).to_client(client))
    assert outcome.level >= ALERT_FROM
    twilio_texts.flush(20)
    (alert,) = twilio_api.messages
    assert alert["To"] == CLINIC_ALERTS and talk.token not in alert["Body"]
    assert f"{outcome.level} advice ({outcome.title})" in alert["Body"]


def test_the_widget_and_demo_page_load_nothing_from_elsewhere_and_nothing_inline(client):
    demo = client.get("/web/demo")
    assert demo.status_code == 200
    page = demo.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "<style" not in page
    assert " style=" not in page and "https://" not in page and "http://" not in page
    widget = client.get("/web/widget.js")
    assert widget.headers["Content-Type"].startswith("text/javascript")
    assert not re.search(r"https?://", widget.text.split("\n", 8)[-1])  # past the header comment
    csp = demo.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert client.get("/web/widget.css").headers["Content-Type"].startswith("text/css")


def test_webchat_origins_are_read_and_checked():
    env = {"WEBCHAT_ORIGINS": "https://clinic.example, http://localhost:8080/"}
    assert from_env(env).webchat_origins == ("https://clinic.example", "http://localhost:8080")
    assert from_env({}).webchat_origins == ()
    for bad in ("clinic.example", "https://clinic.example/chat", "*"):
        with pytest.raises(SettingsError, match="WEBCHAT_ORIGINS"):
            from_env({"WEBCHAT_ORIGINS": bad})
