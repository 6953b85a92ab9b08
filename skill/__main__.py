"""Command line: `python -m skill chat|simulate|check|vignettes|graph|alexa-model|purge|users`."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import getpass
import hmac
import json
import sys
import time

import yaml

from skill import config, content
from skill.channels import alexa_model
from skill.safety import graph, vignettes
from skill.stores import open_store
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


def _reported(func):
    """A command whose faults in the files it reads end in one line on stderr and exit 2."""

    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as err:
            print(f"{args.command}: {type(err).__name__}: {err}", file=sys.stderr)
            return 2

    return run


@_reported
def run_vignettes(args) -> int:
    """Run vignette cases through the engine; exit 1 on any under-triage or missed red flag."""
    script = content.load(args.content)
    cases = vignettes.load_cases(args.file)
    if args.understanding:
        readings = [vignettes.read_opening(script, c) for c in cases]
        summary = vignettes.understanding(readings)
        if args.json:
            openings = [dataclasses.asdict(r) for r in readings]
            print(json.dumps({"openings": openings, "totals": summary}))
        else:
            print(vignettes.understanding_table(readings))
        return 1 if summary["red_flags_missed"] else 0
    results = [vignettes.run(script, case, args.locale, args.style, args.seed) for case in cases]
    print(json.dumps(vignettes.as_json(results)) if args.json else vignettes.table(results))
    return 1 if vignettes.totals(results)["under"] else 0


@_reported
def draw(args) -> int:
    """Print the triage script as a flowchart, or write it into a README's mermaid block."""
    script = content.load(args.path)
    chart = graph.dot(script) if args.format == "dot" else graph.mermaid(script)
    if args.into:
        with open(args.into, encoding="utf-8") as f:
            text = graph.embed(f.read(), chart)
        with open(args.into, "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    print(chart)
    return 0


def alexa_model_command(args) -> int:
    """Generate the Alexa skill package from the content; --write saves it, else check it."""
    script = content.load(args.content)
    if args.write:
        for path in alexa_model.write(script, endpoint=args.endpoint):
            print(f"wrote {path.relative_to(alexa_model.PACKAGE_DIR.parent)}")
        return 0
    stale = [
        rel for rel, text in alexa_model.package(script).items()
        if not (alexa_model.PACKAGE_DIR / rel).is_file()
        or (alexa_model.PACKAGE_DIR / rel).read_text(encoding="utf-8") != text
    ]  # fmt: skip
    for rel in stale:
        print(f"out of date: skill-package/{rel}", file=sys.stderr)
    if stale:
        print("run: python -m skill alexa-model --write", file=sys.stderr)
        return 1
    print("skill-package/ matches the content")
    return 0


def _state_store():
    """The store the settings name, or None after printing why the settings are wrong."""
    try:
        settings = config.from_env()
    except config.SettingsError as err:
        print(f"setting fault: {err}", file=sys.stderr)
        return None
    return open_store(settings.state_url, audit_seconds=settings.audit_days * 86400)


def purge(args) -> int:
    """Delete expired conversations, delivery ids and audit records older than AUDIT_DAYS."""
    store = _state_store()
    if store is None:
        return 2
    print(f"purged {store.purge(time.time())} expired records")
    return 0


def users(args) -> int:
    """Add a clinic console account (or set its password), or remove one."""
    from skill.console import accounts  # only this command needs the console (and Flask)

    store = _state_store()
    if store is None:
        return 2
    if args.action == "remove":
        if not accounts.remove(store, args.name):
            print(f"users: no account named {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if not hmac.compare_digest(getpass.getpass("Again: ").encode(), password.encode()):
            print("users: the passwords differ", file=sys.stderr)
            return 1
    try:
        accounts.add(store, args.name, password, time.time())
    except accounts.AccountError as err:
        print(f"users: {err}", file=sys.stderr)
        return 1
    print(f"{args.name} can sign in to /console/")
    return 0


def whatsapp_content(args) -> int:
    """List the WhatsApp button templates the content needs; --sync makes or refreshes them."""
    from skill.channels.whatsapp_buttons import WhatsAppButtons, templates

    script = content.load(args.content)
    try:
        settings = config.from_env()
    except config.SettingsError as err:
        print(f"setting fault: {err}", file=sys.stderr)
        return 2
    needed = templates(script)
    if not args.sync:
        for name, body in needed.items():
            print(name, json.dumps(body["types"]))
        return 0
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        print("whatsapp-content: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", file=sys.stderr)
        return 2
    made, deleted = WhatsAppButtons(settings).sync(script)
    print(f"{len(needed)} templates: {len(made)} made, {len(deleted)} old ones deleted")
    return 0


def _users_parser(sub) -> None:
    p = sub.add_parser("users", help=users.__doc__)
    actions = p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account or set a new password")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read one line as password")
    actions.add_parser("remove", help="delete an account").add_argument("name")
    p.set_defaults(func=users)


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
    p = sub.add_parser("vignettes", help=run_vignettes.__doc__)
    p.add_argument("file")
    p.add_argument("--locale", default=None, help="for cases that name none (default en-GB)")
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--understanding", action="store_true", help="measure the openings instead")
    p.add_argument("--style", default="plain", choices=vignettes.STYLES,
                   help="how the runner answers: plain yes/no, or as people text")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="for the people style: runs repeat")
    p.set_defaults(func=run_vignettes)
    p = sub.add_parser("graph", help=draw.__doc__)
    p.add_argument("path", nargs="?", default=content.DEFAULT_DIR)
    p.add_argument("--format", default="mermaid", choices=("mermaid", "dot"))
    p.add_argument("--into", metavar="README", help="replace the first mermaid block in this file")
    p.set_defaults(func=draw)
    p = sub.add_parser("alexa-model", help=alexa_model_command.__doc__)
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--write", action="store_true", help="write skill-package/ (else only check)")
    p.add_argument("--endpoint", default=alexa_model.ENDPOINT, help="HTTPS URL of POST /alexa")
    p.set_defaults(func=alexa_model_command)
    sub.add_parser("purge", help=purge.__doc__).set_defaults(func=purge)
    p = sub.add_parser("whatsapp-content", help=whatsapp_content.__doc__)
    p.add_argument("--content", default=content.DEFAULT_DIR)
    p.add_argument("--sync", action="store_true", help="make them in the Twilio account")
    p.set_defaults(func=whatsapp_content)
    _users_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
