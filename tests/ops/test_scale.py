"""Scale-out against real processes: two gunicorn instances sharing Redis, and a Redis outage.

Every turn is a signed Twilio messaging webhook; its MessageSid is the delivery id.
"""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import redis
import requests

from app import create_app
from skill.config import Settings
from skill.safety import vignettes
from tests.common import PUBLIC_VIGNETTES, TWILIO_TOKEN, message_text, twilio_id
from tests.servers import Gunicorn, RedisServer, drop_keys, shared_redis_url
from tests.texting import RUNNER, advised, asked, form, post, post_http, said

SECRET = "two-instance-secret"


def case(case_id: str) -> dict:
    return next(c for c in vignettes.load_cases(PUBLIC_VIGNETTES) if c["id"] == case_id)


def send(server: Gunicorn, message: str, sid: str | None = None, address: str = RUNNER) -> str:
    """Text one message to a server; the text of its reply."""
    return said(post_http(server.url, form(address, message, sid)))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Instances A (two workers) and B (one) on one Redis database of their own."""
    url = shared_redis_url()
    env = {"STATE_URL": url, "STATE_SECRET": SECRET}
    root = tmp_path_factory.mktemp("pair")
    a = Gunicorn(root / "a", env, workers=2)
    b = Gunicorn(root / "b", env)
    yield a, b
    a.stop()
    b.stop()
    drop_keys(url)


def oracle(script):
    """One in-process service: the replies a single instance would give."""
    settings = Settings(state_url="memory:", state_secret=SECRET, twilio_auth_token=TWILIO_TOKEN)
    client = create_app(settings, script).test_client()
    return lambda message: said(post(client, form(RUNNER, message)))


def test_a_conversation_alternating_between_instances_continues(pair, script):
    runner, expected = case("P08"), oracle(script)
    message, turn = runner["opening"], 0
    while True:
        reply = send(pair[turn % 2], message)
        assert reply == expected(message)
        question = asked(script, reply)
        if not question:
            break
        message = vignettes.answer_for(question, runner["facts"])
        turn += 1
    assert turn >= 10
    assert advised(script, reply).id == runner["condition"]


def test_a_retry_landing_on_the_other_instance_is_answered_once(pair, script):
    address = "whatsapp:+447700900456"
    first = send(pair[0], "my hip hurts", address=address)
    answer = vignettes.answer_for(asked(script, first), {})
    delivery = form(address, answer, sid=twilio_id("SM", "retry1"))
    once = post_http(pair[0].url, delivery)
    again = post_http(pair[1].url, delivery)  # Twilio's retry of the same MessageSid
    assert said(once) and again.content == once.content
    # Had the retry moved the conversation on, "help" would show a later question.
    assert asked(script, send(pair[1], "help", address=address)) == asked(script, said(once))


def test_metrics_sum_both_workers_after_a_conversation(pair, script):
    runner = case("P01")  # a red flag in the opening: advice at once
    send(pair[0], runner["opening"], address="+447700900789")
    send(pair[0], runner["opening"], sid=twilio_id("SM", "dup"), address="+447700900790")
    send(pair[0], runner["opening"], sid=twilio_id("SM", "dup"), address="+447700900790")
    page = requests.get(f"{pair[0].url}/metrics", timeout=5).text
    outcome = script.outcomes[runner["condition"]]
    labels = f'condition="{outcome.id}",level="{outcome.level}"'
    assert _value(page, f"triage_outcomes_total{{{labels}}}") >= 2
    assert _value(page, f'triage_red_flags_total{{outcome="{outcome.id}"}}') >= 2
    assert _value(page, 'triage_dedupe_hits_total{channel="sms"}') >= 1
    assert _value(page, 'triage_requests_total{channel="messaging",status="200"}') >= 3
    assert _value(page, 'triage_turn_seconds_count{channel="sms"}') >= 3


def test_logs_are_json_with_request_ids_and_no_numbers_or_messages(pair):
    opening = "outer hip hurts when I lie on it at night, I am fifty two"
    delivery = form(RUNNER, opening, sid=twilio_id("SM", "log"))
    response = post_http(pair[1].url, delivery, headers={"X-Request-Id": "trace-42"})
    assert said(response) and response.headers["X-Request-Id"] == "trace-42"
    # gunicorn writes its access line just after the response has gone: give it a moment.
    deadline = time.monotonic() + 5
    logs = pair[0].logs() + pair[1].logs()
    while "trace-42" not in logs and time.monotonic() < deadline:
        time.sleep(0.05)
        logs = pair[0].logs() + pair[1].logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert any(line.get("request_id") == "trace-42" for line in lines)
    for private in (RUNNER, "447700900", opening, "lie on it"):
        assert private not in logs


def test_a_redis_outage_gets_a_safe_answer_and_conversations_resume(tmp_path, script):
    redis_server = RedisServer()
    server = Gunicorn(tmp_path / "svc", {"STATE_URL": redis_server.url, "STATE_SECRET": SECRET})
    try:
        runner = case("P10")
        question = asked(script, send(server, runner["opening"]))
        assert question
        answer = vignettes.answer_for(question, runner["facts"])
        assert asked(script, send(server, answer)) != question
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200

        redis_server.kill()
        down = send(server, "yes")
        assert script.locales["en-GB"].emergency in down
        assert message_text(script, "store_down") in down
        ready = requests.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 503
        assert "store: not reachable" in ready.json()["reasons"]
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200

        redis_server = RedisServer(redis_server.port)
        back = send(server, "yes")
        intro = script.fill(script.messages["intro"], "en-GB")
        assert back.startswith(intro)  # the state went with Redis: a fresh start
        assert asked(script, back)
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        assert "store unavailable" in server.logs()
    finally:
        server.stop()
        redis_server.kill()


def test_a_hung_redis_answers_36_webhooks_with_the_fallback_within_alexas_8_s(tmp_path, script):
    redis_server = RedisServer()
    # The repository's serving settings: 2 workers of 4 threads (gunicorn.conf.py).
    env = {"STATE_URL": redis_server.url, "STATE_SECRET": SECRET}
    server = Gunicorn(tmp_path / "svc", env, workers=2)
    try:
        assert asked(script, send(server, "my hip hurts"))
        redis_server.proc.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
        started = time.monotonic()

        def webhook(n: int) -> tuple[str, float]:
            reply = send(server, "my hip hurts", address=f"+4477009{n:05d}")
            return reply, time.monotonic() - started

        with ThreadPoolExecutor(36) as pool:
            answers = list(pool.map(webhook, range(36)))
        # The product's promise: every webhook answered in time for the slowest platform.
        assert max(seconds for _, seconds in answers) < 8
        for reply, _ in answers:
            assert script.locales["en-GB"].emergency in reply
            assert message_text(script, "store_down") in reply
    finally:
        redis_server.proc.send_signal(signal.SIGCONT)
        server.stop()
        redis_server.kill()


def test_readiness_sees_a_redis_that_answers_but_refuses_writes(settings, script):
    redis_server = RedisServer()
    try:
        client = create_app(replace(settings, state_url=redis_server.url), script).test_client()
        assert client.get("/readyz").status_code == 200
        full = redis.Redis.from_url(redis_server.url)
        full.config_set("maxmemory-policy", "noeviction")
        full.config_set("maxmemory", 1)  # full: PING still answers, every write is refused
        assert client.get("/readyz").status_code == 503
    finally:
        redis_server.kill()


def _value(page: str, sample: str) -> float:
    """The value of one sample line on a Prometheus page, 0 when absent."""
    for line in page.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0
