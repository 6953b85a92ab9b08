"""SMS and WhatsApp through Twilio: the inbound-message webhook, answered with TwiML.

Twilio posts each message here and takes the reply from the response. The reply is rendered
inside the store transaction, so a retried delivery (same MessageSid) gets the same bytes back
without moving the conversation again. Logs carry the MessageSid, never a number or a body.
The fault message and the clinic alert come from the channel contract (skill.channels.base).
With WHATSAPP_BUTTONS=1 a WhatsApp question goes with its answer buttons through the Messages
API (skill.channels.whatsapp_buttons) and the webhook answers with empty TwiML.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from skill.channels import base
from skill.channels.twilio_auth import twilio_signed, unsound
from skill.content import Script
from skill.service import Inbound, Triage, get_triage
from skill.stores import DEDUPE_SECONDS, conversation_key
from skill.triage import render
from skill.triage.engine import Reply

blueprint = Blueprint("messaging", __name__)
WHATSAPP = "whatsapp:"


def _frame() -> tuple[str, str, str]:
    """The library's TwiML with no message, and around one message's text, made once."""
    response = MessagingResponse()
    response.message("|")
    head, tail = str(response).split("|")
    return str(MessagingResponse()), head, tail


# Building and serialising an element tree per reply cost more than the rest of the webhook;
# the same bytes come from the library's frame and the same escaping (& < >) as ElementTree's.
_SILENT, _HEAD, _TAIL = _frame()


@blueprint.post("/twilio/messaging")
@twilio_signed
def inbound():
    """Answer one inbound SMS or WhatsApp message with TwiML."""
    form = request.form
    refused = unsound(form, "MessageSid", "AccountSid", required=("From",))
    if refused:
        return refused
    sender, sid = form["From"].strip(), form["MessageSid"]
    triage = get_triage()
    # A tapped WhatsApp button or list row carries its id, which is its words: read as typed.
    words = form.get("ButtonPayload") or form.get("ListId") or form.get("Body", "")
    # A business-scoped WhatsApp id (whatsapp:US.ABC123) has no dial code: the default applies.
    channel = "whatsapp" if sender.startswith(WHATSAPP) else "sms"
    message = Inbound(
        channel,
        sender,
        words,
        sid,
        locale=triage.locale(number=sender.removeprefix(WHATSAPP)),
        reach=(channel, sender),  # a check-in goes back the way the runner wrote
    )
    buttons = (
        current_app.extensions.get("whatsapp_buttons") if sender.startswith(WHATSAPP) else None
    )

    def turn() -> Response:
        if _media_only(form):
            # Not a message to the conversation: answered, and nothing changes.
            return _xml(_message(triage.words("media_only", message.locale)))
        if buttons:
            return _xml(_with_buttons(triage, buttons, message))
        render_reply = _render_whatsapp if message.channel == "whatsapp" else _render_sms
        return _xml(triage.converse(message, render_reply).body)

    return base.answer(message, turn, lambda words: _xml(_message(words)))


def _media_only(form) -> bool:
    """A picture or voice note with no words."""
    return not form.get("Body", "").strip() and form.get("NumMedia", "0").strip() not in ("", "0")


def _render_sms(script: Script, reply: Reply) -> str:
    """The reply as TwiML: one message, or none after an opt-out."""
    return _SILENT if reply.silent else _message(render.text(script, reply))


def _render_whatsapp(script: Script, reply: Reply) -> str:
    """As for SMS, with the outcome's title in bold above the advice."""
    if reply.silent:
        return _SILENT
    return _message(render.text(script, reply, title=lambda title: f"*{title}*"))


def _render_buttons(script: Script, reply: Reply) -> dict:
    """As for WhatsApp, with the words apart and the question whose buttons go with them."""
    waiting = reply.question and not reply.outcome and not reply.silent
    return {
        "twiml": _render_whatsapp(script, reply),
        "ask": reply.question.id if waiting else None,
        "text": render.text(script, reply, title=lambda title: f"*{title}*"),
    }


def _with_buttons(triage: Triage, buttons, message: Inbound) -> str:
    """The turn with the question's buttons sent through the Messages API (and empty TwiML),
    once per delivery: a retried delivery sends nothing again. A reply without buttons, or
    one whose buttons cannot be sent, goes as TwiML."""
    body = triage.converse(message, _render_buttons).body
    if isinstance(body, str):  # a retry of a delivery answered before buttons were turned on
        return body
    if not body["ask"]:
        return body["twiml"]
    # Counted in the store, so that a retry on another worker sees the first delivery too.
    seen = conversation_key(triage.settings.state_secret, "whatsapp-buttons", message.delivery)
    if triage.store.hit(seen, triage.clock(), DEDUPE_SECONDS) > 1:
        return _SILENT
    question = triage.script.questions[body["ask"]]
    sent = buttons.send(triage.script, message.address, question, body["text"])
    return _SILENT if sent else body["twiml"]


def _message(text: str) -> str:
    """TwiML with one message, its text escaped."""
    return _HEAD + escape(text) + _TAIL


def _xml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")
