"""Privacy: an audit record per triage run in ids only, "forget me", and `python -m skill purge`."""

from __future__ import annotations

import json
import logging
import os
import time

import requests

from app import create_app
from skill.safety import vignettes
from skill.service import Inbound, Triage, get_triage
from skill.stores import conversation_key, open_store
from skill.triage import render
from tests.common import PUBLIC_VIGNETTES, free_port, skill_command, twilio_id
from tests.texting import advised, asked, form, post, said

RUNNER = "+447700900321"


def text(client, address: str, message: str) -> str | None:
    """Text one signed message to the messaging webhook; the reply's text."""
    return said(post(client, form(address, message)))


def run_case(client, script, case_id: str, address: str = RUNNER) -> str:
    """A whole vignette conversation over HTTP; the last reply."""
    case = next(c for c in vignettes.load_cases(PUBLIC_VIGNETTES) if c["id"] == case_id)
    message = case["opening"]
    while True:
        reply = text(client, address, message)
        question = asked(script, reply)
        if not question:
            return reply
        message = vignettes.answer_for(question, case["facts"])


def audits(app, address: str = RUNNER) -> list[dict]:
    with app.app_context():
        triage = get_triage()
    channel = "whatsapp" if address.startswith("whatsapp:") else "sms"
    key = conversation_key(triage.settings.state_secret, channel, address)
    return triage.store.audits(key, time.time())


def test_each_conversation_leaves_an_audit_record_of_ids(settings, script):
    app = create_app(settings, script)
    outcome = advised(script, run_case(app.test_client(), script, "P08"))
    [record] = audits(app)
    assert record["content"] == script.version
    assert record["outcome"] == outcome.id
    assert record["level"] == outcome.level
    assert len(record["questions"]) >= 10
    assert [answer[0] for answer in record["answers"]] == record["questions"]
    assert all(a[1] in script.questions[a[0]].edges or a[1].isdigit() for a in record["answers"])
    assert record["started"] <= record["updated"]
    assert RUNNER not in json.dumps(record)


def test_restart_starts_a_second_audit_record(settings, script):
    app = create_app(settings, script)
    client = app.test_client()
    run_case(client, script, "P01")
    text(client, RUNNER, "restart")
    assert len(audits(app)) == 2


def test_forget_me_deletes_the_conversation_and_its_audit_at_once(settings, script):
    app = create_app(settings, script)
    client = app.test_client()
    run_case(client, script, "P07")
    other = "whatsapp:+447700900999"
    run_case(client, script, "P01", address=other)
    text(client, RUNNER, "forget me")
    assert audits(app) == []
    assert len(audits(app, other)) == 1
    assert text(client, RUNNER, "hello").startswith(script.fill(script.messages["intro"], "en-GB"))


def test_stop_drops_the_replies_kept_for_retries_yet_a_retried_stop_is_answered_alike(
    settings, script
):
    client = create_app(settings, script).test_client()
    first = said(post(client, form(RUNNER, "my hip hurts", sid=twilio_id("SM", "p1"))))
    answer = form(RUNNER, vignettes.answer_for(asked(script, first), {}), twilio_id("SM", "p2"))
    advice = post(client, answer)
    stop = form(RUNNER, "STOP", sid=twilio_id("SM", "p3"))
    assert post(client, stop).data == post(client, stop).data
    # Twilio retrying the earlier delivery finds no reply kept: a fresh start, not the old words.
    assert post(client, answer).data != advice.data


def run_purge(folder, state_url: str, audit_days: str = "30"):
    """`python -m skill purge` with these settings (and no .env of a developer's)."""
    env = {
        **os.environ,
        "STATE_URL": state_url,
        "AUDIT_DAYS": audit_days,
        "ENV_FILE": str(folder / "none.env"),
    }
    return skill_command("purge", env=env)


def test_purge_command_deletes_audits_older_than_audit_days(tmp_path, settings, script):
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}", audit_seconds=30 * 86400)
    now = time.time()
    for address, age_days in (("+447700900001", 31), ("+447700900002", 29)):
        past = Triage(script, store, settings, clock=lambda age=age_days: now - age * 86400)
        past.converse(Inbound("sms", address, "my hip hurts"), render.text)
    done = run_purge(tmp_path, f"sqlite:///{tmp_path / 'audit.db'}", "30")
    assert done.returncode == 0, done.stderr
    # both conversations were idle past CONVERSATION_TTL_HOURS; one audit record was too old
    assert done.stdout.strip() == "purged 3 expired records"
    key = conversation_key(settings.state_secret, "sms", "+447700900002")
    assert len(store.audits(key, now)) == 1
    assert store.audits(conversation_key(settings.state_secret, "sms", "+447700900001"), 0) == []


def test_the_development_server_logs_request_lines_without_their_query(live_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    query = {"From": RUNNER, "SpeechResult": "my hip hurts"}
    assert requests.get(f"{live_server}/healthz", params=query, timeout=10).ok
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /healthz HTTP" in line for line in lines), lines
    assert not any(RUNNER.lstrip("+") in line or "hip" in line for line in lines), lines


def test_purge_holds_records_kept_before_to_a_lowered_audit_days(tmp_path, settings, script):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store, now = open_store(url, audit_seconds=30 * 86400), time.time()
    past = Triage(script, store, settings, clock=lambda: now - 10 * 86400)
    past.converse(Inbound("sms", RUNNER, "my hip hurts"), render.text)
    key = conversation_key(settings.state_secret, "sms", RUNNER)
    assert len(store.audits(key, now)) == 1  # kept 30 days when it was written
    done = run_purge(tmp_path, url, "5")
    assert done.returncode == 0, done.stderr
    assert store.audits(key, now) == [], "AUDIT_DAYS lowered to 5: a 10-day-old record goes"


def test_purge_refuses_a_database_that_is_not_there(tmp_path):
    typo = tmp_path / "var" / "triag.db"
    done = run_purge(tmp_path, f"sqlite:///{typo}")
    assert done.returncode != 0
    assert f"no database at {typo}" in done.stderr
    assert not typo.exists() and not typo.parent.exists(), "nothing made at a mistyped path"


def test_purge_fails_when_redis_does_not_answer(tmp_path):
    done = run_purge(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 1
    assert "nothing purged, the store did not answer" in done.stderr
    assert "purged" not in done.stdout
