"""Many runners at once through the real server under gunicorn with several workers.

200 simulated runners (the public vignettes, on every channel in turn) hold whole
conversations, interleaved over many connections. One delivery in ten is sent twice, as
Twilio's retries are: half of them at the same moment, half after the first answer. Every
conversation must ask exactly the questions the engine alone asks for the same answers and end
at the same outcome (no step lost or taken twice), and a repeated delivery must get exactly the
same bytes. Runs against each store. `make fuzz` (ROBUST_LONG=1) runs 1,000 runners.
"""

import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import pytest
import requests

from skill.safety.vignettes import answer_for, load_cases
from skill.triage import engine
from tests.common import ALEXA_SKILL_ID, PUBLIC_VIGNETTES, TWILIO_TOKEN
from tests.drivers import CHANNELS
from tests.servers import APP_SPEC, Gunicorn, drop_keys, shared_redis_url

LONG = bool(os.environ.get("ROBUST_LONG"))
RUNNERS = 1000 if LONG else 200
CONNECTIONS = 24
DUPLICATED = 0.10
CASES = load_cases(PUBLIC_VIGNETTES)
STORES = {
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'state.db'}",
    "redis": lambda tmp_path: shared_redis_url(),
}


@dataclass
class Runner:
    number: int
    case: dict
    channel: object
    asked: list = field(default_factory=list)
    outcome: str | None = None
    duplicates: int = 0
    faults: list = field(default_factory=list)

    @property
    def locale(self) -> str:
        return self.case.get("locale", "en-GB")


def engine_alone(script, runner: Runner) -> tuple[list[str], str]:
    """The questions the engine asks for the runner's answers, and where it ends."""
    step = {"locale": runner.locale, "ttl_seconds": 1e9}
    # A call or a launch asks for the opening first: the engine reads it as a texted opening.
    state, reply = engine.step(script, None, runner.case["opening"], 0, **step)
    asked = []
    while reply.question:
        asked.append(reply.question.id)
        answer = answer_for(reply.question, runner.case["facts"])
        state, reply = engine.step(script, state, answer, 0, **step)
    return asked, reply.outcome.id


def converse(base: str, script, runner: Runner, local: threading.local) -> Runner:
    """Hold the runner's whole conversation, sending some deliveries twice."""
    session = getattr(local, "session", None) or requests.Session()
    local.session = session
    dice = random.Random(runner.number)
    talk = runner.channel.conversation(script, runner.locale, runner.number)

    def send(call):
        if runner.channel.retried and dice.random() < DUPLICATED:
            runner.duplicates += 1
            first, again = _twice(base, call, session, at_once=dice.random() < 0.5)
            if first.content != again.content:
                runner.faults.append(f"a repeated delivery got another answer: {call.form}")
            return first
        return call.to_server(base, session)

    first = talk.start(runner.case["opening"], send)
    for _ in range(len(script.questions) + 2):
        question, outcome = talk.read(first)
        if outcome:
            runner.outcome = outcome.id
            return runner
        if not question:
            runner.faults.append(f"neither a question nor advice: {first.text[:200]}")
            return runner
        runner.asked.append(question.id)
        first = send(talk.call(answer_for(question, runner.case["facts"])))
    runner.faults.append("no outcome")
    return runner


def _twice(base, call, session, at_once: bool):
    """Deliver one call twice: at the same moment, or again after its answer."""
    if not at_once:
        return call.to_server(base, session), call.to_server(base, session)
    start, replies = threading.Barrier(2), [None, None]

    def send(i):
        start.wait()
        replies[i] = call.to_server(base)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return replies


@pytest.fixture(params=list(STORES))
def served(request, tmp_path):
    """The app under gunicorn with three workers, on each store in turn."""
    url = STORES[request.param](tmp_path)
    env = {
        "STATE_URL": url,
        "STATE_SECRET": "concurrency",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        # The server cannot be told to trust the tests' Alexa root: Alexa runners go unsigned.
        "ALEXA_VERIFY": "0",
        "ALEXA_SKILL_ID": ALEXA_SKILL_ID,
    }
    server = Gunicorn(tmp_path / "gunicorn", env, spec=APP_SPEC, workers=3)
    yield server
    server.stop()
    if url.startswith("redis://"):
        drop_keys(url)


def test_interleaved_runners_with_duplicates_end_where_the_engine_does(served, script):
    channels = [replace(c, signed=False) if hasattr(c, "signed") else c for c in CHANNELS]
    runners = [
        Runner(n, CASES[n % len(CASES)], channels[n % len(channels)]) for n in range(RUNNERS)
    ]
    local = threading.local()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        done = list(pool.map(lambda r: converse(served.url, script, r, local), runners))
    wrong = {}
    for runner in done:
        asked, outcome = engine_alone(script, runner)
        if runner.faults or (runner.asked, runner.outcome) != (asked, outcome):
            wrong[runner.number] = (runner.faults, runner.asked, asked, runner.outcome, outcome)
    assert wrong == {}
    assert sum(r.duplicates for r in done) > RUNNERS * 0.2  # one in ten of ~7 deliveries, mostly
    assert "Traceback" not in served.logs()
