"""Content validation: a broken file stops start-up with the file, the place and the fault."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill import content
from skill.cli import check
from skill.content import loader, sms
from skill.triage import engine
from skill.triage.render import question_text


@pytest.fixture
def copy(tmp_path):
    """A copy of the real content to break."""
    target = tmp_path / "content"
    shutil.copytree(content.DEFAULT_DIR, target)
    return target


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / f"{name}.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}.yaml"
    path.write_text(text.replace(old, new, 1))


def worded(script, name: str, key: str) -> str:
    """A message's or a question's text as the content file writes it (in double quotes)."""
    text = script.messages[key] if name == "messages" else script.questions[key].text
    return f'"{text}"'


def test_the_real_content_is_valid_and_within_budget(script):
    for code in script.locales:
        for question in script.questions.values():
            text = question_text(script, question, code, voice=False)
            assert sms.is_gsm7(text) and sms.segments(text) <= 2, question.id
        for outcome in script.outcomes.values():
            text = script.fill(outcome.short, code)
            assert sms.is_gsm7(text) and sms.segments(text) <= 2, outcome.id


def test_no_phone_number_is_written_into_a_message(script):
    numbers = {n for loc in script.locales.values() for n in (loc.emergency, loc.urgent)}
    texts = [o.short + o.more for o in script.outcomes.values()] + list(script.messages.values())
    texts += [q.text + q.voice for q in script.questions.values()]
    for text in texts:
        for number in ("999", "911", "000", "112", "111"):
            assert number not in text
    assert numbers  # the numbers live in locales.yaml only


FAULTS = [
    (
        "script",
        "    yes: fall_weight\n",
        "    yes: fall_weight\n    colour: red\n",
        "content/script.yaml: questions.fall: unknown key 'colour'",
    ),
    (
        "script",
        "    yes: fall_weight\n",
        "    yes: fall_wieght\n",
        "content/script.yaml: questions.fall: an answer leads to 'fall_wieght'",
    ),
    (
        "script",
        "no: circulation\n",
        "no: fever\n",
        "content/script.yaml: questions.fever: answers lead round in a cycle",
    ),
    (
        "script",
        "yes: osteoarthritis",
        "yes: labral_tear",
        "content/outcomes.yaml: outcomes.osteoarthritis: no path reaches it",
    ),
    # Wording a clinician may change is found through the content itself (see worded()).
    (
        "messages",
        "intro",
        lambda text: text.replace("{emergency}", ""),
        "content/messages.yaml: messages.intro: must give the emergency number",
    ),
    (
        "messages",
        "intro",
        lambda text: text.replace("{emergency}", "{emergncy}"),
        "content/messages.yaml: messages.intro: unknown placeholder {emergncy}",
    ),
    (
        "script",
        "severe",
        lambda text: text + " Really?" * 40,
        "content/script.yaml: questions.severe.text: is ",
    ),
    ("outcomes", "level: self_care", "level: selfcare", "content/outcomes.yaml: outcomes."),
    ("script", "start: fall", "start: [fall", "content/script.yaml: line "),
]


@pytest.mark.parametrize("name,old,new,message", FAULTS, ids=[f[3][:40] for f in FAULTS])
def test_a_broken_file_is_rejected_naming_the_fault(copy, script, name, old, new, message):
    if callable(new):  # new rewords the text that `old` names
        old = worded(script, name, old)
        new = f'"{new(old[1:-1])}"'
    edit(copy, name, old, new)
    with pytest.raises(content.ContentError) as err:
        content.load(copy)
    assert message in str(err.value)


def test_a_curly_quote_is_refused(copy, script):
    old = worded(script, "messages", "not_understood")
    edit(copy, "messages", old, old.replace('"', '"\u2019', 1))
    with pytest.raises(content.ContentError, match="outside GSM-7"):
        content.load(copy)


def test_check_command_rejects_broken_content_with_a_clear_message(copy):
    edit(copy, "red_flags", "outcome: cauda_equina", "outcome: cauda_equinox")
    run = subprocess.run(
        [sys.executable, "-m", "skill", "check", str(copy)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "content/red_flags.yaml: red_flags[2].outcome: 'cauda_equinox' is not an outcome" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr


def test_check_command_passes_the_real_content():
    run = subprocess.run([sys.executable, "-m", "skill", "check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "is valid" in run.stdout


def test_check_skips_built_files_where_there_are_none_as_in_the_container(tmp_path, script):
    shutil.copytree(content.DEFAULT_DIR, tmp_path / "content")  # the image has content/ only
    assert check.stale(script, tmp_path / "content", root=tmp_path) == []
    assert check.stale(script) == []  # and in the repository, all are fresh


def test_a_phrase_in_plain_words_matches_those_words_and_a_pattern_stays_a_pattern(copy):
    fall = "  fall:\n"
    edit(copy, "phrases", fall, fall + "    - went arse over elbow\n")
    script = content.load(copy)
    state, reply = engine.step(
        script,
        None,
        "I went arse  over elbow on the trail, can't get up",
        0.0,
        locale="en-GB",
        ttl_seconds=60,
    )
    assert reply.outcome is not None and reply.outcome.id == "fracture_or_dislocation"
    # Whole words only, in order: "elbows" or the words apart are not that phrase.
    fall_pattern = script.phrases["fall"]
    assert not fall_pattern.search("went arse over elbows")
    assert not fall_pattern.search("over elbow went arse")
    assert loader.as_pattern(r"\bfell\b") == r"\bfell\b"
