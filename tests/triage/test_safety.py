"""The controls in the hazard log (docs/clinical-safety.md), each shown working as a user
would notice: the advice given, the number to call, the question asked next."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from skill import content
from skill.__main__ import main
from skill.config import Settings
from skill.content import Level
from skill.safety import vignettes
from skill.service import Inbound, Triage
from skill.stores.sqlite import SQLiteStore
from skill.triage import engine, understand
from tests.common import ROOT, message_text

HAZARD_LOG = ROOT / "docs" / "clinical-safety.md"
DAY = 86400.0
# A runner with outer hip bursitis: every answer on the way is a safe one.
BENIGN = {"age": 45, "bear_weight": True, "location": "outer_hip", "lying_on_side_hurts": True}


def converse(script, messages, locale="en-GB", gap=1.0):
    """Send messages one after another; return every reply."""
    state, replies = None, []
    for i, message in enumerate(messages):
        state, reply = engine.step(script, state, message, i * gap, locale=locale, ttl_seconds=DAY)
        replies.append(reply)
    return replies


def benign_path(script):
    """The questions a runner with BENIGN facts is asked, with their answers, in order."""
    case = {"id": "B", "opening": "my hip hurts", "facts": BENIGN}
    replies = list(vignettes.play(script, case))
    asked = [r.question.id for r in replies if r.question]
    return [(q, vignettes.answer_for(script.questions[q], BENIGN)) for q in asked]


def max_level(script, node, seen=()):
    """The highest advice reachable from a question or outcome."""
    if node in script.outcomes:
        return script.outcomes[node].level
    return max(max_level(script, t, (*seen, node)) for t in script.questions[node].targets())


# ---------------------------------------------------------------- missed red flag

STATED_RED_FLAGS = {
    "fell over and now i cant stand up": "fracture_or_dislocation",
    "can't stand after a fall": "fracture_or_dislocation",
    "foot is pointing outwards after i fell": "fracture_or_dislocation",
    "feel feverish and my hip hurts": "joint_infection",
    "38.5 degrees and hip pain": "joint_infection",
    "39c and a sore hip": "joint_infection",
    "temp 39 and my hip aches": "joint_infection",
    "hip is red and hot": "joint_infection",
    "trouble peeing since the run": "cauda_equina",
    "both my legs feel numb": "cauda_equina",
    "cant feel my bum": "cauda_equina",
    "my leg has gone cold and blue": "circulation_problem",
    "my leg isn't cold but pale": "circulation_problem",
    "unable to walk on it": "cannot_bear_weight",
    "groin hurts when walking now": "stress_fracture",
    "lost weight without trying": "possible_serious_cause",
    "hit the deck on black ice, can't get up": "fracture_or_dislocation",
    "the pain is excruciating": "severe_pain",
    "keeps getting worse": "severe_pain",
}


@pytest.mark.parametrize("message", STATED_RED_FLAGS)
def test_a_red_flag_in_the_opening_gets_its_advice_at_once(script, message):
    reply = converse(script, [message])[0]
    assert reply.outcome.id == STATED_RED_FLAGS[message]
    assert reply.question is None


@pytest.mark.parametrize(
    ("message", "flag"),
    [
        ("not sure if i have a fever", "joint_infection"),
        ("numb bum from the bike saddle yesterday, hip aches on runs", "cauda_equina"),
    ],
)
def test_a_hedged_or_passing_red_flag_is_checked_and_only_a_clear_answer_goes_on(
    script, message, flag
):
    check = next(f for f in script.red_flags if f.id == flag)
    first = converse(script, [message])[0]
    assert first.question.id == check.check and first.outcome is None
    for answer in ("not sure", "possibly", "purple", "yes"):
        assert converse(script, [message, answer])[-1].outcome.id == check.outcome, answer
    goes_on = converse(script, [message, check.rules_out])[-1]
    assert goes_on.outcome is None and goes_on.question.id == script.start


PATH = benign_path(content.load())


@pytest.mark.parametrize("at", range(len(PATH)), ids=[q for q, _ in PATH])
def test_a_red_flag_typed_at_any_question_gets_its_advice(script, at):
    answers = [a for _, a in PATH[:at]]
    reply = converse(script, ["my hip hurts", *answers, "my leg has gone cold and pale"])[-1]
    assert reply.outcome.id == "circulation_problem"
    assert "999" in reply.text


def test_a_red_flag_after_self_care_advice_raises_it(script):
    answers = [a for _, a in PATH]
    replies = converse(script, ["my hip hurts", *answers, "now i feel feverish and shivery"])
    assert replies[-2].outcome.level == "self_care"
    assert replies[-1].outcome.id == "joint_infection" and "A&E" in replies[-1].text


def test_free_text_only_ever_answers_a_safety_question_with_the_risky_answer(script):
    urgent = Level.CONSULTATION_24
    for q in script.questions.values():
        leads = [script.outcomes[t].level for t in q.edges.values() if t in script.outcomes]
        if q.type != "yes_no" or not any(lv >= urgent for lv in leads):
            continue  # not a safety question
        top = max(max_level(script, t) for t in q.edges.values())
        for value, _ in q.detect:
            assert max_level(script, q.edges[value]) == top, q.id


# ---------------------------------------------------------------- negation

NEGATED = [
    "no fever",
    "no fever or chills",
    "i don't have a temperature",
    "not feeling unwell",
    "didn't fall",
    "no, I didn't fall",
    "haven't had a fall or anything",
    "can walk fine",
    "no numbness",
    "no problems with my bladder or bowels",
    "never had cancer",
    "not severe",
    "leg is not cold",
    "no weakness",
    "without any fever",
    "neither fever nor shivers",
    "i've lost weight on purpose dieting",
    "I'm not in agony",
]


@pytest.mark.parametrize("message", NEGATED)
def test_a_denied_red_flag_does_not_fire_and_the_questions_go_on(script, message):
    reply = converse(script, [f"{message}. my outer hip hurts"])[0]
    assert reply.outcome is None
    assert reply.question.id == script.start


# ---------------------------------------------------------------- misread yes, no or free text


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("yes", "yes"),
        ("Yeah it does", "yes"),
        ("yse", "yes"),
        ("yesss", "yes"),
        ("no", "no"),
        ("Nope.", "no"),
        ("noo", "no"),
        ("nah", "no"),
        ("dunno", "unsure"),
        ("sort of", "unsure"),
        ("no idea", "unsure"),
        ("not sure", "unsure"),
    ],
)
def test_yes_no_replies_are_read_as_meant(script, reply, value):
    question = script.questions["click"]
    assert understand.read_answer(script, question, understand.read(script, reply)) == value


def test_unsure_answers_take_the_branch_with_the_higher_advice(script):
    for q in script.questions.values():
        if q.unsure is None or q.checks:
            continue  # a check's rules-out answer goes back to the script where it was
        others = [max_level(script, t) for t in q.edges.values()]
        assert max_level(script, q.edges[q.unsure]) == max(others), q.id


def test_dunno_to_a_red_flag_question_gets_the_red_flag_advice(script):
    replies = converse(script, ["my hip hurts", "no", "yes", "dunno"])
    assert replies[2].question.id == "fever"
    assert replies[3].outcome.id == "joint_infection"


def test_three_unreadable_replies_end_with_safe_advice(script):
    replies = converse(script, ["my hip hurts", "purple", "banana", "42 llamas"])
    assert [r.question.id for r in replies[:3]] == [script.start] * 3
    assert message_text(script, "not_understood") in replies[1].text
    final = replies[3]
    assert final.outcome.id == script.safe_ending and final.outcome.level == "consultation"
    assert message_text(script, "safe_ending") in final.text
    assert script.fill(script.outcomes[script.safe_ending].short, "en-GB") in final.text


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("cant stnad up", "cant stand up"),
        ("numbnes", "numbness"),
        ("fevr", "fever"),
        ("swolen", "swollen"),
        ("excrutiating", "excruciating"),
        ("severly", "severely"),
    ],
)
def test_typos_of_key_words_are_read_as_meant(script, typed, read):
    assert understand.read(script, typed) == read


@pytest.mark.parametrize(
    "text",
    [
        "fewer runs",
        "i play bowls",
        "been looking into it",
        "doing stuff",
        "cancel",
        "tripled my mileage",
        "the severity is low",
        "coaching sessions",
        "stop",
        "my grown up son",
        "unreadable",
        "i need a fiver",
    ],
)
def test_real_words_near_key_words_stay_as_typed(script, text):
    assert understand.read(script, text) == text


def test_a_word_both_corrected_and_kept_is_a_content_fault(tmp_path):
    folder = tmp_path / "content"
    shutil.copytree(content.DEFAULT_DIR, folder)
    phrases = folder / "phrases.yaml"
    phrases.write_text(phrases.read_text().replace("keep: [fewer,", "keep: [fever, fewer,"))
    with pytest.raises(content.ContentError, match="spelling: fever both a word and kept"):
        content.load(folder)


# ---------------------------------------------------------------- wrong locale number


@pytest.mark.parametrize(
    ("locale", "number", "never"),
    [
        ("en-GB", "999", "911"),
        ("en-US", "911", "999"),
        ("en-AU", "000", "999"),
        ("en-NZ", "111", "999"),
        ("en-IE", "112 or 999", "911"),
        ("fr-FR", "112 or your local emergency number", "999"),
    ],
)
def test_emergency_advice_gives_the_number_for_the_runners_country(script, locale, number, never):
    intro, *_ = converse(script, ["hi"], locale=locale)
    advice = converse(script, ["fell over and can't get up, leg looks shorter"], locale=locale)[0]
    for reply in (intro, advice):
        assert number in reply.text and never not in reply.text
    assert advice.outcome.level == "emergency_ambulance"


def test_no_phone_number_is_written_into_advice_or_questions():
    for name in ("outcomes", "script", "messages"):
        text = (content.DEFAULT_DIR / f"{name}.yaml").read_text()
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert not re.search(r"\b(999|911|000|111|112|0800|1800)\b", body), name


# ---------------------------------------------------------------- someone else, under-16


@pytest.mark.parametrize(
    ("opening", "age"),
    [
        ("my son is 14 and his hip hurts", "14"),
        ("texting for my husband, he's 71", "71"),
        ("my daughter, she's 12, has a sore hip", "12"),
        ("she is fifteen", "15"),
    ],
)
def test_the_age_of_the_person_with_the_pain_is_read_from_a_message_about_them(
    script, opening, age
):
    assert understand.detect(script, understand.read(script, opening))["age"] == age


def test_the_age_question_asks_about_the_person_with_the_pain(script):
    assert "person with the hip pain" in script.questions["age"].text


@pytest.mark.parametrize("age", [1, 10, 13, 15, 16])
def test_under_16s_are_routed_out_of_the_adult_script(script, age):
    facts = {"age": age, "bear_weight": True, "location": "outer_hip"}
    result = vignettes.run(
        script, {"id": "C", "opening": "sore hip", "facts": facts, "accept": ["consultation_24"]}
    )
    assert result.condition == "under_16" and result.level == "consultation_24"
    assert "location" not in result.asked


def test_a_17_year_old_goes_on_with_the_adult_script(script):
    facts = {**BENIGN, "age": 17}
    result = vignettes.run(
        script, {"id": "A", "opening": "sore hip", "facts": facts, "accept": ["self_care"]}
    )
    assert result.condition == "trochanteric_bursitis" and "history" in result.asked


# ---------------------------------------------------------------- delayed SMS, duplicates


def test_a_reply_after_the_conversation_expired_starts_again_with_the_emergency_number(script):
    replies = converse(script, ["my hip hurts", "no"], gap=2 * DAY)
    late = replies[1]
    assert message_text(script, "expired") in late.text and "999" in late.text
    assert late.question.id == script.start  # "no" is not taken as an answer to a stale question


def test_a_repeated_delivery_gets_the_same_reply_and_advances_once(script, tmp_path):
    settings = Settings(state_url=f"sqlite:///{tmp_path / 'state.db'}", state_secret="s")
    triage = Triage(script, SQLiteStore(tmp_path / "state.db"), settings, clock=lambda: 1000.0)

    def send(message, delivery):
        inbound = Inbound("sms", "+447700900123", message, delivery)
        return triage.converse(inbound, lambda script, reply: reply.question.id).body

    assert send("my hip hurts", "SM1") == "fall"
    assert send("no", "SM2") == "bear_weight"
    assert send("no", "SM2") == "bear_weight"  # Twilio's retry: same answer, no second step
    assert send("yes", "SM3") == "fever"


# ---------------------------------------------------------------- content past review date


def past_due_content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(content.DEFAULT_DIR, folder)
    outcomes = folder / "outcomes.yaml"
    text = outcomes.read_text()
    due = re.search(r"(joint_infection:.*?review_due: )(\d{4}-\d\d-\d\d)", text, re.S)
    past = (date.today() - timedelta(days=1)).isoformat()
    outcomes.write_text(text[: due.start(2)] + past + text[due.end(2) :])
    return folder


def test_check_warns_about_advice_past_its_review_date(tmp_path, capsys):
    assert main(["check", str(past_due_content(tmp_path))]) == 0
    err = capsys.readouterr().err
    assert "warning: content/outcomes.yaml: outcomes.joint_infection: review was due" in err


def test_strict_check_fails_on_advice_past_its_review_date(tmp_path, capsys):
    assert main(["check", str(past_due_content(tmp_path)), "--strict"]) == 1
    assert "outcomes.joint_infection" in capsys.readouterr().err
    assert main(["check", "--strict"]) == 0  # the content as shipped is in date


# ---------------------------------------------------------------- the hazard log itself

TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")


def test_every_test_the_hazard_log_names_exists():
    log = HAZARD_LOG.read_text()
    named = TEST_ID.findall(log)
    assert len({name for _, name in named}) >= 20
    for hazard in (
        "missed red flag",
        "negated red flag",
        "yes or no",
        "locale number",
        "another person",
        "under-16",
        "delayed or lost sms",
        "duplicate delivery",
        "store outage",
        "review date",
    ):
        assert hazard in log.lower(), hazard
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).exists()
        or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)
    ]
    assert missing == []
