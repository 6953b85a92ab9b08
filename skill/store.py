"""Conversation state stores: one contract, kept in memory (tests) or SQLite (default).

`transact` runs a change to one conversation atomically, so two messages from one person at
once never lose either's effect, and remembers results by a delivery id so that a retried
delivery gets the same answer without moving the conversation twice. Keys never hold a raw
address: `conversation_key` hashes it under the service's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

DEDUPE_SECONDS = 48 * 3600  # Twilio retries within minutes; keep ids well beyond that
PURGE_EVERY = 500  # transactions between sweeps of expired rows

Change = Callable[[dict | None], tuple[dict | None, Any]]


def conversation_key(secret: str, channel: str, address: str) -> str:
    """The channel plus a keyed hash of the user's address."""
    digest = hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()
    return f"{channel}:{digest[:40]}"


class Store(Protocol):
    def transact(
        self, key: str, change: Change, *, now: float, ttl: float, dedupe: str | None = None
    ) -> Any:
        """Apply change(state) -> (new state or None to forget, result) atomically.

        With `dedupe`, a delivery id seen before returns the result stored then instead.
        """

    def purge(self, now: float) -> int:
        """Delete expired conversations and delivery ids; return how many rows went."""

    def ping(self) -> bool:
        """True when the store answers."""


class MemoryStore:
    """A store in a dict, for unit tests and one-off runs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[dict, float]] = {}
        self._seen: dict[str, tuple[Any, float]] = {}

    def transact(self, key, change, *, now, ttl, dedupe=None):
        with self._lock:
            if dedupe and dedupe in self._seen and self._seen[dedupe][1] > now:
                return self._seen[dedupe][0]
            row = self._rows.get(key)
            state = row[0] if row and row[1] > now else None
            new, result = change(state)
            if new is None:
                self._rows.pop(key, None)
            else:
                self._rows[key] = (new, now + ttl)
            if dedupe:
                self._seen[dedupe] = (result, now + DEDUPE_SECONDS)
            return result

    def purge(self, now):
        with self._lock:
            old = [k for k, (_, exp) in self._rows.items() if exp <= now]
            gone = [k for k, (_, exp) in self._seen.items() if exp <= now]
            for k in old:
                del self._rows[k]
            for k in gone:
                del self._seen[k]
            return len(old) + len(gone)

    def ping(self):
        return True


class SQLiteStore:
    """One row per conversation in a SQLite file in WAL mode; writers take the lock up front."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._count = 0
        with self._db() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS conversations (
                    key TEXT PRIMARY KEY, state TEXT NOT NULL, expires REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS deliveries (
                    id TEXT PRIMARY KEY, result TEXT NOT NULL, expires REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS conversations_expires ON conversations (expires);
                CREATE INDEX IF NOT EXISTS deliveries_expires ON deliveries (expires);
                """
            )

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def transact(self, key, change, *, now, ttl, dedupe=None):
        db = self._db()
        self._count += 1
        if self._count % PURGE_EVERY == 0:
            self.purge(now)
        db.execute("BEGIN IMMEDIATE")  # one writer at a time: no lost updates
        try:
            if dedupe:
                row = db.execute(
                    "SELECT result FROM deliveries WHERE id = ? AND expires > ?", (dedupe, now)
                ).fetchone()
                if row:
                    db.execute("COMMIT")
                    return json.loads(row[0])
            row = db.execute(
                "SELECT state FROM conversations WHERE key = ? AND expires > ?", (key, now)
            ).fetchone()
            new, result = change(json.loads(row[0]) if row else None)
            if new is None:
                db.execute("DELETE FROM conversations WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO conversations (key, state, expires) VALUES (?, ?, ?)",
                    (key, json.dumps(new, separators=(",", ":")), now + ttl),
                )
            if dedupe:
                db.execute(
                    "INSERT OR REPLACE INTO deliveries (id, result, expires) VALUES (?, ?, ?)",
                    (dedupe, json.dumps(result), now + DEDUPE_SECONDS),
                )
            db.execute("COMMIT")
            return result
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def purge(self, now):
        db = self._db()
        gone = db.execute("DELETE FROM conversations WHERE expires <= ?", (now,)).rowcount
        return gone + db.execute("DELETE FROM deliveries WHERE expires <= ?", (now,)).rowcount

    def ping(self):
        try:
            self._db().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False


def open_store(url: str) -> Store:
    """The store a STATE_URL names: sqlite:///path, or memory: for tests."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"))
    if url.startswith("memory:"):
        return MemoryStore()
    raise ValueError(f"no store for {url!r}")
