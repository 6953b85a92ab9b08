"""Reading one request within a call: Twilio's form fields and our own action URL's query.

The query says how to read the request (an answer, a read-back's yes, a menu key) and where it
was given (`place`); it never says where the call stands, which is the stored state's."""

from __future__ import annotations

from dataclasses import dataclass

from skill.content import Outcome, Question, Script
from skill.triage.engine import Event


@dataclass(frozen=True)
class CallStep:
    """One request within a call: who, which step, what was said or pressed, where it stands."""

    sid: str  # the CallSid: the conversation's address
    step: int  # how many requests of this call came before (0: the call was just answered)
    caller: str  # the From number (or "anonymous", or a client id)
    digits: str
    speech: str
    confidence: str | None  # the recogniser's confidence in the speech, as Twilio sent it
    question: Question | None  # the question the Gather asked
    outcome: Outcome | None  # the advice whose menu the caller answered
    confirm: str | None  # an answer read back, waiting for the caller's yes
    heard: str | None  # the words that answer was read from
    place: str | None  # the question or outcome id the request was given at (None: opening)

    @property
    def delivery(self) -> str:
        """The id of this request: Twilio retries it with the same CallSid and step."""
        return f"{self.sid}:{self.step}"

    @property
    def said(self) -> str | Event:
        """Keys pressed, else words heard; with neither, the call's opening or silence."""
        if self.digits or self.speech:
            return self.digits or self.speech
        return Event.OPEN if self.step == 0 else Event.SILENCE


def read(script: Script, sid: str, step: int, args, form) -> CallStep:
    """The step from a request whose CallSid and step number are known to be sound."""
    return CallStep(
        sid=sid,
        step=step,
        caller=form.get("From", "").strip(),
        digits=form.get("Digits", "").strip(),
        speech=form.get("SpeechResult", "").strip(),
        confidence=form.get("Confidence"),
        question=script.questions.get(args.get("q", "")),
        outcome=script.outcomes.get(args.get("end", "")),
        confirm=args.get("confirm"),
        heard=args.get("heard"),
        place=None if step == 0 else args.get("end") or args.get("q") or "",
    )
