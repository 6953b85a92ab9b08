"""The triage engine: one pure step from (script, state, input, now) to (new state, reply).

No I/O and no clock: the caller passes the time and stores the state, a plain JSON-able dict.
The input is the runner's words, or an `Event` for what happens without words (a call answered,
silence, a hang-up). The reply is parts, not words: notices (message keys), the waiting
question, the outcome and flags; skill.triage.render turns them into each channel's words.
Red flags are screened on every message before anything else is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from skill.content import Outcome, Question, Script
from skill.triage import render, understand

MAX_MISSES = 3  # unreadable answers to one question before the safe ending


class Event(Enum):
    """What a channel reports that is not words: typed, and equal to no string, so that no
    message can be taken for one."""

    OPEN = "open"  # a call is answered or the Alexa skill launched: greet, ask the first question
    SILENCE = "silence"  # nothing heard in answer to a question: it counts as unreadable
    REPEAT = "repeat"  # the caller asked to hear it again (a key on the menu after the advice)
    CLOSE = "close"  # the call hung up or the Alexa session ended: close, keeping the audit


@dataclass(frozen=True)
class Reply:
    """What to say back, as parts a channel renders, plus where the triage stands."""

    script: Script = field(repr=False, compare=False)  # whose words render the parts
    locale: str
    notices: tuple[str, ...] = ()  # message keys, said before the question or the advice
    question: Question | None = None  # the question now waiting for an answer
    outcome: Outcome | None = None
    detail: bool = False  # the outcome's long form (MORE) instead of its short form
    ended: bool = False
    silent: bool = False  # nothing should be sent (an opt-out)
    reached: bool = False  # this reply gives the outcome for the first time

    @property
    def text(self) -> str:
        """The reply in words for reading (render.text)."""
        return render.text(self.script, self)

    @property
    def speech(self) -> str:
        """The reply in words for hearing, with a keypad (render.speech)."""
        return render.speech(self.script, self)


def new_state(locale: str, now: float) -> dict:
    """A conversation that has not started."""
    return {
        "v": 1, "locale": locale, "question": None, "outcome": None, "trail": [],
        "known": {}, "misses": 0, "started": now, "updated": now,
    }  # fmt: skip


def step(
    script: Script, state: dict | None, message: str | Event | None, now: float, *,
    locale: str, ttl_seconds: float,
) -> tuple[dict | None, Reply]:  # fmt: skip
    """Take one message or event; return the new state (None: forget it) and the reply."""
    if message is Event.CLOSE:
        return _close(state, now), Reply(script, locale, ended=True, silent=True)
    words = "" if isinstance(message, Event) else message  # an event has no words
    text = understand.read(script, words)
    command = understand.command(script, text)
    if command == "stop":
        return None, Reply(script, locale, ended=True, silent=True)
    state, notices = _going_on(state, now, ttl_seconds)
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
        return state, _speak(script, state, ["help"])
    if command == "back":
        return _back(script, state)
    if command == "more":
        return state, _more(script, state)
    if state["outcome"] or message in (Event.OPEN, Event.REPEAT):  # where it stands, again
        return state, _speak(script, state, ["finished"] if state["outcome"] else [])
    return _answer(script, state, text)


def _going_on(state: dict | None, now: float, ttl_seconds: float) -> tuple[dict | None, list]:
    """The conversation if it is still going on, else None, with a notice if it timed out."""
    if not state or state.get("closed"):  # a closed one is kept for its audit record only
        return None, []
    if now - state.get("updated", now) > ttl_seconds:
        return None, ["expired"]
    return state, []


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
        return state, _speak(script, state, [why])
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
    return state, _speak(script, state, notices)


def _finish(script: Script, state: dict, outcome: Outcome, notices: list[str]):
    state = {**state, "question": None, "outcome": outcome.id}
    return state, replace(_speak(script, state, notices), reached=True)


def _back(script: Script, state: dict):
    """Return to the last question the user answered themselves."""
    trail = list(state["trail"])
    while trail and trail[-1][2] != "user":
        trail.pop()
    if not trail:
        return state, _speak(script, state, ["back_none"])
    qid = trail.pop()[0]
    known = {k: v for k, v in state["known"].items() if k != qid}
    state = {**state, "trail": trail, "known": known, "question": qid, "outcome": None}
    return state, _speak(script, state, [])


def _more(script: Script, state: dict) -> Reply:
    if not state["outcome"]:
        return _speak(script, state, ["more_later"])
    outcome = script.outcomes[state["outcome"]]
    return Reply(script, state["locale"], outcome=outcome, detail=True, ended=True)


def _speak(script: Script, state: dict, notices: list[str]) -> Reply:
    """The reply where the state stands: notices, then the waiting question or the outcome."""
    outcome = script.outcomes[state["outcome"]] if state["outcome"] else None
    question = None if outcome else script.questions[state["question"]]
    return Reply(
        script, state["locale"], tuple(notices), question=question, outcome=outcome,
        ended=bool(outcome),
    )  # fmt: skip


def _close(state: dict | None, now: float) -> dict | None:
    """The state of a conversation whose call or session is over: the next message starts
    afresh, and the state stays only until it expires, so its audit record is kept (STOP, the
    runner's own opt-out, forgets both)."""
    return {**state, "closed": True, "updated": now} if state else None
