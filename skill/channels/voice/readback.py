"""The read-back: a speech answer heard with low confidence that could lower the advice.

It is read back ("I heard no. Is that right?") before the engine takes it, unless it is the
question's safer answer (content's `unsure`), or a command or a red flag, which act at once.
The answer waiting for a yes rides in the action URL, with the words heard, so the read-back
needs no state and the engine, once the caller agrees, reads the whole answer: facts said with
it ("no, and I'm 45") are kept. (Our logs drop query strings; Twilio heard the words itself.)
The yes counts only while the call still waits on that question (engine.step's `answering`).
"""

from __future__ import annotations

from skill.content import Question, Script
from skill.triage import understand

# A yes/no question with no content of its own: reads the reply to "Is that right?".
CONFIRM = Question(
    id="confirm", text="", voice="", type="yes_no", facts=(), edges={}, unsure=None, detect=()
)


def doubtful(
    script: Script, question: Question, speech: str, confidence: str | None, minimum: float
) -> str | None:
    """The answer to read back: heard below `minimum` confidence, and it could lower the advice."""
    try:
        heard = float(confidence)
    except (TypeError, ValueError):
        heard = 0.0  # no confidence given counts as low
    if heard >= minimum:
        return None
    text = understand.read(script, speech)  # as the engine will read it
    if understand.command(script, text) or understand.red_flag(script, text):
        return None  # commands act at once; red flags only raise the advice
    value = understand.read_answer(script, question, text)
    if value in (None, "unsure", question.unsure):
        return None  # unreadable (the engine re-asks) or already the safer answer
    if question.type == "number" and not question.min <= int(value) <= question.max:
        return None  # the engine says it is out of range
    return value


def confirmed(
    script: Script, question: Question, value: str, said: str, heard: str | None = None
) -> str | None:
    """What the engine reads after the read-back: the caller's words if they hold a red flag;
    if the caller agrees, the words first heard (facts said with the answer are kept), or
    without them the answer read back (an option as its number); else None, to ask the
    question again."""
    text = understand.normalise(said)
    if understand.red_flag(script, text):
        return said
    agreed = understand.read_answer(script, CONFIRM, text) == "yes"
    if agreed and (value in question.edges or value.isdigit()):
        numbers = {o.id: str(i) for i, o in enumerate(question.options, 1)}
        return heard or numbers.get(value, value)
    return None
