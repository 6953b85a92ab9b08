"""Engine and store speed: whole conversations through the engine, SQLite load+save round trips.

Each figure is shown with a baseline run in the same process, and as a ratio to it, so the
numbers mean something on a loaded or slower machine:
- engine turn vs. one JSON round trip of the same state (the least any stored turn costs);
- our SQLite transaction vs. a bare sqlite3 upsert+select of the same row on the same file.
Run: `make bench` (or `.venv/bin/python bench/engine_bench.py`).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skill import content
from skill.safety.vignettes import answer_for, load_cases  # noqa: E402
from skill.stores.sqlite import SQLiteStore  # noqa: E402
from skill.triage import engine  # noqa: E402

CASES = Path(__file__).resolve().parent.parent / "tests" / "vignettes" / "public.yaml"


def per_call(fn, repeat: int) -> float:
    """Best of three runs, in microseconds per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1e6


def conversations(script, cases):
    """Every case as (messages, turn count): the replies the case would send."""
    runs = []
    for case in cases:
        state, reply = engine.step(
            script, None, case["opening"], 0, locale="en-GB", ttl_seconds=3600
        )
        messages = [case["opening"]]
        while not reply.ended:
            answer = answer_for(reply.question, case["facts"])
            messages.append(answer)
            state, reply = engine.step(script, state, answer, 0, locale="en-GB", ttl_seconds=3600)
        runs.append(messages)
    return runs


def main() -> None:
    script = content.load()
    runs = conversations(script, load_cases(CASES))
    turns = sum(len(m) for m in runs)

    def all_conversations():
        for messages in runs:
            state = None
            for message in messages:
                state, _ = engine.step(script, state, message, 0, locale="en-GB", ttl_seconds=3600)

    state, _ = engine.step(script, None, runs[6][0], 0, locale="en-GB", ttl_seconds=3600)
    turn_us = per_call(all_conversations, 50) / turns
    json_us = per_call(lambda: json.loads(json.dumps(state)), 20000)

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        for i in range(1000):
            store.transact(f"sms:{i}", lambda s: (state, None), now=0, ttl=3600)
        store_us = per_call(
            lambda: store.transact("sms:7", lambda s: (s, None), now=0, ttl=3600), 3000
        )
        raw = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        blob = json.dumps(state)

        def bare():
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("SELECT state FROM conversations WHERE key = 'sms:8'").fetchone()
            raw.execute("INSERT OR REPLACE INTO conversations VALUES ('sms:8', ?, 9e9)", (blob,))
            raw.execute("COMMIT")

        bare_us = per_call(bare, 3000)

    print(f"{len(runs)} conversations, {turns} turns")
    print("| measure | ours | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| engine turn | {turn_us:.1f} us | JSON round trip {json_us:.1f} us "
        f"| {turn_us / json_us:.1f}x | < 100 us |"
    )
    print(
        f"| SQLite load+save | {store_us:.0f} us | bare sqlite3 {bare_us:.0f} us "
        f"| {store_us / bare_us:.2f}x | < 1000 us |"
    )


if __name__ == "__main__":
    main()
