"""Operations endpoints and hooks shared by every channel: readiness, metrics, request ids.

`/readyz` tells a load balancer whether to send traffic here (store reachable, content loaded);
overdue content reviews are paperwork, not an outage, so they are listed as warnings (and
counted in a metric) without taking every instance off the air at once. `/metrics` serves
Prometheus; every response carries the request
id that its log lines carry, and is counted by channel (its blueprint) and status.
"""

from __future__ import annotations

import hmac
import os
import re

from flask import Blueprint, Flask, Response, jsonify, request

from skill.ops import headers, metrics
from skill.service import get_triage

bp = Blueprint("ops", __name__)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # what we accept from X-Request-Id


@bp.get("/readyz")
def readyz():
    """200 when this instance can take conversations; 503 with the reasons when not."""
    triage = get_triage()
    reasons = [] if triage.store.ping() else ["store: not reachable"]
    if not triage.script.questions:
        reasons.append("content: not loaded")
    warnings = [f"content: {warning}" for warning in triage.script.warnings]
    if reasons:
        return jsonify(status="not ready", reasons=reasons, warnings=warnings), 503
    if warnings:
        return jsonify(status="ready", content=triage.script.version, warnings=warnings)
    return jsonify(status="ready", content=triage.script.version)


@bp.get("/metrics")
def prometheus():
    """The Prometheus exposition of this service's counters, from all of its workers."""
    token = get_triage().settings.metrics_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token and not hmac.compare_digest(given.encode(), token.encode()):
        return Response("metrics need a token\n", status=401, mimetype="text/plain")
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def client_address() -> str:
    """The address the request came from; behind a trusted proxy, the one it saw."""
    if get_triage().settings.trust_proxy and request.headers.get("X-Forwarded-For"):
        return request.headers["X-Forwarded-For"].split(",")[-1].strip()
    return request.remote_addr or ""


def _start() -> None:
    """Take the caller's request id when it is sane, else make one; the response echoes it
    (skill.ops.headers)."""
    given = request.environ.get("HTTP_X_REQUEST_ID", "")
    made = given if _REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
    request.environ[headers.REQUEST_ID] = made  # the logs' and the response's


def _finish(response: Response) -> Response:
    """Count the response by channel and status."""
    metrics.REQUESTS.labels(request.blueprint or "app", str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    """Add the endpoints and the per-request hooks to the app."""
    app.register_blueprint(bp)
    metrics.REVIEWS_OVERDUE.set(len(get_triage(app).script.warnings))
    app.before_request(_start)
    app.after_request(_finish)
