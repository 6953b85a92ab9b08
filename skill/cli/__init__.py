"""The command line, one module per command; each has `register(subparsers)` for its options.

`skill/__main__.py` puts them together. To add a command, add a module here with a
`register` that calls `subparsers.add_parser(...)` and `set_defaults(func=...)`, and list it in
COMMANDS in skill/__main__.py.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import yaml

from skill import config, content
from skill.stores import open_store


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


def served():
    """The content and the settings a server starts with, or None after printing why not."""
    try:
        script = content.load()
        return script, config.from_env(locales=tuple(script.locales))
    except (content.ContentError, config.SettingsError) as err:
        print(f"not starting: {err}", file=sys.stderr)
        return None


def state_store(existing: bool = False):
    """The store the settings name, or None after printing why the settings are wrong.

    With `existing`, a SQLite file that is not there is a fault (a mistyped STATE_URL), not a
    new store to make.
    """
    try:
        settings = config.from_env()
    except config.SettingsError as err:
        print(f"setting fault: {err}", file=sys.stderr)
        return None
    path = settings.state_url.removeprefix("sqlite:///")
    if existing and path != settings.state_url and not Path(path).is_file():
        print(
            f"setting fault: STATE_URL={settings.state_url!r}: no database at {path}",
            file=sys.stderr,
        )
        return None
    return open_store(
        settings.state_url,
        audit_seconds=settings.audit_days * 86400,
        callback_seconds=settings.callback_days * 86400,
    )
