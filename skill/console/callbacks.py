"""The call backs waiting, as the console lists them: the numbers opened for signed-in staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from skill.service import Triage


@dataclass(frozen=True)
class Waiting:
    """One call back to make, as staff read it."""

    key: str  # the conversation's hashed key: what closing it names
    number: str | None  # None when this CALLBACK_KEY cannot open it (the key was changed)
    channel: str
    level: str
    title: str
    requested: str  # when it was asked for, in UTC


def waiting(triage: Triage, now: float) -> list[Waiting]:
    """The open call-back requests, oldest first, numbers opened (None without a key)."""
    script = triage.script
    return [
        Waiting(
            key=found["key"],
            number=triage.sealer.open(found["number"]) if triage.sealer else None,
            channel=found["channel"],
            level=found["level"],
            title=script.outcomes[found["outcome"]].title
            if found["outcome"] in script.outcomes
            else found["outcome"],
            requested=datetime.fromtimestamp(found["requested"], UTC).strftime(
                "%Y-%m-%d %H:%M UTC"
            ),
        )
        for found in triage.store.callbacks(now)
    ]
