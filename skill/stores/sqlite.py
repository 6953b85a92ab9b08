"""SQLite, the default store: one file in WAL mode, no server to run.

Gunicorn's workers are processes sharing the file. Their turns are ordered by two kinds of OS
record lock on a lock file beside the database (`<db>.lock`), which wake the next waiter the
moment they are released (SQLite's busy handler sleeps in steps of milliseconds instead):

- a conversation lock, one byte of the file chosen by the key's hash, held for the whole turn
  (read, `change`, write), so `change` runs once per delivery on the latest state and two
  messages of one person never lose either's effect, while other conversations go on;
- the write lock, byte 0, held only while SQLite writes the turn's rows and commits.

They are open file description locks, through a descriptor of each thread's own. Within one
process, turns also go one at a time on a thread lock: its threads share one interpreter lock,
so side by side they gain nothing, and a thread holding the write lock would wait for the
interpreter lock after each call into SQLite, holding up every other process's writes.

Checkpoints (copying the write-ahead log back into the database, with an fsync) would
otherwise run inside a commit every thousand pages, holding the write lock for as long as the
disk takes; a thread of each process runs them instead, after every CHECKPOINT_EVERY commits.
Commits under way still wait for a checkpoint's fsync, so the fewer checkpoints the better.
SQLite starts the log again from its beginning only once a checkpoint has copied all of it,
which a passive one never has under writing that never pauses (each turn adds frames while it
copies), so the log would grow by every turn's pages for good: one past WAL_LIMIT after the
passive pass has the rest copied holding the write lock, and is emptied; writers wait only for
the frames added since that pass.

A call-back request holds a sealed number, which must leave the files when the request goes:
deletes overwrite what they free (secure_delete), and after deleting one a checkpoint empties
the write-ahead log, whose older frames would still hold it.

Faults in the files: a connection that failed is closed, so the next turn opens a new one (one
opened while the file could not be written would be read-only for good), and one is refused
while the file is unwritable; before each turn two cheap syscalls look whether the database
was deleted or replaced (then the thread opens the new file, and every connection makes the
tables it lacks) and whether the -shm file can be written (mapped, it would fault the worker).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import struct
import threading
import time
import zlib
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

from skill.stores import (
    AUDIT_SECONDS,
    CALLBACK_SECONDS,
    DEDUPE_SECONDS,
    PURGE_EVERY,
    StoreUnavailable,
    dumps,
)

log = logging.getLogger(__name__)
# Counts a hit: a lapsed window starts again at one, a live one counts on; one statement.
_HIT = (
    "INSERT INTO hits (key, count, expires) VALUES (?, 1, ?) ON CONFLICT (key) DO "
    "UPDATE SET count = CASE WHEN expires > ? THEN count + 1 ELSE 1 END, "
    "expires = CASE WHEN expires > ? THEN expires ELSE excluded.expires END RETURNING count"
)
# Adds a call-back request unless the conversation has one still open (an expired one is
# replaced); changes one row when it was added.
_ADD_CALLBACK = (
    "INSERT INTO callbacks (key, record, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO "
    "UPDATE SET record = excluded.record, expires = excluded.expires WHERE callbacks.expires <= ?"
)

# Made on every new connection, so a file replaced or deleted while running gets its tables
# again; when they exist, this reads the schema and writes nothing.
_SCHEMA = """
    CREATE TABLE IF NOT EXISTS conversations (
        key TEXT PRIMARY KEY, state TEXT NOT NULL, expires REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS deliveries (
        id TEXT PRIMARY KEY, result TEXT NOT NULL, expires REAL NOT NULL, key TEXT);
    CREATE TABLE IF NOT EXISTS audits (
        key TEXT NOT NULL, run TEXT NOT NULL, record TEXT NOT NULL,
        expires REAL NOT NULL, written REAL, PRIMARY KEY (key, run));
    CREATE INDEX IF NOT EXISTS conversations_expires ON conversations (expires);
    CREATE INDEX IF NOT EXISTS deliveries_expires ON deliveries (expires);
    CREATE INDEX IF NOT EXISTS audits_expires ON audits (expires);
    CREATE TABLE IF NOT EXISTS staff (name TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS hits (
        key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS callbacks (
        key TEXT PRIMARY KEY, record TEXT NOT NULL, expires REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS callbacks_expires ON callbacks (expires);
"""
# Columns that files made before them gain: whose a delivery is (NULL: not forgotten with its
# conversation, gone within DEDUPE_SECONDS anyway) and when an audit record was written (NULL:
# kept to the expiry it was given). The index finds a conversation's deliveries on forgetting.
_ADDED = {"deliveries": ("key", "TEXT"), "audits": ("written", "REAL")}
_DELIVERY_INDEX = "CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (key)"
# Audit records past their expiry, or written longer ago than AUDIT_DAYS says now.
_OLD_AUDITS = "DELETE FROM audits WHERE expires <= ? OR written <= ?"
# A conversation's row and its run's audit record are updated where they are, rather than
# replaced (INSERT OR REPLACE deletes the row and inserts it again under a new rowid, which
# writes the table's pages and the key's index twice): about a quarter fewer pages a turn.
_SAVE_CONVERSATION = (
    "INSERT INTO conversations (key, state, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO "
    "UPDATE SET state = excluded.state, expires = excluded.expires"
)
_SAVE_AUDIT = (
    "INSERT INTO audits (key, run, record, expires, written) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (key, run) DO UPDATE SET record = excluded.record, "
    "expires = excluded.expires, written = excluded.written"
)
# Readiness writes this row; purge sweeps it only once no probe has come for a day.
_PROBE = "INSERT OR REPLACE INTO hits (key, count, expires) VALUES ('ready-probe', 0, ?)"

STRIPES = 4096  # conversation locks: two turns share one only when their keys' hashes collide
WRITE = 0  # the byte of the write lock; conversation locks follow it
CHECKPOINT_EVERY = 1000  # commits (each about 40 KB of log) between checkpoints
# A log larger than this after a checkpoint is emptied holding the write lock (see _checkpoints).
WAL_LIMIT = 64 * 1024 * 1024
# Open file description locks belong to a descriptor, not to the process, so the threads of one
# worker exclude each other too; the kernel does not report false deadlocks for them.
_SETLKW = getattr(fcntl, "F_OFD_SETLKW", None)
_FLOCK = "hhqqi4x"  # struct flock on Linux: type, whence, start, length, pid


class SQLiteStore:
    """One row per conversation in a SQLite file in WAL mode, beside its lock file."""

    def __init__(
        self,
        path: str | Path,
        audit_seconds: float = AUDIT_SECONDS,
        callback_seconds: float = CALLBACK_SECONDS,
    ):
        if str(path) in ("", ":memory:"):
            # Each connection (one a thread) would have a database of its own, or none at all.
            raise ValueError(f"SQLite needs a file path, not {str(path)!r}")
        self.path = str(path)
        self._shm = self.path + "-shm"
        self.audit_seconds, self.callback_seconds = audit_seconds, callback_seconds
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._count = 0
        self._turn = threading.Lock()  # one turn at a time in this process (see above)
        self._started = threading.Lock()
        self._pid, self._due = 0, threading.Event()  # this process's checkpoint thread, if any
        try:
            self._db()  # creates the file and its tables
        except StoreUnavailable as err:
            # Not fatal: a worker starting in a read-only window must still answer (with the
            # fallback) and recover by itself; each turn tries again.
            log.error("SQLite store not usable yet: %s", err)
        self._drop()  # a thread that serves no turns would hold it, even once it is gone

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._open()
            self._local.db = db
        return db

    def _open(self) -> sqlite3.Connection:
        """A new connection, refused when it could only read (SQLite opens a file it cannot
        write read-only without a word, and such a connection would fail every turn after)."""
        # Autocommit mode: reads stand alone, writes open BEGIN IMMEDIATE themselves. The
        # timeout only covers a writer that does not take the write lock (a sqlite3 shell).
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            if not os.access(self.path, os.W_OK):
                raise StoreUnavailable(f"SQLite: {self.path} is not writable")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread's work
            db.execute("PRAGMA secure_delete=ON")  # a deleted number's token is overwritten
            db.executescript(_SCHEMA)
            _add_columns(db)
            # Kept open to see, one fstat a turn, whether the file was deleted or replaced.
            self._local.file = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except BaseException:
            db.close()
            raise
        return db

    def _drop(self, lock: bool = False) -> None:
        """Close this thread's connection (and with `lock` its lock file), so that its next
        turn opens afresh: after a failure it may be read-only, or on a file that is gone."""
        for name, close in (("db", sqlite3.Connection.close), ("file", os.close)):
            held = self._local.__dict__.pop(name, None)
            if held is not None:
                with suppress(sqlite3.Error, OSError):
                    close(held)
        held = self._local.__dict__.pop("lock", None) if lock else None
        if held is not None:
            os.close(held)

    def _check(self) -> None:
        """Two syscalls a turn, before SQLite touches its files: a connection whose file was
        deleted or replaced is reopened (else it would write into a log the new file shares),
        and unwritable files are refused (SQLite's mapped -shm file would fault, SIGBUS, and
        kill the worker mid-request)."""
        file = getattr(self._local, "file", None)
        if file is not None and os.fstat(file).st_nlink == 0:
            log.error("SQLite database file was deleted or replaced: opening it afresh")
            self._drop(lock=True)  # the lock file may have gone with it
        if not os.access(self._shm, os.W_OK) and os.path.exists(self._shm):
            raise StoreUnavailable(f"SQLite: {self._shm} is not writable")

    @contextmanager
    def _locked(self, byte: int):
        """Hold one byte of the lock file (or, without OFD locks, all of it) for the block."""
        try:
            fd = getattr(self._local, "lock", None)
            if fd is None:
                fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
                self._local.lock = fd
            _hold(fd, byte, True)
        except OSError as err:
            raise StoreUnavailable(f"SQLite lock file: {err}") from err
        try:
            yield
        finally:
            _hold(fd, byte, False)

    @contextmanager
    def _writing(self):
        """The write lock and one SQLite write transaction, committed unless the block raises."""
        with self._locked(WRITE) if _SETLKW else nullcontext():
            db = self._db()
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                # SQLite has already rolled back after most write faults (a full disk, a
                # read-only file): a ROLLBACK then would raise and hide the real cause.
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                self._drop()
                raise
        self._count += 1
        if self._count % CHECKPOINT_EVERY == 0:
            self._checkpointer().set()

    def _checkpointer(self) -> threading.Event:
        """What wakes this process's checkpoint thread, started on first use (and after fork)."""
        with self._started:
            if self._pid != os.getpid():
                self._pid, self._due = os.getpid(), threading.Event()
                threading.Thread(
                    target=self._checkpoints,
                    args=(self._due,),
                    daemon=True,
                    name="sqlite-checkpoint",
                ).start()
            return self._due

    def _checkpoints(self, due: threading.Event) -> None:
        while due.wait():
            due.clear()
            # A connection of its own each time: one kept would go on copying the log into the
            # old file, were the database deleted or replaced.
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            try:
                # Passive: copies what no reader still needs, never waiting for the writers.
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                # Under unbroken writing the passive pass never copies all of the log, so it
                # never starts again (see the module's docstring): the rest is copied locked.
                if _size(self.path + "-wal") > WAL_LIMIT and not self._empty_log(db):
                    log.warning(
                        "SQLite log over %d MB not emptied: a reader held it", WAL_LIMIT >> 20
                    )
            except (sqlite3.Error, StoreUnavailable) as err:  # the next one tries again
                log.warning("SQLite checkpoint failed: %s", _cause(err))
            finally:
                db.close()
                self._drop(lock=True)  # the lock file may be replaced before the next one

    def transact(self, key, change, *, now, ttl, dedupe=None, audit=None):
        stripe = 1 + zlib.crc32(key.encode()) % STRIPES
        try:
            with self._turn:
                self._check()
                with self._locked(stripe):
                    return self._transact(key, change, now, ttl, dedupe, audit)
        except sqlite3.Error as err:
            self._drop()
            raise StoreUnavailable(_cause(err)) from err

    def _transact(self, key, change, now, ttl, dedupe, audit):
        # Only turns holding this conversation's lock write its row, so what is read here stays
        # current until this turn writes: no need to read inside the write transaction. A
        # delivery id names one message of one conversation, so the lock covers it too.
        found = self._db().execute(
            "SELECT (SELECT result FROM deliveries WHERE id = ? AND expires > ?), "
            "(SELECT state FROM conversations WHERE key = ? AND expires > ?)",
            (dedupe, now, key, now),
        )
        seen, state = found.fetchone()
        if dedupe and seen is not None:
            return json.loads(seen)
        new, result = change(json.loads(state) if state else None)
        # Everything is worked out before the write lock is taken, so it is held only to write.
        record = audit(new) if audit and new is not None else None
        run = (key, record[0], dumps(record[1]), now + self.audit_seconds, now) if record else None
        row = dumps(new) if new is not None else None
        kept = dumps(result) if dedupe else None
        called = 0
        with self._writing() as db:
            if row is None:
                db.execute("DELETE FROM conversations WHERE key = ?", (key,))
                db.execute("DELETE FROM audits WHERE key = ?", (key,))
                called = db.execute("DELETE FROM callbacks WHERE key = ?", (key,)).rowcount
                # Their replies hold advice; this delivery's own (the forgetting) is kept below.
                db.execute("DELETE FROM deliveries WHERE key = ?", (key,))
            else:
                db.execute(_SAVE_CONVERSATION, (key, row, now + ttl))
            if run:
                db.execute(_SAVE_AUDIT, run)
            if kept is not None:
                db.execute(
                    "INSERT OR REPLACE INTO deliveries (id, result, expires, key) "
                    "VALUES (?, ?, ?, ?)",
                    (dedupe, kept, now + DEDUPE_SECONDS, key),
                )
        if called:
            self._scrub()
        if self._count % PURGE_EVERY == 0:
            self._sweep(now, None)
        return result

    def audits(self, key, now):
        rows = self._db().execute(
            "SELECT record FROM audits WHERE key = ? AND expires > ? ORDER BY run", (key, now)
        )
        return [json.loads(record) for (record,) in rows]

    def purge(self, now):
        return self._sweep(now, now - self.audit_seconds)

    def _sweep(self, now: float, written_before: float | None) -> int:
        """Delete what has expired; with `written_before`, audit records written before it too
        (AUDIT_DAYS lowered since they were kept). That needs a scan of every audit record
        (0.2 s at a million, holding the write lock), so the sweep every PURGE_EVERY turns
        leaves it to the purge command and uses the expiry index alone."""
        audits = (
            (_OLD_AUDITS, (now, written_before))
            if written_before is not None
            else ("DELETE FROM audits WHERE expires <= ?", (now,))
        )
        try:
            with self._writing() as db:
                gone = db.execute(*audits).rowcount
                counts = {
                    table: db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,)).rowcount
                    for table in ("conversations", "deliveries", "hits", "callbacks")
                }
        except sqlite3.Error as err:
            raise StoreUnavailable(_cause(err)) from err
        if counts["callbacks"]:
            self._scrub()
        return gone + sum(counts.values())

    def _scrub(self) -> None:
        """Empty the write-ahead log: its older frames still hold a call-back request just
        deleted (secure_delete zeroed it in the database)."""
        if not self._empty_log(self._db()):
            log.warning("SQLite log not emptied after deleting a call-back request")

    def _empty_log(self, db: sqlite3.Connection) -> bool:
        """Copy the rest of the write-ahead log into the database and empty it, holding the
        write lock; False when a reader held on to an older snapshot (the next try will do)."""
        with self._locked(WRITE) if _SETLKW else nullcontext():
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def ping(self):
        """True when a write goes through, as a turn's would: a row of its own, rewritten."""
        try:
            with self._turn:
                self._check()
                with self._writing() as db:
                    db.execute(_PROBE, (time.time() + 86400,))
            return True
        except sqlite3.Error as err:
            log.warning("SQLite store not ready: %s", _cause(err))
        except StoreUnavailable as err:
            log.warning("SQLite store not ready: %s", err)
        return False

    def all_audits(self, now):
        rows = self._db().execute("SELECT record FROM audits WHERE expires > ?", (now,))
        return [json.loads(record) for (record,) in rows]

    def put_user(self, name, record):
        with self._writing() as db:
            db.execute(
                "INSERT OR REPLACE INTO staff (name, record) VALUES (?, ?)", (name, dumps(record))
            )

    def user(self, name):
        row = self._db().execute("SELECT record FROM staff WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def remove_user(self, name):
        with self._writing() as db:
            return db.execute("DELETE FROM staff WHERE name = ?", (name,)).rowcount > 0

    def hit(self, key, now, window):
        with self._writing() as db:
            # A lapsed window starts again at one; a live one counts on. One statement: atomic.
            return db.execute(_HIT, (key, now + window, now, now)).fetchone()[0]

    def add_callback(self, key, record, now):
        values = (key, dumps(record), now + self.callback_seconds, now)
        with self._writing() as db:
            return db.execute(_ADD_CALLBACK, values).rowcount > 0

    def callbacks(self, now):
        rows = self._db().execute(
            "SELECT key, record FROM callbacks WHERE expires > ? ORDER BY expires", (now,)
        )
        return [{**json.loads(record), "key": key} for key, record in rows]

    def close_callback(self, key):
        with self._writing() as db:
            closed = db.execute("DELETE FROM callbacks WHERE key = ?", (key,)).rowcount > 0
        if closed:
            self._scrub()
        return closed


def _add_columns(db: sqlite3.Connection) -> None:
    """Give an older file the columns added since it was made, once, and their index."""
    for table, (column, kind) in _ADDED.items():
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            with suppress(sqlite3.OperationalError):  # another process added it first
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    db.execute(_DELIVERY_INDEX)


def _size(path: str) -> int:
    """A file's size in bytes, 0 when there is none."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _cause(err: Exception) -> str:
    """What went wrong, for the log: SQLite's error code and message (they hold no data)."""
    return f"SQLite {getattr(err, 'sqlite_errorname', type(err).__name__)}: {err}"


def _hold(fd: int, byte: int, take: bool) -> None:
    """Take (waiting for it) or give back one byte's lock of the lock file."""
    if _SETLKW is None:  # not Linux: one whole-file lock serialises every turn instead
        fcntl.flock(fd, fcntl.LOCK_EX if take else fcntl.LOCK_UN)
        return
    kind = fcntl.F_WRLCK if take else fcntl.F_UNLCK
    fcntl.fcntl(fd, _SETLKW, struct.pack(_FLOCK, kind, os.SEEK_SET, byte, 1, 0))
