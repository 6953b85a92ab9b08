"""`chat` (a conversation in the terminal) and `simulate` (one JSON line per input line)."""

from __future__ import annotations

import json
import sys
import time

from skill import content
from skill.triage import engine

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
            "question": reply.question.id if reply.question else None,
            "outcome": {"level": outcome.level, "condition": outcome.id} if outcome else None,
            "ended": reply.ended,
        }
        print(json.dumps(record), flush=True)

    _converse(script, args.locale, sys.stdin, emit)
    return 0


def register(sub) -> None:
    for name, func in (("chat", chat), ("simulate", simulate)):
        p = sub.add_parser(name, help=func.__doc__)
        p.add_argument("--locale", default="en-GB")
        p.add_argument("--content", default=content.DEFAULT_DIR)
        p.set_defaults(func=func)
    sub.choices["simulate"].add_argument(
        "--channel", default="sms", choices=("sms", "whatsapp", *VOICE_CHANNELS)
    )
