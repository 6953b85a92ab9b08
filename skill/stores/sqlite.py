"""SQLite, the default store: one file in WAL mode, no server to run."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from skill.stores import AUDIT_SECONDS, DEDUPE_SECONDS, PURGE_EVERY, StoreUnavailable, dumps

# Counts a hit: a lapsed window starts again at one, a live one counts on; one statement.
_HIT = (
    "INSERT INTO hits (key, count, expires) VALUES (?, 1, ?) ON CONFLICT (key) DO "
    "UPDATE SET count = CASE WHEN expires > ? THEN count + 1 ELSE 1 END, "
    "expires = CASE WHEN expires > ? THEN expires ELSE excluded.expires END RETURNING count"
)


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
                CREATE TABLE IF NOT EXISTS staff (name TEXT PRIMARY KEY, record TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS hits (
                    key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);
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
                    (key, dumps(new), now + ttl),
                )
                record = audit(new) if audit else None
                if record:
                    db.execute(
                        "INSERT OR REPLACE INTO audits (key, run, record, expires) "
                        "VALUES (?, ?, ?, ?)",
                        (key, record[0], dumps(record[1]), now + self.audit_seconds),
                    )
            if dedupe:
                db.execute(
                    "INSERT OR REPLACE INTO deliveries (id, result, expires) VALUES (?, ?, ?)",
                    (dedupe, dumps(result), now + DEDUPE_SECONDS),
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
        for table in ("conversations", "deliveries", "audits", "hits"):
            gone += db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,)).rowcount
        return gone

    def ping(self):
        try:
            self._db().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def all_audits(self, now):
        rows = self._db().execute("SELECT record FROM audits WHERE expires > ?", (now,))
        return [json.loads(record) for (record,) in rows]

    def put_user(self, name, record):
        with self._writer:
            self._db().execute(
                "INSERT OR REPLACE INTO staff (name, record) VALUES (?, ?)", (name, dumps(record))
            )

    def user(self, name):
        row = self._db().execute("SELECT record FROM staff WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def remove_user(self, name):
        with self._writer:
            return self._db().execute("DELETE FROM staff WHERE name = ?", (name,)).rowcount > 0

    def hit(self, key, now, window):
        with self._writer:
            # A lapsed window starts again at one; a live one counts on. One statement: atomic.
            row = self._db().execute(_HIT, (key, now + window, now, now)).fetchone()
            return row[0]
