"""Soak: the real service under gunicorn, driven with signed SMS conversations for minutes.

Clients on loopback hold whole public-vignette conversations, each message signed the way
Twilio signs it. Every reply must be a 200 with one TwiML <Message>, else it counts as an error.
Every 10 s the resident memory (VmRSS) of each gunicorn worker is read from /proc. Growth is
measured from the first sample under load (imports and caches warmed) to the last one.

    .venv/bin/python bench/soak.py [--seconds 300] [--clients 8] [--max-requests 500000]

Exit status 0 when there was no error and the workers grew less than --max-growth (10%).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skill import content, render  # noqa: E402
from skill.vignettes import answer_for, load_cases  # noqa: E402

CASES = ROOT.parent / "shared" / "vignettes" / "public.yaml"
TOKEN = "soak-token"
PATH = "/twilio/messaging"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, state_url: str, workers: int, log) -> subprocess.Popen:
    """gunicorn serving the app as `make serve` would, with gunicorn.conf.py when there is one."""
    env = {**os.environ, "STATE_URL": state_url, "STATE_SECRET": "soak-secret",
           "TWILIO_AUTH_TOKEN": TOKEN, "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "WEB_THREADS": "4"}  # fmt: skip
    conf = ["-c", "gunicorn.conf.py"] if (ROOT / "gunicorn.conf.py").exists() else []
    command = [str(Path(sys.executable).parent / "gunicorn"), *conf, "-w", str(workers),
               "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
               "app:create_app()"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited at start; see its log")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:  # not listening yet, or busy importing
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("gunicorn did not come up")


def workers_rss_kib(master: int) -> dict[int, int]:
    """VmRSS in KiB of each child of the gunicorn master."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmRSS" in fields:
            found[int(entry.name)] = int(fields["VmRSS"].split()[0])
    return found


class Load:
    """Client threads holding conversations until the time or request budget runs out."""

    def __init__(self, base: str, script, cases, deadline: float, max_requests: int):
        self.url, self.script, self.cases = base + PATH, script, cases
        self.deadline, self.max_requests = deadline, max_requests
        self.lock = threading.Lock()
        self.requests = self.errors = self.conversations = 0
        self.validator = RequestValidator(TOKEN)
        self.questions = {
            loc: {
                render.question_text(script, q, loc, voice=False): q
                for q in script.questions.values()
            }  # fmt: skip
            for loc in script.locales
        }

    def _budget(self) -> bool:
        with self.lock:
            if time.monotonic() > self.deadline or self.requests >= self.max_requests:
                return False
            self.requests += 1
            return True

    def _send(self, session, sender: str, body: str, n: int) -> str | None:
        """One signed message; the reply's text, or None after counting an error."""
        fields = {"MessageSid": f"SMsoak{sender[-9:]}{n}", "AccountSid": "AC" + "0" * 32,
                  "From": sender, "To": "+447700900999", "Body": body, "NumMedia": "0"}  # fmt: skip
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.url, fields)}
        try:
            response = session.post(self.url, data=fields, headers=headers, timeout=15)
            messages = ET.fromstring(response.content).findall("Message")
            if response.status_code == 200 and len(messages) == 1 and messages[0].text:
                return messages[0].text
        except (requests.RequestException, ET.ParseError):
            pass
        with self.lock:
            self.errors += 1
        return None

    def client(self, number: int) -> None:
        """Hold conversations one after another, each to its outcome."""
        session, run = requests.Session(), 0
        while True:
            case = self.cases[(number + run) % len(self.cases)]
            locale = case.get("locale", "en-GB")
            code = self.script.locales[locale].dial_codes[0]
            sender, message = f"{code}7{number:04d}{run:05d}", case["opening"]
            for n in range(len(self.script.questions) + 1):
                if not self._budget():
                    return
                reply = self._send(session, sender, message, n)
                asked = [t for t in self.questions[locale] if reply and t in reply]
                if not asked:
                    break  # advice given, or an error already counted
                message = answer_for(self.questions[locale][max(asked, key=len)], case["facts"])
            with self.lock:
                self.conversations += 1
            run += 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=500_000)
    parser.add_argument("--sample-every", type=float, default=10)
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--state-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    script, cases = content.load(), load_cases(CASES)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        state_url = args.state_url or f"sqlite:///{tmp}/soak.db"
        port = free_port()
        with open(Path(tmp) / "gunicorn.log", "wb") as log:
            proc = start_gunicorn(port, state_url, args.workers, log)
            try:
                figures = soak(args, script, cases, f"http://127.0.0.1:{port}", proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    print(json.dumps(figures, indent=1))
    ok = figures["errors"] == 0 and figures["rss_growth"] < args.max_growth
    print("soak:", "PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


def soak(args, script, cases, base: str, master: int) -> dict:
    """Run the load while sampling worker memory; return the figures."""
    idle = sum(workers_rss_kib(master).values())
    started = time.monotonic()
    load = Load(base, script, cases, started + args.seconds, args.max_requests)
    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    samples, end = [], started + args.seconds
    while any(t.is_alive() for t in threads) and time.monotonic() < end:
        time.sleep(max(0.0, min(args.sample_every, end - time.monotonic())))
        rss = workers_rss_kib(master)
        samples.append({"t": round(time.monotonic() - started), "rss_kib": sum(rss.values()),
                        "workers": len(rss), "requests": load.requests})  # fmt: skip
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    first, last = samples[0]["rss_kib"], samples[-1]["rss_kib"]
    return {
        "seconds": round(elapsed, 1), "clients": args.clients, "workers": args.workers,
        "requests": load.requests, "conversations": load.conversations, "errors": load.errors,
        "requests_per_s": round(load.requests / elapsed, 1),
        "rss_idle_kib": idle, "rss_start_kib": first, "rss_end_kib": last,
        "rss_growth": round((last - first) / first, 4), "samples": samples,
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
