"""`worker`: run the check-in jobs (what `make worker` starts beside `make serve`)."""

from __future__ import annotations

import sys

from skill.channels.outbound import OutboundSMS
from skill.cli import served
from skill.followup import queue
from skill.followup.checkins import Checkins
from skill.ops import logs
from skill.service import Triage
from skill.stores import open_store


def worker(args) -> int:
    """Send each check-in when it is due; run as many of these as you like, each sends once."""
    logs.setup()
    loaded = served()
    if loaded is None:
        return 2
    script, settings = loaded
    if not queue.shared(settings):
        print("not starting: STATE_URL=memory: keeps jobs in the app's process", file=sys.stderr)
        return 2
    store = open_store(settings.state_url, audit_seconds=settings.audit_days * 86400)
    triage = Triage(script, store, settings, outbound=OutboundSMS.from_settings(settings))
    checkins = Checkins.of(triage)
    if not checkins:
        print(
            "not starting: check-ins are off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_FROM, and CHECKIN_AFTER not off)",
            file=sys.stderr,
        )
        return 2
    queue.consumer(checkins.queue, args.threads).run()
    return 0


def register(sub) -> None:
    command = sub.add_parser("worker", help=worker.__doc__)
    command.add_argument("--threads", type=int, default=2, help="jobs run at once (default 2)")
    command.set_defaults(func=worker)
