"""Every command in the README and docs/ works as written: each names a make target, a
`python -m skill` command with options it takes, or a file in the repository, and the cheap
ones are run for real."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from skill.__main__ import parser
from tests.common import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^ *```(?:sh|bash|shell)\n(.*?)^ *```", re.M | re.S)
PYTHON = ".venv/bin/python"
# Programs of other parties that the docs tell people to run; they are not ours to check.
OTHERS = {"curl", "docker", "cp", "openssl", "cloudflared", "ngrok", "ask", "npm", "cd"}
# Commands quick enough to run here, and that change nothing.
RUN = {"check", "vignettes", "graph", "alexa-model"}
ASSIGNMENT = re.compile(r"[A-Z_]+=\S*")


def _commands() -> list[tuple[str, list[str]]]:
    """(where, argv) for every command in a shell block, settings in front of it dropped."""
    found = []
    for doc in DOCS:
        for block in SHELL_BLOCK.findall(doc.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                while words:
                    cut = words.index("&&") if "&&" in words else len(words)
                    argv, words = words[:cut], words[cut + 1 :]
                    while argv and ASSIGNMENT.fullmatch(argv[0]):
                        argv = argv[1:]
                    if argv:
                        found.append((f"{doc.relative_to(ROOT)}: {line.strip()}", argv))
    return found


COMMANDS = _commands()
TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def _paths(args: list[str]) -> list[str]:
    """The arguments that name a place in the repository."""
    return [
        a
        for a in args
        if "/" in a and not a.startswith(("-", "http://", "https://")) and ":" not in a
    ]


def test_the_readme_is_a_front_door_with_the_two_commands_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    first_screen = "\n".join(lines[:25])
    assert "make run" in first_screen and "make test" in first_screen


def test_the_docs_have_commands_and_use_the_venv_or_make():
    assert len(COMMANDS) > 30
    for where, argv in COMMANDS:
        assert argv[0] in {"make", PYTHON} | OTHERS, f"{where}: use {PYTHON} or a make target"


MAKES = [(w, c) for w, c in COMMANDS if c[0] == "make"]


@pytest.mark.parametrize("argv", [c for _, c in MAKES], ids=[w for w, _ in MAKES])
def test_each_make_command_is_a_target_make_can_run(argv):
    targets = [a for a in argv[1:] if not ASSIGNMENT.fullmatch(a)]
    assert targets and set(targets) <= TARGETS
    dry = subprocess.run(["make", "-n", *argv[1:]], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr


PYTHONS = [(w, c) for w, c in COMMANDS if c[0] == PYTHON]


@pytest.mark.parametrize("argv", [c for _, c in PYTHONS], ids=[w for w, _ in PYTHONS])
def test_each_python_command_names_what_exists_and_the_cheap_ones_run(argv):
    args = argv[1:]
    for path in _paths(args):
        assert (ROOT / path).exists(), f"{path} is not in the repository"
    if args[:2] == ["-m", "pytest"]:
        return
    if args[0] != "-m":
        assert (ROOT / args[0]).is_file()
        done = subprocess.run([sys.executable, args[0], "--help"], cwd=ROOT, capture_output=True)
        assert done.returncode == 0, done.stderr
        return
    assert args[1] == "skill", f"python -m {args[1]}: not a command of ours"
    parsed = parser().parse_args(args[2:])  # exits (fails the test) on an unknown option
    writes = getattr(parsed, "into", None) or getattr(parsed, "write", False)
    if parsed.command in RUN and not writes and not getattr(parsed, "endpoint", None):
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
