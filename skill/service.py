"""The conversation service: the one path every channel takes from what a runner did to a reply.

A channel reads its platform's request into an `Inbound` (channel, address, the words or an
Event, delivery id, locale) and calls `Triage.converse` with how to render a reply in its
platform's format. The service keys the conversation, runs one engine step inside a store
transaction, renders the reply there too, so a retried delivery gets exactly the same bytes,
keeps the conversation's audit record in the same transaction, counts the turn, and alerts the
clinic (OutboundSMS.alert_clinic) when the advice first reached is urgent enough. Where the
channel can text the runner later (`Inbound.reach`), the engine may offer a check-in; the
service books the runner's yes and cancels it on STOP (skill.followup.checkins).

With CALLBACKS=1 and a number to ring (in `Inbound.reach`), the engine offers a call back after
consultation advice; when the runner asks for one, the request (number sealed, skill.callbacks)
is kept within the same turn, so a reply saying the clinic will ring is only sent once it is
stored, and the clinic is told a call back is waiting (OutboundSMS.alert_callback).

When the store fails, `converse` does not raise: it renders a fallback reply (the `store_down`
message, with the emergency number and advice to try again), so every channel still answers
its platform normally. Any other fault is the channel contract's (skill.channels.base), which
answers with a message from `words`, filled at start-up so that it needs nothing that could
have failed.

`init_app` puts the service on the Flask app and `get_triage` reaches it from a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from skill import callbacks
from skill.channels.outbound import OutboundSMS
from skill.config import Settings
from skill.content import Outcome, Script
from skill.ops import metrics
from skill.stores import Store, StoreUnavailable, conversation_key
from skill.triage import engine

log = logging.getLogger(__name__)
GENERIC_LOCALE = "en"  # the content's wording for a locale it does not have


@dataclass(frozen=True)
class Inbound:
    """One thing a runner did on a channel, in the same shape whatever the platform."""

    channel: str  # sms | whatsapp | voice | alexa | web: the metrics label and part of the key
    address: str  # whose: a number, CallSid, Alexa session id or web token (stored hashed)
    message: str | engine.Event  # the words, or what happened without words
    delivery: str | None = None  # the platform's id for this delivery: a retry gets the same
    locale: str = ""  # from Triage.locale; "" for the default
    # Where the runner answered (a question or outcome id), when the platform says: a call's
    # action URL. It only correlates: the engine trusts the stored state (engine.step).
    place: str | None = None
    # Where a text can reach the runner, (channel, address): a text's sender, a caller's
    # number on SMS; None where there is no way to (Alexa, web chat). A check-in goes there,
    # and a call back rings its number (skill.callbacks.phone).
    reach: tuple[str, str] | None = None


@dataclass(frozen=True)
class Turn:
    """What one turn gave: the channel's rendering of the reply, and the outcome it reached
    for the first time (None when it reached none, or a repeated delivery was answered)."""

    body: Any
    reached: Outcome | None = None


class Triage:
    """The script, the store, the settings and the outbound texts, with the clock injected."""

    def __init__(
        self,
        script: Script,
        store: Store,
        settings: Settings,
        clock=time.time,
        outbound: OutboundSMS | None = None,
    ):
        self.script, self.store, self.settings, self.clock = script, store, settings, clock
        self.outbound = outbound
        self.checkins = None  # skill.followup.checkins.Checkins, set by the app when enabled
        # Only with call backs on: the console opens numbers with it too.
        self.sealer = callbacks.Sealer(callbacks.key_of(settings)) if settings.callbacks else None
        self.red_flag_outcomes = {flag.outcome for flag in script.red_flags}
        # Compiled now rather than on each worker's first message, which it held up ~0.15 s.
        _ = script.any_phrase, script.answer_words
        # Every message in every locale, filled now: a fault's words need nothing that can fail.
        self._words = {
            (key, code): script.fill(text, code)
            for key, text in script.messages.items()
            for code in script.locales
        }

    def locale(self, *, number: str = "", platform: object = None) -> str:
        """The one locale rule: the platform's own locale where it gives one (Alexa), else the
        dial code of the number, else DEFAULT_LOCALE; a locale the content does not have gets
        the content's generic "en" wording, never another country's."""
        if isinstance(platform, str) and platform:
            return platform if platform in self.script.locales else GENERIC_LOCALE
        return self.script.locale_for(number, self.settings.default_locale)

    def converse(self, inbound: Inbound, render: Callable[[Script, engine.Reply], Any]) -> Turn:
        """Advance one conversation by one message or event; `render` makes the reply's body."""
        started = time.perf_counter()
        now = self.clock()
        locale = inbound.locale or self.settings.default_locale
        key = conversation_key(self.settings.state_secret, inbound.channel, inbound.address)
        turn = {}  # what the change saw (its last run); stays empty when a repeat skipped it
        offer = self.checkins.offer(inbound.reach) if self.checkins else None
        number = callbacks.phone(inbound.reach[1]) if self.sealer and inbound.reach else ""

        def change(state):
            new, reply = engine.step(
                self.script,
                state,
                inbound.message,
                now,
                locale=locale,
                ttl_seconds=self.settings.ttl_seconds,
                answering=inbound.place,
                offer=offer,
                callbacks=bool(number),
            )
            turn["reached"] = reply.outcome if reply.reached else None
            turn["booked"] = new if reply.booked else None
            turn["forget"] = reply.forget
            turn["called"] = reply.callback and self._call_back(inbound, key, number, reply, now)
            return new, render(self.script, reply)

        try:
            body = self.store.transact(
                key,
                change,
                now=now,
                ttl=self.settings.ttl_seconds,
                dedupe=inbound.delivery,
                audit=lambda state: self.audit_record(inbound.channel, state),
            )
        except StoreUnavailable as err:
            # The delivery id (MessageSid, CallSid) traces the fault; it names no person.
            log.error(
                "store unavailable on %s, answered with the fallback: %s", inbound.delivery, err
            )
            metrics.STORE_ERRORS.labels(inbound.channel).inc()
            return Turn(render(self.script, self.fallback(locale)))
        finally:
            metrics.TURN_SECONDS.labels(inbound.channel).observe(time.perf_counter() - started)
        reached = self._count(inbound.channel, turn)
        if reached and self.outbound:
            self.outbound.alert_clinic(self.script.name, reached, key, now)
        if turn.get("called") and self.outbound:
            self.outbound.alert_callback(self.script.name, turn["called"], key, now)
        if turn and self.checkins and inbound.reach:
            self._follow_up(inbound, turn, now)
        return Turn(body, reached)

    def _follow_up(self, inbound: Inbound, turn: dict, now: float) -> None:
        """Book the check-in the runner said yes to, or cancel theirs on STOP."""
        try:
            if turn["booked"]:
                self.checkins.book(inbound.reach, turn["booked"], now)
            elif turn["forget"]:
                self.checkins.cancel(inbound.reach, now)
        except Exception as err:  # the reply stands; the fault is logged, without a number
            log.error(
                "check-in not %s on %s: %s",
                "booked" if turn["booked"] else "cancelled",
                inbound.delivery,
                type(err).__name__,
            )

    def _call_back(
        self, inbound: Inbound, key: str, number: str, reply: engine.Reply, now: float
    ) -> Outcome | None:
        """Keep the call-back request the reply says is made, within the turn (so a store
        fault gives the fallback reply instead); the advice it is for when it is new."""
        record = callbacks.request(self.sealer, inbound.channel, number, reply.outcome, now)
        if not self.store.add_callback(key, record, now):
            return None  # one is open already: no duplicate, and the clinic knows of it
        # The delivery id traces it; the number and the conversation stay out of the log.
        log.info("call back requested on %s", inbound.delivery)
        return reply.outcome

    def fallback(self, locale: str) -> engine.Reply:
        """The reply when the conversation cannot be read or saved: call for help, try later."""
        return engine.Reply(self.script, locale, notices=("store_down",), ended=True)

    def words(self, key: str, locale: str) -> str:
        """A content message in a locale's words, as filled at start-up."""
        known = locale if locale in self.script.locales else GENERIC_LOCALE
        return self._words[key, known]

    def audit_record(self, channel: str, state: dict) -> tuple[str, dict]:
        """The audit record of the triage run a state belongs to: ids and times, no words."""
        outcome = self.script.outcomes.get(state["outcome"]) if state["outcome"] else None
        asked = [qid for qid, _, _ in state["trail"]]
        record = {
            "content": self.script.version,
            "channel": channel,
            "locale": state["locale"],
            "questions": asked + ([state["question"]] if state["question"] else []),
            "answers": state["trail"],
            "outcome": outcome.id if outcome else None,
            "level": outcome.level if outcome else None,
            "started": state["started"],
            "updated": state["updated"],
        }
        if state.get("followup"):  # a check-in's run: the advice it followed, and the answer
            followup = state["followup"]
            record["followup"] = {
                "after": followup["after"],
                "answer": followup["answer"],  # better, same, worse, or none (yet)
                "level": record["level"],  # the advice standing after the answer
            }
        return str(state["started"]), record

    def _count(self, channel: str, turn: dict) -> Outcome | None:
        """Count the turn; return the outcome it reached for the first time, if any."""
        if not turn:
            metrics.DEDUPE_HITS.labels(channel).inc()
            return None
        outcome = turn["reached"]
        if outcome:
            metrics.OUTCOMES.labels(outcome.level, outcome.id).inc()
            if outcome.id in self.red_flag_outcomes:
                metrics.RED_FLAGS.labels(outcome.id).inc()
        return outcome


def init_app(app: Flask, triage: Triage) -> None:
    """Make `triage` the service that this app's requests reach through get_triage."""
    app.extensions["triage"] = triage


def get_triage(app: Flask | None = None) -> Triage:
    """The conversation service of `app`, by default the app handling the current request."""
    return (app or current_app).extensions["triage"]
