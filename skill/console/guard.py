"""Who may see the console: the signed-in check, CSRF tokens and the sign-in rate limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import abort, redirect, request, session, url_for

from skill.ops.endpoints import client_address
from skill.service import get_triage

SIGNIN_WINDOW = 15 * 60  # seconds
SIGNIN_PER_NAME = 5  # attempts per window for one account name
SIGNIN_PER_CLIENT = 20  # attempts per window from one client address
OPEN = ("console.signin", "console.static")  # what needs no session


def triage():
    """The service this console belongs to (its script, store and settings)."""
    return get_triage()


def csrf_token() -> str:
    """This session's CSRF token, made on first use; every form posts it back."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def staff() -> str | None:
    """The signed-in account's name, while the account still exists with the same password."""
    name, since = session.get("user"), session.get("since")
    if not name:
        return None
    account = triage().store.user(name)
    return name if account and account.get("since") == since else None


def check() -> object | None:
    """Before every console request: refuse a form without this session's token, and send
    anyone not signed in to the sign-in page."""
    if request.method == "POST":
        given, kept = request.form.get("csrf", ""), session.get("csrf", "")
        if not kept or not hmac.compare_digest(given.encode(), kept.encode()):
            abort(403, "This form has expired or did not come from the console. Reload the page.")
    if request.endpoint in OPEN or staff():
        return None
    return redirect(url_for("console.signin"))


def sign_in(name: str, since: float) -> None:
    """Start a fresh session for the account (a new CSRF token too)."""
    session.clear()
    session.permanent = True
    session.update(user=name, since=since, csrf=secrets.token_urlsafe(32))


def too_many_attempts(name: str) -> bool:
    """Count this sign-in attempt; True when the name or the client has made too many."""
    store, secret, now = triage().store, triage().settings.state_secret, triage().clock()
    by_name = store.hit(_key(secret, "name", name.lower()), now, SIGNIN_WINDOW)
    by_client = store.hit(_key(secret, "client", client_address()), now, SIGNIN_WINDOW)
    return by_name > SIGNIN_PER_NAME or by_client > SIGNIN_PER_CLIENT


def _key(secret: str, kind: str, value: str) -> str:
    # Hashed like conversation keys: the store never holds an address or a name in the clear.
    digest = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:40]
    return f"signin:{kind}:{digest}"
