"""The command line: a terminal chat, simulate driven turn by turn by another program, and
the WhatsApp button templates."""

import json
import subprocess
import sys

from skill import content
from skill.channels.whatsapp_buttons import templates
from tests.common import message_text

BURSITIS = ["outer hip hurts when I lie on it", "no", "yes", "no", "no", "no", "52", "no", "no"]


def test_chat_holds_a_whole_conversation(script):
    run = subprocess.run(
        [sys.executable, "-m", "skill", "chat"],
        input="\n".join([*BURSITIS, "no", "more"]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert message_text(script, "intro") in run.stdout
    bursitis = script.outcomes["trochanteric_bursitis"]
    assert script.fill(bursitis.short, "en-GB") in run.stdout
    assert message_text(script, "footer") in run.stdout
    assert script.fill(bursitis.more, "en-GB") in run.stdout


def test_simulate_answers_each_line_at_once_as_json(script):
    proc = subprocess.Popen(
        [sys.executable, "-m", "skill", "simulate", "--locale", "en-US", "--channel", "voice"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    records = []
    try:
        # One line out for each line in, before the next is written: a driver can react.
        for message in [*BURSITIS, "no"]:
            proc.stdin.write(message + "\n")
            proc.stdin.flush()
            records.append(json.loads(proc.stdout.readline()))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    first, last = records[0], records[-1]
    assert first["question"] == "fall" and first["outcome"] is None and not first["ended"]
    assert message_text(script, "voice_intro", "en-US") in first["reply"]
    assert message_text(script, "voice_yes_no", "en-US") in first["reply"]
    assert last == {
        "reply": last["reply"],
        "question": None,
        "outcome": {"level": "self_care", "condition": "trochanteric_bursitis"},
        "ended": True,
    }


def test_whatsapp_content_lists_the_templates_and_sync_needs_the_account():
    env = {"PATH": "/usr/bin:/bin"}
    listed = subprocess.run(
        [sys.executable, "-m", "skill", "whatsapp-content"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    names = [line.split(" ", 1)[0] for line in listed.stdout.splitlines()]
    assert names == list(templates(content.load()))
    sync = subprocess.run(
        [sys.executable, "-m", "skill", "whatsapp-content", "--sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sync.returncode == 2 and "TWILIO_ACCOUNT_SID" in sync.stderr
