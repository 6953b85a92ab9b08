"""One contract, three stores: memory, a SQLite file and the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading

import pytest

from skill.stores import DEDUPE_SECONDS, open_store
from skill.stores.sqlite import CHECKPOINT_EVERY, WAL_LIMIT
from tests.servers import drop_keys, redis_values, shared_redis_url

NOW = 1_000_000.0
TTL = 3600.0


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        yield open_store("memory:", audit_seconds=7 * 86400)
    elif request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'state.db'}", audit_seconds=7 * 86400)
    else:
        url = shared_redis_url()
        yield open_store(url, audit_seconds=7 * 86400)
        drop_keys(url)


def put(state):
    """A change that stores `state` and answers with what it found."""
    return lambda old: (state, old)


def read(store, key, now=NOW):
    """What the store holds for key, by a change that leaves it as it is."""
    return store.transact(key, lambda old: (old, old), now=now, ttl=TTL)


def test_round_trip(store):
    state = {"n": 1, "trail": [["q", "yes", "user"]]}
    assert store.transact("sms:a", put(state), now=NOW, ttl=TTL) is None
    assert read(store, "sms:a") == state
    assert read(store, "sms:b") is None
    assert store.ping()


def test_expiry_follows_the_callers_clock(store):
    store.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL)
    assert read(store, "sms:a", now=NOW + TTL - 1) == {"n": 1}
    # read() keeps the state, so write it afresh before stepping past its expiry
    store.transact("sms:a", put({"n": 2}), now=NOW, ttl=TTL)
    assert read(store, "sms:a", now=NOW + TTL + 1) is None


def test_none_forgets_the_conversation_and_its_audit(store):
    def audit(state):
        return "run-1", {"n": state["n"]}

    store.transact("sms:a", lambda old: ({"n": 1}, None), now=NOW, ttl=TTL, audit=audit)
    assert store.audits("sms:a", NOW) == [{"n": 1}]
    store.transact("sms:a", put(None), now=NOW, ttl=TTL)
    assert read(store, "sms:a") is None
    assert store.audits("sms:a", NOW) == []


def test_audit_records_outlive_the_conversation_until_purged(store):
    for run, n in (("run-1", 1), ("run-2", 2)):
        store.transact("sms:a", put({"n": n}), now=NOW, ttl=TTL, audit=lambda s, r=run: (r, s))
    assert store.audits("sms:a", NOW + TTL + 1) == [{"n": 1}, {"n": 2}]
    assert store.audits("sms:a", NOW + 8 * 86400) == []
    gone = store.purge(NOW + 8 * 86400)
    # Redis expires the conversation itself; the others delete it and both audit rows
    assert gone == (2 if hasattr(store, "redis") else 3)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_purge_holds_kept_audit_records_to_a_lowered_audit_days(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}" if kind == "sqlite" else shared_redis_url()
    try:
        kept_long = open_store(url, audit_seconds=30 * 86400)
        kept_long.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL, audit=lambda s: ("run", s))
        kept_long.transact(
            "sms:b", put({"n": 2}), now=NOW + 9 * 86400, ttl=TTL, audit=lambda s: ("run", s)
        )
        lowered = open_store(url, audit_seconds=5 * 86400)
        lowered.purge(NOW + 10 * 86400)
        assert lowered.audits("sms:a", NOW + 10 * 86400) == [], "written 10 days ago: gone"
        assert lowered.audits("sms:b", NOW + 10 * 86400) == [{"n": 2}], "1 day old: kept"
    finally:
        if kind == "redis":
            drop_keys(url)


def test_dedupe_returns_the_stored_result_without_running_change(store):
    calls = []

    def change(old):
        calls.append(old)
        return {"n": len(calls)}, f"reply {len(calls)}"

    assert store.transact("sms:a", change, now=NOW, ttl=TTL, dedupe="SM1") == "reply 1"
    assert store.transact("sms:a", change, now=NOW + 5, ttl=TTL, dedupe="SM1") == "reply 1"
    assert len(calls) == 1
    assert read(store, "sms:a") == {"n": 1}
    assert store.transact("sms:a", change, now=NOW, ttl=TTL, dedupe="SM2") == "reply 2"
    later = NOW + DEDUPE_SECONDS + 1
    assert store.transact("sms:a", change, now=later, ttl=TTL, dedupe="SM1") == "reply 3"


def test_forgetting_drops_the_conversations_kept_replies_but_answers_its_retry(store):
    def reply(text):
        return lambda old: ({"n": 1}, text)

    store.transact("sms:a", reply("advice for a"), now=NOW, ttl=TTL, dedupe="SM1")
    store.transact("sms:b", reply("advice for b"), now=NOW, ttl=TTL, dedupe="SM2")
    stop = store.transact("sms:a", lambda old: (None, "stopped"), now=NOW, ttl=TTL, dedupe="SM3")
    # A retried STOP gets the same answer without running again (nothing personal in it).
    assert store.transact("sms:a", reply("ran again"), now=NOW, ttl=TTL, dedupe="SM3") == stop
    # The advice kept for a's earlier delivery is gone; another conversation's stays.
    assert store.transact("sms:a", reply("fresh"), now=NOW, ttl=TTL, dedupe="SM1") == "fresh"
    assert store.transact("sms:b", reply("ran again"), now=NOW, ttl=TTL, dedupe="SM2") == (
        "advice for b"
    )


def test_a_file_made_before_deliveries_named_their_conversation_still_forgets(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE deliveries (id TEXT PRIMARY KEY, result TEXT, expires REAL)")
        db.execute("INSERT INTO deliveries VALUES ('SM0', '\"old\"', ?)", (NOW + TTL,))
    store = open_store(f"sqlite:///{path}")
    assert store.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL, dedupe="SM0") == "old"
    store.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL, dedupe="SM1")
    store.transact("sms:a", put(None), now=NOW, ttl=TTL, dedupe="SM2")
    assert store.transact("sms:a", lambda old: (old, "fresh"), now=NOW, ttl=TTL, dedupe="SM1") == (
        "fresh"
    )


def run_threads(count, work):
    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_increments_lose_nothing(store):
    def increment(old):
        return {"n": (old or {"n": 0})["n"] + 1}, None

    def work():
        for _ in range(50):
            store.transact("sms:busy", increment, now=NOW, ttl=TTL)

    run_threads(8, work)
    assert read(store, "sms:busy") == {"n": 400}


def test_one_delivery_from_many_threads_runs_once(store):
    calls, results = [], []

    def change(old):
        calls.append(1)
        return {"n": (old or {"n": 0})["n"] + 1}, "the one reply"

    def work():
        results.append(store.transact("sms:a", change, now=NOW, ttl=TTL, dedupe="SMsame"))

    run_threads(8, work)
    assert len(calls) == 1
    assert results == ["the one reply"] * 8
    assert read(store, "sms:a") == {"n": 1}


def test_a_redis_turn_whose_lock_lapsed_writes_nothing_and_runs_again():
    url = shared_redis_url()
    store = open_store(url)
    lapsed = []

    def increment(old):
        if not lapsed:
            # This turn's lock expires (as after a 10 s stall) and another turn takes the
            # conversation and writes it before this one tries to.
            lapsed.append(store.redis.delete(store._key("lock", "sms:slow")))
            store.transact(
                "sms:slow", lambda o: ({"n": (o or {"n": 0})["n"] + 1}, None), now=NOW, ttl=TTL
            )
        return {"n": (old or {"n": 0})["n"] + 1}, None

    try:
        store.transact("sms:slow", increment, now=NOW, ttl=TTL)
        assert lapsed == [1]
        assert read(store, "sms:slow") == {"n": 2}  # neither turn's increment was lost
    finally:
        drop_keys(url)


def test_a_redis_that_lost_its_scripts_still_takes_turns():
    # A restarted Redis, or a replica promoted in a failover, holds none of the turn's scripts.
    url = shared_redis_url()
    store = open_store(url)
    try:
        store.transact("sms:flushed", put({"n": 1}), now=NOW, ttl=TTL, dedupe="SM1")
        store.redis.script_flush()
        assert store.transact("sms:flushed", put({"n": 2}), now=NOW, ttl=TTL) == {"n": 1}
        assert read(store, "sms:flushed") == {"n": 2}
        store.redis.script_flush()
        # A retried delivery is still answered from what was kept, not run again.
        assert store.transact("sms:flushed", put({"n": 3}), now=NOW, ttl=TTL, dedupe="SM1") is None
        assert read(store, "sms:flushed") == {"n": 2}
    finally:
        drop_keys(url)


def test_all_audits_lists_every_conversations_kept_records(store):
    for key, run in (("sms:a", "1"), ("sms:a", "2"), ("voice:b", "1")):
        record = {"key": key, "run": run}
        store.transact(
            key, put({"n": 1}), now=NOW, ttl=TTL, audit=lambda _, r=record, n=run: (n, r)
        )
    found = sorted((r["key"], r["run"]) for r in store.all_audits(NOW))
    assert found == [("sms:a", "1"), ("sms:a", "2"), ("voice:b", "1")]
    assert store.all_audits(NOW + 7 * 86400 + 1) == []


def test_staff_accounts_are_kept_replaced_and_removed(store):
    assert store.user("ana") is None
    store.put_user("ana", {"hash": "one"})
    store.put_user("ana", {"hash": "two"})
    assert store.user("ana") == {"hash": "two"}
    assert store.remove_user("ana") is True
    assert store.remove_user("ana") is False
    assert store.user("ana") is None


def test_hits_count_within_a_window_and_start_again_after_it(store):
    assert [store.hit("signin:x", NOW + i, 60) for i in range(3)] == [1, 2, 3]
    assert store.hit("signin:y", NOW, 60) == 1
    assert store.hit("signin:x", NOW + 61, 60) == 1


def test_a_change_that_fails_writes_nothing_and_frees_the_conversation(store):
    store.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL)

    def broken(old):
        raise ValueError("the engine broke")

    with pytest.raises(ValueError):
        store.transact("sms:a", broken, now=NOW, ttl=TTL, dedupe="SMbroken")
    # Nothing kept for the delivery, so its retry runs; nor is the conversation left locked.
    assert store.transact("sms:a", put({"n": 2}), now=NOW, ttl=TTL, dedupe="SMbroken") == {"n": 1}
    assert read(store, "sms:a") == {"n": 2}


def _turns_in_a_process(url: str, threads: int, increments: int) -> list:
    """One worker process: threads that increment one conversation, and all send one delivery."""
    store, results = open_store(url), []

    def increment(old):
        old = old or {"n": 0, "once": 0}
        return {**old, "n": old["n"] + 1}, None

    def once(old):
        old = old or {"n": 0, "once": 0}
        return {**old, "once": old["once"] + 1}, f"answered in {os.getpid()}"

    def work():
        for _ in range(increments):
            store.transact("sms:shared", increment, now=NOW, ttl=TTL)
        results.append(store.transact("sms:shared", once, now=NOW, ttl=TTL, dedupe="SMonce"))

    run_threads(threads, work)
    return results


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_worker_processes_sharing_a_store_lose_nothing_and_answer_a_delivery_once(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}" if kind == "sqlite" else shared_redis_url()
    try:
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            answers = pool.starmap(_turns_in_a_process, [(url, 4, 30)] * 3)
        state = read(open_store(url), "sms:shared")
        assert state["n"] == 3 * 4 * 30
        assert state["once"] == 1  # the delivery moved the conversation once...
        replies = {reply for process in answers for reply in process}
        assert len(replies) == 1  # ...and every copy of it got the same answer
    finally:
        if kind == "redis":
            drop_keys(url)


def test_the_sqlite_log_stays_bounded_while_turns_never_pause(tmp_path):
    """A checkpoint that lets writers go on never catches up with them: the log must still be
    emptied now and then, not grow by every turn's pages until the disk is full."""
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:///{path}")
    state = {"trail": [["q", "some words a runner wrote", 1.0]] * 30}  # a long conversation's
    largest = 0
    for n in range(10 * CHECKPOINT_EVERY):
        key = f"sms:{n % 2000}"
        store.transact(key, put(state), now=NOW, ttl=TTL, dedupe=f"SM{n}", audit=audited)
        largest = max(largest, os.path.getsize(f"{path}-wal"))
    assert largest < 2.5 * WAL_LIMIT  # unbounded, it grew past ten times the limit
    assert read(store, "sms:1") == state


def audited(state):
    return "run", {"answers": state["trail"]}


# Call-back requests: what the service keeps is opaque to the store, here a made-up token.
TOKEN = "gAAAAABsealed-number-token"


def callback(n: int = 1) -> dict:
    return {"number": f"{TOKEN}-{n}", "outcome": "gtps", "level": "consultation", "requested": n}


def test_one_open_callback_per_conversation_listed_oldest_first(store):
    assert store.add_callback("sms:b", callback(2), NOW + 1) is True
    assert store.add_callback("sms:a", callback(1), NOW) is True
    assert store.add_callback("sms:a", callback(3), NOW + 2) is False  # no duplicate
    listed = store.callbacks(NOW + 3)
    assert [(c["key"], c["number"]) for c in listed] == [
        ("sms:a", f"{TOKEN}-1"),
        ("sms:b", f"{TOKEN}-2"),
    ]
    assert listed[0]["outcome"] == "gtps" and listed[0]["level"] == "consultation"


def test_closing_a_callback_deletes_it_and_lets_a_new_one_be_made(store):
    store.add_callback("sms:a", callback(1), NOW)
    assert store.close_callback("sms:a") is True
    assert store.close_callback("sms:a") is False
    assert store.callbacks(NOW) == []
    assert store.add_callback("sms:a", callback(2), NOW + 1) is True


def test_callbacks_expire_after_callback_seconds_and_purge_deletes_them(store):
    store.add_callback("sms:a", callback(1), NOW)
    assert len(store.callbacks(NOW + 7 * 86400 - 1)) == 1
    later = NOW + 7 * 86400 + 1
    assert store.callbacks(later) == []
    assert store.purge(later) == (0 if hasattr(store, "redis") else 1)  # Redis expires it
    assert store.add_callback("sms:a", callback(2), later) is True  # the old one is no block


def test_forgetting_a_conversation_deletes_its_callback_made_in_the_same_turn(store):
    def ask(old):
        store.add_callback("sms:a", callback(1), NOW)  # as the service does, within the turn
        return {"n": 1}, None

    store.transact("sms:a", ask, now=NOW, ttl=TTL)
    store.add_callback("sms:b", callback(2), NOW)
    assert len(store.callbacks(NOW)) == 2
    store.transact("sms:a", put(None), now=NOW, ttl=TTL)  # STOP
    assert [c["key"] for c in store.callbacks(NOW)] == ["sms:b"]


def _files(path) -> bytes:
    """Every byte SQLite keeps for a database: the file, its write-ahead log and lock file."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.mark.parametrize("how", ["closed", "forgotten", "purged"])
def test_a_deleted_callback_leaves_no_trace_in_the_sqlite_files(tmp_path, how):
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:///{path}")
    store.transact("sms:a", put({"n": 1}), now=NOW, ttl=TTL)
    store.add_callback("sms:a", callback(1), NOW)
    store.add_callback("sms:b", callback(2), NOW + 1)
    assert f"{TOKEN}-1".encode() in _files(path)
    if how == "closed":
        store.close_callback("sms:a")
    elif how == "forgotten":
        store.transact("sms:a", put(None), now=NOW, ttl=TTL)
    else:
        assert store.purge(NOW + 7 * 86400 + 0.5) == 2  # the conversation and a's request
    assert f"{TOKEN}-1".encode() not in _files(path)
    assert f"{TOKEN}-2".encode() in _files(path)


def test_a_deleted_callback_leaves_no_key_in_redis():
    url = shared_redis_url()
    store = open_store(url)
    try:
        store.add_callback("sms:a", callback(1), NOW)
        assert TOKEN.encode() in redis_values(url)
        ttl = store.redis.pttl(store._key("callback", "sms:a"))
        assert 0 < ttl <= 7 * 86400 * 1000  # Redis expires it on its own too
        store.close_callback("sms:a")
        assert TOKEN.encode() not in redis_values(url)
    finally:
        drop_keys(url)
