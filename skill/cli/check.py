"""`check`: validate the content, and say which files built from it are out of date.

Files built from content/ (all rebuilt by `make content`):
- skill-package/: the Alexa skill package, compared with what the content generates;
- docs/flowchart.md: the flowchart, compared with what the content draws;
- tests/triage/transcripts/ and tests/channels/snapshots/replies.json: the golden transcripts
  and the channel snapshot. They record the digest of the content they were made from, since
  remaking them takes the test drivers.
A place that is not there (the container has no docs/ or tests/) is not checked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from skill import content
from skill.cli.alexa_model import stale_files
from skill.safety import graph

ROOT = content.DEFAULT_DIR.parent
REBUILD = "make content"
CHART = Path("docs", "flowchart.md")
TRANSCRIPTS = Path("tests", "triage", "transcripts")
SNAPSHOT = Path("tests", "channels", "snapshots", "replies.json")
PACKAGE = Path("skill-package")


def _recorded_digest(path: Path) -> str | None:
    """The content digest a golden file says it was made from."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return data.get("content_digest") if isinstance(data, dict) else None


def stale(script: content.Script, directory=content.DEFAULT_DIR, root: Path = ROOT) -> list[str]:
    """The files under root built from this content that are out of date, by relative path."""
    out = stale_files(script, root / PACKAGE) if (root / PACKAGE).is_dir() else []
    chart = root / CHART
    if chart.parent.is_dir():
        text = chart.read_text(encoding="utf-8") if chart.is_file() else ""
        if not graph.FENCE.search(text) or graph.embed(text, graph.mermaid(script)) != text:
            out.append(str(CHART))
    digest = content.digest(directory)
    recorded = sorted((root / TRANSCRIPTS).glob("*.yaml"))
    if (root / SNAPSHOT).parent.is_dir():
        recorded.append(root / SNAPSHOT)
    for path in recorded:
        if not path.is_file() or _recorded_digest(path) != digest:
            out.append(str(path.relative_to(root)))
    return out


def check(args) -> int:
    """Validate content; exit non-zero naming the fault, or the files built from it that are
    out of date."""
    try:
        script = content.load(args.path)
    except content.ContentError as err:
        print(f"content fault: {err}", file=sys.stderr)
        return 1
    for warning in script.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if script.warnings and args.strict:
        return 1
    print(
        f"content {script.version} is valid: {len(script.questions)} questions, "
        f"{len(script.outcomes)} outcomes, {len(script.red_flags)} red flags, "
        f"{len(script.locales)} locales"
    )
    if Path(args.path).resolve() != content.DEFAULT_DIR:
        return 0  # the files built from content/ belong to the repository's own content
    out_of_date = stale(script)
    for path in out_of_date:
        print(f"out of date: {path}", file=sys.stderr)
    if out_of_date:
        print(f"rebuild them from the content with: {REBUILD}", file=sys.stderr)
        return 1
    print("files built from the content are up to date")
    return 0


def register(sub) -> None:
    p = sub.add_parser("check", help=check.__doc__.split(";")[0])
    p.add_argument("path", nargs="?", default=content.DEFAULT_DIR)
    p.add_argument("--strict", action="store_true", help="fail on review-date warnings too")
    p.set_defaults(func=check)
