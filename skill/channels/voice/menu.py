"""The menu after the advice: hear it again (1), be put through to the clinic (2, when offered),
more detail (3), a check-in text (4, when offered), a call back to the caller's number (5, when
offered: docs/callbacks.md). Words said here still go to the engine, so a red flag spoken now
counts."""

from __future__ import annotations

from skill.channels.voice.call import CallStep
from skill.config import Settings
from skill.content import Level, Outcome, Script
from skill.triage.engine import Event, Reply


def offers(settings: Settings, reply: Reply) -> list[str]:
    """The message keys of what the menu after this advice offers, in the order they are said."""
    clinic = ["voice_clinic"] if dials(settings, reply.outcome) else []
    callback = ["voice_callback_offer"] if reply.call_offer else []
    return ["voice_repeat", *clinic, "voice_more", *callback]


def hints(script: Script) -> tuple[str, ...]:
    """Words the recogniser should expect on the menu."""
    return ("repeat", *script.commands["more"])


def connects(settings: Settings, step: CallStep, reply: Reply) -> bool:
    """Whether to put the caller through to the clinic: 2 pressed on the menu, and the advice
    where the call stands (the engine's reply from the stored state, not the URL) offers it."""
    chose = step.outcome is not None and step.digits == "2"
    return chose and reply.outcome is not None and dials(settings, reply.outcome)


def choice(script: Script, step: CallStep, settings: Settings) -> str | Event:
    """What the engine reads for any other choice on the menu: 4 is yes to the check-in and 5
    is CALL where call backs are on (the engine takes each only after advice that offers it)."""
    if step.digits == "3":
        return script.commands["more"][0]
    if step.digits == "4":  # the check-in's yes; the engine books it only where it was offered
        return script.checkin_answers["yes"][0]
    if step.digits == "5" and settings.callbacks and "callback" in script.commands:
        return script.commands["callback"][0]
    # Any other key, or words that are not a command, gives the advice again.
    return Event.REPEAT if step.digits else step.said


def dials(settings: Settings, outcome: Outcome) -> bool:
    """Whether to offer the clinic: advice to be seen within 24 hours, and a number to call."""
    return outcome.level == Level.CONSULTATION_24 and bool(settings.clinic_phone)
