"""Texting the service as Twilio does: signed messaging webhooks, TwiML replies read back.

Shared by the messaging, scale-out, operations and privacy tests and the serving benchmark.
A reply is read as a runner reads it: its text, which question it asks (matched by the
question's words from the script) and which advice it gives.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import requests
from twilio.request_validator import RequestValidator

from skill.content import Outcome, Question, Script
from skill.triage import render
from tests.common import TWILIO_TOKEN

PATH = "/twilio/messaging"
LOCAL = f"http://localhost{PATH}"  # the URL Flask's test client calls
RUNNER = "+447700900123"
ACCOUNT = "AC" + "0" * 32


def form(sender=RUNNER, body="hello", sid=None, **extra) -> dict:
    """The fields Twilio posts for an inbound message; MessageSid is its delivery id."""
    return {
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": "+447700900999",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def signature(url: str, fields: dict, token: str = TWILIO_TOKEN) -> str:
    """X-Twilio-Signature for these fields posted to this URL."""
    return RequestValidator(token).compute_signature(url, fields)


def post(client, fields: dict, url: str = LOCAL, headers: dict | None = None):
    """Post through Flask's test client, signed over `url`."""
    signed = {"X-Twilio-Signature": signature(url, fields), **(headers or {})}
    return client.post(PATH, data=fields, headers=signed)


def post_http(base: str, fields: dict, headers: dict | None = None, timeout: float = 20):
    """Post over real HTTP to a running server, signed over its URL."""
    url = base + PATH
    signed = {"X-Twilio-Signature": signature(url, fields), **(headers or {})}
    return requests.post(url, data=fields, headers=signed, timeout=timeout)


def said(response) -> str | None:
    """The text of the TwiML reply's message, or None when the reply is <Response/>."""
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.data if hasattr(response, "data") else response.content)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else None


def question_texts(script: Script, locale: str = "en-GB") -> dict[str, Question]:
    """Each question as a text message puts it."""
    return {
        render.question_text(script, q, locale, voice=False): q for q in script.questions.values()
    }


def outcome_texts(script: Script, locale: str = "en-GB") -> dict[str, Outcome]:
    """Each outcome's advice as a text message puts it."""
    return {
        render.outcome_text(script, o, locale, voice=False): o for o in script.outcomes.values()
    }


def asked(script: Script, reply: str, locale: str = "en-GB") -> Question | None:
    """The question the reply asks (the longest question text in it), if any."""
    texts = question_texts(script, locale)
    found = [text for text in texts if text in reply]
    return texts[max(found, key=len)] if found else None


def advised(script: Script, reply: str, locale: str = "en-GB") -> Outcome | None:
    """The outcome whose advice the reply gives, if any."""
    return next((o for text, o in outcome_texts(script, locale).items() if text in reply), None)
