"""Alexa channel: `POST /alexa`, the custom skill hosted as a web service.

Every request is verified first (skill.channels.alexa_verify); any failure answers 400 and changes
nothing. The conversation is keyed by the Alexa session id (the user id is never read), each
request becomes one message for the engine, and the reply is spoken as SSML with a reprompt,
or ends the session with a card at an outcome. The words each intent stands for come from the
content through skill.channels.alexa_model, which also generates the interaction model.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from flask import Blueprint, current_app, jsonify, request

from skill.channels import alexa_model
from skill.channels.alexa_verify import CertificateCache, VerificationError, dig, verify_request
from skill.content import Script
from skill.triage import render
from skill.triage.engine import Reply

__all__ = ["bp", "CertificateCache", "respond"]

log = logging.getLogger(__name__)
bp = Blueprint("alexa", __name__)
CHANNEL = "alexa"
EMPTY = {"version": "1.0", "response": {}}
REQUESTS = ("LaunchRequest", "IntentRequest", "SessionEndedRequest")
# Punctuation a voice reads well; any other symbol or emoji becomes a space.
_SAYABLE_PUNCTUATION = frozenset(".,;:!?'\"()-%&<>\u00a3$\u20ac")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+")  # "1. ", "2) ", "- " for the eye


@bp.record_once
def _warn_at_start(state) -> None:
    settings = state.app.extensions["triage"].settings
    if not settings.alexa_verify:
        log.warning("ALEXA_VERIFY=0: Alexa signatures are not checked. For local trials only.")
    if not settings.alexa_skill_id:
        log.warning("ALEXA_SKILL_ID is not set: every Alexa request will be refused.")


@bp.post("/alexa")
def alexa():
    """Verify the request, advance the conversation by one message and speak the reply."""
    triage = current_app.extensions["triage"]
    settings = triage.settings
    try:
        payload = verify_request(
            request.headers, request.get_data(), skill_id=settings.alexa_skill_id,
            now=datetime.now(UTC),
            certs=current_app.extensions["alexa_certs"] if settings.alexa_verify else None,
        )  # fmt: skip
    except VerificationError as err:
        log.warning("Alexa request refused: %s", err)
        return jsonify(error="request refused"), 400
    kind = dig(payload, "request", "type")
    if kind not in REQUESTS:
        return jsonify(EMPTY)  # display and player events: nothing to say
    session_id = dig(payload, "session", "sessionId")
    if not isinstance(session_id, str) or not session_id:
        return jsonify(error="request has no session id"), 400
    script = triage.script
    locale = dig(payload, "request", "locale")
    # An unknown locale gets the content's generic wording ("en"), never another country's.
    locale = locale if isinstance(locale, str) and locale in script.locales else "en"
    stop = script.commands["stop"][0]
    message = _message(script, kind, dig(payload, "request", "intent"))

    def render_reply(reply: Reply) -> dict:
        if kind == "SessionEndedRequest":
            return EMPTY
        return respond(script, reply, locale)

    response = triage.converse(CHANNEL, session_id, message, render_reply, locale=locale)
    if response["response"].get("shouldEndSession") and message != stop:
        # Alexa sends nothing more once a skill ends its session: forget the answers now.
        triage.converse(CHANNEL, session_id, stop, lambda reply: None)
    return jsonify(response)


def _message(script: Script, kind: str, intent: object) -> str:
    """What the request says, as the engine reads it."""
    if kind == "LaunchRequest":
        return ""  # an empty opening: welcome and the first question
    if kind == "SessionEndedRequest":
        return script.commands["stop"][0]
    name = dig(intent, "name")
    word = alexa_model.message_for(script, name) if isinstance(name, str) else None
    return word if word is not None else _slot_text(dig(intent, "slots"))


def _slot_text(slots: object) -> str:
    """The words in an intent's slots: a choice by its own label, anything else as heard."""
    said = []
    for slot in slots.values() if isinstance(slots, dict) else ():
        value = _resolved(slot) or dig(slot, "value")
        if isinstance(value, str) and value.strip():
            said.append(value.strip())
    return " ".join(said)


def _resolved(slot: object) -> str | None:
    authorities = dig(slot, "resolutions", "resolutionsPerAuthority")
    for authority in authorities if isinstance(authorities, list) else ():
        values = dig(authority, "values")
        if dig(authority, "status", "code") == "ER_SUCCESS_MATCH" and isinstance(values, list):
            name = dig(values[0], "value", "name") if values else None
            if isinstance(name, str):
                return name
    return None


def respond(script: Script, reply: Reply, locale: str) -> dict:
    """The Alexa response for an engine reply: SSML, a reprompt or an outcome card."""
    if reply.silent:  # the engine forgot the conversation: say goodbye and end
        goodbye = script.fill(script.messages["goodbye"], locale)
        return _envelope({"outputSpeech": ssml(goodbye), "shouldEndSession": True})
    # A speaker has nothing to hang up: Alexa's own intro in place of the phone call's.
    intros = [script.fill(script.messages[key], locale) for key in ("voice_intro", "say_intro")]
    speech, body = reply.speech.replace(*intros), {}
    question = script.questions.get(reply.question or "")
    if question:
        # Alexa has no keypad: swap the keypad wording for the spoken-only one.
        asked = render.question_text(script, question, locale, voice=True, keypad=False)
        speech = speech.replace(render.question_text(script, question, locale, voice=True), asked)
        body["reprompt"] = {"outputSpeech": ssml(asked)}
    if reply.outcome:
        more = script.fill(f"{reply.outcome.short}\n\n{reply.outcome.more}", locale)
        body["card"] = {"type": "Simple", "title": script.name, "content": more}
    body["outputSpeech"] = ssml(speech)
    body["shouldEndSession"] = bool(reply.ended)
    return _envelope(body)


def _envelope(body: dict) -> dict:
    return {"version": "1.0", "response": body}


def ssml(text: str) -> dict:
    """Text as SSML output speech: symbols and list marks gone, one sentence per line."""
    sentences = []
    for line in unicodedata.normalize("NFKC", text).splitlines():
        line = "".join(ch if _sayable(ch) else " " for ch in _LIST_MARK.sub("", line))
        line = " ".join(line.split())
        if line:
            sentences.append(line if line[-1] in ".!?:;" else f"{line}.")
    return {"type": "SSML", "ssml": f"<speak>{escape(' '.join(sentences))}</speak>"}


def _sayable(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNZ" or ch in _SAYABLE_PUNCTUATION
