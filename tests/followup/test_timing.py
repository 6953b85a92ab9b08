"""When a check-in may go: the quiet hours in the locale's own clock, across midnight and DST."""

from datetime import datetime
from zoneinfo import ZoneInfo

from skill.followup.timing import next_allowed

LONDON = "Europe/London"


def at(text: str, zone: str = LONDON) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def local(when: float, zone: str = LONDON) -> str:
    return datetime.fromtimestamp(when, ZoneInfo(zone)).isoformat(timespec="minutes")


def test_outside_the_quiet_hours_it_goes_when_due():
    assert next_allowed(at("2026-12-02T14:30"), LONDON, (21, 9)) == at("2026-12-02T14:30")
    assert next_allowed(at("2026-12-02T23:30"), LONDON, None) == at("2026-12-02T23:30")


def test_in_the_evening_it_waits_for_the_next_morning():
    assert local(next_allowed(at("2026-12-02T22:15"), LONDON, (21, 9))) == "2026-12-03T09:00+00:00"


def test_after_midnight_it_waits_for_that_morning():
    assert local(next_allowed(at("2026-12-03T03:00"), LONDON, (21, 9))) == "2026-12-03T09:00+00:00"


def test_quiet_hours_within_a_day():
    assert local(next_allowed(at("2026-12-02T13:20"), LONDON, (13, 14))) == "2026-12-02T14:00+00:00"


def test_the_locale_clock_counts_not_the_servers():
    sydney = "Australia/Sydney"
    due = at("2026-12-02T23:00", sydney)  # midday in London, night in Sydney
    assert local(next_allowed(due, sydney, (21, 9)), sydney) == "2026-12-03T09:00+11:00"


def test_the_morning_after_the_clocks_go_forward_is_local_nine():
    assert local(next_allowed(at("2027-03-27T22:00"), LONDON, (21, 9))) == "2027-03-28T09:00+01:00"
