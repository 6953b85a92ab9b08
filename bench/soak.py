"""Soak: the real service under gunicorn, driven for minutes by the serving benchmark's load.

bench/serve_bench.py's simulated runners play the public vignettes over keep-alive connections
with signed Twilio messaging webhooks (paced at --rate turns a second in all; 0: flat out),
against the app under gunicorn.conf.py on a SQLite file (or --state-url). Every 10 s the
resident memory (VmRSS) of each gunicorn worker is read from /proc. Growth is measured from the
first sample under load (imports and caches warm) to the last. Any answer but 200 is an error.

    .venv/bin/python bench/soak.py [--seconds 300] [--rate 150] [--connections 16]

Exits 0 when there was no error and the workers grew less than --max-growth (10%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# serve_bench beside this file; skill and tests from the repository root.
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from serve_bench import SECRET, load, transcripts, worker_rss_mb  # noqa: E402

from skill import content  # noqa: E402
from tests.servers import Gunicorn  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=150, help="turns a second; 0: flat out")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sample-every", type=float, default=10)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--state-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    runs = transcripts(content.load())
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        # Gunicorn signs with the tests' TWILIO_AUTH_TOKEN, as serve_bench's requests do.
        env = {"STATE_SECRET": SECRET, "STATE_URL": args.state_url or f"sqlite:///{tmp}/soak.db"}
        server = Gunicorn(Path(tmp), env, spec="app:create_app()", workers=args.workers)
        try:
            figures = soak(args, runs, server)
        finally:
            server.stop()
    print(json.dumps(figures, indent=1))
    ok = figures["errors"] == 0 and figures["rss_growth"] < args.max_growth
    print(
        f"soak: {'PASS' if ok else 'FAIL'}: {figures['errors']} errors, workers' RSS "
        f"{figures['rss_start_mb']} -> {figures['rss_end_mb']} MB "
        f"({figures['rss_growth']:+.1%})",
        file=sys.stderr,
    )
    return 0 if ok else 1


def soak(args, runs, server) -> dict:
    """Run the load in a thread while sampling the workers' memory; return the figures."""
    result = {}
    rate = args.rate or None
    driver = threading.Thread(
        target=lambda: result.update(
            load(server.port, runs, args.connections, args.seconds, rate=rate, warmup=0)
        )
    )
    started = time.monotonic()
    driver.start()
    samples = []
    while driver.is_alive():
        driver.join(args.sample_every)
        rss = list(worker_rss_mb(server.proc.pid).values())
        samples.append(
            {
                "t": round(time.monotonic() - started),
                "workers": len(rss),
                "rss_mb": round(sum(rss), 1),
            }
        )
    first, last = samples[0]["rss_mb"], samples[-1]["rss_mb"]
    return {
        "seconds": args.seconds,
        "rate": args.rate or "flat out",
        "connections": args.connections,
        "workers": args.workers,
        "requests": round(result["rps"] * args.seconds),
        "requests_per_s": round(result["rps"], 1),
        "p50_ms": round(result["p50_ms"], 1),
        "p99_ms": round(result["p99_ms"], 1),
        "errors": result["errors"],
        "rss_start_mb": first,
        "rss_end_mb": last,
        "rss_growth": round((last - first) / first, 4),
        "samples": samples,
    }


if __name__ == "__main__":
    sys.exit(main())
