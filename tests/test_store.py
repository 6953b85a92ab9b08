"""The store contract on memory and a real SQLite file: atomic, deduped, expiring, private."""

import sqlite3
import threading

import pytest

from skill.store import DEDUPE_SECONDS, MemoryStore, SQLiteStore, conversation_key


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


def bump(state):
    count = (state or {}).get("n", 0) + 1
    return {"n": count}, count


def test_round_trip_and_expiry(store):
    assert store.transact("k", bump, now=0, ttl=10) == 1
    assert store.transact("k", bump, now=5, ttl=10) == 2
    assert store.transact("k", bump, now=100, ttl=10) == 1  # expired: starts again


def test_none_forgets_the_conversation(store):
    store.transact("k", bump, now=0, ttl=10)
    store.transact("k", lambda state: (None, "gone"), now=1, ttl=10)
    assert store.transact("k", bump, now=2, ttl=10) == 1


def test_a_repeated_delivery_gets_the_same_result_and_changes_nothing(store):
    assert store.transact("k", bump, now=0, ttl=10, dedupe="SM1") == 1
    assert store.transact("k", bump, now=1, ttl=10, dedupe="SM1") == 1
    assert store.transact("k", bump, now=2, ttl=10, dedupe="SM2") == 2


def test_concurrent_updates_to_one_conversation_lose_nothing(store):
    def worker(i):
        for j in range(40):
            store.transact("k", bump, now=0, ttl=100, dedupe=f"{i}-{j % 20}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 6 workers x 20 distinct delivery ids each: every one counted once, none lost.
    assert store.transact("k", bump, now=0, ttl=100) == 6 * 20 + 1


def test_purge_removes_expired_rows(store):
    store.transact("old", bump, now=0, ttl=10, dedupe="SM9")
    store.transact("new", bump, now=0, ttl=10**6)
    later = DEDUPE_SECONDS + 1  # the conversation and the delivery id have both expired
    assert store.purge(now=later) == 2
    assert store.transact("new", bump, now=later, ttl=10**6) == 2


def test_sqlite_keys_hold_no_raw_address(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    key = conversation_key("secret", "sms", "+447700900123")
    store.transact(key, bump, now=0, ttl=10)
    dump = "\n".join(sqlite3.connect(tmp_path / "s.db").iterdump())
    assert "7700900123" not in dump
    assert key in dump
    assert conversation_key("other", "sms", "+447700900123") != key
