"""Call back (issue 15): CALL after consultation advice, through the real webhooks, to a request
kept sealed in a real SQLite file (and Redis), seen and closed by signed-in staff in Chromium.

What a runner sees is read from the content; what is at rest is read from the store's own
files and keys, never through the store's code alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from app import create_app
from skill import callbacks, config
from skill.channels.outbound import OutboundSMS
from skill.channels.voice import speakable
from skill.console import accounts
from skill.safety import vignettes
from skill.service import Inbound, Triage, get_triage
from skill.stores import open_store
from skill.triage import render
from skill.triage.engine import CALLBACK_LEVELS
from tests import texting
from tests.browsing import check_page
from tests.channels.test_voice import Call, http_sender, run_case
from tests.common import CLINIC_ALERTS, PUBLIC_VIGNETTES, message_text, skill_command
from tests.console.test_browser import NAME, PASSWORD, red_flag_opening, sign_in
from tests.drivers import CHANNELS
from tests.servers import drop_keys, redis_values, shared_redis_url

KEY = Fernet.generate_key().decode()
RUNNER = texting.RUNNER
CASES = {case["id"]: case for case in vignettes.load_cases(PUBLIC_VIGNETTES)}
CONSULTATION = "P08"  # labral tear: see a GP or physio
SELF_CARE = "P10"  # ITB syndrome: self-care, no call back offered
MAX_TURNS = 40


def on(settings, **more):
    """Call backs on, with a key."""
    return dataclasses.replace(settings, callbacks=True, callback_key=KEY, **more)


@pytest.fixture
def app(settings, script, twilio_api):
    """The app with call backs on, its texts (the clinic alert too) going to the stand-in for
    Twilio's API."""
    settings = on(
        settings,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from="+447700900999",
        escalation_sms_to=CLINIC_ALERTS,
    )
    outbound = OutboundSMS(settings, http_client=twilio_api.http_client(), backoff=0)
    app = create_app(settings, script, outbound=outbound)
    app.config["TESTING"] = True
    accounts.add(get_triage(app).store, NAME, PASSWORD, now=1.0)
    return app


def db_path(app) -> Path:
    return Path(get_triage(app).settings.state_url.removeprefix("sqlite:///"))


def at_rest(path: Path) -> bytes:
    """Every byte SQLite keeps for the database: the file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def rows(path: Path) -> list[tuple[str, dict]]:
    """The callbacks table, read with sqlite3 itself."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT key, record FROM callbacks").fetchall()
    return [(key, json.loads(record)) for key, record in found]


def to_advice(send, script, case_id: str, sender: str = RUNNER) -> str:
    """A vignette's conversation by text to its advice; the reply that gives it."""
    case = CASES[case_id]
    reply = send(sender, case["opening"])
    for _ in range(MAX_TURNS):
        question = texting.asked(script, reply)
        if not question:
            return reply
        reply = send(sender, vignettes.answer_for(question, case["facts"]))
    raise AssertionError("no advice")


def over_http(base: str):
    def send(sender: str, body: str) -> str:
        return texting.said(texting.post_http(base, texting.form(sender, body)))

    return send


def through(client):
    def send(sender: str, body: str) -> str:
        return texting.said(texting.post(client, texting.form(sender, body)))

    return send


def conversing(triage: Triage):
    """Texts straight to the service, on its own clock."""

    def send(sender: str, body: str) -> str:
        return triage.converse(
            Inbound("sms", sender, body, reach=("sms", sender)), render.text
        ).body

    return send


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    yield context.new_page()
    context.close()


def test_call_after_advice_reaches_staff_who_ring_and_close_it_leaving_no_number(
    page, live_server, app, script, axe_source
):
    send = over_http(live_server)
    advice = to_advice(send, script, CONSULTATION)
    outcome = texting.advised(script, advice)
    offer = message_text(script, "callback_offer")
    # The offer is its own last line; the advice above it is the clinicians' words unchanged.
    assert advice.endswith("\n" + offer)
    assert render.outcome_text(script, outcome, "en-GB", voice=False) in advice
    assert message_text(script, "callback_made") in send(RUNNER, "CALL")
    assert message_text(script, "callback_again") in send(RUNNER, "call")
    again = send(RUNNER, "repeat")  # the advice again, not the offer: it has been taken up
    assert texting.advised(script, again) == outcome and offer not in again
    path = db_path(app)
    [(key, record)] = rows(path)  # the second CALL made no duplicate
    assert (record["outcome"], record["level"]) == (outcome.id, outcome.level)
    assert Fernet(KEY).decrypt(record["number"].encode()).decode() == RUNNER
    files = at_rest(path)
    assert RUNNER.lstrip("+").encode() not in files  # the number is never in the clear
    assert record["number"].encode() in files

    sign_in(page)
    waiting = page.locator("#callbacks-waiting")
    assert "1 call back waiting" in " ".join(waiting.inner_text().split())
    waiting.click()
    page.wait_for_url("**/console/callbacks")
    table = page.locator("#callbacks tbody")
    assert page.get_by_role("link", name=RUNNER).get_attribute("href") == f"tel:{RUNNER}"
    assert outcome.title in table.inner_text()
    check_page(page, axe_source, "callbacks")
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: number and Done in sight
    for control in (page.get_by_role("link", name=RUNNER), page.get_by_role("button", name="Done")):
        box = control.bounding_box()
        assert box and box["x"] + box["width"] <= 360
    done = page.locator("#callbacks form").first
    again = {
        name: done.locator(f"input[name={name}]").get_attribute("value") for name in ("csrf", "key")
    }
    page.get_by_role("button", name="Done").click()
    page.wait_for_url("**/console/callbacks?closed=1")
    assert page.get_by_role("status").is_visible()
    # A colleague's Done on the same one, a moment later: told it was done, not that it went.
    late = page.request.post(f"{live_server}/console/callbacks/done", form=again)
    assert late.ok and late.url.endswith("closed=0")
    page.goto(late.url)
    assert "already" in page.get_by_role("status").inner_text()
    assert "No call backs waiting" in table.inner_text()
    assert rows(path) == []
    files = at_rest(path)
    assert record["number"].encode() not in files and RUNNER.lstrip("+").encode() not in files


def test_without_signing_in_no_number_is_shown_and_none_can_be_closed(live_server, app, script):
    send = over_http(live_server)
    to_advice(send, script, CONSULTATION)
    send(RUNNER, "CALL")
    page = requests.get(f"{live_server}/console/callbacks", allow_redirects=False, timeout=10)
    assert page.status_code == 302 and page.headers["Location"].endswith("/console/signin")
    assert RUNNER.lstrip("+") not in page.text
    [(key, _)] = rows(db_path(app))
    closed = requests.post(
        f"{live_server}/console/callbacks/done", data={"key": key}, timeout=10
    )  # no session, no CSRF token
    assert closed.status_code == 403
    assert len(rows(db_path(app))) == 1


def test_the_clinic_is_told_a_call_back_is_waiting_without_the_number(
    live_server, app, script, twilio_api, caplog
):
    caplog.set_level(logging.DEBUG)
    send = over_http(live_server)
    case = CASES[CONSULTATION]
    to_advice(send, script, CONSULTATION)
    send(RUNNER, "CALL")
    send(RUNNER, "CALL")  # no second request, so no second alert
    get_triage(app).outbound.flush(20)
    [alert] = twilio_api.messages  # consultation advice is not urgent: this is the only one
    assert alert["To"] == CLINIC_ALERTS
    assert "call back is waiting" in alert["Body"]
    assert RUNNER.lstrip("+") not in alert["Body"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "call back requested" in logged
    assert RUNNER.lstrip("+") not in logged and case["opening"] not in logged


def test_call_backs_off_offer_nothing_and_call_is_any_message_after_advice(settings, script):
    client = create_app(settings, script).test_client()  # CALLBACKS unset
    send = through(client)
    advice = to_advice(send, script, CONSULTATION)
    assert message_text(script, "callback_offer") not in advice
    assert send(RUNNER, "CALL") == message_text(script, "after_advice")
    assert get_triage(client.application).store.callbacks(time.time()) == []


def test_advice_that_needs_no_appointment_offers_no_call_back(app, client, script):
    send = through(client)
    advice = to_advice(send, script, SELF_CARE)
    assert message_text(script, "callback_offer") not in advice
    assert send(RUNNER, "CALL") == message_text(script, "after_advice")
    assert rows(db_path(app)) == []


def test_a_red_flag_in_the_call_message_still_escalates(app, client, script):
    send = through(client)
    to_advice(send, script, CONSULTATION)
    opening, flag_id = red_flag_opening(script)
    flag = next(f for f in script.red_flags if f.id == flag_id)
    reply = send(RUNNER, f"call me, {opening}")
    outcome, question = texting.advised(script, reply), texting.asked(script, reply)
    # The flag's advice, or its one check question: never a call back instead.
    assert outcome == script.outcomes[flag.outcome] or question.id == flag.check, reply
    assert message_text(script, "callback_made") not in reply
    assert rows(db_path(app)) == []


def test_stop_forgets_the_runners_call_back_with_the_conversation(app, client, script):
    send = through(client)
    to_advice(send, script, CONSULTATION)
    send(RUNNER, "CALL")
    other = "+447700900456"
    to_advice(send, script, CONSULTATION, sender=other)
    send(other, "CALL")
    [(_, mine), _] = sorted(rows(db_path(app)), key=lambda r: r[1]["requested"])
    assert send(RUNNER, "STOP") is None
    [(_, left)] = rows(db_path(app))
    assert Fernet(KEY).decrypt(left["number"].encode()).decode() == other
    assert mine["number"].encode() not in at_rest(db_path(app))


def test_a_caller_presses_5_after_the_advice_for_a_call_back_to_their_number(
    live_server, app, script
):
    call = Call(script, http_sender, live_server)
    outcome = run_case(call, script, CASES[CONSULTATION], "keys")
    assert outcome.level in CALLBACK_LEVELS
    assert speakable(message_text(script, "voice_callback_offer")) in call.said()
    call.press("5")
    assert speakable(message_text(script, "voice_callback_made")) in call.said()
    [(key, record)] = rows(db_path(app))
    assert key.startswith("voice:") and record["level"] == outcome.level
    assert Fernet(KEY).decrypt(record["number"].encode()).decode() == call.number


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_only_channels_with_the_runners_number_offer_a_call_back(app, client, script, channel):
    channel.prepare(app)
    talk = channel.conversation(script, "en-GB", 1)
    case = CASES[CONSULTATION]
    response = talk.start(case["opening"], lambda call: call.to_client(client))
    for _ in range(MAX_TURNS):
        question, outcome = talk.read(response)
        if outcome:
            break
        response = talk.call(vignettes.answer_for(question, case["facts"])).to_client(client)
    offers = (message_text(script, "callback_offer"), message_text(script, "voice_callback_offer"))
    heard = channel.said(response)
    talk.call("call").to_client(client)
    made = len(rows(db_path(app)))
    if channel.name in ("alexa", "web"):  # no number to ring: docs/callbacks.md says why
        assert not any(speakable(o) in heard or o in heard for o in offers)
        assert made == 0
    else:
        assert any(speakable(o) in heard or o in heard for o in offers)
        assert made == 1


def test_purge_deletes_call_backs_older_than_callback_days(tmp_path, settings, script):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url, callback_seconds=7 * 86400)
    now = time.time()
    for sender, age_days in (("+447700900001", 8), ("+447700900002", 6)):
        past = Triage(script, store, on(settings), clock=lambda age=age_days: now - age * 86400)
        to_advice(conversing(past), script, CONSULTATION, sender=sender)
        conversing(past)(sender, "CALL")
    assert len(store.callbacks(now)) == 1  # the 8-day-old one is past CALLBACK_DAYS already
    env = {**os.environ, "STATE_URL": url, "CALLBACK_DAYS": "7", "APP_ENV": "development"}
    done = skill_command("purge", env=env)
    assert done.returncode == 0, done.stderr
    [(_, left)] = rows(tmp_path / "state.db")
    assert Fernet(KEY).decrypt(left["number"].encode()).decode() == "+447700900002"


def test_a_call_back_on_redis_is_kept_sealed_and_gone_once_closed(settings, script):
    url = shared_redis_url()
    try:
        client = create_app(on(settings, state_url=url), script).test_client()
        send = through(client)
        to_advice(send, script, CONSULTATION)
        send(RUNNER, "CALL")
        store = get_triage(client.application).store
        held = redis_values(url)
        assert RUNNER.lstrip("+").encode() not in held
        [waiting] = store.callbacks(time.time())
        token = waiting["number"].encode()
        assert token in held
        store.close_callback(waiting["key"])
        assert token not in redis_values(url)
    finally:
        drop_keys(url)


def test_production_refuses_call_backs_without_a_good_key():
    base = {
        "APP_ENV": "production",
        "STATE_SECRET": "s" * 32,
        "TWILIO_AUTH_TOKEN": "t",
        "CALLBACKS": "1",
    }
    with pytest.raises(config.SettingsError, match="CALLBACK_KEY"):
        config.from_env(base)
    with pytest.raises(config.SettingsError, match="CALLBACK_KEY is not a Fernet key"):
        config.from_env({**base, "CALLBACK_KEY": "not-a-key"})
    key = skill_command("callback-key").stdout.strip()
    assert config.from_env({**base, "CALLBACK_KEY": key}).callback_key == key
    assert callbacks.Sealer(key.encode()).open(callbacks.Sealer(KEY.encode()).seal(RUNNER)) is None
