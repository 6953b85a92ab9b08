"""Instructions a webhook costs, counted by valgrind: a measure that this machine's neighbours
do not move, for telling small changes apart (throughput here moves by 20% between runs).

    .venv/bin/python bench/instructions.py [--requests 200,1200] [--servers memory,sqlite,redis]
                                           (or `make bench-instructions`; needs valgrind)

Each server is the WSGI app called in-process, as gunicorn calls it, with signed Twilio
messaging webhooks that play the public vignettes (the same turns as bench/serve_bench.py):
bare Flask answering fixed TwiML (the baseline), then the service on the memory store, SQLite
and a private Redis. Each runs twice under `valgrind --tool=callgrind`, once with fewer
requests and once with more, and the difference divided by the extra requests is what one
request costs, start-up left out. A Redis server's own work is not counted, nor gunicorn's.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app as service  # noqa: E402
from bench import bare_app  # noqa: E402
from bench.serve_bench import SECRET, table, transcripts  # noqa: E402
from skill import content  # noqa: E402
from tests.common import TWILIO_TOKEN  # noqa: E402
from tests.servers import RedisServer  # noqa: E402
from tests.texting import PATH, form, signature  # noqa: E402

HOST = "127.0.0.1:5000"


def signed_requests(script, count: int) -> list[tuple[bytes, str]]:
    """Bodies and signatures of `count` webhooks: runner after runner playing the vignettes."""
    runs, made, played = transcripts(script), [], 0
    while len(made) < count:
        for message in runs[played % len(runs)]:
            fields = form(f"+1555{played:09d}", message, f"SM{len(made):032x}")
            made.append((urlencode(fields).encode(), signature(f"http://{HOST}{PATH}", fields)))
        played += 1
    return made[:count]


def environ(body: bytes, signed: str) -> dict:
    """The WSGI environ gunicorn gives the app for one webhook."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "HTTP_HOST": HOST,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_TWILIO_SIGNATURE": signed,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def serve_in_process(server: str, count: int, most: int) -> None:
    """Make the app and answer the first `count` of `most` webhooks (all are made either way,
    so that making them costs the same in both runs)."""
    made = signed_requests(content.load(), most)
    app = bare_app.create_app() if server == "bare" else service.create_app()

    def answered(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise SystemExit(f"{server}: {status}")

    for body, signed in made[:count]:
        b"".join(app(environ(body, signed), answered))


def counted(server: str, count: int, most: int, env: dict) -> int:
    """Instructions of a whole run under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        server,
        str(count),
        str(most),
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not found:
        raise SystemExit(f"{server} under valgrind failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", default="200,1200", help="the two runs' request counts")
    parser.add_argument("--servers", default="memory,sqlite,redis")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        server, count, most = args.child
        serve_in_process(server, int(count), int(most))
        return 0
    fewer, more = (int(n) for n in args.requests.split(","))
    servers = ["bare", *args.servers.split(",")]
    redis = RedisServer() if "redis" in servers else None
    with tempfile.TemporaryDirectory(prefix="instructions-") as tmp:
        base = {
            **os.environ,
            "APP_ENV": "test",
            "STATE_SECRET": SECRET,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "ENV_FILE": str(Path(tmp) / "none.env"),
            "PROMETHEUS_MULTIPROC_DIR": tmp,
            "PYTHONHASHSEED": "0",  # the same sets and dicts in every run: the same count
        }

        def count(run: tuple[str, int]) -> int:
            server, requests = run
            state = _state_url(server, requests == fewer, tmp, redis)
            return counted(server, requests, more, {**base, "STATE_URL": state})

        runs = [(server, requests) for server in servers for requests in (fewer, more)]
        try:
            # Two at a time: valgrind runs one thread of each, and counts are not timings.
            with ThreadPoolExecutor(max_workers=2) as pool:
                totals = dict(zip(runs, pool.map(count, runs), strict=True))
        finally:
            if redis:
                redis.kill()
    each = {s: (totals[s, more] - totals[s, fewer]) / (more - fewer) for s in servers}
    print(
        table(
            ["server", "instructions a webhook", "ratio to bare"],
            [[s, f"{each[s] / 1e6:.2f} M", f"{each[s] / each['bare']:.2f}"] for s in servers],
        )
    )
    return 0


def _state_url(server: str, first: bool, folder: str, redis: RedisServer | None) -> str:
    """A store of each run's own: a SQLite file, a database of the private Redis."""
    if server == "sqlite":
        return f"sqlite:///{folder}/{'first' if first else 'second'}.db"
    if server == "redis":
        return redis.url.rsplit("/", 1)[0] + ("/1" if first else "/2")
    return "memory:"


if __name__ == "__main__":
    sys.exit(main())
