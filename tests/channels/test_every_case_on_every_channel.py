"""The channel bar (issue 12): every public, project and harder case, in every answer style,
played through the real webhooks of each kind of channel, with no case under-triaged.

Text is SMS through Twilio's signed messaging webhook; voice is a call through Twilio's signed
voice webhook, every answer spoken (the case's opening said at the open question); Alexa is
signed requests carrying the intents the interaction model would resolve the same words to
(tests.drivers.resolve: words no sample matches are lost to the fallback intent). The runner
answers as the vignette runner's does (skill.safety.vignettes.Runner), in the plain style and
as people do with three seeds. `pytest -s` prints exact, over and under per channel and style.
"""

from __future__ import annotations

import pytest

from skill.content import Level
from skill.safety import vignettes
from tests.common import HARDER_VIGNETTES, PROJECT_VIGNETTES, PUBLIC_VIGNETTES
from tests.drivers import Alexa, Messaging, Voice

CASES = [
    case
    for path in (PUBLIC_VIGNETTES, PROJECT_VIGNETTES, HARDER_VIGNETTES)
    for case in vignettes.load_cases(path)
]
STYLES = [("plain", 0), ("people", 1), ("people", 2), ("people", 3)]
CHANNELS = [Messaging("sms"), Voice(), Alexa(heard=True)]
MAX_REQUESTS = 40  # more than any path through the script, with every re-ask


def play(client, channel, script, case: dict, style: str, seed: int, n: int) -> str:
    """The level a case's conversation on the channel ends at."""
    talk = channel.conversation(script, vignettes.case_locale(case), n)
    runner = vignettes.Runner(case, style, seed)
    response = talk.start(case["opening"], lambda call: call.to_client(client))
    for _ in range(MAX_REQUESTS):
        question, outcome = talk.read(response)
        if outcome:
            return outcome.level
        assert question, f"{channel.name} {case['id']}: neither a question nor advice"
        response = talk.call(runner.answer(question)).to_client(client)
    raise AssertionError(f"{channel.name} {case['id']}: no advice after {MAX_REQUESTS} requests")


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_no_case_is_under_triaged_on_any_channel_in_any_answer_style(app, client, script, channel):
    channel.prepare(app)
    under, n = [], 0
    for style, seed in STYLES:
        verdicts = {"exact": 0, "over": 0, "UNDER": 0}
        for case in CASES:
            n += 1
            level = play(client, channel, script, case, style, seed, n)
            verdict = vignettes.verdict(level, case["accept"])
            verdicts[verdict] += 1
            if verdict == "UNDER":
                under.append((style, seed, case["id"], level))
            if max(Level(a) for a in case["accept"]).urgent:
                assert Level(level).urgent, (channel.name, style, seed, case["id"], level)
        name = f"{style}{seed}" if style == "people" else style
        print(
            f"\n{channel.name} {name}: {len(CASES)} cases, {verdicts['exact']} exact, "
            f"{verdicts['over']} over, {verdicts['UNDER']} under"
        )
    assert under == []
