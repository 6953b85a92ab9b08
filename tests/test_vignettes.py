"""Every public vignette through the engine lands inside the levels a clinician accepts."""

import pytest
from conftest import PUBLIC_VIGNETTES

from skill import engine
from skill.content import LEVELS
from skill.vignettes import answer_for, load_cases

CASES = load_cases(PUBLIC_VIGNETTES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_public_vignette_lands_in_its_accepted_levels(script, case):
    locale = case.get("locale", "en-GB")
    state, reply = engine.step(script, None, case["opening"], 0, locale=locale, ttl_seconds=3600)
    for turn in range(1, 40):
        if reply.ended:
            break
        answer = answer_for(script.questions[reply.question], case["facts"])
        state, reply = engine.step(script, state, answer, turn, locale=locale, ttl_seconds=3600)
    assert reply.ended
    lowest = min(LEVELS.index(level) for level in case["accept"])
    assert LEVELS.index(reply.outcome.level) >= lowest, "under-triage"
    assert reply.outcome.level in case["accept"]
    assert reply.outcome.id == case["condition"]
