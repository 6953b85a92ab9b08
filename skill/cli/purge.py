"""`purge`: delete expired conversations, delivery ids, old audit records and call backs."""

from __future__ import annotations

import sys
import time

from skill.cli import state_store
from skill.stores import StoreUnavailable


def purge(args) -> int:
    """Delete expired conversations and delivery ids, audit records older than AUDIT_DAYS and
    call-back requests older than CALLBACK_DAYS."""
    store = state_store(existing=True)
    if store is None:
        return 2
    try:
        gone = store.purge(time.time())
    except StoreUnavailable as err:
        print(f"purge: nothing purged, the store did not answer: {err}", file=sys.stderr)
        return 1
    print(f"purged {gone} expired records")
    return 0


def register(sub) -> None:
    sub.add_parser("purge", help=purge.__doc__).set_defaults(func=purge)
