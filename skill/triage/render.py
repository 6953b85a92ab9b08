"""Turns questions and outcomes into words: text for messaging, speech for voice channels."""

from __future__ import annotations

from skill.content import Outcome, Question, Script


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


def hints(question: Question | None) -> tuple[str, ...]:
    """Words a speech recogniser should expect for this question."""
    if question is None:
        return ()
    if question.type == "yes_no":
        return ("yes", "no", "not sure")
    if question.type == "choice":
        return tuple(o.label for o in question.options)
    return ()
