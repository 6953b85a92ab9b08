"""WhatsApp answer buttons (WHATSAPP_BUTTONS=1): Twilio Content API templates, sent with ContentSid.

A yes/no question goes as a quick-reply (Yes, No and Not sure where the question takes it), a
choice question as a list picker (up to 10 rows of at most 24 characters). Each template's
body is one variable, the reply's whole text, so the words stay the content's. Templates are
named by a digest of what they hold: `python -m skill whatsapp-content --sync` makes the ones
the content needs and deletes ours it no longer needs; the service finds them by name (listed
once per process). A button's id is its words, so a tap (ButtonPayload, ListId) is read as if
typed. Replies without buttons, and any reply whose template is missing or whose send fails,
go as TwiML as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

from twilio.http import HttpClient
from twilio.rest import Client

from skill.channels.outbound import api_client
from skill.config import Settings
from skill.content import Question, Script
from skill.triage import render

log = logging.getLogger(__name__)
CONTENT_URL = "https://content.twilio.com/v1/Content"
PREFIX = "runner_hip_check_"  # the friendly names of our templates
MAX_BODY = 1024  # characters in a quick-reply or list-picker body
MAX_ROW = 24  # characters in a list picker's row
MAX_ROWS = 10


def template(script: Script, question: Question) -> dict | None:
    """The Content API template for a question's answers; None for a number (typed)."""
    # Button words have no placeholders: one template serves every locale.
    answers = render.buttons(script, question, next(iter(script.locales)))
    if question.type == "yes_no":
        types = {
            "twilio/quick-reply": {
                "body": "{{1}}",
                "actions": [{"title": words, "id": words} for words in answers],
            }
        }
    elif question.type == "choice" and len(answers) <= MAX_ROWS:
        rows = [{"item": words[:MAX_ROW], "id": words} for words in answers]
        types = {
            "twilio/list-picker": {
                "body": "{{1}}",
                "button": script.messages["button_choose"],
                "items": rows,
            }
        }
    else:
        return None
    digest = hashlib.sha256(json.dumps(types, sort_keys=True).encode()).hexdigest()[:12]
    return {
        "friendly_name": f"{PREFIX}{question.type}_{digest}",
        "language": "en",
        "variables": {"1": "question"},
        "types": types,
    }


def templates(script: Script) -> dict[str, dict]:
    """Every template the script needs, by friendly name."""
    found = (template(script, q) for q in script.questions.values())
    return {t["friendly_name"]: t for t in found if t}


class WhatsAppButtons:
    """Sends replies with buttons through the Messages API, from whatsapp:TWILIO_FROM."""

    def __init__(self, settings: Settings, http_client: HttpClient | None = None):
        self.sender = f"whatsapp:{settings.twilio_from}"
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http_client or api_client(settings),
        )
        self._sids: dict[str, str] | None = None
        self._lock = threading.Lock()

    def listed(self) -> dict[str, str]:
        """Our templates in the account, friendly name to ContentSid."""
        found, url = {}, f"{CONTENT_URL}?PageSize=500"
        while url:
            page = json.loads(self.client.request("GET", url).text)
            for item in page.get("contents", []):
                if item.get("friendly_name", "").startswith(PREFIX):
                    found[item["friendly_name"]] = item["sid"]
            url = (page.get("meta") or {}).get("next_page_url")
        return found

    def sync(self, script: Script) -> tuple[list[str], list[str]]:
        """Make the templates the script needs and delete ours it does not; (made, deleted)."""
        have, need = self.listed(), templates(script)
        made = []
        for name, body in need.items():
            if name not in have:
                response = self.client.request(
                    "POST", CONTENT_URL, data=body, headers={"Content-Type": "application/json"}
                )
                if response.status_code >= 300:
                    raise RuntimeError(f"Content API refused {name}: {response.status_code}")
                made.append(name)
        deleted = [name for name in have if name not in need]
        for name in deleted:
            self.client.request("DELETE", f"{CONTENT_URL}/{have[name]}")
        with self._lock:
            self._sids = None  # listed again on next use
        return made, deleted

    def send(self, script: Script, to: str, question: Question, text: str) -> bool:
        """Send the reply with the question's buttons; False when it must go as text instead
        (no template for it yet, too long for a button message, or the API failed)."""
        wanted = template(script, question)
        if not wanted or len(text) > MAX_BODY:
            return False
        try:
            sid = self._sid(wanted["friendly_name"])
            if not sid:
                log.warning(
                    "no WhatsApp template %s: run whatsapp-content --sync", wanted["friendly_name"]
                )
                return False
            sent = self.client.messages.create(
                to=to,
                from_=self.sender,
                content_sid=sid,
                content_variables=json.dumps({"1": text}),
            )
        except Exception as err:  # the runner gets the words as TwiML instead
            log.warning(
                "WhatsApp buttons not sent: %s %s",
                type(err).__name__,
                getattr(err, "status", "") or "",
            )
            return False
        log.info("WhatsApp buttons %s accepted", sent.sid)
        return True

    def _sid(self, name: str) -> str | None:
        with self._lock:
            if self._sids is None:
                self._sids = self.listed()
            return self._sids.get(name)
