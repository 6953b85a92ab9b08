"""Turns the engine's reply parts into words: text for messaging, speech for voice channels.

A reply (skill.triage.engine.Reply) is notices (message keys), the waiting question or the
outcome, and flags. `text` and `speech` give a whole reply; a channel that places the parts
itself (voice says the notices before its Gather) takes `notices` and `body`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from skill.content import Outcome, Question, Script

if TYPE_CHECKING:
    from skill.triage.engine import Reply


def text(script: Script, reply: Reply, *, title: Callable[[str], str] | None = None) -> str:
    """The reply for reading; `title` marks up the advice's title set above it (WhatsApp)."""
    if reply.silent:
        return ""
    lines = [*notices(script, reply, voice=False), body(script, reply, voice=False)]
    if title and reply.outcome and lines[-1]:  # a brief reply has no advice to head
        lines[-1] = f"{title(reply.outcome.title)}\n{lines[-1]}"
    if reply.offer:  # after the advice, apart from it: channels without check-ins lack it
        lines.append(checkin_line(script, reply, "checkin_offer"))
    if reply.call_offer:  # its own line below the advice, whose words stay the clinicians' own
        lines.append(script.fill(script.messages["callback_offer"], reply.locale))
    return "\n".join(line for line in lines if line)


def speech(script: Script, reply: Reply, *, keypad: bool = True) -> str:
    """The reply for hearing, with keypad choices (a phone) or without (a speaker); a call
    offers a call back on its menu after the advice (skill.channels.voice.menu)."""
    if reply.silent:
        return ""
    lines = [*notices(script, reply, voice=True), body(script, reply, voice=True, keypad=keypad)]
    return "\n".join(line for line in lines if line)


def notices(script: Script, reply: Reply, *, voice: bool) -> list[str]:
    """The reply's notices in words, each in its spoken form (voice_intro) where it has one,
    then why the waiting question matters when it is asked again for that."""
    keys = [f"voice_{n}" if voice and f"voice_{n}" in script.messages else n for n in reply.notices]
    after = delay(script, reply.after)
    said = [script.fill(script.messages[key], reply.locale, after) for key in keys]
    if reply.why and reply.question and reply.question.why:
        said.append(script.fill(reply.question.why, reply.locale))
    return [line for line in said if line]


def checkin_line(script: Script, reply: Reply, key: str) -> str:
    """A check-in message (the offer, in words or on the keypad) with the reply's delay."""
    return script.fill(script.messages[key], reply.locale, delay(script, reply.after))


UNIT_SECONDS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def delay(script: Script, seconds: float) -> str:
    """A delay in the content's words, in the largest unit it is a whole number of: 2 days,
    36 hours, 30 seconds."""
    whole = max(1, round(seconds))
    unit, size = next((u, n) for u, n in UNIT_SECONDS if whole % n == 0)
    one, many = script.units.get(unit, (unit, f"{unit}s"))
    count = whole // size
    return f"{count} {one if count == 1 else many}"


def body(script: Script, reply: Reply, *, voice: bool, keypad: bool = True) -> str:
    """The waiting question (or the open question), or the advice, in words; "" for none."""
    if reply.brief:
        return ""
    if reply.outcome and reply.detail:
        return script.fill(reply.outcome.more, reply.locale)
    if reply.outcome:
        return outcome_text(script, reply.outcome, reply.locale, voice=voice)
    if reply.question:
        return question_text(script, reply.question, reply.locale, voice=voice, keypad=keypad)
    if reply.describe:  # on a phone, a key skips it; Alexa has no keypad
        key = "voice_describe" if voice and keypad else "describe"
        return script.fill(script.messages[key], reply.locale)
    return ""


def question_text(
    script: Script, question: Question, locale: str, *, voice: bool, keypad: bool = True
) -> str:
    """The question with how to answer it, for reading or for hearing (with or without a keypad)."""
    msg = script.messages
    body = question.voice if voice else question.text
    kind = "ask" if not voice else "voice" if keypad else "say"
    if question.type == "yes_no":
        how = msg[f"{kind}_yes_no"]
    elif question.type == "number":
        how = msg[f"{kind}_number"]
    else:
        if kind == "voice":
            listing = " ".join(f"{o.label}, press {i}." for i, o in enumerate(question.options, 1))
        elif kind == "say":
            listing = " ".join(f"{o.label}." for o in question.options)
        else:
            listing = ", ".join(f"{i} {o.label}" for i, o in enumerate(question.options, 1))
        how = f"{msg[f'{kind}_choice']} {listing}"
    return script.fill(f"{body} {how}".strip(), locale)


def outcome_text(script: Script, outcome: Outcome, locale: str, *, voice: bool) -> str:
    """The short form of an outcome with what the user can do next."""
    footer = script.messages["voice_footer" if voice else "footer"]
    return script.fill(f"{outcome.short}\n{footer}".strip(), locale)


def buttons(script: Script, question: Question, locale: str) -> list[str]:
    """The answers a channel with buttons offers (web chat, WhatsApp), each in words the
    engine reads as that answer; none for a number, which is typed."""
    if question.type == "yes_no":
        keys = ("button_yes", "button_no") + (("button_unsure",) if question.unsure else ())
        return [script.fill(script.messages[key], locale) for key in keys]
    if question.type == "choice":
        return [option.label for option in question.options]
    return []


def hints(question: Question | None) -> tuple[str, ...]:
    """Words a speech recogniser should expect for this question."""
    if question is None:
        return ()
    if question.type == "yes_no":
        return ("yes", "no", "not sure")
    if question.type == "choice":
        return tuple(o.label for o in question.options)
    return ()
