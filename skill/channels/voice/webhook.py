"""The call's two endpoints: each step of a call, and Twilio's status callback at its end."""

from __future__ import annotations

import dataclasses
import re

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from skill import callbacks
from skill.channels import base
from skill.channels.twilio_auth import twilio_signed, unsound
from skill.channels.voice import call as calls
from skill.channels.voice import menu, readback, summary
from skill.channels.voice.twiml import Speaker
from skill.service import Inbound, Triage, get_triage
from skill.triage.engine import Event

bp = Blueprint("voice", __name__)
CHANNEL = "voice"
STEP = re.compile(r"[0-9]{1,6}")
CALL_OVER = ("completed", "busy", "failed", "no-answer", "canceled")


@bp.post("/twilio/voice")
@twilio_signed
def call():
    """Answer a call, or one step of it, with TwiML."""
    refused = unsound(request.form, "CallSid", "AccountSid")
    if refused:
        return refused
    call_sid, number = request.form["CallSid"], request.args.get("step", "0")
    if not STEP.fullmatch(number):  # not isdigit(): "²" is a digit that int() refuses
        return Response("step should be a number", status=400, mimetype="text/plain")
    triage = get_triage()
    step = calls.read(triage.script, call_sid, int(number), request.args, request.form)
    locale = triage.locale(number=step.caller)
    # A check-in after a call goes by SMS to the caller's number, when the call shows one.
    number = callbacks.phone(step.caller or "")
    reach = ("sms", number) if number else None
    inbound = Inbound(
        CHANNEL, call_sid, step.said, step.delivery, locale, place=step.place, reach=reach
    )
    speaker = Speaker(triage.script, triage.settings, locale, step.step)
    return base.answer(
        inbound,
        lambda: _xml(_answer(triage, step, inbound, speaker)),
        lambda words: _xml(speaker.fault(words)),
        fault_message="voice_fault",
    )


@bp.post("/twilio/voice/status")
@twilio_signed
def status():
    """Close a call's conversation when the call is over, keeping its audit record."""
    refused = unsound(request.form, "CallSid", "AccountSid")
    if refused:
        return refused
    call_sid = request.form["CallSid"]
    if request.form.get("CallStatus") not in CALL_OVER:
        return _empty()
    # Twilio may retry a callback: the CallSid alone is this delivery's id.
    inbound = Inbound(CHANNEL, call_sid, Event.CLOSE, delivery=call_sid)

    def turn() -> Response:
        get_triage().converse(inbound, base.nothing)
        return _empty()

    # If closing fails the conversation still expires with its TTL.
    return base.answer(inbound, turn, lambda words: _empty())


def _answer(triage: Triage, step: calls.CallStep, inbound: Inbound, speaker: Speaker) -> str:
    """The TwiML for this step: the engine's reply, a read-back, or the clinic. The action URL
    says how to read the request; the engine checks its place against the stored state."""
    script = triage.script
    if step.outcome:
        said = menu.choice(script, step, triage.settings)
        return _converse(triage, dataclasses.replace(inbound, message=said), step, speaker)
    question = step.question
    if question and step.confirm is not None:
        said = readback.confirmed(
            script, question, step.confirm, step.digits or step.speech, step.heard
        )
        if said is None:
            return speaker.try_again(question)
        return _converse(triage, dataclasses.replace(inbound, message=said), step, speaker)
    if question and step.speech and not step.digits:
        minimum = triage.settings.voice_min_confidence
        doubtful = readback.doubtful(script, question, step.speech, step.confidence, minimum)
        if doubtful:
            return speaker.read_back(question, doubtful, step.speech)
    return _converse(triage, inbound, step, speaker)


def _converse(triage: Triage, inbound: Inbound, step: calls.CallStep, speaker: Speaker) -> str:
    def render(script, reply) -> str:
        if menu.connects(triage.settings, step, reply):
            return speaker.connect()  # the menu's 2: the advice again (REPEAT) is not said
        return speaker.reply(script, reply)

    turn = triage.converse(inbound, render)
    if turn.reached:
        summary.text_caller(triage, step.caller, inbound.locale, turn.reached)
    return turn.body


def _empty() -> Response:
    """TwiML that says nothing: no one is listening to the status callback."""
    return _xml(str(VoiceResponse()))


def _xml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")
