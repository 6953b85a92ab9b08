"""The overview's counts, from audit records only (ids, levels and times: no words, no numbers).

A run is one triage from its first message; it counts on the day (UTC) it started. The last
7 days are today and the six days before it. A check-in's run (its record has `followup`)
counts apart, under outcomes at follow-up by the condition it followed, on the day it was
sent; the other counts are of first contacts.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

from skill.console import levels
from skill.content import Question, Script

WINDOWS = (7, 30, 90)  # days the overview offers
ALL_LEVELS = [*levels.HIGHEST_FIRST, None]  # None: no advice (yet)
FOLLOW_UP = ("better", "same", "worse", "none")  # the check-in's answers; none: no answer yet


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def _led_to(question: Question, value: str) -> str | None:
    """Where this answer to this question leads."""
    if question.type != "number":
        return question.edges.get(value)
    number = int(value)
    return next((nxt for top, nxt in question.ranges if top is None or number <= top), None)


def ended_by(script: Script, record: dict) -> str:
    """How a run with advice got it: "answers", "red_flag" or "unreadable" (the safe ending)."""
    trail = record.get("answers") or []
    if trail:
        qid, value = trail[-1][0], trail[-1][1]
        question = script.questions.get(qid)
        if question and value is not None and _led_to(question, str(value)) == record["outcome"]:
            return "answers"
    if record["outcome"] in {flag.outcome for flag in script.red_flags}:
        return "red_flag"
    return "unreadable" if record["outcome"] == script.safe_ending else "answers"


def counts(script: Script, records: list[dict], now: float, days: int) -> dict:
    """Every count the overview shows, for the runs started in the last `days` days."""
    today = datetime.fromtimestamp(now, UTC).date()
    dates = [date.fromordinal(today.toordinal() - i).isoformat() for i in reversed(range(days))]
    recent = [
        r
        for r in records
        if isinstance(r.get("started"), int | float) and _day(r["started"]) >= dates[0]
    ]
    runs = [r for r in recent if "followup" not in r]
    checked = [r["followup"] for r in recent if isinstance(r.get("followup"), dict)]
    advised = [r for r in runs if r.get("outcome")]
    stopped = [r for r in runs if not r.get("outcome")]
    by_day = Counter((_day(r["started"]), r.get("level")) for r in runs)
    return {
        "days": days,
        "runs": len(runs),
        "levels": Counter(r.get("level") for r in runs),
        "conditions": Counter(r["outcome"] for r in advised),
        "channels": Counter(r.get("channel", "?") for r in runs),
        "locales": Counter(r.get("locale", "?") for r in runs),
        "red_flags": Counter(r["outcome"] for r in advised if ended_by(script, r) == "red_flag"),
        "unreadable": sum(1 for r in advised if ended_by(script, r) == "unreadable"),
        "stopped_at": Counter((r.get("questions") or ["?"])[-1] for r in stopped),
        "versions": Counter(r.get("content", "?") for r in runs),
        "per_day": [(d, {lv: by_day[(d, lv)] for lv in ALL_LEVELS}) for d in dates],
        "followups": followups(checked),
    }


def followups(checked: list[dict]) -> dict[str, Counter]:
    """Check-in answers (better, same, worse, none) by the condition whose advice they
    followed, the conditions with most check-ins first."""
    by_condition: dict[str, Counter] = {}
    for f in checked:
        answer = f.get("answer") if f.get("answer") in FOLLOW_UP else "none"
        by_condition.setdefault(str(f.get("after")), Counter())[answer] += 1
    return dict(sorted(by_condition.items(), key=lambda item: -sum(item[1].values())))


def as_csv(script: Script, found: dict) -> str:
    """The same counts as CSV: one row per count, with what it counts and for which day."""
    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(["count", "day", "value", "runs"])
    rows.writerow(["runs", "", f"last {found['days']} days", found["runs"]])
    for level, n in found["levels"].items():
        rows.writerow(["level", "", level or "none", n])
    for section in ("conditions", "channels", "locales", "red_flags", "stopped_at", "versions"):
        for value, n in sorted(found[section].items()):
            rows.writerow([section.removesuffix("s"), "", value, n])
    rows.writerow(["unreadable", "", script.safe_ending, found["unreadable"]])
    for condition, answers in found["followups"].items():
        for answer in FOLLOW_UP:
            rows.writerow(["followup", "", f"{condition}:{answer}", answers[answer]])
    for day, by_level in found["per_day"]:
        for level, n in by_level.items():
            if n:
                rows.writerow(["day_level", day, level or "none", n])
    return out.getvalue()


CHART = (720, 200)  # width and height of the bars' area, in SVG units


def chart(per_day: list[tuple[str, dict]]) -> dict:
    """Runs per day stacked by level (no advice at the bottom, highest level on top): the
    rectangles to draw, each with its own title, and the dates to mark under the bars."""
    width, height = CHART
    peak = max((sum(by_level.values()) for _, by_level in per_day), default=0) or 1
    slot = width / len(per_day)
    bars = []
    for i, (day, by_level) in enumerate(per_day):
        top = height
        for level in reversed(list(by_level)):
            n = by_level[level]
            if not n:
                continue
            tall = n / peak * height
            top -= tall
            bars.append(
                {
                    "x": round(i * slot + slot * 0.1, 1),
                    "y": round(top, 1),
                    "w": round(slot * 0.8, 1),
                    "h": round(tall, 1),
                    "fill": levels.colours(level)[0],
                    "stroke": levels.colours(level)[1],
                    "title": f"{day}: {n} {levels.words(level)}",
                }
            )
    marks = sorted({0, len(per_day) // 2, len(per_day) - 1})
    dates = [(round(i * slot + slot / 2, 1), per_day[i][0]) for i in marks]
    return {"width": width, "height": height, "peak": peak, "bars": bars, "dates": dates}
