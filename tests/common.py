"""What the test suites share besides fixtures: the repository's places, the cases, test keys."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIGNETTES = ROOT / "tests" / "vignettes"
PUBLIC_VIGNETTES = VIGNETTES / "public.yaml"
PROJECT_VIGNETTES = VIGNETTES / "project.yaml"
HARDER_VIGNETTES = VIGNETTES / "harder.yaml"
TWILIO_TOKEN = "test-auth-token"
ALEXA_SKILL_ID = "amzn1.ask.skill.test-runner-hip-check"
CLINIC_ALERTS = "+447700900001"  # the clinic's number for alerts (ESCALATION_SMS_TO)


def twilio_id(kind: str, name: str) -> str:
    """A Twilio id in Twilio's form (SM, CA, AC... and 32 hex digits), the same for one name."""
    return kind + hashlib.md5(name.encode()).hexdigest()


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(available: bool, what: str) -> None:
    """Skip on a laptop without a real dependency; never in CI, where it must fail."""
    if not available:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} is not available here")


def skill_command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m skill ARGS` from the repository, as an operator runs it; its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "skill", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def message_text(script, key: str, locale: str = "en-GB") -> str:
    """A message of the content as a runner gets it, so tests never repeat its wording."""
    return script.fill(script.messages[key], locale)


def npm_installed(folder: Path, package: str) -> Path:
    """The npm package in folder/node_modules, installed from the folder's committed lock file
    when it is not there yet (skip on a laptop without npm; fail in CI)."""
    need(bool(shutil.which("npm")), "npm")
    installed = folder / "node_modules" / package
    if not installed.is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            check=True,
            timeout=300,
        )
    return installed
