"""Reading what runners mean (issue 12): each example message behaves as described, asserted
on levels, outcome ids and question ids, never on wording."""

from __future__ import annotations

import shutil

import pytest

from skill import content
from skill.__main__ import main
from skill.content import Level
from skill.safety import vignettes
from skill.triage import engine, understand

DAY = 86400.0
SELF_CARE_PATH = {"age": 45, "bear_weight": True, "location": "outer_hip"}


def converse(script, messages, locale="en-GB"):
    """Send messages in turn; return the last state and every reply."""
    state, replies = None, []
    for i, message in enumerate(messages):
        state, reply = engine.step(script, state, message, float(i), locale=locale, ttl_seconds=DAY)
        replies.append(reply)
    return state, replies


def first(script, message):
    return converse(script, [message])[1][0]


def check_of(script, flag_id):
    return next(f for f in script.red_flags if f.id == flag_id)


# ---------------------------------------------------------------- words out of context


@pytest.mark.parametrize(
    "message",
    [
        "I can't stand hill repeats but my outer hip is only a bit sore",
        "my mate couldn't put weight on his leg after parkrun, mine is just stiff",
        "my sister had bone cancer, my outer hip aches after runs",
        "I had a fever last month but that's long gone, now just an outer hip ache",
        "couldn't walk for a day after my marathon in May, fine now",
        "one leg has been shorter since I was a child, outer hip aches on long runs",
    ],
)
def test_a_red_flag_word_out_of_context_does_not_escalate_and_the_script_asks(script, message):
    reply = first(script, message)
    assert reply.outcome is None
    assert reply.question.id == script.start  # the script itself asks about every red flag


@pytest.mark.parametrize(
    "message",
    [
        "my mate couldn't put weight on his leg after parkrun, mine is just stiff",
        "couldn't walk for a day after my marathon in May, fine now",
        "I had a fever last month but that's long gone, now just an outer hip ache",
    ],
)
def test_a_mention_set_aside_answers_no_question_for_the_runner(script, message):
    known = understand.detect(script, understand.read(script, message))
    assert not {"bear_weight", "fall_weight", "fever"} & set(known)


def test_set_aside_red_flags_end_in_self_care_when_the_runner_is_well(script):
    opening = "I can't stand hill repeats but my outer hip is only a bit sore"
    facts = {**SELF_CARE_PATH, "snap_pop_outer": True}
    case = {"id": "I", "opening": opening, "facts": facts, "accept": ["self_care"]}
    assert vignettes.run(script, case).level == Level.SELF_CARE


def test_explained_and_passing_gets_one_clarifying_question(script):
    flag = check_of(script, "cauda_equina")
    opening = "numb bum from the bike saddle yesterday, hip aches on runs"
    reply = first(script, opening)
    assert reply.question.id == flag.check and reply.outcome is None
    _, replies = converse(script, [opening, flag.rules_out])
    assert replies[-1].question.id == script.start
    _, replies = converse(script, [opening, "yes"])
    assert replies[-1].outcome.id == "cauda_equina"


def test_a_past_cancer_counts_even_when_it_is_over(script):
    reply = first(script, "I had cancer years ago but it's gone now, hip aches at night")
    assert reply.outcome.id == "possible_serious_cause"


@pytest.mark.parametrize(
    "message",
    [
        "I can't walk, it hasn't eased at all",
        "fever last month, long gone, but now I can't put weight on it",
        "I've always been fit but now my leg has gone cold and pale",
    ],
)
def test_context_words_reach_only_the_mention_they_belong_to(script, message):
    assert first(script, message).outcome.level >= Level.EMERGENCY


def test_still_there_is_not_passing(script):
    reply = first(script, "numb bum from the bike saddle yesterday and it's still numb today")
    assert reply.outcome.id == "cauda_equina"


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        (
            "Texting for my husband, he's 71, tripped on his run and can't get up off the floor",
            "fracture_or_dislocation",
        ),
        (
            "I'm texting for my husband, he fell off a ladder and can't put any weight on his leg",
            "fracture_or_dislocation",
        ),
        ("My mate's hip is hot red and swolen and he's been shivery all day", "joint_infection"),
        (
            "my mum is 68, her hip is red hot and swollen and she feels really unwell",
            "joint_infection",
        ),
        ("he can't stand up, I'm his wife, my hip is fine", "cannot_bear_weight"),
    ],
)
def test_a_message_for_someone_else_is_read_as_theirs(script, message, outcome):
    assert first(script, message).outcome.id == outcome


def test_the_weak_check_question_and_examples_are_content(script):
    for flag in script.red_flags:
        check = script.questions[flag.check]
        assert check.type == "yes_no" and check.checks == flag.id
        assert flag.examples and flag.not_
        for message in flag.examples:
            reply = first(script, message)
            assert reply.outcome.level >= script.outcomes[flag.outcome].level, message


# ---------------------------------------------------------------- answers with more in them


@pytest.mark.parametrize(
    ("opening", "answers", "last", "outcome"),
    [
        ("hip ache, I'm 53", ["no", "yes", "no"], "no but my legs are both numb", "cauda_equina"),
        ("hip ache, I'm 53", ["no", "yes"], "no but I feel a bit rough", "joint_infection"),
        (
            "hip hurts",
            ["yes, I fell"],
            "nah, I can't put any weight on it",
            "fracture_or_dislocation",
        ),
        (
            "sore hip",
            [],
            "nah, I came down hard on that side on a trail, now I can't get up",
            "fracture_or_dislocation",
        ),
    ],
)
def test_the_whole_answer_and_the_whole_conversation_are_read(
    script, opening, answers, last, outcome
):
    _, replies = converse(script, [opening, *answers, last])
    assert replies[-1].outcome.id == outcome


def test_the_higher_of_a_red_flag_and_the_answers_own_destination_wins(script):
    # "no" to "since then, can you stand?" leads to the fracture route (ambulance); the red flag
    # in the same words, cannot bear weight, is only A&E.
    _, replies = converse(script, ["hip hurts", "yes", "no, I can't put weight on it"])
    assert replies[-1].outcome.level == Level.EMERGENCY_AMBULANCE


def test_facts_in_an_answer_that_could_not_be_read_are_kept(script):
    state, replies = converse(
        script, ["hip hurts", "no", "yes", "no", "no", "oh the outside of my hip, I'm 44"]
    )
    assert replies[-1].question.id == "circulation"  # its answer is still wanted
    assert state["known"].get("age") == "44" and state["known"].get("location") == "outer_hip"
    _, reply = engine.step(script, state, "no", 9.0, locale="en-GB", ttl_seconds=DAY)
    assert reply.question.id == "history"  # the age is not asked again


# ---------------------------------------------------------------- answer forms


@pytest.mark.parametrize("answer", ["can't", "cant", "cannot", "barely", "hardly"])
def test_cannot_and_barely_are_read_as_not_standing(script, answer):
    _, replies = converse(script, ["hip hurts", "no", answer])
    assert replies[-1].outcome.id == "cannot_bear_weight"


@pytest.mark.parametrize("answer", ["barely", "hardly", "I can barely"])
def test_barely_standing_after_a_fall_is_the_fracture_route(script, answer):
    _, replies = converse(script, ["hip hurts", "yes", answer])
    assert replies[-1].outcome.id == "fracture_or_dislocation"


@pytest.mark.parametrize(
    ("question", "path"),
    [
        ("fall_weight", ["yes"]),
        ("bear_weight", ["no"]),
        ("fever", ["no", "yes"]),
        ("nerves", ["no", "yes", "no"]),
    ],
)
def test_the_safe_ending_is_never_lower_than_the_questions_unsure_branch(script, question, path):
    _, replies = converse(script, ["hip hurts", *path, "purple", "banana", "???"])
    asked = script.questions[question]
    assert replies[-4].question.id == question
    unsure = script.outcomes[asked.edges[asked.unsure]]
    assert replies[-1].ended and replies[-1].outcome.level >= unsure.level


@pytest.mark.parametrize(
    "opening",
    [
        "came down hard on that side on a trail and now I can't get up",
        "hit the deck on black ice, can't get up",
        "wiped out on the ice and can't get up",
    ],
)
def test_falls_in_other_words_are_falls(script, opening):
    reply = first(script, opening)
    assert reply.outcome.id == "fracture_or_dislocation"
    assert reply.outcome.level == Level.EMERGENCY_AMBULANCE


@pytest.mark.parametrize(("said", "age"), [("34yo", 34), ("50ish", 50), ("in my 40s", 40)])
def test_ages_as_people_write_them(script, said, age):
    question = script.questions["age"]
    assert understand.read_answer(script, question, understand.read(script, said)) == str(age)
    if " " in said:
        assert understand.detect(script, understand.read(script, said))["age"] == str(age)


def test_inner_thigh_is_not_the_outer_thigh(script):
    question = script.questions["location"]
    value = understand.read_answer(script, question, understand.read(script, "inner thigh"))
    assert value != "outer_thigh_to_knee"
    assert script.questions[question.edges[value]].id == question.edges["front_groin"]


@pytest.mark.parametrize(
    "opening",
    [
        "I'm 16 and my hip and knee hurt, I've been limping",
        "my son is sixteen and his hip hurts when he runs",
    ],
)
def test_a_16_year_old_gets_the_under_16_advice(script, opening):
    case = {
        "id": "A",
        "opening": opening,
        "facts": {"bear_weight": True, "age": 16},
        "accept": ["consultation_24"],
    }
    assert vignettes.run(script, case).condition == "under_16"


@pytest.mark.parametrize(
    ("question", "path", "hedge", "then", "outcome"),
    [
        ("fever", ["no", "yes"], "possibly", "possibly", "joint_infection"),
        ("nerves", ["no", "yes", "no"], "possibly", "maybe", "cauda_equina"),
        ("fever", ["no", "yes"], "not as far as I know", "reckon so", "joint_infection"),
        ("circulation", ["no", "yes", "no", "no"], "doubt it", "i think so", "circulation_problem"),
    ],
)
def test_a_hedge_to_a_red_flag_question_is_asked_once_more_then_moves_up(
    script, question, path, hedge, then, outcome
):
    _, replies = converse(script, ["hip hurts", *path, hedge])
    assert replies[-1].question.id == question and replies[-1].outcome is None
    assert script.questions[question].why in replies[-1].text
    _, replies = converse(script, ["hip hurts", *path, hedge, then])
    assert replies[-1].outcome.id == outcome


def test_a_clear_no_after_a_hedge_goes_on(script):
    _, replies = converse(script, ["hip hurts", "no", "yes", "not as far as I know", "no"])
    assert replies[-2].question.id == "fever" and replies[-1].question.id == "nerves"


@pytest.mark.parametrize(
    ("said", "value"), [("yh", "yes"), ("nay", "no"), ("reckon so", "hedge"), ("doubt it", "hedge")]
)
def test_short_and_hedged_answers_are_read(script, said, value):
    question = script.questions["fever"]
    assert understand.read_answer(script, question, understand.read(script, said)) == value


# ---------------------------------------------------------------- after the advice


@pytest.mark.parametrize("message", ["thanks", "how long till I can run?"])
def test_after_the_advice_a_thanks_or_a_question_gets_one_line(script, message):
    case = {
        "id": "S",
        "opening": "outer hip hurts when I lie on it, I'm 52",
        "facts": {**SELF_CARE_PATH, "lying_on_side_hurts": True},
    }
    replies = list(vignettes.play(script, case))
    answers = [vignettes.answer_for(r.question, case["facts"]) for r in replies if r.question]
    state, done = converse(script, [case["opening"], *answers])
    advice = done[-1]
    assert advice.outcome.level == Level.SELF_CARE
    _, reply = engine.step(script, state, message, 99.0, locale="en-GB", ttl_seconds=DAY)
    assert advice.outcome.short.split(".")[0] not in reply.text
    assert len(reply.text.splitlines()) == 1
    for word in (*script.commands["more"][:1], *script.commands["restart"][:1]):
        assert word.upper() in reply.text
    _, flagged = engine.step(
        script, state, "now my leg is cold and blue", 99.0, locale="en-GB", ttl_seconds=DAY
    )
    assert flagged.outcome.id == "circulation_problem"


def test_a_weak_red_flag_after_the_advice_is_checked_and_a_clear_no_keeps_the_advice(script):
    case = {
        "id": "S",
        "opening": "outer hip hurts when I lie on it, I'm 52",
        "facts": {**SELF_CARE_PATH, "lying_on_side_hurts": True},
    }
    answers = [
        vignettes.answer_for(r.question, case["facts"])
        for r in vignettes.play(script, case)
        if r.question
    ]
    state, replies = converse(script, [case["opening"], *answers])
    given = replies[-1].outcome
    flag = check_of(script, "joint_infection")
    state, asked = engine.step(
        script, state, "I might have a bit of a temperature", 50.0, locale="en-GB", ttl_seconds=DAY
    )
    assert asked.question.id == flag.check
    _, kept = engine.step(script, state, flag.rules_out, 51.0, locale="en-GB", ttl_seconds=DAY)
    assert kept.outcome == given and not kept.reached
    _, raised = engine.step(script, state, "not sure", 51.0, locale="en-GB", ttl_seconds=DAY)
    assert raised.outcome.id == flag.outcome and raised.reached


# ---------------------------------------------------------------- clinicians' examples


def test_a_red_flag_example_that_does_not_fire_fails_the_check_naming_flag_and_example(
    tmp_path, capsys
):
    folder = tmp_path / "content"
    shutil.copytree(content.DEFAULT_DIR, folder)
    flags = folder / "red_flags.yaml"
    example = '      - "unable to walk on it"\n'
    flags.write_text(flags.read_text().replace(example, example + '      - "my hip is fine"\n'))
    assert main(["check", str(folder)]) == 1
    fault = capsys.readouterr().err
    assert "red_flags.yaml" in fault and "(cannot_bear_weight).examples: 'my hip is fine'" in fault


def test_a_not_example_that_fires_fails_loading(tmp_path):
    folder = tmp_path / "content"
    shutil.copytree(content.DEFAULT_DIR, folder)
    phrases = folder / "phrases.yaml"
    text = phrases.read_text()
    start = text.index("  idiom:\n")
    end = text.index("  other_person:\n")
    phrases.write_text(text[:start] + text[end:])  # the idioms removed
    fault = r"red_flags\[\d\] \(\w+\)\.not: '.*' raises it at once, but it should not"
    with pytest.raises(content.ContentError, match=fault):
        content.load(folder)
