"""Request bodies read within a deadline, so that slow clients cannot hold the request threads.

Under gunicorn each request's body is read in full before the app runs, within BODY_SECONDS;
when a client is still sending at the deadline, the socket's reading side is shut, the request
is answered 408 and the connection ends. Twilio's and Alexa's bodies are a few KiB sent at
once, so only a client trickling its body (or stalling half-way) meets the deadline. A client
that connects and sends nothing waits in gunicorn's main loop, not in a request thread.

Elsewhere (Flask's development server, the test client) there is no socket to shut and bodies
are read as they come.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading

log = logging.getLogger(__name__)
# Twilio waits 15 s for the whole answer and Alexa 8 s; their bodies arrive in milliseconds.
# A real request queued behind N slow clients on T threads waits about N / T * BODY_SECONDS.
BODY_SECONDS = 1.0


def bound_bodies(app, max_bytes: int, seconds: float = BODY_SECONDS):
    """WSGI middleware: the body read within `seconds`, else 408; larger than `max_bytes` by
    Content-Length, left to the app (which answers 413 without reading it)."""

    def bounded(environ, start_response):
        sock = environ.get("gunicorn.socket")
        length = _length(environ)
        if sock is None or length == 0 or (length or 0) > max_bytes:
            return app(environ, start_response)
        timer = threading.Timer(seconds, _stop_reading, (sock,))
        timer.start()
        try:
            # Chunked (no length): one byte past the limit is enough for the app's 413.
            body = environ["wsgi.input"].read(max_bytes + 1 if length is None else length)
        except OSError:  # gunicorn's NoMoreData: the client went, or its reading was shut
            body = None
        finally:
            timer.cancel()
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


def _stop_reading(sock: socket.socket) -> None:
    """Wake the thread blocked reading the body: shut the reading side, keep the writing."""
    with contextlib.suppress(OSError):  # the client has already closed it
        sock.shutdown(socket.SHUT_RD)
