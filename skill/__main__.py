"""Command line: `python -m skill COMMAND` (run, chat, simulate, check, vignettes, graph, ...).

A thin dispatcher: each command and its options live in their own module under skill/cli/.
"""

from __future__ import annotations

import argparse
import sys

from skill.cli import (
    alexa_model,
    callback_key,
    chat,
    check,
    graph,
    purge,
    run,
    users,
    vignettes,
    whatsapp_content,
    worker,
)

COMMANDS = (
    run,
    chat,
    check,
    vignettes,
    graph,
    alexa_model,
    purge,
    users,
    whatsapp_content,
    callback_key,
    worker,
)


def parser() -> argparse.ArgumentParser:
    """Every command and its options."""
    whole = argparse.ArgumentParser(prog="python -m skill", description=__doc__.split("\n\n")[0])
    sub = whole.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return whole


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
