"""A clinician's edit, end to end on a copy of the repository: every question, message and
piece of advice reworded. `check` accepts the content but names each file built from it as out
of date, with `make content`; after `make content`, `check` passes and the tests pass on the
edited copy: those of the built files and those of the wording in `make test`, the whole suite
with ROBUST_LONG=1 (`make fuzz`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common import ROOT

LONG = bool(os.environ.get("ROBUST_LONG"))
NOT_COPIED = (
    ".git",
    ".venv",
    "node_modules",
    "var",
    "build",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "*.egg-info",
)
# The tests of the files built from the content, and those that read its wording.
SHORT = [
    "tests/triage/test_transcripts.py",
    "tests/channels/test_snapshot.py",
    "tests/safety/test_graph.py",
    "tests/channels/test_alexa_model.py",
    "tests/triage/test_engine.py",
    "tests/test_cli.py",
    "tests/content",
]
# Each "text: ..." of these fields gets a prefix: new wording, still valid content.
REWORDED = {
    "script": (("text", "voice"), "Q: "),
    "red_flags": (("text", "voice"), "Q: "),  # the check questions asked on weak evidence
    "outcomes": (("title", "short", "more"), "So, "),
    "messages": (None, "Note. "),  # every message
}


def _reword(path: Path, fields, prefix: str) -> int:
    keys = "|".join(fields) if fields else "[a-z_]+"
    line = re.compile(rf'^(\s+(?:{keys}): ")(.+"\s*)$', re.M)
    text, count = line.subn(lambda m: m.group(1) + prefix + m.group(2), path.read_text())
    path.write_text(text)
    return count


def _run(copy: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ROBUST_LONG"}
    env["ENV_FILE"] = str(copy / "none.env")  # not a developer's .env
    return subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_COPIED))
    for name, (fields, prefix) in REWORDED.items():
        assert _reword(copy / "content" / f"{name}.yaml", fields, prefix) >= 3
    return copy


def test_a_reworded_content_is_valid_then_rebuilt_then_passes_the_tests(edited):
    python = sys.executable
    # `python -m skill` in the copy runs the copy's skill/, on the copy's content/.
    stale = _run(edited, python, "-m", "skill", "check")
    assert stale.returncode == 1 and "is valid" in stale.stdout, stale.stderr
    named = set(re.findall(r"^out of date: (\S+)$", stale.stderr, re.M))
    transcripts = {
        f"tests/triage/transcripts/{p.name}"
        for p in (edited / "tests" / "triage" / "transcripts").glob("*.yaml")
    }
    built = {
        "skill-package/skill.json",
        "docs/flowchart.md",
        "tests/channels/snapshots/replies.json",
    }
    assert named == built | transcripts and "make content" in stale.stderr

    # make content with this interpreter; the copy has no .venv of its own to install.
    bin_dir = str(Path(python).parent)
    rebuilt = _run(edited, "make", "-o", ".venv/.test", f"BIN={bin_dir}", "content")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    fresh = _run(edited, python, "-m", "skill", "check")
    assert fresh.returncode == 0 and "up to date" in fresh.stdout, fresh.stderr

    tests = ["tests", f"--ignore={Path(__file__).relative_to(ROOT)}"] if LONG else SHORT
    suite = _run(
        edited, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, timeout=3600
    )
    assert suite.returncode == 0, suite.stdout[-4000:]
