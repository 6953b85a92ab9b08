"""SMS and WhatsApp through Twilio: the inbound-message webhook, answered with TwiML.

Twilio posts each message here and takes the reply from the response. The reply is rendered
inside the store transaction, so a retried delivery (same MessageSid) gets the same bytes back
without moving the conversation again. Logs carry the MessageSid, never a number or a body.
"""

from __future__ import annotations

import logging
import traceback
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from skill.channels.twilio_auth import twilio_signed
from skill.content import Script
from skill.stores import conversation_key
from skill.triage.engine import Reply

log = logging.getLogger(__name__)
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
    sender, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
    if not sender or not sid:
        return Response("Missing From or MessageSid.\n", status=400, mimetype="text/plain")
    triage = current_app.extensions["triage"]
    channel = "whatsapp" if sender.startswith(WHATSAPP) else "sms"
    # A business-scoped WhatsApp id (whatsapp:US.ABC123) has no dial code: the default applies.
    locale = triage.script.locale_for(sender.removeprefix(WHATSAPP), triage.settings.default_locale)
    try:
        if _media_only(form):
            # Not a message to the conversation: answered, and nothing changes.
            return _xml(_message(triage.script.fill(triage.script.messages["media_only"], locale)))
        reached = []

        def render(reply: Reply) -> str:
            if reply.reached:
                reached.append(reply.outcome)
            return _render(triage.script, reply, channel, locale)

        body = form.get("Body", "")
        twiml = triage.converse(channel, sender, body, render, locale=locale, dedupe=sid)
    except Exception as err:  # whatever broke, the runner still gets the emergency number
        trace = "".join(traceback.format_tb(err.__traceback__))  # frames only, no values
        log.error("messaging fault on %s: %s\n%s", sid, type(err).__name__, trace)
        return _xml(_message(triage.script.fill(triage.script.messages["fallback"], locale)))
    outbound = current_app.extensions.get("outbound")
    if reached and outbound:
        key = conversation_key(triage.settings.state_secret, channel, sender)
        outbound.alert_clinic(triage.script.name, reached[0], key, triage.clock())
    return _xml(twiml)


def _media_only(form) -> bool:
    """A picture or voice note with no words."""
    return not form.get("Body", "").strip() and form.get("NumMedia", "0").strip() not in ("", "0")


def _render(script: Script, reply: Reply, channel: str, locale: str) -> str:
    """The reply as TwiML: nothing after an opt-out; on WhatsApp the outcome's title in bold."""
    if reply.silent:
        return _SILENT
    if channel != "whatsapp" or not reply.outcome:
        return _message(reply.text)
    # The title heads the advice itself, after any notice such as the intro.
    title, short = f"*{reply.outcome.title}*\n", script.fill(reply.outcome.short, locale)
    before, found, after = reply.text.rpartition(short)
    return _message(f"{before}{title}{short}{after}" if found else title + reply.text)


def _message(text: str) -> str:
    """TwiML with one message, its text escaped."""
    return _HEAD + escape(text) + _TAIL


def _xml(twiml: str) -> Response:
    return Response(twiml, mimetype="text/xml")
