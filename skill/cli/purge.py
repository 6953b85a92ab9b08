"""`purge`: delete expired conversations, delivery ids, old audit records and call backs."""

from __future__ import annotations

import time

from skill.cli import state_store


def purge(args) -> int:
    """Delete expired conversations and delivery ids, audit records older than AUDIT_DAYS and
    call-back requests older than CALLBACK_DAYS."""
    store = state_store()
    if store is None:
        return 2
    print(f"purged {store.purge(time.time())} expired records")
    return 0


def register(sub) -> None:
    sub.add_parser("purge", help=purge.__doc__).set_defaults(func=purge)
