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

from skill.content import Level, Outcome, Question, Script
from skill.triage import render, understand

MAX_MISSES = 3  # unreadable answers to one question before the safe ending
# Advice that ends with the check-in offer, where the channel can text the runner later.
OFFER_LEVELS = (Level.SELF_CARE, Level.CONSULTATION, Level.CONSULTATION_24)
# Advice to see someone, but not at once, offers a call back (docs/callbacks.md): an
# emergency's advice is to go or call now, and self-care needs no call.
CALLBACK_LEVELS = (Level.CONSULTATION, Level.CONSULTATION_24)


class Event(Enum):
    """What a channel reports that is not words: typed, and equal to no string, so that no
    message can be taken for one."""

    OPEN = "open"  # a call is answered or the Alexa skill launched: greet, ask what is wrong
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
    brief: bool = False  # after the advice: the notices alone, not the advice again
    why: bool = False  # say why the waiting question matters before asking it again
    describe: bool = False  # the open question: the runner's own words on what is wrong
    # The check-in (docs/follow-up.md): `offer` adds its offer after the advice; `booked` is
    # the runner's yes to it, for the service to schedule; `after` is its delay in seconds.
    offer: bool = False
    booked: bool = False
    after: float = 0.0
    forget: bool = False  # the runner asked to be forgotten (STOP): pending check-ins go too
    call_offer: bool = False  # the advice, with the offer of a call back from the clinic
    callback: bool = False  # the runner asked for a call back: the service keeps the request

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
        "v": 1,
        "locale": locale,
        "question": None,
        "outcome": None,
        "trail": [],
        "known": {},
        "misses": 0,
        "started": now,
        "updated": now,
    }


def step(
    script: Script,
    state: dict | None,
    message: str | Event | None,
    now: float,
    *,
    locale: str,
    ttl_seconds: float,
    answering: str | None = None,
    offer: float | None = None,
    callbacks: bool = False,
) -> tuple[dict | None, Reply]:
    """Take one message or event; return the new state (None: forget it) and the reply.

    `answering`, where the channel knows it (a call's action URL), is the question or outcome
    the message was given at; when the conversation stands elsewhere, the message's red flags
    count but its answer does not, and the reply says where the conversation stands.
    `offer`, where the channel can text the runner later, is the check-in's delay in seconds:
    advice at an OFFER_LEVELS level then ends with the offer, and a yes to it books it.
    `callbacks`: the clinic can ring this runner back, so consultation advice offers it and
    CALL after it asks for it (Reply.callback)."""
    state, reply = _step(script, state, message, now, locale, ttl_seconds, answering, callbacks)
    state, reply = _offering(state, reply, offer)
    asked = bool(state and state.get("callback"))  # asked for already: not offered again
    if callbacks and state and not asked and _offers(reply):
        reply = replace(reply, call_offer=True)
    return state, reply


def _step(script, state, message, now, locale, ttl_seconds, answering, callbacks):
    if message is Event.CLOSE:
        return _close(state, now), Reply(script, locale, ended=True, silent=True)
    words = "" if isinstance(message, Event) else message  # an event has no words
    text = understand.read(script, words)
    command = understand.command(script, text)
    if command == "stop" or understand.forgets(script, text):
        return None, _forgotten(script, text, locale)
    state, notices = _going_on(state, now, ttl_seconds)
    if not state and message is Event.OPEN:
        # A caller cannot text a description first: ask for one, and read it as the opening.
        state = {**new_state(locale, now), "describe": True}
        return state, _speak(script, state, [*notices, "intro"])
    if not state or command in ("restart", "start"):
        if state:
            notices.append("restarted")
        notices.append("intro")
        state = new_state(state["locale"] if state else locale, now)
        opening = "" if command else text
        return _open(script, state, opening, now, notices)
    state = {**state, "updated": now}
    if command == "callback" and not (callbacks and state["outcome"]):
        command = None  # a call back is not on offer: the word is read as any other
    return _continue(script, state, message, text, command, now, answering)


def _callable(outcome: Outcome) -> bool:
    """Whether this advice offers a call back, where the channel can take one."""
    return outcome.level in CALLBACK_LEVELS


def _offers(reply: Reply) -> bool:
    """Whether the reply gives advice that offers a call back (its short or long form)."""
    return bool(reply.outcome) and not reply.brief and _callable(reply.outcome)


def _continue(script, state, message, text: str, command, now: float, answering):
    """A message to a conversation under way: red flags screened against all it knows, then
    the message read where the conversation stands."""
    found = understand.screen(script, text, _told(script, state))
    # A call waiting for its description has no question yet: its place is "" (no q= in the URL).
    if answering is not None and answering != (state["question"] or state["outcome"] or ""):
        return _elsewhere(script, state, text, found)
    if state.get("checkin") == "asked":  # the check-in's question: better, same or worse
        return _checkin(script, state, text, found, now)
    if state["outcome"]:
        again = message in (Event.OPEN, Event.REPEAT) or command == "repeat" or not text
        return _after(script, state, text, "repeat" if again else command, found)
    if command == "help":  # a command is the whole message, so it holds no red flag
        return state, _speak(script, state, ["help"])
    if command == "back":
        return _back(script, state)
    if command == "more":
        return state, _more(script, state)
    if message in (Event.OPEN, Event.REPEAT):  # where it stands, again
        return state, _speak(script, state, [])
    if state.pop("describe", False):
        # The description, read as an opening message. Silence, a key or words that tell
        # nothing start the script: a description is not an answer, so nothing is missed.
        return _open(script, state, text, now, [])
    return _answer(script, state, text, found)


def _forgotten(script: Script, text: str, locale: str) -> Reply:
    """The reply as a conversation is forgotten: nothing, unless the same message tells of a
    red flag, whose advice is still given (clear or weak: there is no asking any more)."""
    found = understand.screen(script, text)
    flag = found.clear or (script.outcomes[found.weak.outcome] if found.weak else None)
    if not flag:
        return Reply(script, locale, ended=True, silent=True, forget=True)
    return Reply(script, locale, outcome=flag, ended=True, reached=True, forget=True)


def _going_on(state: dict | None, now: float, ttl_seconds: float) -> tuple[dict | None, list]:
    """The conversation if it is still going on, else None, with a notice if it timed out."""
    if not state or state.get("closed"):  # a closed one is kept for its audit record only
        return None, []
    if now - state.get("updated", now) > ttl_seconds:
        return None, ["expired"]
    return state, []


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
    ).union(state.get("told", ()))


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
    if command is None and state.get("offered") and understand.says_yes(script, text):
        return _book(script, state)
    if command == "more":
        return state, _more(script, state)
    if command == "back":
        return _back(script, state)
    if command == "help":
        return state, _speak(script, state, ["help"])
    if command == "repeat" or not text:
        return state, _speak(script, state, ["finished"])
    if command == "callback" and _callable(script.outcomes[state["outcome"]]):
        return _call_back(script, state)
    key = "after_thanks" if command == "thanks" else "after_advice"
    return state, replace(_speak(script, state, [key]), brief=True)


def _book(script: Script, state: dict):
    """The runner's yes to the check-in offer: booked once (the service schedules it)."""
    after = state["offered"]
    state = {**state, "offered": None, "booked": True}
    reply = replace(_speak(script, state, ["checkin_booked"]), brief=True)
    return state, replace(reply, booked=True, after=after)


def _offering(state: dict | None, reply: Reply, offer: float | None):
    """The check-in offer on advice that takes it, on a channel that can text the runner
    later; the offer stands (state "offered", its delay) until a yes or other advice. A
    follow-up run offers no second check-in."""
    if not state or offer is None or state.get("followup") or state.get("booked"):
        return state, reply
    if reply.reached:
        offered = offer if reply.outcome.level in OFFER_LEVELS else None
        state = {**state, "offered": offered}
    shown = reply.outcome and not reply.brief and not reply.silent
    if state.get("offered") and shown:
        reply = replace(reply, offer=True, after=state["offered"])
    return state, reply


def _checkin(script: Script, state: dict, text: str, found, now: float):
    """The answer to the check-in. A red flag, or worse, starts the triage again, red flags
    first, ending no lower than `not_better`; the same after self care gives `not_better`,
    after other advice that advice again; better closes. Each is kept in state["followup"]
    for the audit record."""
    answer = "worse" if found.clear or found.weak else understand.checkin_answer(script, text)
    if answer is None:
        return state, replace(_speak(script, state, ["checkin_unclear"]), brief=True)
    state = {**state, "checkin": "answered", "followup": {**state["followup"], "answer": answer}}
    if answer == "better":
        return state, replace(_speak(script, state, ["checkin_better"]), brief=True)
    given = script.outcomes[state["outcome"]]
    if answer == "same" and given.level > Level.SELF_CARE:
        return state, _speak(script, state, ["checkin_same"])
    if answer == "same":
        return _finish(script, state, script.outcomes[script.not_better], ["checkin_same"])
    # Worse: a new triage in the same follow-up run, read from this very message first.
    fresh = new_state(state["locale"], now)
    told = sorted(_told(script, state))  # the red flags still count what was told before
    state = {**fresh, "started": state["started"], "followup": state["followup"], "told": told}
    state["floor"] = script.not_better
    if found.clear:  # found against all the conversation told, before and now
        return _finish(script, state, found.clear, [])
    if found.weak:
        return _check(script, state, found.weak, script.start, ["checkin_worse"])
    return _open(script, state, text, now, ["checkin_worse"])


def _call_back(script: Script, state: dict):
    """CALL after the advice: the request is made (again: the service keeps one per
    conversation), and the reply says the clinic will ring."""
    key = "callback_again" if state.get("callback") else "callback_made"
    state = {**state, "callback": True}
    return state, replace(_speak(script, state, [key]), brief=True, callback=True)


def _elsewhere(script: Script, state: dict, text: str, found):
    """A message given at another place than where the conversation stands: a red flag in it
    raises the advice (or asks its check question); nothing else in it is read."""
    if state["outcome"]:
        return _after(script, state, text, "repeat", found)
    if found.clear:
        return _finish(script, state, found.clear, [])
    weak = found.weak if found.weak and found.weak.id not in state.get("cleared", ()) else None
    if weak and "resume" not in state:  # a check question already waiting is asked again
        return _check(script, state, weak, state["question"], [])
    return state, _speak(script, state, [])


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
            return state, replace(_speak(script, state, ["hedged"]), why=True)
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
        return state, _speak(script, state, [why])
    return _advance(script, state, target, [])


def _safe_ending(script: Script, question: Question) -> Outcome:
    """After answers that could not be read: never lower than the question's unsure branch."""
    safe = script.outcomes[script.safe_ending]
    return _higher(script, safe, question.edges.get(question.unsure or ""))


def _check(script: Script, state: dict, flag, resume: str, notices: list[str]):
    """Weak evidence of a red flag: ask its one check question, then go on from `resume`."""
    state = {**state, "question": flag.check, "resume": resume, "misses": 0}
    return state, _speak(script, state, notices)


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
    state = {
        **state,
        "cleared": [*state.get("cleared", []), flag.id],
        "trail": [*state["trail"], [question.id, value, "user"]],
    }
    if resume == advised:
        state = {**state, "question": None, "outcome": resume}
        return state, _speak(script, state, ["finished"])
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
    return state, _speak(script, state, notices)


def _finish(script: Script, state: dict, outcome: Outcome, notices: list[str]):
    floor = script.outcomes.get(state.get("floor") or "")  # after a check-in found it worse
    if floor and outcome.level < floor.level:
        outcome = floor
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
    describe = not outcome and bool(state.get("describe"))
    question = None if outcome or describe else script.questions[state["question"]]
    return Reply(
        script,
        state["locale"],
        tuple(notices),
        question=question,
        outcome=outcome,
        ended=bool(outcome),
        describe=describe,
    )


def _close(state: dict | None, now: float) -> dict | None:
    """The state of a conversation whose call or session is over: the next message starts
    afresh, and the state stays only until it expires, so its audit record is kept (STOP, the
    runner's own opt-out, forgets both)."""
    return {**state, "closed": True, "updated": now} if state else None
