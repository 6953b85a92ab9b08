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
    found = understand.screen(script, text, _told(script, state))
    if state["outcome"]:
        return _after(script, state, text, command, found)
    if command == "help":  # a command is the whole message, so it holds no red flag
        return state, _ask_again(script, state, ["help"])
    if command == "back":
        return _back(script, state)
    if command == "more":
        return state, _more(script, state)
    return _answer(script, state, text, found)


def _open(script: Script, state: dict, text: str, now: float, notices: list[str]):
    """Start a conversation, using whatever the opening message already tells us."""
    found = understand.screen(script, text)
    if found.clear:
        return _finish(script, state, found.clear, notices)
    state["known"] = understand.detect(script, text)
    if found.weak:
        return _check(script, state, found.weak, script.start, notices)
    return _advance(script, state, script.start, notices)


def _told(script: Script, state: dict) -> frozenset[str]:
    """The phrases the conversation has already told of: a question's detect phrases count
    once it has the answer they stand for ("yes, I fell" tells of a fall)."""
    answers = {**state["known"], **{qid: value for qid, value, _ in state["trail"]}}
    return frozenset(
        name
        for q in script.questions.values()
        for value, names in q.detect
        if answers.get(q.id) == value
        for name in names
    )


def _after(script: Script, state: dict, text: str, command: str | None, found):
    """A message after the advice: a new red flag raises it; else a one-line reply."""
    given = script.outcomes[state["outcome"]].level
    weak = found.weak and script.outcomes[found.weak.outcome].level > given
    if found.clear and found.clear.level > given:
        return _finish(script, state, found.clear, [])
    if weak and found.weak.id not in state.get("cleared", ()):
        # Asked after the advice: a clear answer gives the same advice back, not a new one.
        state = {**state, "outcome": None, "advised": state["outcome"]}
        return _check(script, state, found.weak, state["advised"], [])
    if command == "more":
        return state, _more(script, state)
    if command == "back":
        return _back(script, state)
    if command == "help":
        return state, _ask_again(script, state, ["help"])
    if command == "repeat" or not text:
        return state, _speak(script, state, ["finished"], footer=True)
    key = "after_thanks" if command == "thanks" else "after_advice"
    return state, _speak(script, state, [key], footer=False)


def _higher(script: Script, outcome: Outcome, target: str | None) -> Outcome:
    """The red flag's outcome, or the answer's own destination when that is higher."""
    dest = script.outcomes.get(target or "")
    return dest if dest and dest.level > outcome.level else outcome


def _answer(script: Script, state: dict, text: str, found):
    question = script.questions[state["question"]]
    value = understand.read_answer(script, question, text)
    if question.checks:
        return _checked(script, state, question, value, found)
    if value == "hedge":
        if question.why and state.get("hedged") != question.id:
            state = {**state, "hedged": question.id}
            return state, _speak(script, state, ["hedged"], footer=False, why=question.why)
        value = "unsure"
    if value == "unsure":
        value = question.unsure
    target = _target(question, value)
    # Facts stated alongside the answer are kept, so those questions are not asked later,
    # even when the answer itself could not be read.
    state = {**state, "known": {**state["known"], **understand.detect(script, text)}}
    if target is not None:
        state["trail"] = [*state["trail"], [question.id, value, "user"]]
        state["misses"] = 0
    if found.clear:
        return _finish(script, state, _higher(script, found.clear, target), [])
    weak = found.weak if found.weak and found.weak.id not in state.get("cleared", ()) else None
    dest = script.outcomes.get(target or "")
    if weak and not (dest and dest.level >= script.outcomes[weak.outcome].level):
        return _check(script, state, weak, target or question.id, [])
    if target is None:
        state["misses"] += 1
        if state["misses"] >= MAX_MISSES:
            return _finish(script, state, _safe_ending(script, question), ["safe_ending"])
        why = "out_of_range" if question.type == "number" and value else "not_understood"
        return state, _ask_again(script, state, [why])
    return _advance(script, state, target, [])


def _safe_ending(script: Script, question: Question) -> Outcome:
    """After answers that could not be read: never lower than the question's unsure branch."""
    safe = script.outcomes[script.safe_ending]
    return _higher(script, safe, question.edges.get(question.unsure or ""))


def _check(script: Script, state: dict, flag, resume: str, notices: list[str]):
    """Weak evidence of a red flag: ask its one check question, then go on from `resume`."""
    state = {**state, "question": flag.check, "resume": resume, "misses": 0}
    return state, _ask_again(script, state, notices)


def _checked(script: Script, state: dict, question: Question, value, found):
    """The answer to a check question: only the answer that rules the flag out goes on."""
    flag = script.flag_of(question)
    outcome = script.outcomes[flag.outcome]
    other = found.clear or (script.outcomes[found.weak.outcome] if found.weak else None)
    state = dict(state)
    resume, advised = state.pop("resume", None) or script.start, state.pop("advised", None)
    if value != flag.rules_out or other:
        if other and other.level > outcome.level:
            outcome = other
        return _finish(script, state, outcome, [])
    state = {**state, "cleared": [*state.get("cleared", []), flag.id],
             "trail": [*state["trail"], [question.id, value, "user"]]}  # fmt: skip
    if resume == advised:
        state = {**state, "question": None, "outcome": resume}
        return state, _speak(script, state, ["finished"], footer=True)
    if resume in script.outcomes:
        return _finish(script, state, script.outcomes[resume], [])
    return _advance(script, state, resume, [])


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
    answered = {qid for qid, _, _ in trail}
    while target in script.questions and target not in answered:
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


def _speak(
    script: Script, state: dict, notices: list[str], *, footer: bool, why: str = ""
) -> Reply:
    """Compose the reply: notices first (and why a question matters), then the waiting
    question, or the outcome when `footer` asks for it."""
    locale = state["locale"]
    parts = {}
    for voice in (False, True):
        # A notice with a spoken form (voice_intro, voice_help) uses it on voice channels.
        keys = [f"voice_{n}" if voice and f"voice_{n}" in script.messages else n for n in notices]
        lines = [script.fill(script.messages[key], locale) for key in keys]
        lines += [script.fill(why, locale)] if why else []
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
