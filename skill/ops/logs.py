"""Structured logs: one JSON object per line, carrying the request id of the request it is in.

What is logged is chosen by the code that logs; the rule everywhere is no phone number,
WhatsApp id, Alexa user id or message text in a log line (tests/test_ops.py checks it).
"""

from __future__ import annotations

import json
import logging
import re

from flask import has_request_context, request

from skill.ops.headers import REQUEST_ID


class JsonFormatter(logging.Formatter):
    """Formats a log record as a JSON line: time, level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and REQUEST_ID in request.environ:
            entry["request_id"] = request.environ[REQUEST_ID]
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


# A request line's query: Twilio's status callbacks and our voice steps carry numbers and what
# was heard there, and the development server (`make run`) logs each request line.
_QUERY = re.compile(r"\?[^ \"]*")


class QueryFree(logging.Filter):
    """Drops the query string from the request lines the development server logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        return True


def setup(level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON, once (gunicorn may have done it)."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, QueryFree) for f in werkzeug.filters):
        werkzeug.addFilter(QueryFree())
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
