"""Structured logs: one JSON object per line, carrying the request id of the request it is in.

What is logged is chosen by the code that logs; the rule everywhere is no phone number,
WhatsApp id, Alexa user id or message text in a log line (tests/test_ops.py checks it).
"""

from __future__ import annotations

import json
import logging

from flask import g, has_request_context


class JsonFormatter(logging.Formatter):
    """Formats a log record as a JSON line: time, level, logger, message, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup(level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON, once (gunicorn may have done it)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
