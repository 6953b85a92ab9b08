"""A service that texts through the local stand-in for Twilio's API (TWILIO_API_BASE), its
check-in jobs run by an in-process consumer as `python -m skill run` runs them."""

from __future__ import annotations

import time

import pytest

from app import create_app
from skill.channels.outbound import OutboundSMS
from skill.followup import queue
from skill.service import get_triage
from skill.stores import conversation_key
from skill.triage import render
from tests.followup.paths import path_to
from tests.texting import asked, form, post, said

SENDER = "+447700900999"
RUNNER = "+447700900123"


class Clock:
    """A clock a test can move on; by default it tells the real time."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Service:
    """The app, its test client, its clock and its check-ins, for one test."""

    def __init__(self, settings, script):
        self.script, self.clock = script, Clock()
        outbound = OutboundSMS(settings, backoff=0)  # to TWILIO_API_BASE, no waits in tests
        self.app = create_app(settings, script, outbound=outbound, clock=self.clock)
        self.client = self.app.test_client()
        self.checkins = self.app.extensions["checkins"]
        self.consumer = None
        self.settings = settings

    def start(self) -> Service:
        if self.checkins:
            self.consumer = queue.consumer(self.checkins.queue, in_process=True)
            self.consumer.start()
        return self

    def stop(self) -> None:
        if self.consumer:
            self.consumer.stop()

    def text(self, body: str, sender: str = RUNNER) -> str | None:
        return said(post(self.client, form(sender=sender, body=body)))

    def to_advice(self, level: str = "self_care", sender: str = RUNNER, reply=None) -> str:
        """Answer the questions (from the start, or from the question `reply` asks) the way
        to advice at `level`; the reply with the advice."""
        path = path_to(self.script, level)
        reply = reply or self.text("hello", sender)
        while question := asked(self.script, reply):
            reply = self.text(path[question.id], sender)
        return reply

    def words(self, key: str) -> str:
        """A message as the runner reads it, with the check-in's delay."""
        after = render.delay(self.script, self.settings.checkin_after)
        return self.script.fill(self.script.messages[key], "en-GB", after)

    def offer(self) -> str:
        """The check-in offer's line as the runner reads it."""
        return self.words("checkin_offer")

    def key(self, sender: str = RUNNER) -> str:
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        return conversation_key(self.settings.state_secret, channel, sender)

    def audits(self, sender: str = RUNNER) -> list[dict]:
        with self.app.app_context():
            return get_triage().store.audits(self.key(sender), time.time() + 1e6)

    def followups(self, sender: str = RUNNER) -> list[dict]:
        return [a["followup"] for a in self.audits(sender) if "followup" in a]


@pytest.fixture
def service(checkin_settings, script):
    running = Service(checkin_settings, script).start()
    yield running
    running.stop()


@pytest.fixture
def make_service(script):
    """Services with settings of the test's own, stopped at the end."""
    made = []

    def make(settings):
        made.append(Service(settings, script).start())
        return made[-1]

    yield make
    for running in made:
        running.stop()
