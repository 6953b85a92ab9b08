"""The check-in in the pure engine: the offer where the channel can text later, the yes that
books it (the engine books nothing itself), and the answer read red flags first."""

from __future__ import annotations

from skill.content import Level
from skill.triage import engine
from tests.followup.paths import path_to

DAY = 86400
AFTER = 2 * DAY


def to_advice(script, level: str, offer: float | None = AFTER):
    """Answer the way to advice at `level`; the state and the last reply."""
    path = path_to(script, level)
    state, reply = step(script, None, "hello", offer)
    while reply.question:
        state, reply = step(script, state, path[reply.question.id], offer)
    return state, reply


def step(script, state, message, offer=AFTER, now=0.0):
    return engine.step(script, state, message, now, locale="en-GB", ttl_seconds=DAY, offer=offer)


def asked(state: dict) -> dict:
    """The follow-up conversation the check-in job writes: the advice, its answer awaited."""
    followup = {"after": state["outcome"], "answer": "none", "booked": 0.0}
    return {**state, "started": 1.0, "checkin": "asked", "followup": followup, "offered": None}


def test_the_offer_ends_self_care_and_consultation_advice_where_offered(script):
    for level in ("self_care", "consultation", "consultation_24"):
        state, reply = to_advice(script, level)
        assert reply.offer and reply.after == AFTER, level
        assert reply.text.endswith(script.fill(script.messages["checkin_offer"], "en-GB", "2 days"))
        _, plain = to_advice(script, level, offer=None)
        assert not plain.offer and plain.text == reply.text.rsplit("\n", 1)[0]


def test_a_yes_books_once_and_only_where_it_was_offered(script):
    state, _ = to_advice(script, "self_care")
    state, reply = step(script, state, "yes")
    assert reply.booked and reply.after == AFTER and state["booked"]
    _, again = step(script, state, "yes")
    assert not again.booked
    state, _ = to_advice(script, "self_care", offer=None)
    _, reply = step(script, state, "yes", offer=None)
    assert not reply.booked


def test_urgent_advice_has_no_offer(script):
    flag = next(f for f in script.red_flags if script.outcomes[f.outcome].level.urgent)
    _, reply = step(script, None, flag.examples[0])
    assert reply.outcome.level.urgent and not reply.offer


def test_worse_triages_again_from_the_start_no_lower_than_not_better(script):
    state, _ = to_advice(script, "self_care")
    state, reply = step(script, asked(state), "worse I think")
    assert reply.question.id == script.start and "checkin_worse" in reply.notices
    path = path_to(script, "self_care")
    while reply.question:
        state, reply = step(script, state, path[reply.question.id])
    assert reply.outcome.id == script.not_better and reply.outcome.level == Level.CONSULTATION
    assert not reply.offer and state["followup"]["answer"] == "worse"


def test_same_after_consultation_advice_gives_it_again(script):
    state, advice = to_advice(script, "consultation")
    state, reply = step(script, asked(state), "the same")
    assert reply.outcome.id == advice.outcome.id and "checkin_same" in reply.notices
    assert state["followup"]["answer"] == "same"


def test_a_red_flag_at_the_check_in_is_screened_first(script):
    state, _ = to_advice(script, "self_care")
    flag = next(f for f in script.red_flags if script.outcomes[f.outcome].level.urgent)
    state, reply = step(script, asked(state), f"better but {flag.examples[0]}")
    assert reply.outcome.level >= script.outcomes[flag.outcome].level
    assert state["followup"]["answer"] == "worse"


def test_stop_forgets(script):
    state, _ = to_advice(script, "self_care")
    state, reply = step(script, state, "STOP")
    assert state is None and reply.forget and reply.silent
