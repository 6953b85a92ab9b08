"""Levels as the console shows them: plain words and a colour, highest first."""

from __future__ import annotations

from skill.content import Level
from skill.safety.graph import COLOURS

# What each level asks of the runner (docs/clinical-reference.md section 1), for staff pages.
WORDS = {
    Level.EMERGENCY_AMBULANCE: "Call an ambulance now",
    Level.EMERGENCY: "Emergency department now",
    Level.CONSULTATION_24: "See a clinician today",
    Level.CONSULTATION: "Book a GP or physio",
    Level.SELF_CARE: "Self-care at home",
}
HIGHEST_FIRST = sorted(Level, reverse=True)
NO_ADVICE = ("#e0e0e0", "#212121")  # fill and text for runs that ended without advice


def words(level: str | None) -> str:
    """The level in words, or that no advice was given."""
    return WORDS[Level(level)] if level else "No advice given"


def colours(level: str | None) -> tuple[str, str]:
    """(fill, text) for the level, from the same table as the flowchart's."""
    return COLOURS[Level(level)] if level else NO_ADVICE
