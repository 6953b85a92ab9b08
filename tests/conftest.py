"""Shared fixtures: the real content, a Flask app on a real SQLite file, a live server."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from skill import content
from skill.config import Settings
from tests.common import ALEXA_SKILL_ID, TWILIO_TOKEN, free_port
from tests.fake_twilio import FakeTwilio


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
