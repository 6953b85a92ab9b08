"""Twilio Voice channel: the triage as a phone call, answered by speech or on the keypad.

A call is one conversation, keyed by CallSid. Each question is a <Gather input="speech dtmf">
whose action comes back here with the step number and the waiting question in its query
string (Twilio signs that URL too): the step dedupes Twilio's retries on CallSid plus step, and
the question tells what a doubtful answer would do. Silence falls through to a <Redirect> that
reaches the engine as an empty message, so the engine's count of unreadable answers gives a
reprompt, a second one, then the safe ending; no call ends without advice.

A speech answer heard with low confidence that is not the question's safer answer (content's
`unsure`, or any number) is read back first; the answer waiting for a yes rides in the
action URL, so the confirmation needs no state of its own.
"""

from __future__ import annotations

import logging
import re
import traceback

from flask import Blueprint, Response, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from skill.channels.twilio_auth import twilio_signed
from skill.content import Question
from skill.stores import conversation_key
from skill.triage import render, understand
from skill.triage.engine import Reply

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__)

CHANNEL = "voice"
CALL_OVER = ("completed", "busy", "failed", "no-answer", "canceled")
NUMBER_TIMEOUT = 5  # seconds of keypad silence that end a typed number (or press #)
# Read out as words ("A and E") or not at all: a voice would say "asterisk" or "slash".
_UNSPOKEN = re.compile(r"https?://\S+|www\.\S+|[*#/\\\[\]{}<>_|~^@`]")
_PHONE = re.compile(r"\d{3,}")  # in our content, runs of 3+ digits are phone numbers
_CALLER = re.compile(r"\+\d{6,15}")  # a number we can text (not "anonymous" or a client id)
# A yes/no question with no content of its own: reads the reply to "Is that right?".
_CONFIRM = Question(
    id="confirm", text="", voice="", type="yes_no", facts=(), edges={}, unsure=None, detect=()
)


def speakable(text: str) -> str:
    """Text a voice reads cleanly: phone numbers digit by digit, no symbols read aloud."""
    text = _UNSPOKEN.sub(" ", text.replace("&", " and "))
    text = _PHONE.sub(lambda m: " ".join(m.group(0)), text)
    return " ".join(text.split())


@bp.post("/twilio/voice")
@twilio_signed
def call():
    """Answer a call, or one step of it, with TwiML."""
    call_sid = request.form.get("CallSid", "").strip()
    step = request.args.get("step", "0")
    if not call_sid:
        return Response("CallSid is missing", status=400, mimetype="text/plain")
    if not step.isdigit() or len(step) > 6:
        return Response("step should be a number", status=400, mimetype="text/plain")
    turn = _Turn(call_sid, int(step), request.form.get("From", ""))
    try:
        twiml = turn.answer(request.args, request.form)
    except Exception as err:  # whatever broke, the caller still hears the emergency number
        trace = "".join(traceback.format_tb(err.__traceback__))  # frames only: no speech, no number
        log.error("voice fault at step %s of %s: %s\n%s", step, call_sid, type(err).__name__, trace)
        twiml = turn.fault()
    return Response(twiml, mimetype="text/xml")


@bp.post("/twilio/voice/status")
@twilio_signed
def status():
    """Forget a call's conversation when the call is over."""
    call_sid = request.form.get("CallSid", "").strip()
    if not call_sid:
        return Response("CallSid is missing", status=400, mimetype="text/plain")
    if request.form.get("CallStatus") in CALL_OVER:
        triage = current_app.extensions["triage"]
        stop = triage.script.commands["stop"][0]  # the engine forgets, silently
        try:
            triage.converse(CHANNEL, call_sid, stop, lambda reply: None)
        except Exception as err:  # the conversation still expires with its TTL
            log.error("closing call %s failed: %s", call_sid, type(err).__name__)
    return Response(str(VoiceResponse()), mimetype="text/xml")


class _Turn:
    """One request within a call: reads what the caller did and answers in TwiML."""

    def __init__(self, call_sid: str, step: int, caller: str):
        self.triage = current_app.extensions["triage"]
        self.script, self.settings = self.triage.script, self.triage.settings
        self.call_sid, self.step, self.caller = call_sid, step, caller.strip()
        self.locale = self.script.locale_for(self.caller, self.settings.default_locale)
        profile = self.script.locales.get(self.locale) or self.script.locales["en"]
        self.language = profile.voice_language
        self.voice = self.settings.voice_name or profile.voice_name

    def answer(self, args, form) -> str:
        """The TwiML for this step: the engine's reply, a read-back, or the clinic."""
        digits = form.get("Digits", "").strip()
        speech = form.get("SpeechResult", "").strip()
        outcome = self.script.outcomes.get(args.get("end", ""))
        if outcome:  # the menu after the advice
            if digits == "2" and self._dials(outcome):
                return self._connect()
            if digits == "3":
                return self._converse(self.script.commands["more"][0])
            # Any other key or word repeats the advice; a red flag spoken here still counts.
            return self._converse("" if digits else speech)
        question = self.script.questions.get(args.get("q", ""))
        if question and "confirm" in args:
            return self._confirmed(question, args["confirm"], digits or speech)
        if question and speech and not digits:
            doubtful = self._doubtful(question, speech, form.get("Confidence"))
            if doubtful:
                return self._read_back(question, doubtful)
        return self._converse(digits or speech)

    def fault(self) -> str:
        """What a caller hears when we fail: the emergency number, then goodbye."""
        response = VoiceResponse()
        self._say(response, self._text("voice_fault"))
        response.hangup()
        return str(response)

    def _converse(self, message: str) -> str:
        reached = []  # filled only when the step really runs, not on a retried one

        def render(reply: Reply) -> str:
            if reply.reached:
                reached.append(reply.outcome)
            return self._render(reply)

        twiml = self.triage.converse(
            CHANNEL, self.call_sid, message, render,
            locale=self.locale, dedupe=f"{self.call_sid}:{self.step}",
        )  # fmt: skip
        if reached:
            self._send_on(reached[0])
        return twiml

    def _send_on(self, outcome) -> None:
        """Text the advice to the caller (VOICE_SMS_SUMMARY), and alert the clinic if urgent."""
        outbound = current_app.extensions.get("outbound")
        if not outbound:
            return
        if self.settings.voice_sms_summary and _CALLER.fullmatch(self.caller):
            short = self.script.fill(outcome.short, self.locale)
            outbound.send_later(self.caller, f"{self._text('voice_summary')}\n{short}")
        key = conversation_key(self.settings.state_secret, CHANNEL, self.call_sid)
        outbound.alert_clinic(self.script.name, outcome, key, self.triage.clock())

    def _render(self, reply: Reply) -> str:
        """TwiML for the engine's reply; runs once per step, inside the store transaction."""
        response = VoiceResponse()
        if reply.question:
            # The engine puts each notice on a line before the question; notices are said
            # before the Gather, so a key pressed early cannot skip the emergency advice.
            *notices, prompt = reply.speech.split("\n")
            if notices:
                self._say(response, "\n".join(notices))
            self._ask(response, self.script.questions[reply.question], prompt)
        elif reply.outcome and not reply.silent:
            self._advise(response, reply)
        else:
            if reply.speech and not reply.silent:  # e.g. the store is down: say why first
                self._say(response, reply.speech)
            self._goodbye(response)
        return str(response)

    def _advise(self, response: VoiceResponse, reply: Reply) -> None:
        """Speak the advice, offer it again (or the clinic), then say goodbye."""
        outcome = reply.outcome
        urgent = outcome.level.startswith("emergency")
        self._say(response, reply.speech)
        if urgent:
            self._say(response, self._text("voice_emergency"))
        offers = ["voice_repeat", *(["voice_clinic"] if self._dials(outcome) else []), "voice_more"]
        hints = ("repeat", *self.script.commands["more"])
        gather = self._gather(response, self._url(end=outcome.id), hints, digits=1)
        self._say(gather, " ".join(self._text(key) for key in offers))
        self._say(response, self._text("voice_emergency" if urgent else "voice_goodbye"))
        response.hangup()

    def _ask(self, response: VoiceResponse, question: Question, prompt: str) -> None:
        """The question as a Gather, with a reprompt through the engine if nothing is heard."""
        # A typed age has more than one digit: it ends with # or a pause instead.
        digits = None if question.type == "number" else 1
        gather = self._gather(response, self._url(q=question.id), render.hints(question), digits)
        self._say(gather, prompt)
        response.redirect(self._url(q=question.id, noinput=1), method="POST")

    def _doubtful(self, question: Question, speech: str, confidence) -> str | None:
        """The answer to read back: heard with low confidence, and it could lower the advice."""
        try:
            heard = float(confidence)
        except (TypeError, ValueError):
            heard = 0.0  # no confidence given counts as low
        if heard >= self.settings.voice_min_confidence:
            return None
        text = understand.normalise(speech)
        if understand.command(self.script, text) or understand.red_flag(self.script, text):
            return None  # commands act at once; red flags only raise the advice
        value = understand.read_answer(self.script, question, text)
        if value in (None, "unsure", question.unsure):
            return None  # unreadable (the engine re-asks) or already the safer answer
        if question.type == "number" and not question.min <= int(value) <= question.max:
            return None  # the engine says it is out of range
        return value

    def _read_back(self, question: Question, value: str) -> str:
        """Ask "I heard no. Is that right?", carrying the answer in the action URL."""
        response = VoiceResponse()
        labels = {o.id: o.label for o in question.options}
        said = f"{self._text('voice_heard')} {labels.get(value, value)}. "
        hints = render.hints(_CONFIRM)
        gather = self._gather(response, self._url(q=question.id, confirm=value), hints, 1)
        self._say(gather, said + self._text("voice_confirm"))
        response.redirect(self._url(q=question.id, noinput=1), method="POST")
        return str(response)

    def _confirmed(self, question: Question, value: str, said: str) -> str:
        """Give the engine the answer read back if the caller agrees, else ask again."""
        text = understand.normalise(said)
        if understand.red_flag(self.script, text):
            return self._converse(said)
        agreed = understand.read_answer(self.script, _CONFIRM, text) == "yes"
        if agreed and (value in question.edges or value.isdigit()):
            numbers = {o.id: str(i) for i, o in enumerate(question.options, 1)}
            return self._converse(numbers.get(value, value))  # an option goes as its number
        response = VoiceResponse()
        self._say(response, self._text("voice_try_again"))
        speech = render.question_text(self.script, question, self.locale, voice=True)
        self._ask(response, question, speech)
        return str(response)

    def _connect(self) -> str:
        """Put the caller through to the clinic; if that ends, say goodbye."""
        response = VoiceResponse()
        self._say(response, self._text("voice_connecting"))
        response.dial(self.settings.clinic_phone)
        self._goodbye(response)
        return str(response)

    def _goodbye(self, response: VoiceResponse) -> None:
        self._say(response, self._text("voice_goodbye"))
        response.hangup()

    def _dials(self, outcome) -> bool:
        """Whether to offer the clinic: advice to be seen within 24 hours, and a number."""
        return outcome.level == "consultation_24" and bool(self.settings.clinic_phone)

    def _gather(self, response, action: str, hints, digits: int | None):
        extra = {"num_digits": digits} if digits else {"timeout": NUMBER_TIMEOUT}
        if hints:
            extra["hints"] = ", ".join(hints)
        return response.gather(
            input="speech dtmf", action=action, method="POST", language=self.language,
            speech_timeout="auto", finish_on_key="#", **extra,
        )  # fmt: skip

    def _say(self, node, text: str) -> None:
        node.say(speakable(text), voice=self.voice, language=self.language)

    def _text(self, key: str) -> str:
        return self.script.fill(self.script.messages[key], self.locale)

    def _url(self, **params) -> str:
        """Where Twilio comes back next: this endpoint, one step on."""
        return url_for("voice.call", step=self.step + 1, **params)
