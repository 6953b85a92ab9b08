"""The conversation service: the one path every channel takes from a message to a reply.

It keys the conversation, runs one engine step inside a store transaction, and lets the
channel turn the reply into what it sends, so a retried delivery gets exactly the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from skill import engine
from skill.config import Settings
from skill.content import Script
from skill.store import Store, conversation_key


class Triage:
    """The script, the store and the settings, with the clock injected for tests."""

    def __init__(self, script: Script, store: Store, settings: Settings, clock=time.time):
        self.script, self.store, self.settings, self.clock = script, store, settings, clock

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
        now = self.clock()
        key = conversation_key(self.settings.state_secret, channel, address)

        def change(state):
            new, reply = engine.step(
                self.script, state, message, now,
                locale=locale or self.settings.default_locale,
                ttl_seconds=self.settings.ttl_seconds,
            )  # fmt: skip
            return new, render(reply)

        return self.store.transact(
            key, change, now=now, ttl=self.settings.ttl_seconds, dedupe=dedupe
        )
