"""Serving benchmark: the real service under gunicorn against a bare Flask app, on loopback.

    .venv/bin/python bench/serve_bench.py [--seconds 6] [--rounds 6] [--connections 64] [--rate 200]
        [--stored 1000,1000000] [--servers memory,sqlite,redis]      (or `make bench-serve`)

1. Throughput and latency: simulated runners play the public vignettes, one conversation
   after another, over `--connections` keep-alive connections, against a bare Flask app with
   fixed replies (the baseline) and the service on the memory store (its own ceiling), SQLite
   and Redis, all under gunicorn.conf.py with the same settings. Every request is a signed
   Twilio messaging webhook (POST /twilio/messaging). The servers run side by side and are
   driven in turn, `--seconds` each cut into `--rounds` short loads, flat out and then paced at
   `--rate` turns a second in all, so that other load on the machine falls on all alike; every
   figure is also a ratio to bare.
2. The workers' CPU time per turn flat out (which other load on the machine hardly moves,
   unlike throughput), and the resident memory of the largest worker after its load.
3. Turn latency: Triage.converse in-process over stores already holding each `--stored` count
   of conversations (filled directly, in bulk), the stores taking turns in batches.
Redis servers are private redis-servers on free ports without persistence, so nothing else's
data is touched and their keys go when they are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skill import content
from skill.config import Settings  # noqa: E402
from skill.safety import vignettes
from skill.service import Inbound, Triage  # noqa: E402
from skill.stores import open_store  # noqa: E402
from skill.stores.sqlite import SQLiteStore
from skill.triage import engine  # noqa: E402
from tests.common import PUBLIC_VIGNETTES  # noqa: E402
from tests.servers import APP_SPEC, Gunicorn, RedisServer  # noqa: E402
from tests.texting import PATH, form, signature  # noqa: E402

SECRET = "bench-secret"
_FILL = """
for i = tonumber(ARGV[2]), tonumber(ARGV[3]) - 1 do
  redis.call('set', ARGV[1] .. 'sms:' .. redis.sha1hex(tostring(i)), ARGV[4], 'px', 86400000)
end
"""


def transcripts(script) -> list[list[str]]:
    """The messages of each public vignette, answered as its runner would."""
    runs = []
    for case in vignettes.load_cases(PUBLIC_VIGNETTES):
        messages, message, state = [], case["opening"], None
        while True:
            messages.append(message)
            state, reply = engine.step(script, state, message, 0, locale="en-GB", ttl_seconds=1e9)
            if not reply.question:
                break
            message = vignettes.answer_for(reply.question, case["facts"])
        runs.append(messages)
    return runs


class Runner:
    """One connection's runners: each plays a vignette, then a new runner starts another."""

    def __init__(self, number: int, runs: list[list[str]], port: int):
        self.number, self.runs, self.port = number, runs, port
        self.played, self.turn = 0, 0

    def request(self) -> bytes:
        messages = self.runs[(self.number + self.played) % len(self.runs)]
        address = f"+1555{self.number:04d}{self.played:05d}"
        message, sid = messages[self.turn], "SM" + uuid.uuid4().hex
        self.turn += 1
        if self.turn == len(messages):
            self.played, self.turn = self.played + 1, 0
        fields = form(address, message, sid)
        body = urlencode(fields).encode()
        signed = signature(f"http://127.0.0.1:{self.port}{PATH}", fields)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signed}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


async def _response(reader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length"))
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def _connection(runner, warm, end, latencies, statuses, interval, offset) -> None:
    """Send turns back to back, or one per `interval` seconds when paced."""
    reader, writer = await asyncio.open_connection("127.0.0.1", runner.port)
    due = time.perf_counter() + offset
    while time.perf_counter() < end:
        if interval:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        data = runner.request()
        # Paced latency counts from when the turn was due, so a late send is not hidden.
        started = due if interval else time.perf_counter()
        writer.write(data)
        status = await _response(reader)
        statuses[status] += 1  # warm-up turns too: they count for errors and CPU time
        if started >= warm:
            latencies.append(time.perf_counter() - started)
        due += interval or 0
    writer.close()


def load(
    port, runs, connections: int, seconds: float, rate=None, warmup: float = 1.0, first: int = 0
) -> dict:
    """Drive one server flat out (or at `rate` turns a second in all) for warmup + seconds.

    Runners are numbered from `first`, so that a later load starts new conversations.
    """
    latencies, statuses = [], Counter()
    interval = connections / rate if rate else None

    async def main():
        warm = time.perf_counter() + warmup
        end = warm + seconds
        step = (interval or 0) / connections  # paced connections start spread over an interval
        await asyncio.gather(
            *(
                _connection(
                    Runner(first + i, runs, port),
                    warm,
                    end,
                    latencies,
                    statuses,
                    interval,
                    i * step,
                )
                for i in range(connections)
            )
        )

    asyncio.run(main())
    return summary([latencies], seconds, statuses)


def summary(parts: list[list[float]], seconds: float, statuses: Counter) -> dict:
    """Throughput and latency of one or more loads that took `seconds` in all."""
    latencies = sorted(t for part in parts for t in part)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "errors": sum(n for status, n in statuses.items() if status != 200),
        "turns": sum(statuses.values()),
        "latencies": latencies,
        "statuses": statuses,
    }


def worker_rss_mb(master_pid: int) -> dict[int, float]:
    """Each worker process of a gunicorn master, with its resident memory in MB."""
    sizes = {}
    for stat in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in stat.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(master_pid):
            sizes[int(stat.parent.name)] = int(fields["VmRSS"].split()[0]) / 1024
    return sizes


def cpu_seconds(pids) -> float:
    """User plus system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def serve(servers: dict[str, tuple[str, dict]], folder: Path, args, runs) -> dict[str, dict]:
    """Serve every (spec, env) at once and drive them in turn, a short load each, round after
    round, so that whatever else the machine does falls on all of them alike."""
    started, results = {}, {}
    try:
        for name, (spec, env) in servers.items():
            started[name] = Gunicorn(folder / name.split()[0], env, spec=spec, workers=args.workers)
        pids = {name: list(worker_rss_mb(server.proc.pid)) for name, server in started.items()}
        burst = iter(range(0, 10**6, args.connections))  # new runners for every load
        for server in started.values():
            load(server.port, runs, args.connections, 1, first=next(burst))  # warm up
        seconds = args.seconds / args.rounds
        flat = {name: [] for name in started}
        paced = {name: [] for name in started}
        busy = {name: [] for name in started}
        cpu = dict.fromkeys(started, 0.0)
        for _ in range(args.rounds):
            for name, server in started.items():
                busy[name].append(os.getloadavg()[0])
                before = cpu_seconds(pids[name])
                flat[name].append(
                    load(
                        server.port, runs, args.connections, seconds, warmup=0.2, first=next(burst)
                    )
                )
                cpu[name] += cpu_seconds(pids[name]) - before
        for _ in range(args.rounds):
            for name, server in started.items():
                paced[name].append(
                    load(
                        server.port,
                        runs,
                        args.connections,
                        seconds,
                        rate=args.rate,
                        warmup=0.5,
                        first=next(burst),
                    )
                )
        for name, server in started.items():
            flat_out, steady = (
                summary(
                    [part["latencies"] for part in parts],
                    args.seconds,
                    sum((part["statuses"] for part in parts), Counter()),
                )
                for parts in (flat[name], paced[name])
            )
            results[name] = {
                **flat_out,
                "load": sum(busy[name]) / len(busy[name]),
                "paced_p50_ms": steady["p50_ms"],
                "paced_p99_ms": steady["p99_ms"],
                "errors": flat_out["errors"] + steady["errors"],
                "cpu_ms": 1000 * cpu[name] / flat_out["turns"],
                "rss_mb": max(worker_rss_mb(server.proc.pid).values()),
            }
    finally:
        for server in started.values():
            server.stop()
    return results


def fill(store, stop: int, state: dict, now: float) -> None:
    """Put `stop` conversations straight into an empty store, in bulk."""
    if isinstance(store, SQLiteStore):
        value = json.dumps(state, separators=(",", ":"))
        keys = (f"sms:{hashlib.sha1(str(i).encode()).hexdigest()}" for i in range(stop))
        db = store._db()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO conversations (key, state, expires) VALUES (?, ?, ?)",
            ((key, value, now + 86400) for key in keys),
        )
        db.execute("COMMIT")
        return
    # Redis makes the keys itself, a batch per script run: far faster than one SET per trip.
    wrapped = json.dumps({"s": state, "e": now + 86400}, separators=(",", ":"))
    make = store.redis.register_script(_FILL)
    for first in range(0, stop, 50_000):
        make(args=[store._key("conv", ""), first, min(stop, first + 50_000), wrapped])


class Turns:
    """Runners playing the vignettes in-process through Triage.converse, one turn at a time."""

    def __init__(self, store, script, runs, prefix: str):
        self.triage = Triage(script, store, Settings(state_secret=SECRET))
        self.runner, self.runs, self.prefix, self.times = Runner(999, runs, 0), runs, prefix, []

    def play(self, turns: int) -> None:
        runner = self.runner
        for _ in range(turns):
            messages = self.runs[(runner.number + runner.played) % len(self.runs)]
            address, message = f"{self.prefix}{runner.played:07d}", messages[runner.turn]
            runner.turn += 1
            if runner.turn == len(messages):
                runner.played, runner.turn = runner.played + 1, 0
            started = time.perf_counter()
            self.triage.converse(Inbound("sms", address, message, "SM" + uuid.uuid4().hex), _text)
            self.times.append(time.perf_counter() - started)

    def figures(self) -> dict:
        times = sorted(self.times)
        return {
            "p50_ms": 1000 * times[len(times) // 2],
            "mean_ms": 1000 * sum(times) / len(times),
            "p99_ms": 1000 * times[int(len(times) * 0.99)],
        }


def _text(script, reply: engine.Reply) -> str:
    return reply.text


def stored_latency(urls: dict[int, str], script, runs, turns: int) -> dict[int, dict]:
    """Turn latency over stores already holding each count of conversations.

    The stores take turns in batches, so that other load on the machine falls on all alike.
    """
    now = time.time()
    state, _ = engine.step(script, None, runs[7][0], now, locale="en-GB", ttl_seconds=86400)
    players = {}
    for count, url in urls.items():
        store = open_store(url)
        fill(store, count, state, now)
        players[count] = Turns(store, script, runs, f"+1666{len(players)}")
        players[count].play(200)  # warm caches
        players[count].times.clear()
    for _ in range(20):
        for player in players.values():
            player.play(turns // 20)
    return {count: player.figures() for count, player in players.items()}


def table(head: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    lines = [head, ["---"] * len(head), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=6,
        help="measured seconds per server, flat out and again paced",
    )
    parser.add_argument("--rounds", type=int, default=6, help="loads the seconds are cut into")
    parser.add_argument("--rate", type=float, default=200, help="paced turns a second, in all")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--stored", default="1000,1000000", help="stored conversation counts")
    parser.add_argument("--turns", type=int, default=4000, help="turns timed per stored count")
    parser.add_argument(
        "--servers",
        default="memory,sqlite,redis",
        help="which of memory,sqlite,redis to serve beside bare Flask",
    )
    args = parser.parse_args()
    script = content.load()
    runs = transcripts(script)
    counts = [int(n) for n in args.stored.split(",")]
    chosen = args.servers.split(",")
    print(
        f"driving the signed Twilio messaging webhook; {args.connections} connections, "
        f"{args.workers} workers; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    redis_servers = []
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        folder = Path(tmp)
        try:
            redis_servers.append(RedisServer())
            stores = {
                "memory": ("memory (ceiling)", "memory:"),
                "sqlite": ("SQLite", f"sqlite:///{folder / 'serve.db'}"),
                "redis": ("Redis", redis_servers[0].url),
            }
            base = {"STATE_SECRET": SECRET}  # Gunicorn sets the tests' TWILIO_AUTH_TOKEN
            servers = {"bare Flask": ("bench.bare_app:create_app()", base)}
            for name, url in (stores[kind] for kind in chosen):
                servers[name] = (APP_SPEC, {**base, "STATE_URL": url})
            rows = serve(servers, folder, args, runs)
            bare = rows["bare Flask"]
            print()
            print(
                table(
                    [
                        "server",
                        "load",
                        "req/s",
                        "ratio to bare",
                        f"p50 / p99 ms at {args.connections}",
                        "p99 / bare's",
                        f"p50 / p99 ms at {args.rate:.0f}/s",
                        "errors",
                        "worker CPU ms/turn",
                        "RSS/worker MB",
                    ],
                    [
                        [
                            name,
                            f"{r['load']:.1f}",
                            f"{r['rps']:.0f}",
                            f"{r['rps'] / bare['rps']:.2f}",
                            f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f}",
                            f"{r['p99_ms'] / bare['p99_ms']:.2f}",
                            f"{r['paced_p50_ms']:.1f} / {r['paced_p99_ms']:.1f}",
                            r["errors"],
                            f"{r['cpu_ms']:.2f}",
                            f"{r['rss_mb']:.0f}",
                        ]
                        for name, r in rows.items()
                    ],
                )
            )
            rows = []
            for kind in ("sqlite", "redis"):
                if kind not in chosen:
                    continue
                urls = {}
                for count in counts:
                    if kind == "sqlite":
                        urls[count] = f"sqlite:///{folder / f'stored-{count}.db'}"
                    else:  # a private server per count: nothing else in it
                        redis_servers.append(RedisServer())
                        urls[count] = redis_servers[-1].url
                figures = stored_latency(urls, script, runs, args.turns)
                first = figures[counts[0]]
                rows += [
                    [
                        stores[kind][0],
                        f"{count:,}",
                        f"{r['p50_ms']:.3f}",
                        f"{r['mean_ms']:.3f}",
                        f"{r['p99_ms']:.3f}",
                        f"{r['p50_ms'] / first['p50_ms']:.2f}",
                    ]
                    for count, r in figures.items()
                ]
            if rows:
                print("\nturn latency in-process (Triage.converse), stores taking turns in batches")
                print(
                    table(
                        [
                            "store",
                            "stored",
                            "p50 ms",
                            "mean ms",
                            "p99 ms",
                            f"p50 / {counts[0]:,}'s",
                        ],
                        rows,
                    )
                )
            print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
        finally:
            for server in redis_servers:  # no persistence: their keys go with them
                server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
