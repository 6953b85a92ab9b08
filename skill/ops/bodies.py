"""Request bodies read within a deadline, so that slow clients cannot hold the request threads.

Under gunicorn each request's body is read in full before the app runs, within BODY_SECONDS;
when a client is still sending at the deadline, the socket's reading side is shut, the request
is answered 408 and the connection ends. Twilio's and Alexa's bodies are a few KiB sent at
once, so only a client trickling its body (or stalling half-way) meets the deadline. A client
that connects and sends nothing waits in gunicorn's main loop, not in a request thread.

Elsewhere (Flask's development server, the test client) there is no socket to shut and bodies
are read as they come.

`Request` is the app's request class: a url-encoded form (every Twilio webhook) is read in one
step, to the same fields werkzeug's form parser gives, for a quarter of its cost.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import socket
import threading
import time
from urllib.parse import parse_qsl

import flask

log = logging.getLogger(__name__)
# Twilio waits 15 s for the whole answer and Alexa 8 s; their bodies arrive in milliseconds.
# A real request queued behind N slow clients on T threads waits about N / T * BODY_SECONDS.
BODY_SECONDS = 1.0
TICK = 0.1  # how often the deadlines are looked at


def bound_bodies(app, max_bytes: int, seconds: float = BODY_SECONDS):
    """WSGI middleware: the body read within `seconds`, else 408; larger than `max_bytes` by
    Content-Length, left to the app (which answers 413 without reading it)."""

    def bounded(environ, start_response):
        sock = environ.get("gunicorn.socket")
        length = _length(environ)
        if sock is None or length == 0 or (length or 0) > max_bytes:
            return app(environ, start_response)
        watch = _WATCHDOG.watch(sock, seconds)
        try:
            # Chunked (no length): one byte past the limit is enough for the app's 413.
            body = environ["wsgi.input"].read(max_bytes + 1 if length is None else length)
        except OSError:  # gunicorn's NoMoreData: the client went, or its reading was shut
            body = None
        finally:
            _WATCHDOG.release(watch)
        # A deadline that passes just after the last byte shut nothing the answer needs.
        if body is None or (length is not None and len(body) < length):
            log.warning("request body not received within %s s: answered 408", seconds)
            start_response("408 Request Timeout", [("Content-Type", "text/plain")])
            return [b"Request body too slow.\n"]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return bounded


def _length(environ) -> int | None:
    """The body's declared length: None when chunked, 0 when there is none."""
    raw = environ.get("CONTENT_LENGTH") or ""
    if raw.isascii() and raw.isdigit():
        return int(raw)
    return None if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() else 0


class Request(flask.Request):
    """Flask's request, reading a url-encoded body as werkzeug does (the same decoding and the
    same limits, MAX_CONTENT_LENGTH's 413 included) without its general form machinery, which
    cost 80 us a webhook, as much as the rest of the request's handling in Flask."""

    def _load_form_data(self) -> None:
        kind = self.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        if "form" in self.__dict__ or kind != "application/x-www-form-urlencoded":
            return super()._load_form_data()
        try:
            text = self.get_data().decode()
        except ValueError:  # not UTF-8: no fields, as werkzeug's parser gives (then 400 or 403)
            text = ""
        fields = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
        self.__dict__["form"] = self.parameter_storage_class(fields)
        self.__dict__["files"] = self.parameter_storage_class()
        return None


class _Watchdog:
    """One thread per process that wakes request threads still reading a body at its deadline,
    by shutting the socket's reading side (the writing side stays for the 408). It looks every
    TICK seconds rather than being woken by each request: a request only puts its socket in a
    dict, with no lock to hand over and no thread to switch to, on a path every webhook takes.
    One thread, not a timer per request: starting a thread costs a good part of a turn."""

    def __init__(self):
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self._count = itertools.count()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, seconds: float) -> int:
        """Shut `sock`'s reading side in `seconds` (at most TICK later) unless released first."""
        if self._thread is None or not self._thread.is_alive():  # none yet in this process
            self._start()
        token = next(self._count)  # dict and counter steps are atomic under the interpreter lock
        self._due[token] = (time.monotonic() + seconds, sock)
        return token

    def release(self, token: int) -> None:
        self._due.pop(token, None)

    def _start(self) -> None:
        with self._starting:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="body-deadlines", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            for token, (due, sock) in list(self._due.items()):
                if due <= now and self._due.pop(token, None):
                    with contextlib.suppress(OSError):  # the client has already closed it
                        sock.shutdown(socket.SHUT_RD)


_WATCHDOG = _Watchdog()
