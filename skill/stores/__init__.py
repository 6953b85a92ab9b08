"""Conversation state stores: one contract, kept in memory (tests), SQLite (default) or Redis.

`transact` runs a change to one conversation atomically, so two messages from one person at
once never lose either's effect, and remembers results by a delivery id so that a retried
delivery gets the same answer without moving the conversation twice. Keys never hold a raw
address: `conversation_key` hashes it under the service's secret.

Each store also keeps the audit records of a conversation (one per triage run, written in the
same transaction as the state) for `audit_seconds`; forgetting a conversation deletes them too.
A conversation may also have one call-back request (skill.callbacks), kept until staff close it
or for `callback_seconds`; closing, expiry and forgetting delete it, sealed number and all.
Times are the caller's `now`, so a store treats a row as gone once `now` passes its expiry even
where the store also expires it natively (Redis).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

DEDUPE_SECONDS = 48 * 3600  # Twilio retries within minutes; keep ids well beyond that
PURGE_EVERY = 500  # transactions between sweeps of expired rows
AUDIT_SECONDS = 30 * 86400
CALLBACK_SECONDS = 7 * 86400

Change = Callable[[dict | None], tuple[dict | None, Any]]
# state -> (audit id, record) for the triage run the state belongs to, or None for no record.
Audit = Callable[[dict], tuple[str, dict] | None]


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or answered with an error: nothing was changed."""


def conversation_key(secret: str, channel: str, address: str) -> str:
    """The channel plus a keyed hash of the user's address."""
    digest = hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()
    return f"{channel}:{digest[:40]}"


class Store(Protocol):
    def transact(
        self,
        key: str,
        change: Change,
        *,
        now: float,
        ttl: float,
        dedupe: str | None = None,
        audit: Audit | None = None,
    ) -> Any:
        """Apply change(state) -> (new state or None to forget, result) atomically.

        With `dedupe`, a delivery id seen before returns the result stored then instead, without
        calling change. With `audit`, the new state's audit record is written alongside it; a
        forgotten conversation loses its audit records and call-back request too. `change`
        may call add_callback for the same conversation. Raises StoreUnavailable.
        """

    def audits(self, key: str, now: float) -> list[dict]:
        """The audit records still kept for one conversation, oldest first."""

    def purge(self, now: float) -> int:
        """Delete expired conversations, delivery ids, audit records and call-back requests;
        return how many went."""

    def ping(self) -> bool:
        """True when the store answers."""

    # The clinic console's needs: every kept audit record, staff accounts, a rate counter.

    def all_audits(self, now: float) -> list[dict]:
        """Every audit record still kept, of every conversation, in no particular order."""

    def put_user(self, name: str, record: dict) -> None:
        """Create or replace a staff account (its password hash and details)."""

    def user(self, name: str) -> dict | None:
        """A staff account's record, or None when there is no such account."""

    def remove_user(self, name: str) -> bool:
        """Delete a staff account; False when there was none."""

    def hit(self, key: str, now: float, window: float) -> int:
        """Count one event under key; return the count in the current `window`-second window."""

    # Call-back requests: one open request per conversation, under its key.

    def add_callback(self, key: str, record: dict, now: float) -> bool:
        """Keep a call-back request for the conversation for `callback_seconds`, unless one is
        open already; True when this one was added."""

    def callbacks(self, now: float) -> list[dict]:
        """Every open call-back request, oldest first, each with its conversation's `key`."""

    def close_callback(self, key: str) -> bool:
        """Delete a conversation's call-back request, number and all; False when there was none."""


# One compact encoder for every write: json.dumps with options builds a new one per call.
dumps = json.JSONEncoder(separators=(",", ":")).encode


def redis_url(url: str) -> tuple[str, str]:
    """A redis:// STATE_URL as the URL Redis takes and the key prefix (`prefix`), which
    namespaces the keys so that services can share one Redis database."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", [""])[0]
    rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
    return urlunsplit(parts._replace(query=rest)), prefix


def open_store(
    url: str, audit_seconds: float = AUDIT_SECONDS, callback_seconds: float = CALLBACK_SECONDS
) -> Store:
    """The store a STATE_URL names: sqlite:///path, redis://host:port/db[?prefix=P] or memory:."""
    if url.startswith("sqlite:///"):
        from skill.stores.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"), audit_seconds, callback_seconds)
    if url.startswith("redis://"):
        from skill.stores.redis import RedisStore

        plain, prefix = redis_url(url)
        return RedisStore(plain, audit_seconds, prefix, callback_seconds)
    if url.startswith("memory:"):
        from skill.stores.memory import MemoryStore

        return MemoryStore(audit_seconds, callback_seconds)
    raise ValueError(f"no store for {url!r}")
