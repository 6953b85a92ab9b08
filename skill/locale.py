"""The locale a phone number's country calling code tells, from the content's dial_codes."""

from __future__ import annotations

from skill.content import Script


def locale_for_number(script: Script, number: str, default: str) -> str:
    """The locale whose dial code starts the number (the longest wins), else the default."""
    digits = number.strip().removeprefix("whatsapp:")
    matches = [
        (len(dial), code)
        for code, locale in script.locales.items()
        for dial in locale.dial_codes
        if digits.startswith(dial)
    ]
    return max(matches)[1] if matches else default
