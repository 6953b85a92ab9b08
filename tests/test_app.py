"""The app factory and its health endpoint, over real HTTP."""

import requests


def test_healthz_answers_over_http(live_server, script):
    response = requests.get(f"{live_server}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "content": script.version}
