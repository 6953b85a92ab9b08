"""`check`: validate the content and say which files built from it are out of date."""

from __future__ import annotations

import sys

from skill import content


def check(args) -> int:
    """Validate content; exit non-zero naming the fault."""
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
    return 0


def register(sub) -> None:
    p = sub.add_parser("check", help=check.__doc__)
    p.add_argument("path", nargs="?", default=content.DEFAULT_DIR)
    p.add_argument("--strict", action="store_true", help="fail on review-date warnings too")
    p.set_defaults(func=check)
