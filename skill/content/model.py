"""The content model: plain frozen types the engine reads, and the fault a loader raises."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Level(StrEnum):
    """The five disposition levels (docs/clinical-reference.md section 1), ordered lowest first.

    Levels compare by urgency (`Level.EMERGENCY > Level.CONSULTATION`) and equal their codes, so
    content, audit records and metrics keep the plain code.
    """

    SELF_CARE = "self_care"
    CONSULTATION = "consultation"
    CONSULTATION_24 = "consultation_24"
    EMERGENCY = "emergency"
    EMERGENCY_AMBULANCE = "emergency_ambulance"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def urgent(self) -> bool:
        """An emergency: the runner should call or go now."""
        return self >= Level.EMERGENCY

    def __lt__(self, other):
        return self.rank < Level(other).rank

    def __le__(self, other):
        return self.rank <= Level(other).rank

    def __gt__(self, other):
        return self.rank > Level(other).rank

    def __ge__(self, other):
        return self.rank >= Level(other).rank


_RANK = {level: i for i, level in enumerate(Level)}


class ContentError(ValueError):
    """A fault in a content file: which file, where in it, and what is wrong."""

    def __init__(self, file: str, place: str, fault: str):
        super().__init__(f"{file}: {place}: {fault}")
        self.file, self.place, self.fault = file, place, fault


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    words: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    voice: str
    type: str  # yes_no | number | choice
    facts: tuple[str, ...]
    edges: dict[str, str]  # answer value -> question or outcome id (yes_no and choice)
    unsure: str | None
    detect: tuple[tuple[str, tuple[str, ...]], ...]  # (answer value, phrase names), in order
    options: tuple[Option, ...] = ()
    min: int = 0
    max: int = 0
    ranges: tuple[tuple[int | None, str], ...] = ()  # (highest number, where it leads)
    why: str = ""  # said when an answer is hedged, before the question is asked once more
    # For a red flag's check question (red_flags.yaml `check`), the flag's id. Its rules-out
    # answer goes back to the script where it was; its edge names the start, where a check
    # raised by the opening message goes on.
    checks: str = ""

    def targets(self) -> list[str]:
        """Every place an answer to this question can lead."""
        return list(self.edges.values()) + [nxt for _, nxt in self.ranges]


@dataclass(frozen=True)
class Outcome:
    id: str
    level: Level
    title: str
    short: str
    more: str
    sources: tuple[str, ...]
    reviewed: date
    review_due: date


@dataclass(frozen=True)
class RedFlag:
    id: str
    outcome: str
    when: tuple[tuple[str, ...], ...]
    check: str = ""  # id of the question asked when the evidence for it is weak
    rules_out: str = ""  # the answer to that question that rules the flag out
    examples: tuple[str, ...] = ()  # messages that must raise it at once
    weak: tuple[str, ...] = ()  # messages that must ask its check question
    not_: tuple[str, ...] = ()  # messages that must not raise it


@dataclass(frozen=True)
class Locale:
    code: str
    name: str
    emergency: str
    ed: str
    urgent: str
    primary: str
    voice_language: str
    voice_name: str
    dial_codes: tuple[str, ...] = ()  # country calling codes, such as +44, that mean this locale
    timezone: str = "UTC"  # the IANA zone whose clock quiet hours are read in (check-ins)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per load
class Script:
    version: str
    name: str
    start: str
    safe_ending: str
    questions: dict[str, Question]
    outcomes: dict[str, Outcome]
    red_flags: tuple[RedFlag, ...]
    phrases: dict[str, re.Pattern]
    locales: dict[str, Locale]
    messages: dict[str, str]
    vocabulary: dict[str, tuple[str, ...]]
    commands: dict[str, tuple[str, ...]]
    sources: dict[str, str]
    warnings: tuple[str, ...] = field(default=())
    # Words people mistype (phrases.yaml `spelling`), and words never "corrected": the real
    # words listed there, plus every answer and command word.
    spelling: tuple[str, ...] = ()
    keep: frozenset[str] = frozenset()
    # How a phrase match is read in its context (phrases.yaml `context`), one pattern per kind.
    context: dict[str, re.Pattern] = field(default_factory=dict)
    past_counts: frozenset[str] = frozenset()  # phrases whose past is itself the red flag
    # Words that lead into free speech on Alexa (messages.yaml `carriers`): they carry no
    # meaning of their own, so Alexa may drop them and the engine still reads the rest.
    carriers: tuple[str, ...] = ()
    # First words the triage needs (messages.yaml `subjects`): put back before the rest.
    subjects: tuple[str, ...] = ()
    # Answer words that may lead into more on Alexa ("no but my legs are numb"), by answer.
    answer_leads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The check-in: the advice "same" after self care gives, and the least after "worse".
    not_better: str = ""
    units: dict[str, tuple[str, str]] = field(default_factory=dict)  # day: (one, many), ...
    checkin_answers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # better/same/worse

    @functools.cached_property
    def any_phrase(self) -> re.Pattern:
        """Matches where any phrase might: a message it misses holds no phrase at all."""
        return re.compile("|".join(f"(?:{p.pattern})" for p in self.phrases.values()))

    @functools.cached_property
    def answer_words(self) -> dict[str, str]:
        """Each vocabulary phrase and the answer it gives: yes, no, unsure or hedge."""
        values = ("yes", "no", "unsure", "hedge")
        return {p: value for value in values for p in self.vocabulary.get(value, ())}

    @functools.cached_property
    def flag_phrases(self) -> frozenset[str]:
        """The phrases some red flag is made of."""
        return frozenset(name for flag in self.red_flags for line in flag.when for name in line)

    @functools.cached_property
    def flag_phrase(self) -> re.Pattern:
        """Matches where any red-flag phrase might."""
        return re.compile("|".join(f"(?:{self.phrases[n].pattern})" for n in self.flag_phrases))

    def flag_of(self, question: Question):
        """The red flag a check question checks."""
        return next(f for f in self.red_flags if f.id == question.checks)

    def fill(self, template: str, locale: str, after: str = "") -> str:
        """Put the locale's numbers and services into a message template, and `after`, the
        check-in's delay in words, where it has {after}."""
        loc = self.locales.get(locale) or self.locales["en"]
        return template.format(
            emergency=loc.emergency,
            ed=loc.ed,
            urgent=loc.urgent,
            primary=loc.primary,
            name=self.name,
            after=after,
        )

    def locale_for(self, number: str, default: str) -> str:
        """The locale whose dial code starts the number (the longest code wins), else default."""
        codes = [
            (len(d), loc.code)
            for loc in self.locales.values()
            for d in loc.dial_codes
            if number.startswith(d)
        ]
        return max(codes)[1] if codes else default
