"""Alexa channel: `POST /alexa`, the custom skill hosted as a web service.

Every request is verified first (skill.channels.alexa_verify); any failure answers 400 and changes
nothing. The conversation is keyed by the Alexa session id (the user id is never read). A
launch (greeted with an open question, whose answer is read as the opening) and a session's
end are events for the engine; an intent is the words it stands for (from the content through
skill.channels.alexa_model, which also generates the interaction model) or its slots as heard,
with the subject or the yes or no it led with put back. After the fallback intent the question
is asked again with a hint on how to mention something new. The reply is spoken as SSML with a
reprompt, or ends the session with a card at an outcome; a session that ends is closed, keeping
its audit record. The fault message and the clinic alert come from the channel contract
(skill.channels.base).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import unicodedata
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from flask import Blueprint, Flask, current_app, jsonify, request

from skill.channels import alexa_model, base
from skill.channels.alexa_verify import CertificateCache, VerificationError, dig, verify_request
from skill.config import Settings
from skill.content import Script
from skill.service import Inbound, get_triage
from skill.triage import render
from skill.triage.engine import Event, Reply

__all__ = ["bp", "CertificateCache", "init_app", "respond", "use_certificates"]

log = logging.getLogger(__name__)
bp = Blueprint("alexa", __name__)
CHANNEL = "alexa"
EMPTY = {"version": "1.0", "response": {}}
REQUESTS = ("LaunchRequest", "IntentRequest", "SessionEndedRequest")
# Punctuation a voice reads well; any other symbol or emoji becomes a space.
_SAYABLE_PUNCTUATION = frozenset(".,;:!?'\"()-%&<>\u00a3$\u20ac")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+")  # "1. ", "2) ", "- " for the eye
_CERTIFICATES = "alexa_certs"


def init_app(app: Flask, settings: Settings, certificates: CertificateCache) -> None:
    """Serve /alexa, trusting `certificates`; warn at start-up about settings for trials only."""
    if not settings.alexa_verify:
        log.warning("ALEXA_VERIFY=0: Alexa signatures are not checked. For local trials only.")
    if not settings.alexa_skill_id:
        log.warning("ALEXA_SKILL_ID is not set: every Alexa request will be refused.")
    use_certificates(app, certificates)
    app.register_blueprint(bp)


def use_certificates(app: Flask, certificates: CertificateCache) -> None:
    """Check Alexa's signing certificates with this cache (tests trust their own root)."""
    app.extensions[_CERTIFICATES] = certificates


def _certificates() -> CertificateCache:
    return current_app.extensions[_CERTIFICATES]


@bp.post("/alexa")
def alexa():
    """Verify the request, advance the conversation by one request and speak the reply."""
    triage = get_triage()
    settings = triage.settings
    try:
        payload = verify_request(
            request.headers,
            request.get_data(),
            skill_id=settings.alexa_skill_id,
            now=datetime.now(UTC),
            certs=_certificates() if settings.alexa_verify else None,
        )
    except VerificationError as err:
        log.warning("Alexa request refused: %s", err)
        return jsonify(error="request refused"), 400
    kind = dig(payload, "request", "type")
    if kind not in REQUESTS:
        return jsonify(EMPTY)  # display and player events: nothing to say
    session_id = dig(payload, "session", "sessionId")
    request_id = dig(payload, "request", "requestId")
    if not isinstance(session_id, str) or not session_id:
        return jsonify(error="request has no session id"), 400
    if not isinstance(request_id, str) or not request_id:
        return jsonify(error="request has no request id"), 400
    # The requestId is the delivery id: the same signed request sent again (within the
    # timestamp window) gets the same answer and does not move the conversation again.
    intent = dig(payload, "request", "intent")
    inbound = Inbound(
        CHANNEL,
        session_id,
        _message(triage.script, kind, intent),
        request_id,
        locale=triage.locale(platform=dig(payload, "request", "locale")),
    )
    # Words Alexa could not match to any intent are lost: say how to be heard next time.
    unheard = dig(intent, "name") == alexa_model.FALLBACK_INTENT
    render = functools.partial(respond, hint=unheard)

    def turn():
        if inbound.message is Event.CLOSE:
            triage.converse(inbound, base.nothing)
            return jsonify(EMPTY)  # Alexa takes no speech when a session has ended
        response = triage.converse(inbound, render).body
        if response["response"].get("shouldEndSession"):
            # Alexa sends nothing more once a skill ends its session: close it now.
            closing = dataclasses.replace(
                inbound, message=Event.CLOSE, delivery=f"{request_id}:close"
            )
            triage.converse(closing, base.nothing)
        return jsonify(response)

    return base.answer(inbound, turn, lambda words: jsonify(_ending(words)))


def _message(script: Script, kind: str, intent: object) -> str | Event:
    """What the request says, as the engine reads it."""
    if kind == "LaunchRequest":
        return Event.OPEN
    if kind == "SessionEndedRequest":
        return Event.CLOSE
    name = dig(intent, "name")
    if not isinstance(name, str):
        return _slot_text(dig(intent, "slots"))
    word = alexa_model.message_for(script, name)
    if word is not None:
        return word
    # "no but ...": the answer, then the rest in its own clause, as it was said, so the
    # answer's "no" does not deny what follows ("nah, I came down hard").
    said = _slot_text(dig(intent, "slots"))
    lead = alexa_model.answer_lead(script, name)
    if lead:
        return ", ".join(filter(None, [lead, said]))
    subject = alexa_model.subject_intents(script).get(name)  # "my {query}": "my" put back
    return " ".join(filter(None, [subject, said]))


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


def respond(script: Script, reply: Reply, *, hint: bool = False) -> dict:
    """The Alexa response for an engine reply: SSML, a reprompt or an outcome card; with
    `hint`, how to tell something new is said before the question waiting (alexa_hint)."""
    if reply.silent:  # the engine forgot the conversation: say goodbye and end
        return _ending(script.fill(script.messages["goodbye"], reply.locale))
    body = {}
    # A speaker has nothing to hang up: Alexa's own intro in place of the phone call's.
    reply = dataclasses.replace(
        reply, notices=tuple("say_intro" if key == "intro" else key for key in reply.notices)
    )
    said = render.speech(script, reply, keypad=False)
    if reply.question or reply.describe:  # Alexa has no keypad: the spoken-only way to answer
        asked = render.body(script, reply, voice=True, keypad=False)
        body["reprompt"] = {"outputSpeech": ssml(asked)}
        if hint and reply.question:
            hint_words = script.fill(script.messages["alexa_hint"], reply.locale)
            said = "\n".join([*render.notices(script, reply, voice=True), hint_words, asked])
    if reply.outcome:
        more = script.fill(f"{reply.outcome.short}\n\n{reply.outcome.more}", reply.locale)
        body["card"] = {"type": "Simple", "title": script.name, "content": more}
    body["outputSpeech"] = ssml(said)
    body["shouldEndSession"] = bool(reply.ended)
    return _envelope(body)


def _ending(words: str) -> dict:
    """Words said as the skill ends the session: a goodbye, or the fault message."""
    return _envelope({"outputSpeech": ssml(words), "shouldEndSession": True})


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
