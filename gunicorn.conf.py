"""Production serving: `gunicorn -c gunicorn.conf.py "app:create_app()"` (see `make serve`).

Settings come from the environment, then .env (skill.config.environment): HOST, PORT,
WEB_CONCURRENCY (workers, default 2), WEB_THREADS (threads per worker, default 4) and
PROMETHEUS_MULTIPROC_DIR (a private temporary directory when unset), where each worker writes
its metrics so that /metrics sums them all. A `--bind` on the command line (the container's)
wins over HOST and PORT.

Answering in time (Twilio gives up after 15 s, Alexa after 8 s), what bounds a request:
- a client that connects and sends nothing waits in gunicorn's main loop, holding no thread;
- a body is read within 1 s (skill.ops.bodies), else 408; a request queued behind N such slow
  clients waits about N / (workers x threads) seconds, so serve behind a proxy that buffers
  request bodies (nginx does by default) and raise WEB_THREADS rather than WEB_CONCURRENCY
  (threads wait on sockets; each worker holds its own store connections and metrics files);
- a store call: SQLite waits for its lock within its busy timeout; a hung Redis costs a turn
  at most 1 s a command (2 a turn, a timeout not retried), and after one timed out each worker
  answers with the fallback at once for 1 s (skill/stores/redis.py), so 36 webhooks queued on
  2 workers x 4 threads are all answered in about 1 s;
- `timeout` below replaces a worker whose main loop stops (a hung worker), not a slow request.
"""

import glob
import os
import tempfile

from skill.config import environment

env = environment()
# Set before anything imports prometheus_client: it picks its multi-process mode on import.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = env.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="triage-metrics-"
)

from prometheus_client import multiprocess  # noqa: E402


def _whole(name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name}={raw!r}: use a whole number of at least 1")
    return int(raw)


bind = f"{env.get('HOST') or '127.0.0.1'}:{_whole('PORT', 5000)}"
workers = _whole("WEB_CONCURRENCY", 2)
worker_class = "gthread"
threads = _whole("WEB_THREADS", 4)
timeout = 10  # Twilio gives up after 15 s; a stuck worker is replaced before that
graceful_timeout = 10
keepalive = 5
control_socket_disable = True  # instances side by side would share one socket path


def on_starting(server):
    """Drop metrics left by an earlier run, so that counters start from zero."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def worker_exit(server, worker):
    """Let texts still being sent (clinic alerts, call summaries) finish before the worker goes."""
    from flask import Flask

    from skill.service import get_triage  # here: it imports prometheus_client

    app = getattr(worker, "wsgi", None)
    outbound = get_triage(app).outbound if isinstance(app, Flask) else None
    if outbound:
        outbound.flush(timeout=graceful_timeout)


def child_exit(server, worker):
    """Let the live-gauge files of a finished worker go."""
    multiprocess.mark_process_dead(worker.pid)


# One JSON line per request: path without its query string, no body, no client address.
accesslog = "-"
access_log_format = (
    '{"time": "%(t)s", "request_id": "%({x-request-id}o)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": "%(s)s", "ms": %(M)s, "bytes": "%(B)s"}'
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "skill.ops.logs.JsonFormatter"},
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
