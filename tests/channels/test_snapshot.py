"""Every reply byte for byte: the public and project cases, and a few awkward conversations,
played through all five channels (SMS, WhatsApp, voice, Alexa, web chat) over their webhooks.

A guard for changes that should not change what runners get (moving code, a new layout). The
digests live in tests/channels/snapshots/replies.json, with the digest of the content they come
from; `make content` (or this file with `--refresh-golden`) rewrites them after a content
change or a deliberate change of code, and SNAPSHOT_DUMP=DIR writes each conversation's replies
in full to DIR, to compare two commits with diff.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from skill import content
from skill.safety import vignettes
from tests.common import PROJECT_VIGNETTES, PUBLIC_VIGNETTES
from tests.drivers import CHANNELS, body_of

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "snapshots" / "replies.json"
CASES = vignettes.load_cases(PUBLIC_VIGNETTES) + vignettes.load_cases(PROJECT_VIGNETTES)
# Conversations beyond the cases: unreadable answers, commands, a red flag mid-way.
SCRIPTED = {
    "unreadable": ["hip hurts", "banana", "purple", "??!"],
    "commands": ["my hip is sore", "help", "no", "back", "no", "restart", "no", "more"],
    "mid_flag": ["outer hip aches", "no", "I have a fever now"],
    "after_advice": ["I fell and can't stand up", "more", "thanks", "restart"],
    # Reading in context (issue 12): a passing red flag checked, a hedge asked again.
    "checked": ["numb bum from the bike saddle yesterday, hip aches on runs", "no", "no"],
    "hedged": ["my hip hurts", "no", "yes", "possibly", "no"],
    "someone_else": ["my mate couldn't put weight on his leg after parkrun, mine is stiff", "no"],
}


def play(client, channel, script, case: dict, n: int) -> list[bytes]:
    """Every response body of one conversation, from runner number n (one per case: a texted
    case must not land in the conversation the case before it finished)."""
    talk = channel.conversation(script, vignettes.case_locale(case), n)
    bodies = []

    def send(call):
        response = call.to_client(client)
        bodies.append(body_of(response))
        return response

    response = talk.start(case["opening"], send)  # a call or a launch: asked for it first
    if "script" in case:
        for message in case["script"][1:]:
            talk.read(response)  # a call's next step posts to this reply's action
            response = send(talk.call(message))
        return bodies
    for _ in range(len(script.questions) * 3):
        question, outcome = talk.read(response)
        if outcome or not question:
            break
        answer = vignettes.answer_for(question, case.get("facts", {}), case.get("unsure", ()))
        response = send(talk.call(answer))
    return bodies


def _all_cases() -> list[dict]:
    scripted = [
        {"id": name, "opening": lines[0], "script": lines} for name, lines in SCRIPTED.items()
    ]
    return CASES + scripted


def test_every_reply_is_as_recorded(app, client, script, request):
    for channel in CHANNELS:
        channel.prepare(app)
    dump = os.environ.get("SNAPSHOT_DUMP")
    seen = {}
    for channel in CHANNELS:
        for n, case in enumerate(_all_cases(), 1):
            bodies = play(client, channel, script, case, n)
            joined = b"\n----\n".join(bodies)
            seen[f"{channel.name}/{case['id']}"] = hashlib.sha256(joined).hexdigest()
            if dump:
                path = Path(dump) / channel.name / f"{case['id']}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(joined)
    if request.config.getoption("--refresh-golden"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        recording = {"content_digest": content.digest(), "replies": seen}
        SNAPSHOT.write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n")
        return
    recorded = json.loads(SNAPSHOT.read_text())["replies"]
    changed = sorted(k for k in seen if seen[k] != recorded.get(k))
    assert not changed and set(recorded) == set(seen), (
        f"{len(changed)} conversations changed, first {changed[:8]}; "
        "SNAPSHOT_DUMP=DIR writes them out to compare"
    )
