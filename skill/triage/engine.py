"""The triage engine: one pure step from (script, state, message, now) to (new state, reply).

No I/O and no clock: the caller passes the time and stores the state, a plain JSON-able dict.
Red flags are screened on every message before anything else is read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from skill.content import Outcome, Question, Script
from skill.triage import render, understand

MAX_MISSES = 3  # unreadable answers to one question before the safe ending


@dataclass(frozen=True)
class Reply:
    """What to say back, in words for reading and for hearing, plus where the triage stands."""

    text: str
    speech: str
    question: str | None = None  # id of the question now waiting for an answer
    outcome: Outcome | None = None
    ended: bool = False
    silent: bool = False  # nothing should be sent (an opt-out)
    reached: bool = False  # this reply gives the outcome for the first time
    hints: tuple[str, ...] = ()


def new_state(locale: str, now: float) -> dict:
    """A conversation that has not started."""
    return {
        "v": 1, "locale": locale, "question": None, "outcome": None, "trail": [],
        "known": {}, "misses": 0, "started": now, "updated": now,
    }  # fmt: skip


def step(
    script: Script, state: dict | None, message: str | None, now: float, *,
    locale: str, ttl_seconds: float,
) -> tuple[dict | None, Reply]:  # fmt: skip
    """Take one message; return the new state (None: forget it) and the reply."""
    text = understand.read(script, message)
    command = understand.command(script, text)
    if command == "stop":
        return None, Reply(text="", speech="", ended=True, silent=True)
    notices = []
    if state and now - state.get("updated", now) > ttl_seconds:
        state = None
        notices.append("expired")
    if not state or command in ("restart", "start"):
        if state:
            notices.append("restarted")
        notices.append("intro")
        state = new_state(state["locale"] if state else locale, now)
        opening = "" if command else text
        return _open(script, state, opening, now, notices)
    state = {**state, "updated": now}
    flagged = understand.red_flag(script, text)
    if flagged and _raises(script, state, flagged):
        return _finish(script, state, flagged, notices)
    if command == "help":
        return state, _ask_again(script, state, ["help"])
    if command == "back":
        return _back(script, state)
    if command == "more":
        return state, _more(script, state)
    if state["outcome"]:
        return state, _speak(script, state, ["finished"], footer=True)
    return _answer(script, state, text)


def _open(script: Script, state: dict, text: str, now: float, notices: list[str]):
    """Start a conversation, using whatever the opening message already tells us."""
    flagged = understand.red_flag(script, text)
    if flagged:
        return _finish(script, state, flagged, notices)
    state["known"] = understand.detect(script, text)
    return _advance(script, state, script.start, notices)


def _raises(script: Script, state: dict, outcome: Outcome) -> bool:
    """A red flag changes the advice only if it is higher than advice already given."""
    if not state["outcome"]:
        return True
    return outcome.level > script.outcomes[state["outcome"]].level


def _answer(script: Script, state: dict, text: str):
    question = script.questions[state["question"]]
    value = understand.read_answer(script, question, text)
    if value == "unsure":
        value = question.unsure
    target = _target(question, value)
    if target is None:
        state["misses"] += 1
        if state["misses"] >= MAX_MISSES:
            return _finish(script, state, script.outcomes[script.safe_ending], ["safe_ending"])
        why = "out_of_range" if question.type == "number" and value else "not_understood"
        return state, _ask_again(script, state, [why])
    state["trail"] = [*state["trail"], [question.id, value, "user"]]
    # Facts stated alongside the answer are kept, so those questions are not asked later.
    state["known"] = {**state["known"], **understand.detect(script, text)}
    state["misses"] = 0
    return _advance(script, state, target, [])


def _target(question: Question, value: str | None) -> str | None:
    """Where an answer leads, or None when it is not an answer this question takes."""
    if value is None:
        return None
    if question.type != "number":
        return question.edges.get(value)
    number = int(value)
    if not question.min <= number <= question.max:
        return None
    return next(nxt for top, nxt in question.ranges if top is None or number <= top)


def _advance(script: Script, state: dict, target: str, notices: list[str]):
    """Move on to the target, passing questions the user has already answered unasked."""
    trail = list(state["trail"])
    while target in script.questions:
        question = script.questions[target]
        known = state["known"].get(target)
        nxt = _target(question, known)
        if nxt is None:
            break
        trail.append([target, known, "text"])
        target = nxt
    state = {**state, "trail": trail, "misses": 0}
    if target in script.outcomes:
        return _finish(script, state, script.outcomes[target], notices)
    state["question"] = target
    return state, _ask_again(script, state, notices)


def _finish(script: Script, state: dict, outcome: Outcome, notices: list[str]):
    state = {**state, "question": None, "outcome": outcome.id}
    return state, replace(_speak(script, state, notices, footer=True), reached=True)


def _back(script: Script, state: dict):
    """Return to the last question the user answered themselves."""
    trail = list(state["trail"])
    while trail and trail[-1][2] != "user":
        trail.pop()
    if not trail:
        return state, _ask_again(script, state, ["back_none"])
    qid = trail.pop()[0]
    known = {k: v for k, v in state["known"].items() if k != qid}
    state = {**state, "trail": trail, "known": known, "question": qid, "outcome": None}
    return state, _ask_again(script, state, [])


def _more(script: Script, state: dict) -> Reply:
    if not state["outcome"]:
        return _ask_again(script, state, ["more_later"])
    outcome = script.outcomes[state["outcome"]]
    more = script.fill(outcome.more, state["locale"])
    return Reply(text=more, speech=more, outcome=outcome, ended=True)


def _ask_again(script: Script, state: dict, notices: list[str]) -> Reply:
    return _speak(script, state, notices, footer=bool(state["outcome"]))


def _speak(script: Script, state: dict, notices: list[str], *, footer: bool) -> Reply:
    """Compose the reply: notices first, then the waiting question or the outcome."""
    locale = state["locale"]
    parts = {}
    for voice in (False, True):
        # A notice with a spoken form (voice_intro, voice_help) uses it on voice channels.
        keys = [f"voice_{n}" if voice and f"voice_{n}" in script.messages else n for n in notices]
        lines = [script.fill(script.messages[key], locale) for key in keys]
        if state["outcome"]:
            outcome = script.outcomes[state["outcome"]]
            if footer:
                lines.append(render.outcome_text(script, outcome, locale, voice=voice))
        else:
            question = script.questions[state["question"]]
            lines.append(render.question_text(script, question, locale, voice=voice))
        parts[voice] = "\n".join(line for line in lines if line)
    question = None if state["outcome"] else script.questions[state["question"]]
    return Reply(
        text=parts[False], speech=parts[True], question=question.id if question else None,
        outcome=script.outcomes[state["outcome"]] if state["outcome"] else None,
        ended=bool(state["outcome"]), hints=render.hints(question),
    )  # fmt: skip
