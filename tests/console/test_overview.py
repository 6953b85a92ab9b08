"""The overview's periods: runs count by the day they started, through the real webhook."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace

from app import create_app
from skill.console import accounts
from tests import texting
from tests.console.test_accounts import PASSWORD, sign_in

DAY = 86400


def counted_runs(client, days: int) -> str:
    rows = csv.DictReader(io.StringIO(client.get(f"/console/overview.csv?days={days}").text))
    return next(r["runs"] for r in rows if r["count"] == "runs")


def test_a_run_counts_in_the_periods_its_start_falls_in(settings, script):
    # Audit records kept for 120 days, so that the 90-day period has all of its runs.
    app = create_app(replace(settings, audit_days=120), script)
    client = app.test_client()
    triage = app.extensions["triage"]
    started = {"+447700900011": 0, "+447700900012": 10 * DAY, "+447700900013": 40 * DAY}
    for sender, ago in started.items():
        triage.clock = lambda ago=ago: time.time() - ago  # the service's injected clock
        texting.said(texting.post(client, texting.form(sender=sender, body="hello")))
    triage.clock = time.time
    accounts.add(triage.store, "ana", PASSWORD, now=1.0)
    sign_in(client, "ana", PASSWORD)
    assert [counted_runs(client, days) for days in (7, 30, 90)] == ["1", "2", "3"]
    assert client.get("/console/?days=8").status_code == 404
    assert "shows only the runs" not in client.get("/console/?days=90").text
    page = client.get("/console/?days=30").text
    assert "+4477009000" not in page and "7700900011" not in page


def test_a_period_longer_than_the_audit_records_are_kept_says_so(client, app):
    accounts.add(app.extensions["triage"].store, "ana", PASSWORD, now=1.0)
    sign_in(client, "ana", PASSWORD)
    assert "shows only the runs" not in client.get("/console/?days=30").text
    assert (
        "kept for 30 days (AUDIT_DAYS), so this period shows only the runs"
        in client.get("/console/?days=90").text
    )
