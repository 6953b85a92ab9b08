"""The text of the advice sent to the caller after a call's advice (VOICE_SMS_SUMMARY=1)."""

from __future__ import annotations

import re

from skill.content import Outcome
from skill.service import Triage

_CALLER = re.compile(r"\+\d{6,15}")  # a number we can text (not "anonymous" or a client id)


def text_caller(triage: Triage, caller: str, locale: str, outcome: Outcome) -> None:
    """Queue the summary when the setting is on, texts can be sent and the caller can take one."""
    if not (triage.outbound and triage.settings.voice_sms_summary and _CALLER.fullmatch(caller)):
        return
    script = triage.script
    heading = script.fill(script.messages["voice_summary"], locale)
    triage.outbound.send_later(caller, f"{heading}\n{script.fill(outcome.short, locale)}")
