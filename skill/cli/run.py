"""`run`: serve the app with Flask's development server (what `make run` starts), with the
check-in jobs run on threads of the same process, so a trial needs nothing else started."""

from __future__ import annotations

from skill.cli import served
from skill.followup import queue


def run(args) -> int:
    """Serve on HOST:PORT (the environment first, then .env) with the development server."""
    from app import create_app  # the whole app and its channels: only this command needs them

    loaded = served()
    if loaded is None:
        return 2
    script, settings = loaded
    app = create_app(settings, script)
    checkins = app.extensions.get("checkins")
    if checkins:
        queue.consumer(checkins.queue, in_process=True).start()
    app.run(host=settings.host, port=settings.port)
    return 0


def register(sub) -> None:
    sub.add_parser("run", help=run.__doc__).set_defaults(func=run)
