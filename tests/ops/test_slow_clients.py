"""Slow clients under gunicorn: a body trickled a byte at a time is cut off at the deadline
(408, with the security headers), so a real webhook still gets its answer while slow clients
hold every request thread."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.servers import Gunicorn
from tests.texting import PATH, form, post_http, said

TWILIO_WAITS = 15  # seconds Twilio waits for a webhook's answer before it gives up
TRICKLE = 0.3  # seconds between one slow client's bytes: it would take minutes to finish


class Trickler:
    """A client that sends its headers and then its body a byte at a time, until answered."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=TWILIO_WAITS * 2)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 1000\r\n\r\nBody="
        )
        self.sock.sendall(head.encode())
        self.answered = threading.Event()
        self.reply = b""
        threading.Thread(target=self._trickle, daemon=True).start()
        threading.Thread(target=self._listen, daemon=True).start()

    def _trickle(self):
        for _ in range(990):
            if self.answered.wait(TRICKLE):
                return
            try:
                self.sock.sendall(b"x")
            except OSError:
                return

    def _listen(self):
        with contextlib.suppress(OSError):  # closed at the end of the test
            self.reply = self.sock.recv(4096)
        self.answered.set()

    def close(self):
        self.answered.set()
        self.sock.close()


def test_trickled_bodies_get_408_and_a_webhook_still_answers_in_time(tmp_path):
    env = {"STATE_URL": f"sqlite:///{tmp_path / 'state.db'}", "WEB_THREADS": "2"}
    server = Gunicorn(tmp_path / "svc", env)
    host, port = server.url.removeprefix("http://").split(":")
    slow = [Trickler(host, int(port)) for _ in range(4)]  # twice the threads there are
    try:
        reply = post_http(server.url, form(body="hello"), timeout=TWILIO_WAITS)
        assert said(reply)
        for client in slow:
            assert client.answered.wait(TWILIO_WAITS)
            assert client.reply.startswith(b"HTTP/1.1 408"), client.reply[:80]
            # Answered before Flask saw the request, and still with the security headers.
            assert b"X-Content-Type-Options: nosniff" in client.reply.split(b"\r\n\r\n")[0]
    finally:
        for client in slow:
            client.close()
        server.stop()
