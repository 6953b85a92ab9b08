"""Properties over any conversation: every message gets a reply within budget, and a red-flag
phrase escalates from whatever state the conversation is in."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.content import Level, sms
from skill.triage import engine

ANSWERS = ["yes", "no", "dunno", "45", "1", "3", "back", "more", "?", "restart", "hip hurts"]
MESSAGES = st.one_of(st.sampled_from(ANSWERS), st.text(max_size=300))
RED_FLAGS = {
    "I have a fever": "emergency",
    "my leg has gone cold and pale": "emergency",
    "I can't put any weight on it": "emergency",
    "my bum is numb and I can't control my bladder": "emergency",
    "I fell and my foot is turned outwards": "emergency_ambulance",
}
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(script, messages):
    state, reply = None, None
    for i, message in enumerate(messages):
        state, reply = engine.step(script, state, message, i, locale="en-GB", ttl_seconds=3600)
    return state, reply


@SLOW
@given(st.lists(MESSAGES, min_size=1, max_size=15), MESSAGES)
def test_any_message_in_any_state_gets_a_reply_within_budget(script, history, message):
    state, _ = run(script, history)
    state, reply = engine.step(script, state, message, 99, locale="en-GB", ttl_seconds=3600)
    if reply.silent:
        return
    assert reply.text and sms.is_gsm7(reply.text)
    assert len(reply.text) <= 1600
    if reply.question and not reply.outcome:
        assert "?" in reply.text or ":" in reply.text  # a question is always there to answer


@SLOW
@given(st.lists(st.sampled_from(ANSWERS), max_size=15), st.sampled_from(sorted(RED_FLAGS)))
def test_a_red_flag_phrase_escalates_from_any_state(script, history, phrase):
    state, _ = run(script, ["hip hurts", *history])
    _, reply = engine.step(script, state, phrase, 99, locale="en-GB", ttl_seconds=3600)
    assert reply.outcome is not None
    assert reply.outcome.level >= Level(RED_FLAGS[phrase])
