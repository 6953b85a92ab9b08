"""The real app plus one test-only endpoint that drives Triage.converse over HTTP.

POST /test/converse {address, message, sid} answers with the reply as JSON. It lets the
scale-out, outage and logging tests run real conversations through real server processes
before a channel's webhook is on this branch; nothing in the app itself knows of it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

import app as service

bp = Blueprint("test", __name__)


def as_json(reply) -> dict:
    """The parts of a reply a test looks at."""
    outcome = reply.outcome
    return {"text": reply.text, "question": reply.question, "ended": reply.ended,
            "outcome": outcome.id if outcome else None}  # fmt: skip


@bp.post("/test/converse")
def converse():
    """One message from one address, with an optional delivery id."""
    body = request.get_json()
    triage = current_app.extensions["triage"]
    address, message, sid = body["address"], body["message"], body.get("sid")
    return jsonify(triage.converse("sms", address, message, as_json, dedupe=sid))


def create_app(*args):
    """The service's own app with the test endpoint added."""
    app = service.create_app(*args)
    app.register_blueprint(bp)
    return app
