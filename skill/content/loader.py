"""Reads the content's YAML files and builds a checked Script, naming file and place on a fault."""

from __future__ import annotations

import hashlib
import re
import string
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from skill.content import checks, sms
from skill.content.model import (
    ContentError,
    Level,
    Locale,
    Option,
    Outcome,
    Question,
    RedFlag,
    Script,
)

PLACEHOLDERS = ("emergency", "ed", "urgent", "primary", "name", "after")
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "content"
_PATTERN_CHARS = re.compile(r"[\\()\[\]{}|?*+^$.]")  # a phrase with one of these is a pattern
FILES = ("script", "outcomes", "red_flags", "phrases", "locales", "messages")


def digest(directory: Path | str = DEFAULT_DIR) -> str:
    """SHA-256 of the content files, so that files built from them can name what they came from."""
    h = hashlib.sha256()
    for name in FILES:
        h.update(f"{name}\n".encode())
        h.update((Path(directory) / f"{name}.yaml").read_bytes())
    return h.hexdigest()


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so answers such as yes, no and on stay words."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Reader:
    """Reads one YAML file and checks the shape of what is in it."""

    def __init__(self, directory: Path, stem: str):
        self.file = f"content/{stem}.yaml"
        path = directory / f"{stem}.yaml"
        try:
            self.data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
        except FileNotFoundError:
            raise ContentError(self.file, "file", "is missing") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "file"
            raise ContentError(self.file, where, f"is not valid YAML ({err})") from None
        except ValueError as err:  # not UTF-8, or a value YAML cannot build, such as 2026-02-30
            raise ContentError(self.file, "file", f"cannot be read ({err})") from None

    def fail(self, place: str, fault: str) -> ContentError:
        return ContentError(self.file, place, fault)

    def mapping(self, value, place: str, required=(), optional=None) -> dict:
        """Check a mapping; with neither required nor optional keys named, any key goes."""
        if not isinstance(value, dict):
            raise self.fail(place, "should be a mapping of keys to values")
        for key in value:
            if (required or optional is not None) and key not in (*required, *(optional or ())):
                raise self.fail(place, f"unknown key '{key}'")
        for key in required:
            if key not in value:
                raise self.fail(place, f"missing key '{key}'")
        return value

    def text(self, value, place: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(place, "should be non-empty text")
        bad = sorted(set(value) - sms.GSM7_CHARS)
        if bad:
            raise self.fail(place, f"has characters outside GSM-7: {''.join(bad)!r}")
        try:
            names = _placeholders(value)
        except ValueError as err:
            raise self.fail(place, f"has a stray {{ or }} ({err})") from None
        for name in names:
            if name not in PLACEHOLDERS:
                raise self.fail(place, f"unknown placeholder {{{name}}}")
        try:
            value.format(**dict.fromkeys(PLACEHOLDERS, ""))  # as Script.fill will
        except ValueError as err:
            raise self.fail(place, f"has a placeholder that cannot be filled in ({err})") from None
        return value

    def words(self, value, place: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(w, str | int) for w in value):
            raise self.fail(place, "should be a list of words")
        return tuple(str(w).lower() for w in value)


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _date(reader: _Reader, value, place: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise reader.fail(place, "should be a date like 2026-11-26")
    return value


def _load_outcomes(r: _Reader) -> tuple[dict[str, Outcome], dict[str, str]]:
    top = r.mapping(r.data, "file", required=("sources", "outcomes"))
    sources = {str(k): str(v) for k, v in r.mapping(top["sources"], "sources").items()}
    outcomes = {}
    keys = ("level", "title", "short", "more", "source", "reviewed", "review_due")
    for oid, raw in r.mapping(top["outcomes"], "outcomes").items():
        where = f"outcomes.{oid}"
        r.mapping(raw, where, required=keys)
        if not isinstance(raw["level"], str) or raw["level"] not in set(Level):
            codes = ", ".join(Level)
            raise r.fail(f"{where}.level", f"'{raw['level']}' is not one of {codes}")
        cited = raw["source"] if isinstance(raw["source"], list) else [raw["source"]]
        for src in cited:
            if not isinstance(src, str) or src not in sources:
                raise r.fail(f"{where}.source", f"'{src}' is not listed under sources")
        short = r.text(raw["short"], f"{where}.short")
        if Level(raw["level"]).urgent and "{emergency}" not in short:
            raise r.fail(f"{where}.short", "an emergency outcome must give {emergency}")
        outcomes[oid] = Outcome(
            id=oid,
            level=Level(raw["level"]),
            title=r.text(raw["title"], f"{where}.title"),
            short=short,
            more=r.text(raw["more"], f"{where}.more"),
            sources=tuple(cited),
            reviewed=_date(r, raw["reviewed"], f"{where}.reviewed"),
            review_due=_date(r, raw["review_due"], f"{where}.review_due"),
        )
    return outcomes, sources


CONTEXT_KINDS = (
    "hedge",
    "explained",
    "persisting",
    "resolved",
    "lifelong",
    "idiom",
    "other_person",
    "self",
    "own",
    "proxy",
)


def _patterns(r: _Reader, section: str, kinds=None) -> dict[str, re.Pattern]:
    """Each entry's patterns as one alternation, so a message is scanned once per entry."""
    raw = r.mapping(r.data.get(section, {}), section, optional=kinds)
    compiled = {}
    for name, patterns in raw.items():
        patterns = [as_pattern(p) for p in r.words(patterns, f"{section}.{name}")]
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except (re.error, OverflowError) as err:
                raise r.fail(f"{section}.{name}[{i}]", f"is not a valid pattern ({err})") from None
        compiled[name] = re.compile("|".join(f"(?:{p})" for p in patterns))
    return compiled


def as_pattern(phrase: str) -> str:
    """A phrase as a pattern: plain words ("hit the deck") match as whole words, in order, with
    any spacing; a phrase with any of the characters of a pattern is taken as one."""
    if _PATTERN_CHARS.search(phrase):
        return phrase
    return r"\b" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"\b"


def _load_phrases(r: _Reader):
    """The named phrases, the context patterns that say how a match is read, and the phrases
    whose past counts."""
    optional = ("spelling", "context", "past_counts")
    top = r.mapping(r.data, "file", required=("phrases",), optional=optional)
    phrases = _patterns(r, "phrases")
    past = _phrase_names(r, top.get("past_counts", []), "past_counts", phrases)
    return phrases, _patterns(r, "context", CONTEXT_KINDS), frozenset(past)


def _load_spelling(r: _Reader) -> tuple[tuple[str, ...], frozenset[str]]:
    """The words typos are read as, and the real words that must stay as typed."""
    raw = r.mapping(r.data.get("spelling", {}), "spelling", optional=("words", "keep"))
    words = r.words(raw.get("words", []), "spelling.words")
    keep = r.words(raw.get("keep", []), "spelling.keep")
    clash = sorted(set(words) & set(keep))
    if clash:
        raise r.fail("spelling", f"{', '.join(clash)} both a word and kept")
    return words, frozenset(keep)


def _phrase_names(r: _Reader, names, place: str, phrases: dict) -> tuple[str, ...]:
    names = r.words(names, place)
    for name in names:
        if name not in phrases:
            raise r.fail(place, f"phrase '{name}' is not in phrases.yaml")
    return names


def _load_red_flags(
    r: _Reader, phrases: dict, outcomes: dict, start: str
) -> tuple[tuple[RedFlag, ...], dict[str, Question]]:
    """The red flags, and the check question each asks when the evidence for it is weak."""
    top = r.mapping(r.data, "file", required=("red_flags",))
    if not isinstance(top["red_flags"], list):
        raise r.fail("red_flags", "should be a list")
    flags, checks = [], {}
    for i, raw in enumerate(top["red_flags"]):
        where = f"red_flags[{i}]"
        r.mapping(
            raw,
            where,
            required=("id", "outcome", "when", "check", "examples", "not"),
            optional=("weak",),
        )
        if not isinstance(raw["outcome"], str) or raw["outcome"] not in outcomes:
            raise r.fail(f"{where}.outcome", f"'{raw['outcome']}' is not an outcome")
        if not isinstance(raw["when"], list) or not raw["when"]:
            raise r.fail(f"{where}.when", "should be a list of phrase lists")
        when = tuple(
            _phrase_names(r, line, f"{where}.when[{j}]", phrases)
            for j, line in enumerate(raw["when"])
        )
        check = r.mapping(raw["check"], f"{where}.check", required=("text", "rules_out", "facts"))
        rules_out = str(check["rules_out"])
        if rules_out not in ("yes", "no"):
            raise r.fail(f"{where}.check.rules_out", "should be yes or no")
        raises = "no" if rules_out == "yes" else "yes"
        qid = f"check_{raw['id']}"
        checks[qid] = Question(
            id=qid,
            text=r.text(check["text"], f"{where}.check.text"),
            voice=check["text"],
            type="yes_no",
            facts=r.words(check["facts"], f"{where}.check.facts"),
            edges={rules_out: start, raises: raw["outcome"]},
            unsure=raises,
            detect=(),
            checks=str(raw["id"]),
        )
        examples = {
            key: tuple(r.words(raw.get(key, []), f"{where}.{key}"))
            for key in ("examples", "weak", "not")
        }
        flags.append(
            RedFlag(
                id=str(raw["id"]),
                outcome=raw["outcome"],
                when=when,
                check=qid,
                rules_out=rules_out,
                examples=examples["examples"],
                weak=examples["weak"],
                not_=examples["not"],
            )
        )
    return tuple(flags), checks


def _load_question(r: _Reader, qid: str, raw, phrases: dict) -> Question:
    where = f"questions.{qid}"
    common = ("text", "type", "facts")
    shared = ("voice", "detect", "unsure", "why")
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "yes_no":
        r.mapping(raw, where, required=(*common, "yes", "no"), optional=shared)
        edges = {"yes": str(raw["yes"]), "no": str(raw["no"])}
        values = ("yes", "no")
    elif kind == "choice":
        r.mapping(raw, where, required=(*common, "options"), optional=shared)
        if not isinstance(raw["options"], list):
            raise r.fail(f"{where}.options", "should be a list")
        options = tuple(
            _load_option(r, f"{where}.options[{i}]", o) for i, o in enumerate(raw["options"])
        )
        edges = {o.id: o.next for o in options}
        values = tuple(edges)
    elif kind == "number":
        r.mapping(raw, where, required=(*common, "min", "max", "ranges"), optional=shared)
        for key in ("min", "max"):
            _whole(r, raw[key], f"{where}.{key}")
        edges, values = {}, ("number",)
    else:
        raise r.fail(f"{where}.type", "should be yes_no, number or choice")
    unsure = raw.get("unsure")
    if unsure is not None and str(unsure) not in edges:
        raise r.fail(f"{where}.unsure", f"'{unsure}' is not one of its answers")
    detect = r.mapping(raw.get("detect", {}), f"{where}.detect", optional=values)
    found = tuple(
        (str(value), _phrase_names(r, names, f"{where}.detect.{value}", phrases))
        for value, names in detect.items()
    )
    text = r.text(raw["text"], f"{where}.text")
    question = Question(
        id=qid,
        text=text,
        voice=r.text(raw.get("voice", text), f"{where}.voice"),
        type=kind,
        facts=r.words(raw["facts"], f"{where}.facts"),
        edges=edges,
        unsure=None if unsure is None else str(unsure),
        detect=found,
        why=r.text(raw["why"], f"{where}.why") if "why" in raw else "",
    )
    if kind == "choice":
        return _replace(question, options=options)
    if kind == "number":
        return _replace(
            question,
            min=int(raw["min"]),
            max=int(raw["max"]),
            ranges=_load_ranges(r, f"{where}.ranges", raw["ranges"]),
        )
    return question


def _replace(question: Question, **changes) -> Question:
    return Question(**{**question.__dict__, **changes})


def _load_option(r: _Reader, where: str, raw) -> Option:
    r.mapping(raw, where, required=("id", "label", "next"), optional=("words",))
    return Option(
        id=str(raw["id"]),
        label=r.text(raw["label"], f"{where}.label"),
        words=r.words(raw.get("words", []), f"{where}.words"),
        next=str(raw["next"]),
    )


def _load_ranges(r: _Reader, where: str, raw) -> tuple[tuple[int | None, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise r.fail(where, "should be a list of {max, next}")
    ranges = []
    for i, item in enumerate(raw):
        r.mapping(item, f"{where}[{i}]", required=("next",), optional=("max",))
        last = i == len(raw) - 1
        if ("max" in item) == last:
            raise r.fail(f"{where}[{i}]", "every range but the last needs a max")
        highest = None if last else _whole(r, item["max"], f"{where}[{i}].max")
        ranges.append((highest, str(item["next"])))
    return tuple(ranges)


def _whole(r: _Reader, value, place: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise r.fail(place, "should be a whole number")
    return value


def _load_locales(r: _Reader) -> dict[str, Locale]:
    top = r.mapping(r.data, "file", required=("locales",))
    keys = ("name", "emergency", "ed", "urgent", "primary", "voice_language", "voice_name")
    locales, dialled = {}, {}
    for code, raw in r.mapping(top["locales"], "locales").items():
        r.mapping(raw, f"locales.{code}", required=keys, optional=("dial_codes", "timezone"))
        dial = r.words(raw.get("dial_codes", []), f"locales.{code}.dial_codes")
        for d in dial:
            if not re.fullmatch(r"\+\d{1,4}", d):
                raise r.fail(f"locales.{code}.dial_codes", f"'{d}' is not a code like \"+44\"")
            if d in dialled:
                raise r.fail(f"locales.{code}.dial_codes", f"'{d}' is also in {dialled[d]}")
            dialled[d] = code
        zone = str(raw.get("timezone") or "UTC")
        try:
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise r.fail(f"locales.{code}.timezone", f"'{zone}' is not a time zone") from None
        fields = {k: str(raw[k]) for k in keys}
        locales[code] = Locale(code=code, **fields, dial_codes=dial, timezone=zone)
    if "en" not in locales:
        raise r.fail("locales", "needs 'en', the wording for an unknown country")
    return locales


MESSAGE_KEYS = (
    "intro",
    "voice_intro",
    "expired",
    "restarted",
    "not_understood",
    "out_of_range",
    "safe_ending",
    "help",
    "voice_help",
    "back_none",
    "more_later",
    "finished",
    "after_thanks",
    "after_advice",
    "voice_after_thanks",
    "voice_after_advice",
    "hedged",
    "footer",
    "voice_footer",
    "no_more",
    "ask_yes_no",
    "voice_yes_no",
    "ask_number",
    "voice_number",
    "ask_choice",
    "voice_choice",
    "media_only",
    "fallback",
    "voice_goodbye",
    "voice_emergency",
    "voice_repeat",
    "voice_more",
    "voice_clinic",
    "voice_connecting",
    "voice_heard",
    "voice_confirm",
    "voice_try_again",
    "voice_fault",
    "voice_summary",
    "say_intro",
    "say_yes_no",
    "say_number",
    "say_choice",
    "goodbye",
    "skill_summary",
    "skill_description",
    "store_down",
    "button_yes",
    "button_no",
    "button_unsure",
    "button_choose",
    "describe",
    "voice_describe",
    "alexa_hint",
    "checkin_offer",
    "voice_checkin_offer",
    "checkin_booked",
    "voice_checkin_booked",
    "checkin_ask",
    "checkin_better",
    "checkin_same",
    "checkin_worse",
    "checkin_unclear",
    "callback_offer",
    "voice_callback_offer",
    "callback_made",
    "voice_callback_made",
    "callback_again",
    "voice_callback_again",
)
COMMANDS = ("help", "restart", "back", "more", "stop", "start")


def _load_messages(r: _Reader):
    top = r.mapping(
        r.data,
        "file",
        required=("messages", "vocabulary", "commands"),
        optional=("carriers", "subjects", "answer_leads", "units", "checkin_answers"),
    )
    raw = r.mapping(top["messages"], "messages", required=MESSAGE_KEYS)
    messages = {}
    for key in MESSAGE_KEYS:
        value = raw[key] or ""
        messages[key] = r.text(value, f"messages.{key}") if value else ""
    shown = ("intro", "voice_intro", "say_intro", "help", "voice_help", "fallback")
    for key in (
        *shown,
        "voice_goodbye",
        "voice_emergency",
        "voice_fault",
        "voice_summary",
        "store_down",
    ):
        if "{emergency}" not in messages[key]:
            raise r.fail(f"messages.{key}", "must give the emergency number: {emergency}")
    vocab = r.mapping(
        top["vocabulary"], "vocabulary", required=("yes", "no", "unsure"), optional=("hedge",)
    )
    commands = r.mapping(
        top["commands"],
        "commands",
        required=COMMANDS,
        optional=("thanks", "repeat", "forget", "callback"),
    )
    return (
        messages,
        {k: r.words(v, f"vocabulary.{k}") for k, v in vocab.items()},
        {k: r.words(v, f"commands.{k}") for k, v in commands.items()},
        r.words(top.get("carriers", []), "carriers"),
        r.words(top.get("subjects", []), "subjects"),
        _answer_leads(r, top.get("answer_leads", {}), vocab),
    )


UNITS = ("day", "hour", "minute", "second")
CHECKIN_ANSWERS = ("yes", "better", "same", "worse")


def _load_checkin(r: _Reader) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, ...]]]:
    """The check-in's words (messages.yaml): the delay's units and the answers it reads."""
    units = {}
    for unit, words in r.mapping(r.data.get("units", {}), "units", optional=UNITS).items():
        pair = r.words(words, f"units.{unit}")
        if len(pair) != 2:
            raise r.fail(f"units.{unit}", "should be two words: one, then more than one")
        units[unit] = (pair[0], pair[1])
    raw = r.mapping(r.data.get("checkin_answers", {}), "checkin_answers", optional=CHECKIN_ANSWERS)
    answers = {k: r.words(v, f"checkin_answers.{k}") for k, v in raw.items()}
    return units, answers


def _answer_leads(r: _Reader, raw, vocabulary) -> dict[str, tuple[str, ...]]:
    """Answer words that may lead into more: each must be a word of the answer it leads."""
    leads = r.mapping(raw, "answer_leads", optional=("yes", "no"))
    checked = {}
    for answer, words in leads.items():
        checked[answer] = r.words(words, f"answer_leads.{answer}")
        words = r.words(vocabulary[answer], "vocabulary")
        stray = [w for w in checked[answer] if w not in words]
        if stray:
            raise r.fail(f"answer_leads.{answer}", f"'{stray[0]}' is not in vocabulary.{answer}")
    return checked


def load(directory: Path | str = DEFAULT_DIR, today: date | None = None) -> Script:
    """Load and validate the content in a directory; raise ContentError on the first fault."""
    directory = Path(directory)
    readers = {stem: _Reader(directory, stem) for stem in FILES}
    outcomes, sources = _load_outcomes(readers["outcomes"])
    phrases, context, past_counts = _load_phrases(readers["phrases"])
    spelling, keep = _load_spelling(readers["phrases"])
    r = readers["script"]
    top = r.mapping(
        r.data,
        "file",
        required=("version", "name", "start", "questions"),
        optional=("safe_ending", "not_better"),
    )
    red_flags, asks = _load_red_flags(readers["red_flags"], phrases, outcomes, str(top["start"]))
    locales = _load_locales(readers["locales"])
    messages, vocabulary, commands, carriers, subjects, leads = _load_messages(readers["messages"])
    units, checkin_answers = _load_checkin(readers["messages"])
    raw_questions = r.mapping(top["questions"], "questions")
    questions = {qid: _load_question(r, qid, raw, phrases) for qid, raw in raw_questions.items()}
    clash = sorted(set(questions) & set(asks))
    if clash:
        raise r.fail(f"questions.{clash[0]}", "is the name of a red flag's check question")
    questions.update(asks)
    script = Script(
        version=str(top["version"]),
        name=r.text(top["name"], "name"),
        start=str(top["start"]),
        safe_ending=str(top.get("safe_ending", "unclear")),
        not_better=str(top.get("not_better", "")),
        questions=questions,
        outcomes=outcomes,
        red_flags=red_flags,
        phrases=phrases,
        locales=locales,
        messages=messages,
        vocabulary=vocabulary,
        commands=commands,
        sources=sources,
        spelling=spelling,
        keep=keep.union(*vocabulary.values(), *commands.values()),
        context=context,
        past_counts=past_counts,
        carriers=carriers,
        subjects=subjects,
        answer_leads=leads,
        units=units,
        checkin_answers=checkin_answers,
    )
    checks.check_graph(script)
    checks.check_budget(script)
    checks.check_examples(script)
    return checks.with_warnings(script, today or date.today())
