"""SMS and WhatsApp through Twilio: the inbound-message webhook, answered with TwiML.

Twilio posts each message here and takes the reply from the response. The reply is rendered
inside the store transaction, so a retried delivery (same MessageSid) gets the same bytes back
without moving the conversation again. Logs carry the MessageSid, never a number or a body.
The fault message and the clinic alert come from the channel contract (skill.channels.base).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from skill.channels import base
from skill.channels.twilio_auth import twilio_signed, unsound
from skill.content import Script
from skill.service import Inbound, get_triage
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
    # A business-scoped WhatsApp id (whatsapp:US.ABC123) has no dial code: the default applies.
    message = Inbound(
        "whatsapp" if sender.startswith(WHATSAPP) else "sms", sender, form.get("Body", ""), sid,
        locale=triage.locale(number=sender.removeprefix(WHATSAPP)),
    )  # fmt: skip

    def turn() -> Response:
        if _media_only(form):
            # Not a message to the conversation: answered, and nothing changes.
            return _xml(_message(triage.words("media_only", message.locale)))
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


def _message(text: str) -> str:
    """TwiML with one message, its text escaped."""
    return _HEAD + escape(text) + _TAIL


def _xml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")
