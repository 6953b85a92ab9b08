"""Conversation state stores: one contract, kept in memory (tests), SQLite (default) or Redis.

`transact` runs a change to one conversation atomically, so two messages from one person at
once never lose either's effect, and remembers results by a delivery id so that a retried
delivery gets the same answer without moving the conversation twice. Keys never hold a raw
address: `conversation_key` hashes it under the service's secret.

Each store also keeps the audit records of a conversation (one per triage run, written in the
same transaction as the state) for `audit_seconds`; forgetting a conversation deletes them too.
Times are the caller's `now`, so a store treats a row as gone once `now` passes its expiry even
where the store also expires it natively (Redis).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

DEDUPE_SECONDS = 48 * 3600  # Twilio retries within minutes; keep ids well beyond that
PURGE_EVERY = 500  # transactions between sweeps of expired rows
AUDIT_SECONDS = 30 * 86400
LOCK_SECONDS = 10  # a Redis lock outlives no request: gunicorn kills a worker after 10 s

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
        self, key: str, change: Change, *, now: float, ttl: float, dedupe: str | None = None,
        audit: Audit | None = None,
    ) -> Any:  # fmt: skip
        """Apply change(state) -> (new state or None to forget, result) atomically.

        With `dedupe`, a delivery id seen before returns the result stored then instead, without
        calling change. With `audit`, the new state's audit record is written alongside it; a
        forgotten conversation loses its audit records too. Raises StoreUnavailable.
        """

    def audits(self, key: str, now: float) -> list[dict]:
        """The audit records still kept for one conversation, oldest first."""

    def purge(self, now: float) -> int:
        """Delete expired conversations, delivery ids and audit records; return how many went."""

    def ping(self) -> bool:
        """True when the store answers."""


class MemoryStore:
    """A store in a dict, for unit tests and one-off runs."""

    def __init__(self, audit_seconds: float = AUDIT_SECONDS):
        self.audit_seconds = audit_seconds
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[dict, float]] = {}
        self._seen: dict[str, tuple[Any, float]] = {}
        self._audit: dict[str, dict[str, tuple[dict, float]]] = {}

    def transact(self, key, change, *, now, ttl, dedupe=None, audit=None):
        with self._lock:
            if dedupe and dedupe in self._seen and self._seen[dedupe][1] > now:
                return self._seen[dedupe][0]
            row = self._rows.get(key)
            state = row[0] if row and row[1] > now else None
            new, result = change(state)
            if new is None:
                self._rows.pop(key, None)
                self._audit.pop(key, None)
            else:
                self._rows[key] = (new, now + ttl)
                record = audit(new) if audit else None
                if record:
                    runs = self._audit.setdefault(key, {})
                    runs[record[0]] = (record[1], now + self.audit_seconds)
            if dedupe:
                self._seen[dedupe] = (result, now + DEDUPE_SECONDS)
            return result

    def audits(self, key, now):
        with self._lock:
            return [rec for rec, exp in self._audit.get(key, {}).values() if exp > now]

    def purge(self, now):
        with self._lock:
            old = [k for k, (_, exp) in self._rows.items() if exp <= now]
            gone = [k for k, (_, exp) in self._seen.items() if exp <= now]
            for k in old:
                del self._rows[k]
            for k in gone:
                del self._seen[k]
            count = len(old) + len(gone)
            for key, runs in list(self._audit.items()):
                for run in [r for r, (_, exp) in runs.items() if exp <= now]:
                    del runs[run]
                    count += 1
                if not runs:
                    del self._audit[key]
            return count

    def ping(self):
        return True


class SQLiteStore:
    """One row per conversation in a SQLite file in WAL mode; writers take the lock up front."""

    def __init__(self, path: str | Path, audit_seconds: float = AUDIT_SECONDS):
        self.path = str(path)
        self.audit_seconds = audit_seconds
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Threads of one process queue here rather than in SQLite's busy handler, which
        # sleeps in steps of milliseconds; other processes still meet at BEGIN IMMEDIATE.
        self._writer = threading.Lock()
        self._count = 0
        with self._db() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS conversations (
                    key TEXT PRIMARY KEY, state TEXT NOT NULL, expires REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS deliveries (
                    id TEXT PRIMARY KEY, result TEXT NOT NULL, expires REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS audits (
                    key TEXT NOT NULL, run TEXT NOT NULL, record TEXT NOT NULL,
                    expires REAL NOT NULL, PRIMARY KEY (key, run));
                CREATE INDEX IF NOT EXISTS conversations_expires ON conversations (expires);
                CREATE INDEX IF NOT EXISTS deliveries_expires ON deliveries (expires);
                CREATE INDEX IF NOT EXISTS audits_expires ON audits (expires);
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

    def transact(self, key, change, *, now, ttl, dedupe=None, audit=None):
        try:
            with self._writer:
                return self._transact(key, change, now, ttl, dedupe, audit)
        except sqlite3.Error as err:
            raise StoreUnavailable(f"SQLite: {err}") from err

    def _transact(self, key, change, now, ttl, dedupe, audit):
        db = self._db()
        self._count += 1
        if self._count % PURGE_EVERY == 0:
            self.purge(now)
        db.execute("BEGIN IMMEDIATE")  # one writer at a time: no lost updates
        try:
            # The delivery's stored result and the conversation in one statement (no id, no hit).
            seen, state = db.execute(
                "SELECT (SELECT result FROM deliveries WHERE id = ? AND expires > ?), "
                "(SELECT state FROM conversations WHERE key = ? AND expires > ?)",
                (dedupe, now, key, now),
            ).fetchone()
            if dedupe and seen is not None:
                db.execute("COMMIT")
                return json.loads(seen)
            new, result = change(json.loads(state) if state else None)
            if new is None:
                db.execute("DELETE FROM conversations WHERE key = ?", (key,))
                db.execute("DELETE FROM audits WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO conversations (key, state, expires) VALUES (?, ?, ?)",
                    (key, _dumps(new), now + ttl),
                )
                record = audit(new) if audit else None
                if record:
                    db.execute(
                        "INSERT OR REPLACE INTO audits (key, run, record, expires) "
                        "VALUES (?, ?, ?, ?)",
                        (key, record[0], _dumps(record[1]), now + self.audit_seconds),
                    )
            if dedupe:
                db.execute(
                    "INSERT OR REPLACE INTO deliveries (id, result, expires) VALUES (?, ?, ?)",
                    (dedupe, _dumps(result), now + DEDUPE_SECONDS),
                )
            db.execute("COMMIT")
            return result
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def audits(self, key, now):
        rows = self._db().execute(
            "SELECT record FROM audits WHERE key = ? AND expires > ? ORDER BY run", (key, now)
        )
        return [json.loads(record) for (record,) in rows]

    def purge(self, now):
        db = self._db()
        gone = 0
        for table in ("conversations", "deliveries", "audits"):
            gone += db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,)).rowcount
        return gone

    def ping(self):
        try:
            self._db().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False


# Deletes the lock only while it still holds this holder's token.
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# Takes the lock (KEYS[1]) unless another holder has it, then reads the conversation and the
# delivery id. A retried call (same token) after a dropped connection finds the lock its own.
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
return {redis.call('get', KEYS[2]) or '', redis.call('get', KEYS[3]) or ''}
"""
# Writes a turn only while the lock still holds this holder's token, and releases it.
# KEYS: lock, conversation, its audit-run set, delivery id, audit record.
# ARGV: token, state ('' forgets the conversation and its audit records), state ms,
#       result to keep ('' none), its ms, audit record ('' none), its ms, run, audit key prefix.
_SAVE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  for _, run in ipairs(redis.call('smembers', KEYS[3])) do redis.call('del', ARGV[9] .. run) end
  redis.call('del', KEYS[2], KEYS[3])
else
  redis.call('set', KEYS[2], ARGV[2], 'px', ARGV[3])
  if ARGV[6] ~= '' then
    redis.call('set', KEYS[5], ARGV[6], 'px', ARGV[7])
    redis.call('sadd', KEYS[3], ARGV[8])
    redis.call('pexpire', KEYS[3], ARGV[7])
  end
end
if ARGV[4] ~= '' then redis.call('set', KEYS[4], ARGV[4], 'px', ARGV[5]) end
redis.call('del', KEYS[1])
return 1
"""


class RedisStore:
    """Conversations as Redis strings with native expiry, shared by every service instance.

    A short per-conversation lock makes `change` run once per delivery (it renders a reply,
    which may have effects). Two round trips a turn, each one atomic script: take the lock and
    read; then write only if the lock is still this turn's (should it ever lapse, nothing is
    written and the turn starts again), releasing it in the same script.
    """

    def __init__(self, url: str, audit_seconds: float = AUDIT_SECONDS, prefix: str = ""):
        self.audit_seconds, self.prefix = audit_seconds, prefix
        # Fail fast when Redis is down: the channel answers with its fallback instead.
        self.redis = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=1,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 2),
        )  # fmt: skip
        self._unlock = self.redis.register_script(_UNLOCK)
        self._take = self.redis.register_script(_TAKE)
        self._save = self.redis.register_script(_SAVE)

    def _key(self, kind: str, *parts: str) -> str:
        return ":".join((f"{self.prefix}{kind}", *parts))

    def _acquire(self, lock: str, conv: str, seen: str) -> tuple[str, bytes, bytes]:
        """Take a conversation's lock, waiting briefly for another request to finish with it.

        Returns the token and what the conversation and the delivery id held ('' for nothing).
        """
        token, deadline, pause = os.urandom(8).hex(), time.monotonic() + LOCK_SECONDS / 2, 0.001
        while True:
            found = self._take(keys=[lock, conv, seen], args=[token, LOCK_SECONDS * 1000])
            if found:
                return token, found[0], found[1]
            if time.monotonic() > deadline:
                raise StoreUnavailable("conversation stayed locked")
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def transact(self, key, change, *, now, ttl, dedupe=None, audit=None):
        lock, conv = self._key("lock", key), self._key("conv", key)
        seen = self._key("dedupe", dedupe) if dedupe else ""
        try:
            while True:
                token, raw, hit = self._acquire(lock, conv, seen or conv)
                try:
                    if seen and hit and json.loads(hit)["e"] > now:
                        self._unlock(keys=[lock], args=[token])
                        return json.loads(hit)["r"]
                    stored = json.loads(raw) if raw else None
                    new, result = change(stored["s"] if stored and stored["e"] > now else None)
                    if self._write(key, lock, token, new, result, now, ttl, seen, audit):
                        return result
                except BaseException:
                    self._unlock(keys=[lock], args=[token])
                    raise
                # The lock lapsed, so another turn may have written: nothing was, start again.
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis: {err}") from err

    def _write(self, key, lock, token, new, result, now, ttl, seen, audit) -> bool:
        """The new state (or its deletion with its audit records), its audit record and the
        delivery's result, in one script; False when the lock was no longer this turn's."""
        record = audit(new) if audit and new is not None else None
        kept = {"r": result, "e": now + DEDUPE_SECONDS}
        args = [
            token, _dumps({"s": new, "e": now + ttl}) if new is not None else "", _ms(ttl),
            _dumps(kept) if seen else "", _ms(DEDUPE_SECONDS),
            _dumps({"r": record[1], "e": now + self.audit_seconds}) if record else "",
            _ms(self.audit_seconds), record[0] if record else "", self._key("audit", key, ""),
        ]  # fmt: skip
        keys = [lock, self._key("conv", key), self._key("audits", key), seen or lock,
                self._key("audit", key, record[0] if record else "")]  # fmt: skip
        return bool(self._save(keys=keys, args=args))

    def audits(self, key, now):
        try:
            runs = sorted(r.decode() for r in self.redis.smembers(self._key("audits", key)))
            if not runs:
                return []
            raws = self.redis.mget([self._key("audit", key, run) for run in runs])
        except redis.RedisError as err:
            raise StoreUnavailable(f"Redis: {err}") from err
        kept = [json.loads(raw) for raw in raws if raw]
        return [k["r"] for k in kept if k["e"] > now]

    def purge(self, now):
        return 0  # Redis expires every key on its own

    def ping(self):
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False


# One compact encoder for every write: json.dumps with options builds a new one per call.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def open_store(url: str, audit_seconds: float = AUDIT_SECONDS) -> Store:
    """The store a STATE_URL names: sqlite:///path, redis://host:port/db[?prefix=P] or memory:."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"), audit_seconds)
    if url.startswith("redis://"):
        # `prefix` namespaces the keys so that services can share one Redis database.
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        prefix = query.pop("prefix", [""])[0]
        rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
        return RedisStore(urlunsplit(parts._replace(query=rest)), audit_seconds, prefix)
    if url.startswith("memory:"):
        return MemoryStore(audit_seconds)
    raise ValueError(f"no store for {url!r}")
