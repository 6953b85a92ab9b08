"""The command line, one module per command; each has `register(subparsers)` for its options.

`skill/__main__.py` puts them together. To add a command, add a module here with a
`register` that calls `subparsers.add_parser(...)` and `set_defaults(func=...)`, and list it in
COMMANDS in skill/__main__.py.
"""

from __future__ import annotations

import functools
import sys

import yaml


def reported(func):
    """A command whose faults in the files it reads end in one line on stderr and exit 2."""

    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
        except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as err:
            print(f"{args.command}: {type(err).__name__}: {err}", file=sys.stderr)
            return 2

    return run
