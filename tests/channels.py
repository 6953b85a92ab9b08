"""The channels as the robustness suites see them: how to send one signed message, how to read
the reply and what limits it must keep. Each suite is parametrized over CHANNELS, so a channel
joins every suite by adding one line there.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import requests
from conftest import TWILIO_TOKEN
from twilio.request_validator import RequestValidator

from skill import content, render, sms

LOCAL = "http://localhost"  # the base URL Flask's test client calls
MAX_MESSAGE = 1600  # Twilio refuses a longer message (error 21617)


@dataclass
class Call:
    """One HTTP request to the service, signed when it is sent (the URL is part of it)."""

    path: str
    form: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def signed_headers(self, base: str, token: str = TWILIO_TOKEN) -> dict:
        signature = RequestValidator(token).compute_signature(base + self.path, self.form)
        return {"X-Twilio-Signature": signature, **self.headers}

    def to_client(self, client):
        """Send through Flask's test client."""
        return client.post(self.path, data=self.form, headers=self.signed_headers(LOCAL))

    def to_server(self, base: str, session=requests):
        """Send over real HTTP to a running server."""
        headers = self.signed_headers(base)
        return session.post(base + self.path, data=self.form, headers=headers, timeout=30)


def body_of(response) -> bytes:
    return response.data if hasattr(response, "data") else response.content


@dataclass(frozen=True)
class Messaging:
    """SMS or WhatsApp through Twilio's inbound-message webhook."""

    name: str  # sms | whatsapp
    path: str = "/twilio/messaging"

    def sender(self, script: content.Script, locale: str, n: int) -> str:
        """A sender whose dial code gives the locale."""
        number = f"{script.locales[locale].dial_codes[0]}7{n:09d}"
        return f"whatsapp:{number}" if self.name == "whatsapp" else number

    def call(self, sender: str, text: str, delivery: str | None = None, **extra) -> Call:
        """The fields Twilio posts for one inbound message; `delivery` is its MessageSid."""
        fields = {"MessageSid": delivery or f"SM{uuid.uuid4().hex}", "AccountSid": "AC" + "0" * 32,
                  "From": sender, "To": "+447700900999", "Body": text, "NumMedia": "0",
                  **extra}  # fmt: skip
        return Call(self.path, fields)

    def reply(self, response) -> str | None:
        """The reply's text (None for <Response/>), after checking it is TwiML in our limits."""
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"].startswith("text/xml")
        root = ET.fromstring(body_of(response))  # raises on anything that is not XML
        assert root.tag == "Response" and all(child.tag == "Message" for child in root)
        assert len(root) <= 1
        if not len(root):
            return None
        text = root[0].text or ""
        assert 0 < len(text) <= MAX_MESSAGE
        if self.name == "sms":  # our words only, never theirs: plain GSM-7
            assert sms.is_gsm7(text), text
        return text

    def asked(self, script: content.Script, locale: str, text: str | None):
        """The question the reply asks, if any."""
        asking = {render.question_text(script, q, locale, voice=False): q
                  for q in script.questions.values()}  # fmt: skip
        found = [words for words in asking if text and words in text]
        return asking[max(found, key=len)] if found else None

    def advised(self, script: content.Script, locale: str, text: str | None):
        """The outcome the reply gives, if any."""
        return next((o for o in script.outcomes.values()
                     if text and script.fill(o.short, locale) in text), None)  # fmt: skip


CHANNELS = [Messaging("sms"), Messaging("whatsapp")]
