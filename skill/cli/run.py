"""`run`: serve the app with Flask's development server (what `make run` starts)."""

from __future__ import annotations

import sys

from skill import config, content


def run(args) -> int:
    """Serve on HOST:PORT (the environment first, then .env) with the development server."""
    from app import create_app  # the whole app and its channels: only this command needs them

    try:
        script = content.load()
        settings = config.from_env(locales=tuple(script.locales))
    except (content.ContentError, config.SettingsError) as err:
        print(f"not starting: {err}", file=sys.stderr)
        return 2
    create_app(settings, script).run(host=settings.host, port=settings.port)
    return 0


def register(sub) -> None:
    sub.add_parser("run", help=run.__doc__).set_defaults(func=run)
