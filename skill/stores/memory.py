"""A store in a dict, for tests and one-off runs (`STATE_URL=memory:`)."""

from __future__ import annotations

import threading
from typing import Any

from skill.stores import AUDIT_SECONDS, CALLBACK_SECONDS, DEDUPE_SECONDS


class MemoryStore:
    """A store in a dict, for unit tests and one-off runs."""

    def __init__(
        self, audit_seconds: float = AUDIT_SECONDS, callback_seconds: float = CALLBACK_SECONDS
    ):
        self.audit_seconds, self.callback_seconds = audit_seconds, callback_seconds
        # Reentrant: a turn's change may add a call-back request while the turn holds it.
        self._lock = threading.RLock()
        self._rows: dict[str, tuple[dict, float]] = {}
        self._seen: dict[str, tuple[Any, float, str]] = {}  # delivery: result, expiry, whose
        self._audit: dict[str, dict[str, tuple[dict, float, float]]] = {}  # expiry, written
        self._users: dict[str, dict] = {}
        self._hits: dict[str, tuple[int, float]] = {}
        self._callbacks: dict[str, tuple[dict, float]] = {}

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
                self._callbacks.pop(key, None)
                # Their replies hold advice; this delivery's own (the forgetting) is kept below.
                for seen in [d for d, kept in self._seen.items() if kept[2] == key]:
                    del self._seen[seen]
            else:
                self._rows[key] = (new, now + ttl)
                record = audit(new) if audit else None
                if record:
                    runs = self._audit.setdefault(key, {})
                    runs[record[0]] = (record[1], now + self.audit_seconds, now)
            if dedupe:
                self._seen[dedupe] = (result, now + DEDUPE_SECONDS, key)
            return result

    def audits(self, key, now):
        with self._lock:
            return [rec for rec, exp, _ in self._audit.get(key, {}).values() if exp > now]

    def purge(self, now):
        with self._lock:
            old = [k for k, (_, exp) in self._rows.items() if exp <= now]
            gone = [k for k, (_, exp, _) in self._seen.items() if exp <= now]
            for k in old:
                del self._rows[k]
            for k in gone:
                del self._seen[k]
            due = [k for k, (_, exp) in self._callbacks.items() if exp <= now]
            for k in due:
                del self._callbacks[k]
            count = len(old) + len(gone) + len(due)
            written = now - self.audit_seconds  # AUDIT_DAYS as it is now, lowered or not
            for key, runs in list(self._audit.items()):
                for run in [r for r, (_, exp, at) in runs.items() if exp <= now or at <= written]:
                    del runs[run]
                    count += 1
                if not runs:
                    del self._audit[key]
            return count

    def ping(self):
        return True

    def all_audits(self, now):
        with self._lock:
            kept = (run for runs in self._audit.values() for run in runs.values())
            return [rec for rec, exp, _ in kept if exp > now]

    def put_user(self, name, record):
        with self._lock:
            self._users[name] = dict(record)

    def user(self, name):
        with self._lock:
            found = self._users.get(name)
            return dict(found) if found else None

    def remove_user(self, name):
        with self._lock:
            return self._users.pop(name, None) is not None

    def hit(self, key, now, window):
        with self._lock:
            count, expires = self._hits.get(key, (0, 0.0))
            count, expires = (count + 1, expires) if expires > now else (1, now + window)
            self._hits[key] = (count, expires)
            return count

    def add_callback(self, key, record, now):
        with self._lock:
            found = self._callbacks.get(key)
            if found and found[1] > now:
                return False
            self._callbacks[key] = (dict(record), now + self.callback_seconds)
            return True

    def callbacks(self, now):
        with self._lock:
            kept = sorted((exp, k, rec) for k, (rec, exp) in self._callbacks.items() if exp > now)
        return [{**rec, "key": k} for _, k, rec in kept]

    def close_callback(self, key):
        with self._lock:
            return self._callbacks.pop(key, None) is not None
