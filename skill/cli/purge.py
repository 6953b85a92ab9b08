"""`purge`: delete expired conversations, delivery ids and old audit records."""

from __future__ import annotations

import sys
import time

from skill import config
from skill.stores import open_store


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


def register(sub) -> None:
    sub.add_parser("purge", help=purge.__doc__).set_defaults(func=purge)
