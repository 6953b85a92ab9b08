"""Check-ins with several service instances and workers on one Redis: each is sent once.

Two gunicorn instances share a Redis database (under a key prefix of the test's own) with two
`python -m skill worker` processes; every text goes to the local stand-in for Twilio's API.
"""

from __future__ import annotations

import time

import pytest

from skill.content import Level
from skill.triage import render
from tests.common import TWILIO_TOKEN
from tests.fake_twilio import FakeTwilio
from tests.followup.paths import path_to
from tests.servers import Gunicorn, Worker, drop_keys, shared_redis_url
from tests.texting import ACCOUNT, advised, asked, form, post_http, said

RUNNERS = [f"+4477009005{i:02d}" for i in range(4)]
SENDER = "+447700900999"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Instances A and B and two workers on one Redis, texting the stand-in."""
    twilio_api = FakeTwilio()
    url = shared_redis_url()
    env = {
        "STATE_URL": url,
        "STATE_SECRET": "scale-out-secret-0123",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE": twilio_api.base,
        "CHECKIN_AFTER": "2s",
        "QUIET_HOURS": "",
    }
    root = tmp_path_factory.mktemp("fleet")
    servers = [Gunicorn(root / "a", env, workers=2), Gunicorn(root / "b", env)]
    workers = [Worker(root / "w1", env), Worker(root / "w2", env)]
    yield servers, workers, twilio_api
    for process in servers + workers:
        process.stop()
    twilio_api.close()
    drop_keys(url)


def test_each_check_in_is_sent_once_and_answered_on_either_instance(fleet, script):
    (a, b), workers, twilio_api = fleet
    path = path_to(script, "self_care")
    for n, runner in enumerate(RUNNERS):
        server = (a, b)[n % 2]
        reply = said(post_http(server.url, form(runner, "hello")))
        while question := asked(script, reply):
            reply = said(post_http((a, b)[(n + 1) % 2].url, form(runner, path[question.id])))
        assert advised(script, reply).level == Level.SELF_CARE
        booked = said(post_http(server.url, form(runner, "yes")))
        assert booked.startswith(script.messages["checkin_booked"].split("{after}")[0])
    assert twilio_api.wait(lambda: len(twilio_api.messages) >= len(RUNNERS), 30)
    time.sleep(4)  # a second send would come within the consumers' next looks
    assert sorted(m["To"] for m in twilio_api.messages) == sorted(RUNNERS)
    for n, runner in enumerate(RUNNERS):
        reply = said(post_http((b, a)[n % 2].url, form(runner, "worse")))
        again = asked(script, reply)
        assert again and again.id == script.start
    logs = "".join(p.logs() for p in (a, b, *workers))
    assert all(r not in logs and r.removeprefix("+") not in logs for r in RUNNERS)
    assert render.delay(script, 2) in booked
