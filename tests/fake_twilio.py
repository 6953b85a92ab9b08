"""A stand-in for Twilio's REST API on a loopback port, reached through twilio's http_client
(or by a server process with TWILIO_API_BASE set to its `base`).

It records every POST to /2010-04-01/Accounts/{sid}/Messages.json, can fail the next tries
with a status (or a status and Twilio's error code), and can hold requests until the test
releases them. It also keeps Content API templates (/v1/Content: list, create from JSON,
delete), as content.twilio.com does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from skill.channels.outbound import BasedHttpClient

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
CONTENT = re.compile(r"^/v1/Content(?:/(?P<sid>HX\w+))?(?:\?.*)?$")


class FakeTwilio:
    """The stand-in server: `attempts` counts requests, `messages` keeps the accepted ones."""

    def __init__(self, port: int = 0):
        self.attempts: list[dict] = []
        self.messages: list[dict] = []
        # Statuses (or status and error code) to answer the next tries with, in order.
        self.failures: list[int | tuple[int, int]] = []
        self.contents: dict[str, dict] = {}  # Content API templates by sid
        self.release = threading.Event()
        self.release.set()
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def http_client(self) -> BasedHttpClient:
        """A twilio http_client that talks to this server."""
        return BasedHttpClient(self.base, timeout=30)

    def wait(self, what, timeout: float = 20) -> bool:
        """Wait until what() is true, for at most timeout seconds (a bound, not a measure)."""
        with self._changed:
            return self._changed.wait_for(what, timeout)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _record(self, attempt: dict, accepted: bool) -> None:
        with self._changed:
            (self.messages if accepted else self.attempts).append(attempt)
            self._changed.notify_all()

    def _handler(self):
        return type("Handler", (_Handler,), {"fake": self})


class _Handler(BaseHTTPRequestHandler):
    """Twilio's Messages and Content APIs as the stand-in `fake` answers them."""

    fake: FakeTwilio

    def do_GET(self):
        if not CONTENT.match(self.path):
            return self._json(404, {"code": 20404, "message": "not found"})
        listed = sorted(self.fake.contents.values(), key=lambda c: c["sid"])
        self._json(200, {"contents": listed, "meta": {"next_page_url": None}})

    def do_DELETE(self):
        found = CONTENT.match(self.path)
        gone = found and self.fake.contents.pop(found["sid"] or "", None)
        self._json(204 if gone else 404, {})

    def _content(self, body: bytes) -> None:
        created = json.loads(body)
        sid = f"HX{len(self.fake.contents) + 1:032d}"
        while sid in self.fake.contents:
            sid = f"HX{int(sid[2:]) + 1:032d}"
        self.fake.contents[sid] = {**created, "sid": sid}
        self._json(201, self.fake.contents[sid])

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode() if status != 204 else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if CONTENT.match(self.path):
            return self._content(self.rfile.read(int(self.headers["Content-Length"])))
        self._message(MESSAGES.match(self.path))

    def _message(self, match) -> None:
        """A text to send: recorded, held until released, then accepted or failed."""
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "").removeprefix("Basic ")
        attempt = {
            **form,
            "account": match and match["sid"],
            "auth": base64.b64decode(auth).decode() if auth else "",
        }
        self.fake._record(attempt, accepted=False)
        self.fake.release.wait(30)
        failure = self.fake.failures.pop(0) if self.fake.failures else 201
        status, code = failure if isinstance(failure, tuple) else (failure, 20500)
        if not match:
            status = 404
        body = {"code": code, "message": "failure", "status": status}
        if status == 201:
            self.fake._record(attempt, accepted=True)
            body = {
                "sid": f"SM{len(self.fake.messages):032d}",
                "account_sid": match["sid"],
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            }
        self._json(status, body)

    def log_message(self, *args):
        pass  # keep test output quiet
