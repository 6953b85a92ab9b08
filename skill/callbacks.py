"""Call-back requests: who can be offered one, and the runner's number sealed at rest.

A request is kept in the store under the conversation's hashed key (Store.add_callback) with
the outcome and the time; the number in it is a Fernet token (AES with an HMAC) under
CALLBACK_KEY, opened only for the console's signed-in staff. docs/callbacks.md has the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

from cryptography.fernet import Fernet, InvalidToken

from skill.config import Settings
from skill.content import Outcome

log = logging.getLogger(__name__)
# A number the clinic can ring: E.164, as Twilio gives From. Not "anonymous", a SIP or client
# address, or a business-scoped WhatsApp id, none of which can be rung back.
PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


def phone(address: str) -> str:
    """The number to ring back from a Twilio address (whatsapp:+44...), or "" for none."""
    number = address.strip().removeprefix("whatsapp:")
    return number if PHONE.fullmatch(number) else ""


def key_of(settings: Settings) -> bytes:
    """CALLBACK_KEY, or outside production a development key derived from STATE_SECRET (the
    same in every worker, so the console opens what any worker sealed)."""
    if settings.callback_key:
        return settings.callback_key.encode()
    log.warning("CALLBACK_KEY is not set: numbers are sealed under a development key.")
    derived = hmac.new(settings.state_secret.encode(), b"callback numbers", hashlib.sha256)
    return base64.urlsafe_b64encode(derived.digest())


class Sealer:
    """Seals numbers for the store and opens them for the console."""

    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def seal(self, number: str) -> str:
        """The number as a Fernet token, the only form in which it is stored."""
        return self._fernet.encrypt(number.encode()).decode()

    def open(self, token: str) -> str | None:
        """The number a token holds, or None when this key cannot open it (a key changed)."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


def request(sealer: Sealer, channel: str, number: str, outcome: Outcome, now: float) -> dict:
    """A call-back request's record: the sealed number, the advice given and when."""
    return {
        "number": sealer.seal(number),
        "channel": channel,
        "outcome": outcome.id,
        "level": str(outcome.level),
        "requested": now,
    }
