"""Shared fixtures: the real content, a Flask app on a real SQLite file, a live server."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from app import create_app
from skill import content
from skill.channels.outbound import OutboundSMS
from skill.config import Settings
from tests.common import ALEXA_SKILL_ID, CLINIC_ALERTS, TWILIO_TOKEN, free_port
from tests.fake_twilio import FakeTwilio

pytest_plugins = ["tests.browsing"]  # the browser suites' Chromium and axe-core fixtures


@pytest.fixture(scope="session")
def script():
    return content.load()


@pytest.fixture
def settings(tmp_path):
    return Settings(
        state_url=f"sqlite:///{tmp_path / 'state.db'}",
        state_secret="test-secret",
        twilio_auth_token=TWILIO_TOKEN,
        alexa_skill_id=ALEXA_SKILL_ID,
    )


@pytest.fixture
def app(settings, script):
    app = create_app(settings, script)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a loopback port; yields its base URL."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def pytest_addoption(parser):
    parser.addoption(
        "--refresh-golden", action="store_true", help="rewrite golden transcripts from the engine"
    )


@pytest.fixture
def twilio_api():
    """A stand-in for Twilio's REST API on a loopback port (tests/fake_twilio.py)."""
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def checkin_settings(settings, twilio_api):
    """Settings that text through the stand-in (`twilio_api`), check-ins due a second after the
    yes, at any hour."""
    return replace(
        settings,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from="+447700900999",
        twilio_api_base=twilio_api.base,
        checkin_after=1.0,
        quiet_hours=None,
    )


@pytest.fixture
def texting_settings(settings):
    """Settings that send texts from a Twilio account, the clinic alert included."""
    return replace(
        settings,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from="+447700900999",
        escalation_sms_to=CLINIC_ALERTS,
    )


@pytest.fixture
def twilio_texts(texting_settings, twilio_api):
    """The app's outbound texts, sent to the local stand-in for Twilio's API with no backoff."""
    return OutboundSMS(texting_settings, http_client=twilio_api.http_client(), backoff=0)
