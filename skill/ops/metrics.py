"""Prometheus metrics, summed across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set.

prometheus-client picks its multi-process mode from that variable when it is first imported,
so gunicorn.conf.py sets it before any worker loads the app.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "triage_requests_total", "HTTP requests by channel (blueprint), status", ["channel", "status"]
)
TURN_SECONDS = Histogram(
    "triage_turn_seconds",
    "Time to take one message through the store and the engine",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
OUTCOMES = Counter(
    "triage_outcomes_total", "Advice given, by level and condition", ["level", "condition"]
)
RED_FLAGS = Counter("triage_red_flags_total", "Red-flag advice given, by outcome", ["outcome"])
DEDUPE_HITS = Counter(
    "triage_dedupe_hits_total", "Repeated deliveries answered from the store", ["channel"]
)
STORE_ERRORS = Counter(
    "triage_store_errors_total", "Turns answered with the fallback: the store failed", ["channel"]
)
CHECKINS = Counter(
    "triage_checkins_total",
    "Check-ins booked, cancelled and sent (or not), by what became of them",
    ["result"],
)
FAULTS = Counter(
    "triage_faults_total", "Turns answered with the fault message: something raised", ["channel"]
)

REVIEWS_OVERDUE = Gauge(
    "triage_content_reviews_overdue",
    "Outcomes whose review date has passed",
    multiprocess_mode="max",
)


def exposition() -> tuple[bytes, str]:
    """The metrics page and its content type, from every worker when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
