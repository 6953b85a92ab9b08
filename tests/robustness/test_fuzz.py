"""Property-based fuzzing: validly signed requests to every channel with random fields, values
and headers, and content files with random YAML.

Whatever a client sends, it never gets a 5xx, and every 200 is a well-formed reply within its
channel's limits. Whatever a content file holds, loading it either works or raises ContentError
naming the file and the place, never another exception. `make fuzz` runs many more examples.
"""

import json
import os
import re
import shutil
import string
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill import content
from skill.channels import alexa_model
from skill.content import loader
from tests.common import twilio_id
from tests.drivers import CHANNELS, Call

LONG = bool(os.environ.get("ROBUST_LONG"))
FUZZ = settings(
    max_examples=2000 if LONG else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a client can send: anything but lone surrogates, which no encoding on the wire carries.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
LONG_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=2500)
FIELD_NAME = st.from_regex(r"[A-Z][A-Za-z0-9]{0,15}", fullmatch=True)
HEADER_NAME = st.sampled_from(
    [
        "User-Agent",
        "I-Twilio-Idempotency-Token",
        "X-Forwarded-For",
        "X-Forwarded-Host",
        "X-Forwarded-Proto",
        "Accept",
        "Accept-Language",
        "X-Request-Id",
        "X-Home-Region",
    ]
)
# Header values travel as latin-1 without line breaks (those are tests/test_attacks.py's).
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


WORDS = st.one_of(
    LONG_TEXT,
    st.sampled_from(
        [
            "yes",
            "no",
            "not sure",
            "34",
            "1",
            "back",
            "more",
            "STOP",
            "START",
            "HELP",
            "restart",
            "?",
        ]
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def senders(script, channel):
    numbers = [
        f"{loc.dial_codes[0]}7700900123" for loc in script.locales.values() if loc.dial_codes
    ]
    ours = [f"whatsapp:{n}" for n in numbers] if channel.name == "whatsapp" else numbers
    return st.one_of(st.sampled_from(ours), st.just("whatsapp:US.ABC123"), TEXT)


def _noise(draw, call: Call) -> Call:
    """Unknown fields and headers of every sort, as Twilio adds them without notice."""
    call.form.update(draw(st.dictionaries(FIELD_NAME, TEXT, max_size=4)))
    call.headers = draw(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=3))
    return call


@st.composite
def texts(draw, channel, script):
    """One signed inbound SMS or WhatsApp message from one of a few senders."""
    sid = draw(st.one_of(st.just(None), TEXT))
    call = channel.call(draw(senders(script, channel)), draw(WORDS), delivery=sid)
    call.form["NumMedia"] = draw(st.sampled_from(["0", "1", "", "x", "99"]))
    return _noise(draw, call)


@st.composite
def call_steps(draw, channel, script):
    """One signed step of a call: any action query, speech, keys and confidence."""
    places = [*script.questions, *script.outcomes, "0", "1", "2", "999999", "1234567", "-1"]
    query = draw(
        st.dictionaries(
            st.sampled_from(["step", "q", "confirm", "end", "noinput"]),
            st.sampled_from(places) | TEXT,
            max_size=4,
        )
    )
    path = draw(st.sampled_from([channel.path, f"{channel.path}/status"]))
    call = channel.call(
        draw(senders(script, channel)),
        draw(WORDS),
        delivery=draw(st.sampled_from(CALLS) | TEXT),
        path=path + (f"?{urlencode(query)}" if query else ""),
    )
    call.form["Digits"] = draw(st.sampled_from(["", "1", "2", "3", "#", "12", "*"]) | TEXT)
    call.form["Confidence"] = draw(st.sampled_from(["0.1", "0.93", "", "x", "NaN", "inf"]))
    call.form["CallStatus"] = draw(st.sampled_from(["in-progress", "completed", "busy"]) | TEXT)
    return _noise(draw, call)


@st.composite
def alexa_requests(draw, channel, script):
    """One signed Alexa request: any type, intent, slots and locale, and stray fields."""
    names = [
        *alexa_model.WORD_INTENTS,
        alexa_model.CHOICE_INTENT,
        alexa_model.NUMBER_INTENT,
        alexa_model.FREE_TEXT_INTENT,
    ]
    slot = st.fixed_dictionaries({"name": TEXT, "value": WORDS}) | JSON
    intent = st.fixed_dictionaries(
        {"name": st.sampled_from(names) | TEXT}, optional={"slots": st.dictionaries(TEXT, slot)}
    )
    kinds = ["LaunchRequest", "IntentRequest", "SessionEndedRequest", "Display.ElementSelected"]
    request = {"type": draw(st.sampled_from(kinds) | TEXT), "intent": draw(intent | JSON)}
    locale = draw(st.sampled_from([*script.locales, "de-DE", ""]) | TEXT)
    stray = draw(
        st.dictionaries(st.sampled_from(["session", "context", "version", "x"]), JSON, max_size=1)
    )
    session = draw(st.sampled_from(["amzn1.echo-api.session.1", "s2"]) | TEXT)
    return channel.call(session, request, locale=locale, extra=stray)


CALLS = [twilio_id("CA", "1"), twilio_id("CA", "2"), "CA1"]  # two calls and a malformed id


@st.composite
def web_calls(draw, channel, script):
    """One web chat call: a start or a message, with good, odd or missing fields."""
    token = draw(st.sampled_from(["t" * 32, "web-token-0123456789abcdef"]) | TEXT)
    call = channel.call(token, draw(st.none() | WORDS), delivery=draw(TEXT | st.just("1")))
    body = json.loads(call.body)
    body.update(
        draw(st.dictionaries(st.sampled_from(["token", "id", "text", "x"]), JSON, max_size=2))
    )
    call.body = json.dumps(draw(st.just(body) | JSON)).encode()
    call.headers = draw(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=3))
    return call


REQUESTS = {
    "sms": texts,
    "whatsapp": texts,
    "voice": call_steps,
    "alexa": alexa_requests,
    "web": web_calls,
}


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_signed_random_requests_never_break_the_webhook(app, client, script, channel):
    channel.prepare(app)

    @FUZZ
    @given(st.lists(REQUESTS[channel.name](channel, script), min_size=1, max_size=4))
    def conversation(calls: list[Call]):
        for call in calls:
            response = call.to_client(client)
            assert response.status_code in (200, 400), response.status_code
            if response.status_code == 200:
                channel.check(response)

    conversation()


# Content files


def mutations(data):
    """Every place in a YAML tree, as a path of keys and indexes."""
    yield ()
    if isinstance(data, dict):
        for key, value in data.items():
            yield from ((key, *rest) for rest in mutations(value))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from ((i, *rest) for rest in mutations(value))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.dates(),
    st.datetimes(),
    st.text(string.printable, max_size=12),
    st.sampled_from(
        [
            "yes",
            "no",
            "emergency",
            "{emergency}",
            "{emergency!z}",
            "{",
            "(",
            "+44",
            "unclear",
            "a{4294967296}",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(string.ascii_lowercase, max_size=6), inner, max_size=3),
    ),
    max_leaves=8,
)


def _replace_at(data, path, value, delete: bool):
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@st.composite
def broken_files(draw):
    """A content file with one place replaced or deleted, or the whole file made up."""
    stem = draw(st.sampled_from(loader.FILES))
    original = (content.DEFAULT_DIR / f"{stem}.yaml").read_text(encoding="utf-8")
    kind = draw(st.sampled_from(["replace", "delete", "whole", "text", "bytes"]))
    if kind == "bytes":  # not necessarily UTF-8
        return stem, draw(st.binary(max_size=200))
    if kind == "text":  # not necessarily YAML
        return stem, draw(st.text(max_size=200)).encode()
    if kind == "whole":
        return stem, yaml.safe_dump(draw(VALUES)).encode()
    data = yaml.load(original, Loader=loader._YamlLoader)
    places = [p for p in mutations(data) if p or kind == "replace"]
    # A depth first, then a place at it: the few places near the top matter as much as the
    # many leaves.
    depth = draw(st.sampled_from(sorted({len(p) for p in places})))
    path = draw(st.sampled_from([p for p in places if len(p) == depth]))
    changed = _replace_at(data, path, draw(VALUES), delete=kind == "delete")
    return stem, yaml.safe_dump(changed, allow_unicode=True).encode()


@FUZZ
@given(broken_files())
def test_any_content_file_loads_or_names_file_and_place(broken):
    stem, data = broken
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(content.DEFAULT_DIR, folder, dirs_exist_ok=True)
        Path(folder, f"{stem}.yaml").write_bytes(data)
        try:
            content.load(folder)
        except content.ContentError as err:
            assert err.file.startswith("content/") and err.file.endswith(".yaml")
            assert err.place and err.fault


# What the fuzzing found, kept as plain cases: each once raised TypeError, ValueError or
# OverflowError from deep inside the loader, or loaded and would have failed when used.
FOUND = [
    ("outcomes", "source: [seed, clinical]", "source: [{seed: 1}]", "outcomes.", ".source"),
    (
        "red_flags",
        "outcome: fracture_or_dislocation",
        "outcome: {a: 1}",
        "red_flags[0]",
        ".outcome",
    ),
    (
        "script",
        "- {max: ",
        "- {max: x",  # the first range's max made a word
        "questions.",
        "ranges[0].max",
    ),
    ("script", "    min: 1\n", "    min: [1]\n", "questions.", ".min"),
    ("script", "    options:\n", "    options: 3\n    voice:\n", "questions.", ".options"),
    ("outcomes", "reviewed: 2026-11-26", "reviewed: 2026-11-26 10:00:00", "outcomes.", ".reviewed"),
    ("outcomes", "review_due: 2027-11-26", "review_due: 2027-02-30", "file", ""),
    # The first placeholder of any message (not one message's wording) made unreadable.
    ("messages", "{emergency}", "{emergency", "messages.", ""),
    ("messages", "{name}", "{name!z}", "messages.", ""),
    ("phrases", "  fall:\n", "  fall:\n    - 'a{4294967296}'\n", "phrases.fall[0]", ""),
]


@pytest.mark.parametrize("case", FOUND, ids=lambda c: f"{c[0]}:{c[2][:24]}")
def test_faults_the_fuzzer_found_are_named_with_file_and_place(tmp_path, case):
    stem, old, new, starts, ends = case
    shutil.copytree(content.DEFAULT_DIR, tmp_path, dirs_exist_ok=True)
    path = tmp_path / f"{stem}.yaml"
    text = path.read_text(encoding="utf-8")
    start = re.search(r"^[^#\n]", text, re.M).start()  # past the header, which names them too
    assert old in text[start:]
    path.write_text(text[:start] + text[start:].replace(old, new, 1), encoding="utf-8")
    with pytest.raises(content.ContentError) as err:
        content.load(tmp_path)
    assert err.value.file == f"content/{stem}.yaml"
    assert err.value.place.startswith(starts) and err.value.place.endswith(ends), err.value


def test_a_content_file_that_is_not_utf8_is_named(tmp_path):
    shutil.copytree(content.DEFAULT_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "locales.yaml").write_bytes(b"locales:\n  en: \xff\xfe\n")
    with pytest.raises(content.ContentError, match="cannot be read") as err:
        content.load(tmp_path)
    assert (err.value.file, err.value.place) == ("content/locales.yaml", "file")
