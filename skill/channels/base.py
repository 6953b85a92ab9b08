"""The channel contract: what every channel shares, so a channel module holds only its platform.

A channel module does three things in its webhook:
1. checks the platform's signature (skill.channels.twilio_auth, alexa_verify) and reads the
   request into an `Inbound` (skill.service), its locale from `Triage.locale`;
2. hands `answer` the turn, usually `get_triage().converse(inbound, render)` with `render`
   writing one reply (skill.triage.render's words) in the platform's format;
3. gives `answer` how to wrap the fault words in that format.

`answer` runs the turn and, when anything in it raises (engine, store, content, rendering),
logs the fault without words or numbers, counts it, and still answers 200 in the platform's
format with the fault message, which names the emergency number. The conversation service
keeps the rest: store transaction, audit record, metrics and the clinic alert.

To add a channel: a module here with a blueprint that does steps 1 to 3, registered in app.py,
and a driver in tests/drivers.py so every channel suite (snapshot, faults, attacks) covers it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from flask import Response

from skill.content import Script
from skill.ops import metrics
from skill.service import Inbound, get_triage
from skill.triage.engine import Reply

log = logging.getLogger(__name__)
FALLBACK = "fallback"  # the message said when a turn fails (voice says voice_fault)


def answer(
    inbound: Inbound,
    turn: Callable[[], Response],
    fault: Callable[[str], Response],
    *,
    fault_message: str = FALLBACK,
) -> Response:
    """The turn's response or, whatever broke, the fault words in the platform's format."""
    try:
        return turn()
    except Exception as err:  # whatever broke, the runner still gets the emergency number
        trace = "".join(traceback.format_tb(err.__traceback__))  # frames only, no values
        # The delivery id (MessageSid, CallSid) traces the fault; it names no person.
        log.error(
            "%s fault on %s: %s\n%s", inbound.channel, inbound.delivery, type(err).__name__, trace
        )
        metrics.FAULTS.labels(inbound.channel).inc()
        return fault(get_triage().words(fault_message, inbound.locale))


def nothing(script: Script, reply: Reply) -> None:
    """The render of a turn no one hears, such as closing a call that is over."""
