"""Reading what people type: commands, answers, red-flag phrases and facts in free text.

Pure functions over the content's vocabulary and phrase patterns. The rule throughout: when a
reading is uncertain, prefer the one that keeps the advice at the higher level.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz, process

from skill.content import LEVELS, Outcome, Question, Script

MAX_CHARS = 5000  # longer messages are read only this far
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": "'"})
# A negation governs the next few words in its clause, not the whole message.
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?()\n]|\b(?:and|but|however|although|though|except|yet|so|then|because|cos)\b"
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|none|nor|neither|nothing|denies?|\w+n't|cannot|cant|dont|didnt"
    r"|doesnt|havent|hasnt|isnt|wasnt|arent)\b"
)
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|don'?t know|dunno|maybe|might|could be|possibly|think|perhaps)\b"
)
_NEGATION_WINDOW = 4  # words
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
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())


def _negated(text: str, start: int, matched: str) -> bool:
    """True when a negation shortly before the match, in the same clause, denies it."""
    if _NEGATION.search(matched):
        return False  # the phrase carries its own negation ("can't stand")
    clause = _CLAUSE_BREAK.split(text[:start])[-1]
    words = clause.split()[-_NEGATION_WINDOW:]
    before = " ".join(words)
    return bool(_NEGATION.search(before)) and not _UNSURE.search(clause)


def phrase_value(script: Script, name: str, text: str) -> str | None:
    """The first affirmed match of a named phrase: its captured number, or the matched text."""
    for pattern in script.phrases[name]:
        for match in pattern.finditer(text):
            if not _negated(text, match.start(), match.group(0)):
                return match.group(1) if pattern.groups else match.group(0)
    return None


def red_flag(script: Script, text: str) -> Outcome | None:
    """The highest-level red flag the text raises, or None."""
    found = None
    for flag in script.red_flags:
        if any(all(phrase_value(script, n, text) for n in line) for line in flag.when):
            outcome = script.outcomes[flag.outcome]
            if found is None or LEVELS.index(outcome.level) > LEVELS.index(found.level):
                found = outcome
    return found


def detect(script: Script, text: str) -> dict[str, str]:
    """Answers the text already gives to questions, so they need not be asked."""
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


@functools.lru_cache(maxsize=4096)  # the vocabulary is squeezed on every yes/no answer
def _squeeze(text: str) -> str:
    return re.sub(r"(\w)\1+", r"\1", text)  # "yesss" -> "yes", "nooo" -> "no"


def _starts_with(text: str, phrase: str) -> bool:
    return text == phrase or (text.startswith(phrase) and not text[len(phrase)].isalnum())


def _yes_no(script: Script, text: str) -> str | None:
    bare = re.sub(r"[^\w' ]", " ", text)
    bare = " ".join(bare.split())
    candidates = [
        (len(p), value) for value in ("unsure", "no", "yes") for p in script.vocabulary[value]
        if _starts_with(bare, p) or _starts_with(_squeeze(bare), _squeeze(p))
    ]  # fmt: skip
    if candidates:
        return max(candidates)[1]  # the longest phrase wins: "no idea" is unsure, not no
    first = bare.split(" ", 1)[0] if bare else ""
    if len(first) >= 3:  # typos such as "yse" or "noo"
        words = {w: v for v in ("yes", "no") for w in script.vocabulary[v] if len(w) >= 2}
        best = process.extractOne(first, list(words), scorer=fuzz.ratio, score_cutoff=66)
        if best:
            return words[best[0]]
    return None


def _number(text: str) -> int | None:
    digits = re.search(r"\b\d{1,3}\b", text)
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
    """The answer the text gives to the question: a value, "unsure", or None if unreadable."""
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
    return "unsure" if _yes_no(script, text) == "unsure" else None
