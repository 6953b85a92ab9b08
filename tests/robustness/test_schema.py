"""openapi.yaml is the app's real interface: the same routes, and the live server keeps to it.

schemathesis generates requests from the description (valid ones and ones that break it) and
sends them to the running server. Signatures are switched off for this run so that generated
requests reach the conversation code; tests/test_attacks.py proves that signatures hold.
`make fuzz` (ROBUST_LONG=1) runs many more examples.
"""

import os
from dataclasses import replace
from datetime import UTC, datetime

import hypothesis
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.common import ALEXA_SKILL_ID, ROOT

OPENAPI = ROOT / "openapi.yaml"
LONG = bool(os.environ.get("ROBUST_LONG"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
IMPLICIT = {"HEAD", "OPTIONS"}  # Flask answers these for every route by itself

schema = schemathesis.openapi.from_path(OPENAPI)
# Requests that fit the description and requests that break it: neither may get a 5xx.
schema.config.generation.update(modes=["positive", "negative"])


def test_the_description_has_exactly_the_apps_routes(app):
    described = {
        (path, method.upper())
        for path, operations in yaml.safe_load(OPENAPI.read_text())["paths"].items()
        for method in operations
    }
    routed = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.rpartition(".")[2] != "static"  # the app's and blueprints' files
        for method in rule.methods - IMPLICIT
    }
    assert described == routed


@pytest.fixture
def settings(settings):
    """The shared settings with signature checks off: generated requests cannot be signed."""
    return replace(settings, twilio_validate=False, alexa_verify=False)


@schema.parametrize()
@hypothesis.settings(
    max_examples=400 if LONG else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_live_server_keeps_to_its_description(case, live_server):
    if case.path == "/alexa" and isinstance(case.body, dict):
        _current(case.body)
    case.call_and_validate(base_url=live_server, checks=CHECKS, timeout=20)


def _current(body: dict) -> None:
    """Put a fresh timestamp and our skill id into a generated Alexa request where they fit."""
    if isinstance(body.get("request"), dict):
        body["request"]["timestamp"] = datetime.now(UTC).isoformat()
    application = body
    for key in ("context", "System", "application"):
        application = application.get(key) if isinstance(application, dict) else None
    if isinstance(application, dict):
        application["applicationId"] = ALEXA_SKILL_ID
