"""The conversation service: the one path every channel takes from a message to a reply.

It keys the conversation, runs one engine step inside a store transaction, and lets the
channel turn the reply into what it sends, so a retried delivery gets exactly the same bytes.
The same transaction keeps the conversation's audit record.

When the store fails, `converse` does not raise: it hands `render` a fallback reply (the
`store_down` message, with the emergency number and advice to try again) so that every
channel still answers its platform normally, and counts the failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from skill.config import Settings
from skill.content import Script
from skill.ops import metrics
from skill.stores import Store, StoreUnavailable, conversation_key
from skill.triage import engine

log = logging.getLogger(__name__)


class Triage:
    """The script, the store and the settings, with the clock injected for tests."""

    def __init__(self, script: Script, store: Store, settings: Settings, clock=time.time):
        self.script, self.store, self.settings, self.clock = script, store, settings, clock
        self.red_flag_outcomes = {flag.outcome for flag in script.red_flags}
        # Compiled now rather than on each worker's first message, which it held up ~0.15 s.
        _ = script.any_phrase, script.answer_words

    def converse(
        self,
        channel: str,
        address: str,
        message: str | None,
        render: Callable[[engine.Reply], Any],
        *,
        locale: str | None = None,
        dedupe: str | None = None,
    ) -> Any:
        """Advance one conversation by one message; return what `render` made of the reply."""
        started = time.perf_counter()
        now = self.clock()
        locale = locale or self.settings.default_locale
        key = conversation_key(self.settings.state_secret, channel, address)
        turn = {}  # what the change saw; stays empty when a repeated delivery skipped it

        def change(state):
            new, reply = engine.step(
                self.script, state, message, now,
                locale=locale, ttl_seconds=self.settings.ttl_seconds,
            )  # fmt: skip
            turn["reached"] = reply.outcome if reply.reached else None
            return new, render(reply)

        try:
            result = self.store.transact(
                key, change, now=now, ttl=self.settings.ttl_seconds, dedupe=dedupe,
                audit=lambda state: self.audit_record(channel, state),
            )  # fmt: skip
        except StoreUnavailable as err:
            # The delivery id (MessageSid, CallSid) traces the fault; it names no person.
            log.error("store unavailable on %s, answered with the fallback: %s", dedupe, err)
            metrics.STORE_ERRORS.labels(channel).inc()
            return render(self.fallback(locale))
        finally:
            metrics.TURN_SECONDS.labels(channel).observe(time.perf_counter() - started)
        self._count(channel, turn)
        return result

    def fallback(self, locale: str) -> engine.Reply:
        """The reply when the conversation cannot be read or saved: call for help, try later."""
        text = self.script.fill(self.script.messages["store_down"], locale)
        return engine.Reply(text=text, speech=text, ended=True)

    def audit_record(self, channel: str, state: dict) -> tuple[str, dict]:
        """The audit record of the triage run a state belongs to: ids and times, no words."""
        outcome = self.script.outcomes.get(state["outcome"]) if state["outcome"] else None
        asked = [qid for qid, _, _ in state["trail"]]
        return str(state["started"]), {
            "content": self.script.version, "channel": channel, "locale": state["locale"],
            "questions": asked + ([state["question"]] if state["question"] else []),
            "answers": state["trail"], "outcome": outcome.id if outcome else None,
            "level": outcome.level if outcome else None,
            "started": state["started"], "updated": state["updated"],
        }  # fmt: skip

    def _count(self, channel: str, turn: dict) -> None:
        if not turn:
            metrics.DEDUPE_HITS.labels(channel).inc()
            return
        outcome = turn["reached"]
        if outcome:
            metrics.OUTCOMES.labels(outcome.level, outcome.id).inc()
            if outcome.id in self.red_flag_outcomes:
                metrics.RED_FLAGS.labels(outcome.id).inc()
