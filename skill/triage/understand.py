"""Reading what people type: commands, answers, red-flag phrases and facts in free text.

Pure functions over the content's vocabulary and phrase patterns. The rule throughout: when a
reading is uncertain, prefer the one that keeps the advice at the higher level.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from skill.content import Outcome, Question, Script

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


def phrase_value(script: Script, name: str, text: str) -> str | None:
    """The first affirmed match of a named phrase: its captured number, or the matched text."""
    for match in script.phrases[name].finditer(text):
        if not _negated(script.phrases[name], text, match):
            number = next((g for g in match.groups() if g is not None), None)
            return number or match.group(0)
    return None


def red_flag(script: Script, text: str) -> Outcome | None:
    """The highest-level red flag the text raises, or None."""
    if not script.any_phrase.search(text):
        return None  # one scan for all phrases lets answers such as "no" or "52" skip the rest
    found = None
    for flag in script.red_flags:
        if any(all(phrase_value(script, n, text) for n in line) for line in flag.when):
            outcome = script.outcomes[flag.outcome]
            if found is None or outcome.level > found.level:
                found = outcome
    return found


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


@functools.lru_cache(maxsize=4096)  # the vocabulary is squeezed on every yes/no answer
def _squeeze(text: str) -> str:
    return re.sub(r"(\w)\1+", r"\1", text)  # "yesss" -> "yes", "nooo" -> "no"


def _yes_no(script: Script, text: str) -> str | None:
    words = re.sub(r"[^\w' ]", " ", text).split()
    # The longest leading phrase wins: "no idea" is unsure, not no.
    for size in range(min(len(words), 4), 0, -1):
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
