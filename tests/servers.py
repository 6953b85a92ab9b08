"""Real processes for tests: gunicorn serving the app, check-in workers (`python -m skill
worker`), and private or shared Redis servers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
import requests

from tests.common import ROOT, TWILIO_TOKEN, free_port, need

APP_SPEC = "app:create_app()"  # what the Dockerfile and `make serve` start
SHARED_REDIS = "redis://127.0.0.1:6379"


def shared_redis_url() -> str:
    """A database and key prefix of the caller's own on the shared Redis, or a skip."""
    try:
        up = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        up = False
    need(up, "Redis on 127.0.0.1:6379")
    return f"{SHARED_REDIS}/{random.randint(1, 15)}?prefix=test-{uuid.uuid4().hex[:12]}:"


def drop_keys(url: str) -> None:
    """Delete every key under the URL's prefix."""
    base, prefix = url.split("?prefix=")
    client = redis.Redis.from_url(base)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def redis_values(url: str) -> bytes:
    """Every value under the URL's prefix, read with Redis's own commands, as one byte string."""
    base, prefix = url.split("?prefix=")
    client = redis.Redis.from_url(base)
    held = []
    for key in client.scan_iter(f"{prefix}*"):
        kind = client.type(key)
        if kind == b"string":
            held.append(client.get(key) or b"")
        elif kind == b"hash":
            held.extend(b"%s=%s" % pair for pair in client.hgetall(key).items())
        elif kind == b"set":
            held.extend(client.smembers(key))
    return b"\n".join(held)


def _wait_until(ready, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up")
        time.sleep(0.05)


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py SPEC` on a free port, logging to files under `folder`.

    Webhooks are signed with the tests' TWILIO_TOKEN unless `env` names another.
    """

    def __init__(self, folder: Path, env: dict, spec: str = APP_SPEC, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout.log", folder / "stderr.log"
        metrics = folder / "metrics"
        metrics.mkdir(exist_ok=True)
        full = {
            **os.environ,
            "APP_ENV": "test",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "WEB_THREADS": "4",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "ENV_FILE": str(folder / "none.env"),  # not a developer's .env
            **env,
        }
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [gunicorn, "-c", "gunicorn.conf.py", spec],
                cwd=ROOT,
                env=full,
                stdout=out,
                stderr=err,
            )
        _wait_until(self._up, f"gunicorn on port {self.port}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {self.err.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).ok
        except requests.RequestException:  # not listening yet, or no worker answering yet
            return False

    def logs(self) -> str:
        """Everything the server has written so far."""
        return self.out.read_text() + self.err.read_text()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)


class Worker:
    """`python -m skill worker`, the check-in jobs' consumer, logging to files under `folder`."""

    def __init__(self, folder: Path, env: dict, threads: int = 2):
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout.log", folder / "stderr.log"
        full = {
            **os.environ,
            "APP_ENV": "test",
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "ENV_FILE": str(folder / "none.env"),
            **env,
        }
        command = [sys.executable, "-m", "skill", "worker", "--threads", str(threads)]
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=full, stdout=out, stderr=err)
        _wait_until(self._up, "the check-in worker")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the worker exited: {self.err.read_text()[-2000:]}")
        return "consumer started" in self.err.read_text()

    def logs(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # huey's graceful stop: jobs under way finish
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


class RedisServer:
    """A private redis-server on a port of its own, without persistence: a restart loses all."""

    def __init__(self, port: int | None = None):
        need(
            subprocess.run(["which", "redis-server"], capture_output=True).returncode == 0,
            "redis-server",
        )
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        _wait_until(lambda: self._pings(client), f"redis-server on port {self.port}")

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        """Stop it at once, as a crash would."""
        self.proc.kill()
        self.proc.wait(timeout=10)
