"""Booking, sending and cancelling check-ins; each one is sent at most once.

A check-in is a record in the conversation store under "checkin:<conversation key>", one per
conversation (a new yes replaces it): its id, status, due time, channel and a Fernet token
holding the runner's number and the conversation as it stood at the yes. The queued job holds
only the hashed key and the id. When the job runs it claims the record (pending to sending) in
one store transaction, so a re-run job or a second worker finds nothing to send; writes the
follow-up conversation (state "checkin": "asked"), so the answer is read by the engine like any
message, red flags first; sends; then records how it went and drops the token. A crash between
the claim and the send loses that one check-in rather than risk sending it twice. STOP deletes
the record, so its job finds nothing. A number Twilio reports as opted out (error 21610) is
marked by its hashed key and never tried again. Logs carry ids and times, never a number.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from skill.channels.outbound import OPTED_OUT_RESULT, SENT
from skill.followup import queue, timing
from skill.ops import metrics
from skill.stores import conversation_key

log = logging.getLogger(__name__)
KEEP = 7 * 86400.0  # a record outlives its due time by this, so a late re-run still finds it
OPTED_OUT_KEEP = 10 * 365 * 86400.0  # how long an opt-out is remembered
WINDOW = 24 * 3600.0  # WhatsApp: free-form messages only this long after the runner's last
EARLY = 5.0  # seconds before its time a job may still send (the queue's clock against ours)
# What the conversation at the yes keeps for the follow-up: where it stood and what it told.
TRANSIENT = ("offered", "booked", "closed", "describe", "resume", "advised", "hedged")


def fernet_key(settings) -> bytes:
    """CHECKIN_KEY, or a key derived from STATE_SECRET (HKDF-SHA256) when it is unset."""
    if settings.checkin_key:
        return settings.checkin_key.encode()
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"runner-hip checkin")
    return base64.urlsafe_b64encode(derive.derive(settings.state_secret.encode()))


class Checkins:
    """The check-ins of one service (skill.service.Triage): its store, clock and sender."""

    def __init__(self, triage, huey=None):
        self.triage, self.settings = triage, triage.settings
        self.fernet = Fernet(fernet_key(self.settings))
        self.queue = huey or queue.make_queue(self.settings)
        self.task = self.queue.task(name="send_checkin")(self.send)

    @classmethod
    def of(cls, triage, huey=None) -> Checkins | None:
        """The service's check-ins, or None when it cannot send texts or CHECKIN_AFTER=off."""
        if not triage.outbound or not triage.settings.checkin_after:
            return None
        return cls(triage, huey)

    def offer(self, reach: tuple[str, str] | None) -> float | None:
        """The delay to offer where the runner can be texted at `reach` (channel, address),
        or None: WhatsApp only with an approved template for outside its 24-hour window."""
        if not reach or (reach[0] == "whatsapp" and not self.settings.whatsapp_checkin_content_sid):
            return None
        return self.settings.checkin_after

    def book(self, reach: tuple[str, str], state: dict, now: float) -> float:
        """Book the check-in the runner said yes to; return when it is due."""
        channel, address = reach
        key = conversation_key(self.settings.state_secret, channel, address)
        profile = (
            self.triage.script.locales.get(state["locale"]) or self.triage.script.locales["en"]
        )
        due = timing.next_allowed(
            now + self.settings.checkin_after, profile.timezone, self.settings.quiet_hours
        )
        snapshot = {k: v for k, v in state.items() if k not in TRANSIENT}
        secret = json.dumps({"to": address, "state": snapshot}).encode()
        record = {
            "id": os.urandom(8).hex(),
            "status": "pending",
            "due": due,
            "booked": now,
            "channel": channel,
            "zone": profile.timezone,  # quiet hours are checked again when it is sent
            "token": self.fernet.encrypt(secret).decode(),
        }
        self._put(key, lambda _: (record, None), now, due)
        self.task.schedule(args=(key, record["id"]), delay=max(0.0, due - now))
        metrics.CHECKINS.labels("booked").inc()
        log.info("check-in %s booked for %s", record["id"], _stamp(due))
        return due

    def cancel(self, reach: tuple[str, str], now: float) -> bool:
        """Forget the runner's pending check-in (STOP); its job then sends nothing."""
        key = conversation_key(self.settings.state_secret, *reach)
        gone = self._put(key, lambda record: (None, record is not None), now)
        if gone:
            metrics.CHECKINS.labels("cancelled").inc()
        return gone

    def due(self, key: str, now: float) -> dict | None:
        """A conversation's check-in record without its token, or None (for tests and ops)."""
        record = self._put(key, lambda record: (record, record), now)
        return {k: v for k, v in record.items() if k != "token"} if record else None

    def send(self, key: str, ident: str) -> str:
        """The job: send the check-in `ident` of conversation `key` if it is still pending and
        due and no one else has claimed it; return what became of it."""
        now = self.triage.clock()
        record, later = self._claim(key, ident, now)
        if later:  # early, or run late into the quiet hours (a worker that was down)
            self.task.schedule(args=(key, ident), delay=later - now)
            return "deferred"
        if record is None:
            return "nothing"  # cancelled, replaced, or sent (or being sent) by another job
        payload = json.loads(self.fernet.decrypt(record["token"].encode()))
        if self._opted_out(key, now):
            return self._done(key, "opted_out", now)
        last = self._ask(key, record, payload["state"], now)
        if last is None:
            return self._done(key, "superseded", now)
        words = self._message(record, payload["state"], last, now)
        result = self.triage.outbound.deliver(payload["to"], **words)
        if result == OPTED_OUT_RESULT:
            self._opt_out(key, lambda _: ({"at": now}, None), now)
        if result != SENT:
            self._unask(key, now)
        return self._done(key, result, now)

    def _put(self, key: str, change, now: float, due: float | None = None):
        """Change a conversation's check-in record in one store transaction. It is kept KEEP
        past `due`, by default the latest any record booked by now can be due."""
        latest = now + self.settings.checkin_after + 86400  # the quiet hours defer < a day
        ttl = max(1.0, (latest if due is None else due) - now) + KEEP
        return self.triage.store.transact(f"checkin:{key}", change, now=now, ttl=ttl)

    def _opt_out(self, key: str, change, now: float):
        """Read or set the mark of a number that opted out, by its hashed conversation key."""
        return self.triage.store.transact(f"optout:{key}", change, now=now, ttl=OPTED_OUT_KEEP)

    def _claim(self, key: str, ident: str, now: float) -> tuple[dict | None, float | None]:
        """The record, claimed (pending to sending) in one transaction, if it is this job's
        and may go now; else the time it may go, the record left pending."""
        hours = self.settings.quiet_hours

        def claim(record):
            if not record or record["id"] != ident or record["status"] != "pending":
                return record, (None, None)
            allowed = max(record["due"], timing.next_allowed(now, record["zone"], hours))
            if allowed > now + EARLY:
                return {**record, "due": allowed}, (record, allowed)
            return {**record, "status": "sending", "claimed": now}, (record, None)

        found = self._put(key, claim, now)
        return found[0], found[1]

    def _opted_out(self, key: str, now: float) -> bool:
        return self._opt_out(key, lambda mark: (mark, mark is not None), now)

    def _ask(self, key: str, record: dict, snapshot: dict, now: float) -> float | None:
        """Write the follow-up conversation, its answer awaited; return when the runner last
        wrote. None, writing nothing new, when the runner has started another conversation
        since the yes: that one stands and no check-in is sent."""
        ttl = self.settings.ttl_seconds

        def ask(state):
            live = state and not state.get("closed") and now - state["updated"] <= ttl
            if live and state["started"] != snapshot["started"]:
                return state, None
            followup = {"after": snapshot["outcome"], "answer": "none", "booked": record["booked"]}
            new = {
                **snapshot,
                "started": now,  # the follow-up is a run of its own in the audit
                "updated": now,
                "question": None,
                "misses": 0,
                "checkin": "asked",
                "followup": followup,
            }
            return new, state["updated"] if live else snapshot["updated"]

        def audit(state):
            return self.triage.audit_record(record["channel"], state)

        return self.triage.store.transact(key, ask, now=now, ttl=ttl, audit=audit)

    def _unask(self, key: str, now: float) -> None:
        """After a send that failed: the follow-up conversation closes, so that the runner's
        next message starts afresh rather than answering a question never received."""

        def close(state):
            asked = state and state.get("checkin") == "asked" and state["started"] == now
            return ({**state, "closed": True} if asked else state), None

        self.triage.store.transact(key, close, now=now, ttl=self.settings.ttl_seconds)

    def _message(self, record: dict, snapshot: dict, last: float, now: float) -> dict:
        """The check-in's words, or on WhatsApp outside its 24-hour window the template."""
        script = self.triage.script
        sid = self.settings.whatsapp_checkin_content_sid
        if record["channel"] == "whatsapp" and now - last >= WINDOW and sid:
            return {"content_sid": sid}
        return {"body": script.fill(script.messages["checkin_ask"], snapshot["locale"])}

    def _done(self, key: str, result: str, now: float) -> str:
        """Record what became of the check-in, and drop the number."""
        self._put(key, lambda r: ({**r, "status": result, "token": ""} if r else None, None), now)
        metrics.CHECKINS.labels(result).inc()
        log.info("check-in for %s: %s", key.split(":")[0], result)
        return result


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
