"""The engine as a user meets it: first words, red flags, free text, commands, safe endings."""

import pytest

from skill.content import sms
from skill.triage import engine
from tests.common import message_text

DAY = 86400


def talk(script, *messages, locale="en-GB", state=None, now=0.0):
    """Send messages in turn; return the last state and every reply."""
    replies = []
    for message in messages:
        state, reply = engine.step(script, state, message, now, locale=locale, ttl_seconds=DAY)
        replies.append(reply)
    return state, replies


@pytest.mark.parametrize(
    "locale,number", [("en-GB", "999"), ("en-US", "911"), ("en-AU", "000"), ("en-NZ", "111")]
)
def test_first_reply_says_what_it_is_and_the_emergency_number(script, locale, number):
    _, [reply] = talk(script, "hi", locale=locale)
    assert message_text(script, "intro", locale) in reply.text
    assert number in reply.text
    assert reply.question.id == script.start
    assert sms.segments(reply.text) <= 2


def test_red_flag_in_the_opening_ends_with_its_escalation(script):
    _, [reply] = talk(script, "I fell and now I can't stand up, my foot is turned out")
    assert reply.ended and reply.outcome.id == "fracture_or_dislocation"
    assert reply.outcome.level == "emergency_ambulance"
    assert "999" in reply.text


@pytest.mark.parametrize("answers", [[], ["no"], ["no", "yes"], ["no", "yes", "no", "no"]])
def test_red_flag_typed_instead_of_an_answer_escalates_at_any_step(script, answers):
    _, replies = talk(script, "hip hurts", *answers, "not sure, I feel shivery and hot")
    assert replies[-1].outcome.id == "joint_infection"
    assert replies[-1].outcome.level == "emergency"


@pytest.mark.parametrize(
    "message",
    ["no fever", "I didn't fall", "I can walk fine", "no numbness anywhere", "never had cancer"],
)
def test_negated_red_flags_do_not_trigger(script, message):
    _, [reply] = talk(script, message)
    assert not reply.ended
    assert reply.question.id == script.start


def test_a_free_text_opening_is_not_asked_again(script):
    opening = "outer hip hurts when I lie on it, I'm 52"
    _, replies = talk(script, opening, "no", "yes", "no", "no", "no", "no", "no", "no")
    asked = {r.question.id for r in replies if r.question}
    assert "age" not in asked and "location" not in asked and "outer_lying" not in asked
    assert replies[-1].outcome.id == "trochanteric_bursitis"


def test_under_16s_leave_the_adult_script(script):
    _, replies = talk(script, "my daughter is 13 and her hip hurts", "no", "yes", "no", "no", "no")
    assert replies[-1].outcome.id == "under_16"
    assert replies[-1].outcome.level == "consultation_24"


def test_unsure_moves_the_level_up(script):
    _, replies = talk(script, "hip pain", "no", "yes", "dunno")
    assert replies[-1].outcome.id == "joint_infection"


def test_three_unreadable_answers_give_the_safe_ending(script):
    _, replies = talk(script, "hip pain", "purple", "banana", "???")
    assert [r.ended for r in replies] == [False, False, False, True]
    assert message_text(script, "not_understood") in replies[1].text
    assert message_text(script, "ask_yes_no") in replies[1].text
    final = replies[-1]
    assert final.outcome.id == script.safe_ending and final.outcome.level == "consultation"
    assert message_text(script, "safe_ending") in final.text


def test_menu_and_question_mark_show_help_and_keep_the_place(script):
    state, replies = talk(script, "hip pain", "no", "?")
    assert message_text(script, "help") in replies[-1].text and "999" in replies[-1].text
    assert replies[-1].question.id == "bear_weight"
    _, [again] = talk(script, "menu", state=state)
    assert again.question.id == "bear_weight"


def test_back_changes_the_last_answer(script):
    state, replies = talk(script, "hip pain", "no", "back")
    assert replies[-1].question.id == "fall"
    _, [reply] = talk(script, "yes", state=state)
    assert reply.question.id == "fall_weight"


def test_restart_starts_afresh(script):
    _, replies = talk(script, "hip pain", "no", "yes", "restart")
    assert replies[-1].question.id == script.start
    assert message_text(script, "restarted") in replies[-1].text


def test_more_after_an_outcome_gives_the_long_form(script):
    _, replies = talk(script, "I have a fever and my hip hurts", "more")
    assert replies[0].outcome.id == "joint_infection"
    assert len(replies[1].text) > len(replies[0].text)
    assert "{" not in replies[1].text


def answered_at(script, state, message, place):
    return engine.step(
        script, state, message, 0.0, locale="en-GB", ttl_seconds=DAY, answering=place
    )


def test_an_answer_given_at_another_place_is_not_read_but_its_red_flags_are(script):
    state, [asked] = talk(script, "hip pain")
    other = next(q for q in script.questions if q != asked.question.id)
    same, reply = answered_at(script, state, "no", other)
    assert same["trail"] == state["trail"] and reply.question == asked.question
    _, reply = answered_at(script, state, "I have a fever and the shivers", other)
    assert reply.outcome.id == "joint_infection"
    moved, reply = answered_at(script, state, "no", asked.question.id)
    assert moved["trail"] and reply.question != asked.question  # the place matches: read


@pytest.mark.parametrize(
    "message",
    [
        "forget me please",
        "please delete my data",
        "Delete my data.",
        "can you forget me?",
        "ok that's enough, erase my details thanks",
        "FORGET ME",
    ],
)
def test_asking_to_be_forgotten_anywhere_in_a_message_forgets(script, message):
    state, replies = talk(script, "hip pain", "no", message)
    assert state is None and replies[-1].silent


@pytest.mark.parametrize(
    "message", ["I can't stop limping", "the pain won't stop", "don't delete my data", "end"]
)
def test_stop_is_the_whole_message_and_a_denied_forget_is_none(script, message):
    state, replies = talk(script, "hip pain", "no", message)
    assert (state is None) == (message == "end")


def test_a_red_flag_in_a_forget_message_still_gets_its_advice(script):
    state, replies = talk(script, "hip pain", "delete my data, I have a fever and the shivers")
    assert state is None and replies[-1].outcome.id == "joint_infection"
    assert "999" in replies[-1].text


def test_stop_ends_silently_and_forgets(script):
    state, replies = talk(script, "hip pain", "no", "STOP")
    assert state is None and replies[-1].silent and replies[-1].text == ""
    _, [fresh] = talk(script, "hello", state=state)
    assert fresh.question.id == script.start and message_text(script, "intro") in fresh.text


def test_an_expired_conversation_starts_afresh_and_says_so(script):
    state, _ = talk(script, "hip pain", "no")
    _, [reply] = talk(script, "yes", state=state, now=DAY + 1)
    assert message_text(script, "expired") in reply.text
    assert reply.question.id == script.start


def test_a_red_flag_after_the_outcome_raises_the_advice(script):
    _, replies = talk(
        script,
        "outside of my thigh near the knee hurts",
        *["no", "yes", "no", "no", "no"],
        "35",
        "no",
        "no",
        "no",
        "oh and now my leg is cold and blue",
    )
    assert replies[-2].outcome.id == "itb_syndrome"
    assert replies[-1].outcome.id == "circulation_problem"


@pytest.mark.parametrize(
    "message", ["", "   ", "\U0001f600\U0001f600", "x" * 5000, "me duele la cadera", "\x00\x07"]
)
def test_odd_messages_get_a_helpful_reply_and_the_conversation_survives(script, message):
    state, replies = talk(script, "hip pain", message)
    assert replies[-1].question.id == "fall"
    assert message_text(script, "ask_yes_no") in replies[-1].text
    _, [reply] = talk(script, "no", state=state)
    assert reply.question.id == "bear_weight"


def test_help_is_spoken_for_the_ear_on_voice(script):
    _, replies = talk(script, "hip pain", "help")
    speech, text = replies[-1].speech, replies[-1].text
    assert (
        message_text(script, "voice_help") in speech and message_text(script, "help") not in speech
    )
    assert message_text(script, "help") in text and "999" in speech


@pytest.mark.parametrize(
    "message", ["Hip is killing me, I can barely walk", "I'm struggling to walk on it"]
)
def test_hardly_able_to_walk_is_severe_pain_at_least(script, message):
    _, [reply] = talk(script, message)
    assert reply.outcome.id == "severe_pain" and reply.outcome.level == "consultation_24"


# ---------------------------------------------------------------- events: what is not words


def test_open_greets_and_asks_what_is_wrong_in_the_runners_own_words(script):
    state, [reply] = talk(script, engine.Event.OPEN)
    assert reply.notices == ("intro",) and reply.describe and reply.question is None
    assert script.messages["describe"] in reply.text and not reply.ended
    _, [again] = talk(script, engine.Event.OPEN, state=state)  # a launch again: the same
    assert again.describe and not again.notices


def test_the_description_is_read_as_a_texted_opening_would_be(script):
    for opening in (
        "outer hip aches when I lie on it, I'm 45",
        "I fell and can't stand up",
        "numb bum from the bike saddle yesterday, hip aches on runs",
    ):
        texted, [first] = talk(script, opening)
        said, [_, heard] = talk(script, engine.Event.OPEN, opening)
        assert (heard.question, heard.outcome, heard.notices) == (
            first.question,
            first.outcome,
            tuple(n for n in first.notices if n != "intro"),
        )
        assert said["known"] == texted["known"] and said["trail"] == texted["trail"]
        assert "describe" not in said


def test_silence_a_key_or_nothing_readable_at_the_open_question_start_the_questions(script):
    for nothing in (engine.Event.SILENCE, "1", "banana", ""):
        state, [_, reply] = talk(script, engine.Event.OPEN, nothing)
        assert reply.question.id == script.start and reply.notices == ()
        assert state["misses"] == 0 and state["trail"] == []


def test_help_at_the_open_question_asks_it_again(script):
    _, [_, reply] = talk(script, engine.Event.OPEN, "help")
    assert reply.notices == ("help",) and reply.describe


def test_silence_counts_as_an_unreadable_answer_and_three_give_the_safe_ending(script):
    _, replies = talk(script, engine.Event.OPEN, *[engine.Event.SILENCE] * 4)
    assert replies[1].question.id == script.start and replies[1].notices == ()
    assert [r.notices for r in replies[2:4]] == [("not_understood",)] * 2
    assert all(r.question.id == script.start for r in replies[2:4])
    assert replies[-1].outcome.id == script.safe_ending and replies[-1].reached


def test_repeat_gives_the_advice_again_without_moving(script):
    state, [advice] = talk(script, "I have a fever and my hip hurts")
    after, [again] = talk(script, engine.Event.REPEAT, state=state)
    assert again.outcome == advice.outcome and not again.reached
    assert after["trail"] == state["trail"]


def test_close_keeps_the_conversation_for_its_audit_and_the_next_message_starts_afresh(script):
    state, _ = talk(script, "hip pain", "no")
    closed, [reply] = talk(script, engine.Event.CLOSE, state=state, now=60.0)
    assert reply.silent and closed["closed"] and closed["trail"] == state["trail"]
    assert closed["updated"] == 60.0
    fresh, [first] = talk(script, "no", state=closed, now=61.0)
    assert first.notices == ("intro",) and first.question.id == script.start
    assert fresh["started"] == 61.0  # a new triage run, so a new audit record


def test_an_events_name_sent_as_words_is_only_words(script):
    state, _ = talk(script, "hip pain")
    for word in ("close", "silence", "open"):
        after, [reply] = talk(script, word, state=state)
        assert after is not None and not after.get("closed")
        assert reply.notices == ("not_understood",) and reply.question.id == script.start
