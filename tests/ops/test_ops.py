"""Operations: readiness, metrics, settings checks at start, the container and `make serve`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from app import create_app
from skill import config, content
from tests.common import ROOT, free_port
from tests.servers import APP_SPEC
from tests.texting import advised, form, post, said

PRODUCTION = {
    "APP_ENV": "production",
    "STATE_SECRET": "a-real-secret-of-some-length",
    "TWILIO_AUTH_TOKEN": "a-token",
}


def test_readyz_is_ready_with_a_store_and_current_content(client, script):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "content": script.version}


def test_readyz_is_not_ready_without_its_store(settings, script):
    down = replace(settings, state_url=f"redis://127.0.0.1:{free_port()}/0")
    response = create_app(down, script).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["reasons"] == ["store: not reachable"]


def test_a_lapsed_review_date_is_a_warning_not_an_outage(settings):
    stale = content.load(today=date(2099, 1, 1))
    client = create_app(settings, stale).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200, "a paperwork date must not take the service off the air"
    assert len(response.json["warnings"]) == len(stale.warnings) > 0
    assert "review was due" in response.json["warnings"][0]
    assert _sample(client, "triage_content_reviews_overdue") == len(stale.warnings)


def test_a_store_outage_answers_with_the_fallback_and_is_counted(settings, script):
    down = replace(settings, state_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(down, script).test_client()
    before = _sample(client, 'triage_store_errors_total{channel="sms"}')
    reply = said(post(client, form("+447700900006", "hi")))
    assert reply == script.fill(script.messages["store_down"], "en-GB")
    assert _sample(client, 'triage_store_errors_total{channel="sms"}') == before + 1


def test_metrics_count_requests_outcomes_and_red_flags(client, script):
    opening = "I fell on my run and cannot put weight on my leg"
    before = _sample(client, 'triage_red_flags_total{outcome="fracture_or_dislocation"}')
    outcome = advised(script, said(post(client, form("+447700900007", opening))))
    assert outcome.id == "fracture_or_dislocation"
    labels = f'condition="{outcome.id}",level="{outcome.level}"'
    assert _sample(client, f"triage_outcomes_total{{{labels}}}") >= 1
    assert _sample(client, f'triage_red_flags_total{{outcome="{outcome.id}"}}') == before + 1
    assert _sample(client, 'triage_requests_total{channel="messaging",status="200"}') >= 1


def test_metrics_answer_only_the_token_when_one_is_set(settings, script):
    client = create_app(replace(settings, metrics_token="scrape-me"), script).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200 and "triage_requests_total" in scraped.text


def test_a_request_id_is_made_when_none_or_a_strange_one_is_given(client):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


@pytest.mark.parametrize(
    "env, fault",
    [
        ({"APP_ENV": "staging"}, "APP_ENV='staging': use one of development, production, test"),
        (
            {**PRODUCTION, "TWILIO_VALIDATE": "0"},
            "APP_ENV=production refuses to start: TWILIO_VALIDATE=0",
        ),
        (
            {**PRODUCTION, "ALEXA_VERIFY": "off"},
            "APP_ENV=production refuses to start: ALEXA_VERIFY=0",
        ),
        ({"APP_ENV": "production"}, "APP_ENV=production refuses to start: STATE_SECRET"),
        (
            {**PRODUCTION, "STATE_SECRET": "a"},
            "APP_ENV=production refuses to start: STATE_SECRET is shorter than 16",
        ),
        (
            {**PRODUCTION, "TWILIO_AUTH_TOKEN": ""},
            "APP_ENV=production refuses to start: TWILIO_AUTH_TOKEN is not set",
        ),
        ({"PORT": "http"}, "PORT='http' is not a int"),
        ({"PORT": "70000"}, "PORT='70000' must be at most 65535"),
        ({"CONVERSATION_TTL_HOURS": "nan"}, "CONVERSATION_TTL_HOURS='nan' is not a finite"),
        ({"CONVERSATION_TTL_HOURS": "inf"}, "CONVERSATION_TTL_HOURS='inf' is not a finite"),
        ({"AUDIT_DAYS": "-inf"}, "AUDIT_DAYS='-inf' is not a finite"),
        ({"VOICE_MIN_CONFIDENCE": "NaN"}, "VOICE_MIN_CONFIDENCE='NaN' is not a finite"),
        ({"AUDIT_DAYS": "-1"}, "AUDIT_DAYS='-1' must be at least 0"),
        ({"STATE_URL": "postgres://db"}, "STATE_URL='postgres://db'"),
        ({"CHECKIN_AFTER": "soon"}, "CHECKIN_AFTER='soon': use a delay like 2d"),
        ({"CHECKIN_AFTER": "0s"}, "CHECKIN_AFTER='0s': use a delay like 2d"),
        ({"QUIET_HOURS": "9"}, "QUIET_HOURS='9': use two different hours"),
        ({"QUIET_HOURS": "21-25"}, "QUIET_HOURS='21-25'"),
        ({"CHECKIN_KEY": "not-a-key"}, "CHECKIN_KEY is not a Fernet key"),
        ({"TWILIO_API_BASE": "ftp://x"}, "TWILIO_API_BASE='ftp://x'"),
        (
            {**PRODUCTION, "TWILIO_API_BASE": "http://127.0.0.1:8099"},
            "APP_ENV=production refuses to start: TWILIO_API_BASE is not an https address",
        ),
        ({"STATE_URL": "sqlite:///"}, "STATE_URL='sqlite:///': SQLite needs a file path"),
        ({"STATE_URL": "sqlite:///:memory:"}, "SQLite needs a file path"),
    ],
)
def test_each_wrong_setting_is_named(env, fault):
    with pytest.raises(config.SettingsError, match=re.escape(fault)):
        config.from_env(env)


def test_check_in_settings_read_as_documented():
    assert config.from_env({}).checkin_after == 2 * 86400  # CHECKIN_AFTER=2d
    assert config.from_env({}).quiet_hours == (21, 9)
    read = {"CHECKIN_AFTER": "48h", "QUIET_HOURS": ""}
    assert (config.from_env(read).checkin_after, config.from_env(read).quiet_hours) == (
        172800,
        None,
    )
    assert config.from_env({"CHECKIN_AFTER": "30s"}).checkin_after == 30
    assert config.from_env({"CHECKIN_AFTER": "off"}).checkin_after == 0


def test_production_with_every_check_on_starts():
    settings = config.from_env(PRODUCTION)
    assert settings.twilio_validate and settings.alexa_verify


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    # env.get("X"), os.environ.get("X"), os.environ["X"], _number(env, "X"), _whole("X"), ...
    reads = r"""(?:env\.get\(|environ\.get\(|environ\[|_number\(env, |_flag\(env, |_whole\()"""
    reads += r"""["']([A-Z_]+)"""
    read = set(re.findall(reads, (ROOT / "skill" / "config.py").read_text()))
    served = set(re.findall(reads, (ROOT / "gunicorn.conf.py").read_text()))
    assert len(read) > 20 and {"PORT", "WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"} <= served
    assert read | served <= documented


def test_gunicorn_refuses_production_with_signature_checks_off(tmp_path):
    env = {
        "APP_ENV": "production",
        "STATE_SECRET": "s",
        "TWILIO_VALIDATE": "0",
        "PORT": str(free_port()),
        "STATE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    done = subprocess.run(
        [gunicorn, "-c", "gunicorn.conf.py", APP_SPEC],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "APP_ENV=production refuses to start: TWILIO_VALIDATE=0" in done.stderr


def test_dockerfile_lints_clean_and_starts_the_tested_app():
    hadolint = Path(sys.executable).parent / "hadolint"
    lint = subprocess.run([str(hadolint), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd[:3] == ["gunicorn", "-c", "gunicorn.conf.py"] and cmd[-1] == APP_SPEC
    assert f'gunicorn.conf.py "{APP_SPEC}"' in (ROOT / "Makefile").read_text()
    assert re.search(r"^HEALTHCHECK .*?CMD .*?/healthz", dockerfile, re.M | re.S)
    assert re.search(r"^USER \d+", dockerfile, re.M)
    assert "test" not in re.search(r"pip install .*", dockerfile).group(0)


def _sample(client, sample: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def test_a_wrong_setting_stops_start_up_with_one_clear_line(tmp_path):
    env = {"PORT": "http", "PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert "not starting: PORT='http' is not a int" in done.stderr
    assert "Traceback" not in done.stderr
