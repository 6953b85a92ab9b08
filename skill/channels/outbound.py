"""Texts sent outside a webhook reply, through Twilio's REST API, off the request thread.

The clinic alert on urgent advice (ESCALATION_SMS_TO) goes this way, as does the alert that a
call back is waiting in the console (never with the runner's number), and any channel may use it
to text someone. Sending never raises into the caller and never delays a reply: each text goes
on its own thread, is retried on a fault worth retrying, and is logged without number or text.
The check-in (skill.followup) sends on its worker's thread with `deliver`, which says how it
went, a number that opted out (Twilio's error 21610) apart. TWILIO_API_BASE sends every
request to another address than Twilio's own, such as a local stand-in for a trial.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from skill.config import TWILIO_API, Settings
from skill.content import Level, Outcome

log = logging.getLogger(__name__)
TRIES = 3
TIMEOUT = 10  # seconds per try, so a hung API cannot hold a thread for long
ALERT_FROM = Level.CONSULTATION_24  # advice at this level or above alerts the clinic
# One conversation alerts the clinic once an hour at most, unless its advice goes higher: a
# runner restarting (or someone texting in a loop) must not flood the clinic's phone.
ALERT_EVERY = 3600.0
ALERTS_KEPT = 10_000  # conversations remembered per process; the oldest are dropped first
TWILIO_HOSTS = (TWILIO_API, "https://content.twilio.com")
OPTED_OUT = 21610  # Twilio's error code: the number replied STOP, so nothing may go to it
# What `deliver` reports.
SENT, OPTED_OUT_RESULT, FAILED = "sent", "opted_out", "failed"


class BasedHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, sending to another base address than Twilio's hosts."""

    def __init__(self, base: str, timeout: float = TIMEOUT):
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        for host in TWILIO_HOSTS:
            url = url.replace(host, self.base, 1)
        return super().request(method, url, *args, **kwargs)


def api_client(settings: Settings) -> HttpClient:
    """The HTTP client for Twilio's API at TWILIO_API_BASE (by default Twilio's own)."""
    if settings.twilio_api_base == TWILIO_API:
        return TwilioHttpClient(timeout=TIMEOUT)
    return BasedHttpClient(settings.twilio_api_base)


class OutboundSMS:
    """Sends texts from TWILIO_FROM under the account's credentials."""

    def __init__(
        self, settings: Settings, http_client: HttpClient | None = None, backoff: float = 2.0
    ):
        self.sender, self.clinic, self.backoff = (
            settings.twilio_from,
            settings.escalation_sms_to,
            backoff,
        )
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http_client or api_client(settings),
        )
        self._threads: set[threading.Thread] = set()
        self._alerted: dict[str, tuple[float, Level]] = {}  # conversation -> (when, level)
        self._alerted_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, http_client: HttpClient | None = None):
        """An OutboundSMS when account, token and sender are all set, else None."""
        if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
            return cls(settings, http_client)
        return None

    def send_later(self, to: str, body: str) -> None:
        """Queue one text on a background thread and return at once."""
        thread = threading.Thread(target=self._send, args=(to, body), daemon=True)
        self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the caller's reply matters more
            self._threads.discard(thread)
            log.error("outbound SMS not sent: no thread to send it on")

    def flush(self, timeout: float | None = None) -> None:
        """Wait for texts still being sent (at shutdown, and in tests)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def alert_clinic(self, name: str, outcome: Outcome, conversation: str, when: float) -> bool:
        """Text the clinic about urgent advice when ESCALATION_SMS_TO is set; True if queued."""
        if (
            not self.clinic
            or outcome.level < ALERT_FROM
            or not self._due(conversation, outcome, when)
        ):
            return False
        self.send_later(self.clinic, clinic_alert(name, outcome, conversation, when))
        return True

    def alert_callback(self, name: str, outcome: Outcome, conversation: str, when: float) -> bool:
        """Tell the clinic a call back is waiting (once per request: the service alerts only
        for a new one) when ESCALATION_SMS_TO is set; True if queued."""
        if not self.clinic:
            return False
        self.send_later(self.clinic, clinic_alert(name, outcome, conversation, when, callback=True))
        return True

    def _due(self, conversation: str, outcome: Outcome, when: float) -> bool:
        """Whether this conversation may alert now; if so, remember that it did."""
        with self._alerted_lock:
            last = self._alerted.get(conversation)
            if last and when - last[0] < ALERT_EVERY and outcome.level <= last[1]:
                return False
            self._alerted.pop(conversation, None)  # re-inserted last: the dict stays oldest first
            self._alerted[conversation] = (when, outcome.level)
            while len(self._alerted) > ALERTS_KEPT:
                del self._alerted[next(iter(self._alerted))]
            return True

    def _send(self, to: str, body: str) -> None:
        try:
            self.deliver(to, body=body)
        finally:
            self._threads.discard(threading.current_thread())

    def deliver(self, to: str, *, body: str = "", content_sid: str = "") -> str:
        """Send one message now, retrying with backoff on 429, 5xx and network faults: SENT,
        OPTED_OUT_RESULT (never to be tried again) or FAILED. A WhatsApp address (whatsapp:+44...)
        goes from whatsapp:TWILIO_FROM; `content_sid` sends an approved template instead of
        words. Never raises; logs neither number nor words."""
        sender = f"whatsapp:{self.sender}" if to.startswith("whatsapp:") else self.sender
        what = {"content_sid": content_sid} if content_sid else {"body": body}
        for attempt in range(1, TRIES + 1):
            try:
                sent = self.client.messages.create(to=to, from_=sender, **what)
                log.info("outbound message %s accepted on try %d", sent.sid, attempt)
                return SENT
            except Exception as err:  # network faults too: nothing may escape the thread
                status = getattr(err, "status", None)
                log.warning(
                    "outbound message try %d of %d failed: %s %s",
                    attempt,
                    TRIES,
                    type(err).__name__,
                    status or "",
                )
                if getattr(err, "code", None) == OPTED_OUT:
                    log.warning("outbound message refused: the number has opted out")
                    return OPTED_OUT_RESULT
                if not _worth_retrying(err) or attempt == TRIES:
                    break
                time.sleep(self.backoff * 2 ** (attempt - 1))
        log.error("outbound message not sent: gave up")
        return FAILED


def _worth_retrying(err: Exception) -> bool:
    """Twilio refusing the text (4xx, say a bad number) will refuse it again; the rest may pass."""
    if isinstance(err, TwilioRestException):
        return err.status >= 500 or err.status == 429
    return True


def clinic_alert(
    name: str, outcome: Outcome, conversation: str, when: float, *, callback: bool = False
) -> str:
    """The clinic's alert: level, condition, hashed conversation id and time, and whether a
    call back is waiting; no message text, and no number (the console shows it to staff)."""
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if callback:
        return (
            f"{name}: a call back is waiting in the console, after {outcome.level} advice "
            f"({outcome.title}) in conversation {conversation}, asked at {stamp}."
        )
    return (
        f"{name} alert: {outcome.level} advice ({outcome.title}) given in conversation "
        f"{conversation} at {stamp}."
    )
