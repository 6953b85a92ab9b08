"""The clinic console at /console/: sign in, try a conversation, read the script, see counts.

Staff-only pages in the same service. Sessions are Flask's signed cookies, under a key derived
from STATE_SECRET; every form carries a CSRF token; pages allow only their own styles.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from skill.console.views import bp
from skill.service import get_triage

# The webhooks' `default-src 'none'` would block the console's own stylesheet, so its pages
# allow this service's own scripts, styles and images and nothing else.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
}
SESSION_HOURS = 8  # a working day; then sign in again


class ConsoleSessions(SecureCookieSessionInterface):
    """Sessions for the console's pages only: the cookie is scoped to /console, so no other
    request carries one, and opening an empty session for every webhook costs a signer each."""

    def open_session(self, app, request):
        """The signed-cookie session under /console; a null session elsewhere."""
        if request.path.startswith("/console"):
            return super().open_session(app, request)
        return self.null_session_class()


def init_app(app: Flask) -> None:
    """Register the console and set up its session cookie."""
    settings = get_triage(app).settings
    # A key of its own, so a session cookie tells nothing about the key that hashes addresses.
    app.secret_key = hmac.new(
        settings.state_secret.encode(), b"console session cookie", hashlib.sha256
    ).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.app_env == "production",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    app.session_interface = ConsoleSessions()
    app.register_blueprint(bp)
