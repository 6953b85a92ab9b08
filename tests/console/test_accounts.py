"""Staff accounts: made and removed on the command line, checked at the console's sign-in."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

from app import create_app
from skill.console import accounts
from skill.service import get_triage
from skill.stores import open_store
from tests.common import ROOT

PASSWORD = "correct horse battery staple"


def users(state_url: str, *args: str, password: str | None = None):
    env = {**os.environ, "STATE_URL": state_url}
    return subprocess.run(
        [sys.executable, "-m", "skill", "users", *args],
        input=password,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, name: str, password: str):
    token = csrf(client.get("/console/signin").text)
    form = {"csrf": token, "username": name, "password": password}
    return client.post("/console/signin", data=form)


def test_an_account_added_on_the_command_line_signs_in_until_removed(app, client, settings):
    made = users(settings.state_url, "add", "ana", "--password-stdin", password=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    assert sign_in(client, "ana", "not the password").status_code == 401
    signed = sign_in(client, "ana", PASSWORD)
    assert signed.status_code == 302 and signed.headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    gone = users(settings.state_url, "remove", "ana")
    assert gone.returncode == 0, gone.stderr
    # The session cookie is still signed, but its account is gone: back to the sign-in page.
    assert client.get("/console/").headers["Location"] == "/console/signin"
    assert users(settings.state_url, "remove", "ana").returncode == 1


def test_a_short_password_or_a_bad_name_is_refused(settings):
    short = users(settings.state_url, "add", "ana", "--password-stdin", password="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    odd = users(settings.state_url, "add", "Ana Smith", "--password-stdin", password=PASSWORD)
    assert odd.returncode == 1


def test_the_hash_is_salted_scrypt_and_a_new_password_ends_old_sessions(app, client):
    store = get_triage(app).store
    accounts.add(store, "ben", PASSWORD, now=1.0)
    first = store.user("ben")["hash"]
    assert first.startswith("scrypt$") and PASSWORD not in first
    assert sign_in(client, "ben", PASSWORD).status_code == 302
    accounts.add(store, "ben", PASSWORD, now=2.0)
    assert store.user("ben")["hash"] != first  # a fresh salt
    assert client.get("/console/try").headers["Location"] == "/console/signin"


def test_sign_in_attempts_are_limited_per_name(app, client):
    accounts.add(get_triage(app).store, "cal", PASSWORD, now=1.0)
    codes = [sign_in(client, "cal", f"guess {i}").status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # Even the right password waits out the window now.
    assert sign_in(client, "cal", PASSWORD).status_code == 429


def test_every_console_url_needs_a_session_and_forms_need_the_token(app, client):
    for path in ("/console/", "/console/try", "/console/script", "/console/overview.csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/console/signin"
    accounts.add(get_triage(app).store, "dee", PASSWORD, now=1.0)
    client.get("/console/signin")
    forged = {"username": "dee", "password": PASSWORD}
    assert client.post("/console/signin", data=forged).status_code == 403
    assert client.post("/console/signin", data={**forged, "csrf": "wrong"}).status_code == 403
    assert sign_in(client, "dee", PASSWORD).status_code == 302
    assert client.post("/console/try", data={"message": "hello"}).status_code == 403
    assert client.post("/console/signout", data={}).status_code == 403


def test_the_session_cookie_is_signed_httponly_strict_and_secure_in_production(app, client):
    accounts.add(get_triage(app).store, "eve", PASSWORD, now=1.0)
    cookie = sign_in(client, "eve", PASSWORD).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # development serves plain HTTP on loopback
    store = open_store(get_triage(app).settings.state_url)
    assert store.user("eve")  # the account is in the state store itself


def test_in_production_the_cookie_is_secure_only(settings, script):
    app = create_app(dataclasses.replace(settings, app_env="production"), script)
    client = app.test_client()
    accounts.add(get_triage(app).store, "fay", PASSWORD, now=1.0)
    assert "; Secure" in sign_in(client, "fay", PASSWORD).headers["Set-Cookie"]
