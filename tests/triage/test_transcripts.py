"""Golden transcripts: messages in, the exact replies out. `make content` (or `pytest
--refresh-golden`) rewrites them from the engine after a content change, with the digest of the
content they come from (`python -m skill check` says when it differs); review the diff."""

from pathlib import Path

import pytest
import yaml

from skill import content
from skill.triage import engine

CASES = sorted((Path(__file__).parent / "transcripts").glob("*.yaml"))


def replay(script, case: dict) -> list[dict]:
    state, turns = None, []
    for i, turn in enumerate(case["turns"]):
        state, reply = engine.step(
            script, state, turn["send"], 60.0 * i, locale=case["locale"], ttl_seconds=86400
        )
        turns.append(
            {
                "send": turn["send"],
                "reply": reply.text,
                "question": reply.question.id if reply.question else None,
                "outcome": reply.outcome.id if reply.outcome else None,
            }
        )
    return turns


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_transcript(script, path, request):
    case = yaml.safe_load(path.read_text())
    turns = replay(script, case)
    if request.config.getoption("--refresh-golden"):
        fresh = {**case, "content_digest": content.digest(), "turns": turns}
        path.write_text(yaml.safe_dump(fresh, sort_keys=False, width=100))
        return
    assert turns == case["turns"]
