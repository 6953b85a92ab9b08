"""The state store's files going wrong under a running service: read-only, deleted, a full disk.

Each fault is made for real: files made immutable (`chattr +i`, which holds even for root; a
non-root user gets read-only modes instead), the database deleted with `rm`'s unlink, a full
disk as a file-size limit on the serving process. The runner must always get an answer, the
operator must see it in `/readyz` and the log, and service must come back by itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from skill.stores import StoreUnavailable, open_store
from tests.common import ROOT, message_text, need
from tests.servers import Gunicorn
from tests.texting import form, post_http, said

NOW = 1_000_000.0
TTL = 3600.0


@contextmanager
def unwritable(*paths: Path):
    """Files no process of this user can write for the block's time."""
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        need(made.returncode == 0, "chattr +i (immutable files)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {path: path.stat().st_mode for path in paths}
        for path in paths:
            path.chmod(0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def texts(server: Gunicorn, count: int, tag: str) -> list[str]:
    """`count` runners texting at once, each a first message; the text of each reply."""

    def one(n: int) -> str:
        return said(post_http(server.url, form(f"+4477009{n:05d}", f"my hip hurts {tag}")))

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_a_read_only_window_is_answered_and_service_comes_back_by_itself(tmp_path, script):
    db = tmp_path / "state.db"
    server = Gunicorn(tmp_path / "svc", {"STATE_URL": f"sqlite:///{db}"})
    down = message_text(script, "store_down")
    try:
        assert all(down not in reply for reply in texts(server, 2, "before"))
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        with unwritable(*files):
            # Threads already connected, and threads connecting now (read-only, left alone).
            during = texts(server, 8, "during")
            assert all(down in reply for reply in during), "every runner gets the safe answer"
            ready = requests.get(f"{server.url}/readyz", timeout=5)
            assert ready.status_code == 503
        after = texts(server, 12, "after") + texts(server, 8, "later")
        assert all(down not in reply for reply in after), "no thread kept a read-only connection"
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        assert "is not writable" in server.logs()
    finally:
        server.stop()
    assert server.proc.returncode == 0, "no worker died (SIGBUS on the -shm file)"


def test_a_store_opened_while_its_file_is_read_only_starts_and_recovers(tmp_path):
    db = tmp_path / "state.db"
    open_store(f"sqlite:///{db}")  # the file and its tables, made earlier
    with unwritable(db):
        store = open_store(f"sqlite:///{db}")  # a worker (re)starting in the window
        with pytest.raises(StoreUnavailable, match="is not writable"):
            store.transact("sms:a", lambda old: ({"n": 1}, None), now=NOW, ttl=TTL)
        assert not store.ping()
    store.transact("sms:a", lambda old: ({"n": 1}, None), now=NOW, ttl=TTL)
    assert store.ping()


def _turns_around_a_deletion(db: Path, remove: list[Path], keys: list[str]) -> list:
    """Four threads turn once, the files go, then they and two new threads each write a key."""
    store = open_store(f"sqlite:///{db}")
    connected, gone = threading.Barrier(5), threading.Event()
    faults = []

    def turn(key: str) -> None:
        try:
            store.transact(key, lambda old: ({"key": key}, None), now=NOW, ttl=TTL)
        except Exception as err:  # a runner's store_down: collected and asserted below
            faults.append(f"{key}: {err}")

    def old_thread(key: str) -> None:
        turn(f"before:{key}")
        connected.wait()
        gone.wait()
        turn(key)

    threads = [threading.Thread(target=old_thread, args=(key,)) for key in keys[:4]]
    for thread in threads:
        thread.start()
    connected.wait()
    for path in remove:
        path.unlink()
    gone.set()
    threads += [threading.Thread(target=turn, args=(key,)) for key in keys[4:]]
    for thread in threads[4:]:
        thread.start()
    for thread in threads:
        thread.join()
    return faults


def test_a_database_deleted_mid_run_goes_on_in_one_new_file(tmp_path):
    for name, remove in (("db", [""]), ("all", ["", "-wal", "-shm"])):
        db = tmp_path / name / "state.db"
        keys = [f"sms:{name}{n}" for n in range(6)]
        faults = _turns_around_a_deletion(db, [Path(f"{db}{end}") for end in remove], keys)
        assert faults == [], "no turn fails (no such table, disk I/O error)"
        # A restart reads one file: every turn made after the deletion must be in it.
        restarted = open_store(f"sqlite:///{db}")
        for key in keys:
            assert restarted.transact(key, lambda old: (old, old), now=NOW, ttl=TTL) == {
                "key": key
            }, f"{name}: {key} was written to the deleted file"


def test_readiness_is_off_when_the_database_folder_has_gone(tmp_path, settings, script):
    from app import create_app

    client = create_app(settings, script).test_client()
    assert client.get("/readyz").status_code == 200
    shutil.rmtree(tmp_path)  # the state.db folder: no file can be made again
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["reasons"] == ["store: not reachable"]


_FULL_DISK = """
import resource, sys
from app import create_app
from skill import content
from skill.config import Settings
from tests.texting import form, post, said

db = sys.argv[1]
settings = Settings(state_url="sqlite:///" + db, twilio_auth_token="test-auth-token")
client = create_app(settings, content.load()).test_client()
print("ready", client.get("/readyz").status_code)
# No file may be written past its first byte: a disk with no room left.
resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
print("full", *{client.get("/readyz").status_code for _ in range(5)})
print("reply", said(post(client, form("+447700900555", "my hip hurts"))))
"""


def test_a_full_disk_turns_readiness_off_and_logs_the_cause(tmp_path, script):
    run = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path / "state.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ENV_FILE": str(tmp_path / "none.env")},
    )
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["ready"] == "200", run.stderr[-2000:]
    assert lines["full"] == "503", "readiness writes, so it sees the full disk"
    assert message_text(script, "store_down") in lines["reply"]
    assert re.search(r"SQLite SQLITE_[A-Z_]+: \w", run.stderr), "the log names the cause"
    assert "cannot rollback" not in run.stderr
