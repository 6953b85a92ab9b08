"""Command line: `python -m skill chat|simulate|check|purge`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from skill import config, content, engine
from skill.store import open_store

VOICE_CHANNELS = ("voice", "alexa")


def _converse(script, locale: str, lines, emit) -> None:
    """Feed each line to the engine as one message, handing each reply to emit."""
    state = None
    for line in lines:
        state, reply = engine.step(
            script, state, line.rstrip("\n"), time.time(), locale=locale, ttl_seconds=86400
        )
        emit(reply)


def chat(args) -> int:
    """Hold a triage conversation in the terminal."""
    script = content.load(args.content)
    print("Type your message. Ctrl-D to leave.")

    def lines():
        while True:
            try:
                yield input("> ")
            except EOFError:
                return

    _converse(script, args.locale, lines(), lambda reply: print(reply.text or "(no reply)"))
    return 0


def simulate(args) -> int:
    """One JSON line per input line, flushed at once, for another program to drive."""
    script = content.load(args.content)

    def emit(reply: engine.Reply) -> None:
        outcome = reply.outcome
        record = {
            "reply": reply.speech if args.channel in VOICE_CHANNELS else reply.text,
            "question": reply.question,
            "outcome": {"level": outcome.level, "condition": outcome.id} if outcome else None,
            "ended": reply.ended,
        }
        print(json.dumps(record), flush=True)

    _converse(script, args.locale, sys.stdin, emit)
    return 0


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


def purge(args) -> int:
    """Delete expired conversations, delivery ids and audit records older than AUDIT_DAYS."""
    try:
        settings = config.from_env()
    except config.SettingsError as err:
        print(f"setting fault: {err}", file=sys.stderr)
        return 2
    store = open_store(settings.state_url, audit_seconds=settings.audit_days * 86400)
    print(f"purged {store.purge(time.time())} expired records")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("chat", chat), ("simulate", simulate)):
        p = sub.add_parser(name, help=func.__doc__)
        p.add_argument("--locale", default="en-GB")
        p.add_argument("--content", default=content.DEFAULT_DIR)
        p.set_defaults(func=func)
    sub.choices["simulate"].add_argument(
        "--channel", default="sms", choices=("sms", "whatsapp", *VOICE_CHANNELS)
    )
    p = sub.add_parser("check", help=check.__doc__)
    p.add_argument("path", nargs="?", default=content.DEFAULT_DIR)
    p.add_argument("--strict", action="store_true", help="fail on review-date warnings too")
    p.set_defaults(func=check)
    sub.add_parser("purge", help=purge.__doc__).set_defaults(func=purge)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
