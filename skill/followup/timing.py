"""When a check-in may be sent: its delay, then the next hour outside the quiet hours in the
runner's locale's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo


def quiet(hour: int, hours: tuple[int, int]) -> bool:
    """Whether an hour of the day falls in the quiet hours (start, end): 21-9 wraps midnight."""
    start, end = hours
    return start <= hour < end if start < end else hour >= start or hour < end


def next_allowed(when: float, zone: str, hours: tuple[int, int] | None) -> float:
    """`when`, or the end of the quiet hours it falls in, local time in `zone`."""
    if not hours:
        return when
    local = datetime.fromtimestamp(when, ZoneInfo(zone))
    if not quiet(local.hour, hours):
        return when
    end = hours[1]
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, clock_time(end), ZoneInfo(zone)).timestamp()
