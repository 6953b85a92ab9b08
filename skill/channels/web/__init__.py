"""The web chat: a widget a clinic embeds with one script tag, talking JSON to /web/.

`<script src="https://HOST/web/widget.js" defer></script>` puts the widget on a page. It makes
a random token for the browser session (kept in sessionStorage): the conversation's address,
stored hashed like a phone number. It posts JSON:

- `/web/start` {token, id}: the conversation as it stands, opened as a call is (the intro with
  the emergency number, then the first question) when there is none;
- `/web/message` {token, id, text}: one message typed or one answer button pressed.

`id` is the widget's id for that send, so a retried POST gets the same reply without moving the
conversation twice. A reply is {"text", "options", "ended"}: the words as on SMS, and the
waiting question's answers for buttons. Pages on WEBCHAT_ORIGINS (and this service's own, the
demo page) may call; any other Origin gets 403. Messages are at most MAX_TEXT characters and
each token and client address has a rate limit. Logs carry no token, address or text.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from skill.channels import base
from skill.content import Script
from skill.ops.endpoints import client_address
from skill.service import Inbound, get_triage
from skill.stores import conversation_key
from skill.triage import render
from skill.triage.engine import Event, Reply

bp = Blueprint("web", __name__, url_prefix="/web")
STATIC = Path(__file__).resolve().parent / "static"
MAX_TEXT = 1000  # characters in one message: a runner's answers are a few words
RATE_WINDOW = 600  # seconds; the limits per token and per client address are in Settings
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")  # the widget's is 32 random bytes, base64url
# Its own page and files, the widget's styles and calls back here, and nothing else.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}
_CORS = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


@bp.get("/widget.js")
def widget():
    """The widget, for a script tag on the clinic's page."""
    return send_from_directory(STATIC, "widget.js", mimetype="text/javascript")


@bp.get("/widget.css")
def widget_style():
    """The widget's styles, loaded into its own shadow root."""
    return send_from_directory(STATIC, "widget.css", mimetype="text/css")


@bp.get("/demo")
def demo():
    """A page with nothing but the widget, for trials."""
    return send_from_directory(STATIC, "demo.html", mimetype="text/html")


@bp.before_request
def _refuse_foreign_origins():
    """Calls from a page on another origin than ours or WEBCHAT_ORIGINS' are refused; a
    preflight from an allowed one is answered here."""
    if request.method not in ("POST", "OPTIONS"):
        return None
    origin = request.headers.get("Origin")
    if origin and origin not in _allowed_origins():
        return _error(403, "origin", "This page's origin may not use the web chat.")
    if request.method == "OPTIONS":
        return Response(status=204, headers=_CORS)
    return None


@bp.after_request
def _allow_origin(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin in _allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err):
    return _error(413, "too_large", "The request body is over the service's limit.")


@bp.post("/start")
def start():
    """The conversation as it stands, or opened afresh: intro, emergency line, first question."""
    return _turn(Event.OPEN)


@bp.post("/message")
def message():
    """One message from the runner, typed or a button's answer."""
    return _turn(None)


def _turn(event: Event | None) -> Response:
    request.get_data()  # read first, so that an oversized body of any type gets 413
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(400, "json", "Send a JSON object with token, id and text.")
    token, sent, text = data.get("token"), data.get("id"), data.get("text", "")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return _error(400, "token", "token: 22 to 64 characters of A-Z a-z 0-9 _ -.")
    if not isinstance(sent, str) or not _ID.fullmatch(sent):
        return _error(400, "id", "id: 1 to 64 characters of A-Z a-z 0-9 _ -.")
    if event is None and not isinstance(text, str):
        return _error(400, "text", "text: the message, as a string.")
    if event is None and len(text) > MAX_TEXT:
        return _error(400, "too_long", f"text: at most {MAX_TEXT} characters.")
    triage = get_triage()
    # The delivery id traces a fault in the logs, so it is a keyed hash: it names no token.
    delivery = conversation_key(triage.settings.state_secret, "web-send", f"{token} {sent}")
    inbound = Inbound("web", token, event or text, delivery, triage.locale())

    def turn() -> Response:
        if _over_limit(token):  # inside the turn: a store that fails here still gets an answer
            return _error(429, "rate", "Too many messages: wait a few minutes and try again.")
        return jsonify(triage.converse(inbound, _render).body)

    return base.answer(inbound, turn, lambda words: jsonify(text=words, options=[], ended=True))


def _render(script: Script, reply: Reply) -> dict:
    """The reply as the widget shows it: the words as on SMS, and buttons for the answers."""
    waiting = reply.question if reply.question and not reply.outcome else None
    return {
        "text": render.text(script, reply),
        "options": render.buttons(script, waiting, reply.locale) if waiting else [],
        "ended": reply.ended,
    }


def _allowed_origins() -> set[str]:
    settings = get_triage().settings
    ours = {request.host_url.rstrip("/")}  # the demo page's
    if settings.public_base_url:  # behind a proxy, the address the world calls
        public = urlsplit(settings.public_base_url)
        ours.add(f"{public.scheme}://{public.netloc}")
    return ours | set(settings.webchat_origins)


def _over_limit(token: str) -> bool:
    """Count this call; True when its token or its client address has made too many."""
    triage = get_triage()
    settings, now = triage.settings, triage.clock()
    # Hashed as conversation keys are: the store never holds a token or an address.
    by_token = triage.store.hit(
        conversation_key(settings.state_secret, "web-rate-token", token), now, RATE_WINDOW
    )
    by_client = triage.store.hit(
        conversation_key(settings.state_secret, "web-rate-client", client_address()),
        now,
        RATE_WINDOW,
    )
    return by_token > settings.webchat_token_limit or by_client > settings.webchat_client_limit


def _error(status: int, error: str, detail: str) -> Response:
    """A refusal as JSON: a code, what was wrong, and words for the runner with the emergency
    number (the widget shows `text`)."""
    words = get_triage().words(base.FALLBACK, get_triage().locale())
    response = jsonify(error=error, detail=detail, text=words)
    response.status_code = status
    return response
