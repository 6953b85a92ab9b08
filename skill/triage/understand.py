"""Reading what people type: commands, answers, red-flag phrases and facts in free text.

Pure functions over the content's vocabulary and phrase patterns. A phrase match is read in its
context (phrases.yaml `context`): about the runner or someone else, now or over and done,
lifelong, an idiom, explained and passing, hedged, denied. Red flags are clear (advice at once),
weak (ask first) or set aside. The rule throughout: when a reading is uncertain, prefer the one
that keeps the advice at the higher level, or ask.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from skill.content import Outcome, Question, RedFlag, Script

MAX_CHARS = 5000  # longer messages are read only this far
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
# A negation governs the next few words in its clause, not the whole message; words of time
# end its reach too, so "can't stand after a fall" still tells of a fall.
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?()\n]|\b(?:and|but|however|although|though|except|yet|so|then|because|cos"
    r"|after|since|following|when|while)\b"
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|none|nor|neither|nothing|denies?|\w+n't|cannot|cant|dont|didnt"
    r"|doesnt|havent|hasnt|isnt|wasnt|arent)\b"
)
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|don'?t know|dunno|maybe|might|could be|possibly|think|perhaps)\b"
)
_SENTENCE_END = re.compile(r"[!?;\n]|\.(?!\d)")  # "38.6 degrees" is one sentence
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_WORD = re.compile(r"[a-z]+")
_NEGATION_WINDOW = 4  # words
_SPELL_MIN, _SPELL_LONG = 4, 9  # letters: shorter words stay; longer ones allow 2 slips
_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_NUMBER_WORDS = {w: i for i, w in enumerate(_ONES.split())}  # noqa: SIM905
_TENS_WORDS = "- - twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {w: 10 * i for i, w in enumerate(_TENS_WORDS.split()) if i > 1}


def normalise(message: str | None) -> str:
    """Lower-case, straight quotes, no control characters, single spaces, bounded length."""
    text = unicodedata.normalize("NFKC", message or "")[:MAX_CHARS].translate(_QUOTES).lower()
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def read(script: Script, message: str | None) -> str:
    """The message normalised, with common typos of key words put right."""
    return spell(script, normalise(message))


def spell(script: Script, text: str) -> str:
    """Read a mistyped key word ("stnad", "numbnes") as the word meant.

    Only words of four letters or more, with the right first letter, one slip away (two for
    words of nine letters or more); real words listed under `keep`, and the answer and
    command words, stay as typed, so "fewer" never turns into "fever".
    """
    if not script.spelling:
        return text

    def fix(match: re.Match) -> str:
        word = match.group(0)
        if len(word) < _SPELL_MIN or word in script.keep or word in script.spelling:
            return word
        slips = 1 if len(word) < _SPELL_LONG else 2
        near = _by_first_letter(script).get(word[0], ())
        best = process.extractOne(
            word, near, scorer=DamerauLevenshtein.distance, score_cutoff=slips
        )
        return best[0] if best else word

    return _WORD.sub(fix, text)


@functools.lru_cache(maxsize=8)
def _by_first_letter(script: Script) -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for word in script.spelling:
        index[word[0]] = (*index.get(word[0], ()), word)
    return index


def _negated(pattern: re.Pattern, text: str, match: re.Match) -> bool:
    """True when a negation shortly before the match, or inside it, in its clause, denies it."""
    matched = match.group(0)
    if _NEGATION.search(matched):
        if not pattern.search(_NEGATION.sub(" ", matched)):
            return False  # the phrase needs its negation ("can't stand")
        # A negation the phrase does not need ("leg is not cold") denies it, unless a clause
        # break comes after it ("leg is not cold but pale").
        last = _CLAUSE_BREAK.split(matched)[-1]
        return bool(_NEGATION.search(last)) and not _UNSURE.search(matched)
    clause = _CLAUSE_BREAK.split(text[: match.start()])[-1]
    words = clause.split()[-_NEGATION_WINDOW:]
    before = " ".join(words)
    return bool(_NEGATION.search(before)) and not _UNSURE.search(clause)


WEAK = ("hedge", "explained")  # readings that make a red flag weak: ask before deciding
# Readings a fact (not a red flag) keeps: an old injury is still a fact about the runner;
# one explained as passing ("numb bum from the saddle") is not.
FACT_KEEPS = (None, "hedge", "resolved", "lifelong")


def _find(script: Script, kind: str, text: str, start: int = 0, end: int | None = None):
    pattern = script.context.get(kind)
    return pattern.search(text, start, len(text) if end is None else end) if pattern else None


def _said(script: Script, kind: str, text: str, start: int, end: int) -> bool:
    """A context marker stands between start and end, not denied ("it hasn't eased")."""
    pattern = script.context.get(kind)
    for m in pattern.finditer(text, start, end) if pattern else ():
        words = _CLAUSE_BREAK.split(text[: m.start()])[-1].split()[-_NEGATION_WINDOW:]
        if not _NEGATION.search(" ".join(words) + " " + m.group(0)):
            return True
    return False


def _sentence(text: str, at: int) -> tuple[int, int]:
    starts = [m.end() for m in _SENTENCE_END.finditer(text, 0, at)]
    end = _SENTENCE_END.search(text, at)
    return (starts[-1] if starts else 0), (end.start() if end else len(text))


def reading(
    script: Script, pattern: re.Pattern, text: str, match: re.Match, past_counts: bool = False
) -> str | None:
    """How one phrase match reads in its context: None when it stands as said, else why not.

    "negated", "idiom", "lifelong", "other_person" and "resolved" set it aside; "hedge" and
    "explained" make it weak evidence. With `past_counts` (a past cancer), what is over and done
    or lifelong still counts.
    """
    if _negated(pattern, text, match):
        return "negated"
    first, last = _sentence(text, match.start())
    cuts = [(c.start(), c.end()) for c in _CLAUSE_BREAK.finditer(text, first, last)]
    start = max([e for _, e in cuts if e <= match.start()], default=first)
    after = [b for b, _ in cuts if b >= match.end()]
    end, following = (after + [last, last])[:2]
    idiom = script.context.get("idiom")
    if idiom and any(
        m.start() < match.end() and m.end() > match.start()
        for m in idiom.finditer(text, first, last)
    ):
        return "idiom"
    if not past_counts and _find(script, "lifelong", text, start, following):
        return "lifelong"
    own = _find(script, "own", text[:start] + " | " + text[end:])
    if own and _about_other(script, text, cuts, first, start, end):
        return "other_person"
    # What is said after it, up to the next red-flag phrase: "long gone", or "still there".
    later = script.flag_phrase.search(text, match.end(), last) if script.flag_phrases else None
    until = later.start() if later else last
    persists = _find(script, "persisting", text, match.end(), until)
    if not past_counts and _said(script, "resolved", text, match.end(), until) and not persists:
        return "resolved"
    if _find(script, "hedge", text, start, match.end()):
        return "hedge"
    if _said(script, "explained", text, start, following) and not persists:
        return "explained"
    return None


def _about_other(script: Script, text: str, cuts, first: int, start: int, end: int) -> bool:
    """The clause (or, with no subject of its own, the clause before) is about someone else,
    and no words say the whole message is for them."""
    if _find(script, "proxy", text):
        return False
    bounds = [first] + [e for _, e in cuts if e <= start]
    for i in range(len(bounds) - 1, -1, -1):
        clause_end = end if bounds[i] == start else next(b for b, _ in cuts if b >= bounds[i])
        if _find(script, "other_person", text, bounds[i], clause_end):
            return True
        if _find(script, "self", text, bounds[i], clause_end):
            return False
    return False


def _strength(script: Script, name: str, text: str) -> str | None:
    """The best evidence a red-flag phrase has in the text: "clear", "weak" or None."""
    pattern, best = script.phrases[name], None
    for match in pattern.finditer(text):
        why = reading(script, pattern, text, match, name in script.past_counts)
        if why is None:
            return "clear"
        if why in WEAK:
            best = "weak"
    return best


def phrase_value(script: Script, name: str, text: str) -> str | None:
    """The first match of a named phrase that stands as a fact: its captured number, or the text.

    A red-flag phrase counts only when clear; another phrase (where it hurts, an old injury)
    counts unless denied, an idiom, or about someone else.
    """
    pattern = script.phrases[name]
    keeps = (None,) if name in script.flag_phrases else FACT_KEEPS
    for match in pattern.finditer(text):
        if reading(script, pattern, text, match, name in script.past_counts) in keeps:
            number = next((g for g in match.groups() if g is not None), None)
            return number or match.group(0)
    return None


def flag_strength(
    script: Script, flag: RedFlag, text: str, known: frozenset[str] = frozenset()
) -> str | None:
    """How the text raises a red flag: "clear", "weak" or None.

    A phrase named in `known` (already told earlier in the conversation) counts as clear, but
    at least one phrase of a line must be in this text.
    """
    best = None
    for line in flag.when:
        found = [
            _strength(script, name, text) or ("known" if name in known else None) for name in line
        ]
        if None in found or set(found) == {"known"}:
            continue
        if "weak" not in found:
            return "clear"
        best = "weak"
    return best


@dataclass(frozen=True)
class Screen:
    """The red flags in a message: the highest read clearly, and a higher one read weakly."""

    clear: Outcome | None = None
    weak: RedFlag | None = None


def screen(script: Script, text: str, known: frozenset[str] = frozenset()) -> Screen:
    """Screen the whole text for red flags, with the phrases the conversation already knows."""
    if not script.flag_phrases or not script.flag_phrase.search(text):
        return Screen()  # one scan for all phrases lets answers such as "no" or "52" skip the rest
    clear, weak = None, None
    for flag in script.red_flags:
        strength = flag_strength(script, flag, text, known)
        outcome = script.outcomes[flag.outcome]
        if strength == "clear" and (clear is None or outcome.level > clear.level):
            clear = outcome
        elif strength == "weak" and (
            weak is None or outcome.level > script.outcomes[weak.outcome].level
        ):
            weak = flag
    if weak and clear and script.outcomes[weak.outcome].level <= clear.level:
        weak = None
    return Screen(clear, weak)


def red_flag(script: Script, text: str) -> Outcome | None:
    """The highest-level red flag the text raises, clearly or weakly, or None."""
    found = screen(script, text)
    weak = script.outcomes[found.weak.outcome] if found.weak else None
    return weak or found.clear


def detect(script: Script, text: str) -> dict[str, str]:
    """Answers the text already gives to questions, so they need not be asked."""
    if not script.any_phrase.search(text):
        return {}
    known = {}
    for q in script.questions.values():
        for value, names in q.detect:
            found = next((v for n in names if (v := phrase_value(script, n, text))), None)
            if found is None:
                continue
            if q.type == "number":
                number = _number(found)
                if number is None or not q.min <= number <= q.max:
                    continue
                value = str(number)
            known[q.id] = value
            break
    return known


def command(script: Script, text: str) -> str | None:
    """The command the whole message is, if it is one."""
    bare = text.strip(" .!")
    for name, words in script.commands.items():
        if bare in words:
            return name
    return None


def forgets(script: Script, text: str) -> bool:
    """Whether the message asks to be forgotten: a `forget` phrase anywhere in it, not denied."""
    pattern = _forget_pattern(script)
    match = pattern.search(text) if pattern else None
    return bool(match) and not _negated(pattern, text, match)


@functools.lru_cache(maxsize=8)
def _forget_pattern(script: Script) -> re.Pattern | None:
    phrases = script.commands.get("forget", ())
    if not phrases:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")


@functools.lru_cache(maxsize=4096)  # the vocabulary is squeezed on every yes/no answer
def _squeeze(text: str) -> str:
    return re.sub(r"(\w)\1+", r"\1", text)  # "yesss" -> "yes", "nooo" -> "no"


def _yes_no(script: Script, text: str) -> str | None:
    words = re.sub(r"[^\w' ]", " ", text).split()
    # The longest leading phrase wins: "no idea" is unsure, "not as far as i know" a hedge.
    for size in range(min(len(words), 6), 0, -1):
        lead = " ".join(words[:size])
        value = script.answer_words.get(lead) or script.answer_words.get(_squeeze(lead))
        if value:
            return value
    first = words[0] if words else ""
    if len(first) >= 3:  # typos such as "yse" or "noo"
        best = process.extractOne(first, script.answer_words, scorer=fuzz.ratio, score_cutoff=66)
        if best and best[0] in ("yes", "no") and len(best[2]) >= 2:
            return best[0]
    return None


def _number(text: str) -> int | None:
    digits = re.search(r"(?<![\d.])\d{1,3}(?![\d.]?\d)", text)  # "34yo", "50ish", "40s"
    if digits:
        return int(digits.group(0))
    total, seen = 0, False
    for word in re.findall(r"[a-z]+", text):
        if word in _TENS:
            total, seen = total + _TENS[word], True
        elif word in _NUMBER_WORDS:
            total, seen = total + _NUMBER_WORDS[word], True
        elif seen:
            break
    return total if seen else None


def _choice(question: Question, text: str) -> str | None:
    number = re.fullmatch(r"\D{0,12}?(\d)\D{0,12}", text)
    if number and 1 <= int(number.group(1)) <= len(question.options):
        return question.options[int(number.group(1)) - 1].id
    matches = [
        (len(word), option.id)
        for option in question.options
        for word in (option.label, *option.words)
        if re.search(rf"\b{re.escape(word)}\b", text)
    ]
    return max(matches)[1] if matches else None


def read_answer(script: Script, question: Question, text: str) -> str | None:
    """The answer the text gives to the question: a value, "unsure", "hedge" (yes or no only),
    or None if unreadable."""
    for value, names in question.detect:  # a described answer ("it clicks") counts
        if question.type != "number" and any(phrase_value(script, n, text) for n in names):
            return value
    if question.type == "yes_no":
        return _yes_no(script, text)
    if question.type == "number":
        number = _number(text)
        if number is not None:
            return str(number)
    if question.type == "choice":
        choice = _choice(question, text)
        if choice:
            return choice
    return "unsure" if _yes_no(script, text) in ("unsure", "hedge") else None


def says_yes(script: Script, text: str) -> bool:
    """Whether the whole message is a yes to the check-in offer."""
    return text.strip(" .!") in script.checkin_answers.get("yes", ())


CHECKIN_WORST_FIRST = ("worse", "same", "better")


def checkin_answer(script: Script, text: str) -> str | None:
    """The answer to the check-in (worse, same or better) its words give, the worse where
    they give more than one; None when they give none."""
    for answer in CHECKIN_WORST_FIRST:
        if _checkin_pattern(script, answer).search(text):
            return answer
    return None


@functools.lru_cache(maxsize=16)
def _checkin_pattern(script: Script, answer: str) -> re.Pattern:
    words = script.checkin_answers.get(answer, ()) or ("(?!)",)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")
