"""Every public and project vignette triaged within its accepted levels; the runner and the
free-text measure, through the command line a clinician would use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from skill import content
from skill.__main__ import main
from skill.content import Level
from skill.safety import vignettes
from skill.triage import engine
from tests.common import PROJECT_VIGNETTES, PUBLIC_VIGNETTES

CASES = vignettes.load_cases(PUBLIC_VIGNETTES) + vignettes.load_cases(PROJECT_VIGNETTES)


def skill(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m skill ...` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "skill", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_gets_an_accepted_level_and_condition(script, case):
    result = vignettes.run(script, case)
    assert result.verdict == "exact", result
    assert result.condition == case["condition"], result
    final = list(vignettes.play(script, case))[-1]
    locale = vignettes.case_locale(case)
    assert script.fill(final.outcome.short, locale) in final.text  # the runner's own country
    if Level(result.level).urgent:
        assert script.locales[locale].emergency in final.text


def test_the_cases_cover_every_outcome_and_the_ways_runners_text(script):
    expected = {c["condition"] for c in CASES}
    assert set(script.outcomes) - {script.safe_ending} <= expected
    project = vignettes.load_cases(PROJECT_VIGNETTES)
    assert len(project) >= 30 and len({c["id"] for c in CASES}) == len(CASES)
    assert any(c.get("locale") == "en-US" for c in project)
    assert any(c.get("unsure") for c in project)
    openings = " ".join(c["opening"].lower() for c in project)
    for said in ("no fever", "didn't fall", "can walk", "daughter", "husband", "stnad"):
        assert said in openings


def test_the_runner_passes_both_files_with_no_under_triage():
    for path in (PUBLIC_VIGNETTES, PROJECT_VIGNETTES):
        run = skill("vignettes", str(path))
        assert run.returncode == 0, run.stdout + run.stderr
        assert "0 under-triage" in run.stdout
        assert "UNDER" not in run.stdout


def test_the_runner_fails_on_under_triage_and_reports_it_as_json(tmp_path):
    cases = [
        {"id": "U1", "opening": "hip sore after parkrun, I'm 30",
         "facts": {"age": 30, "bear_weight": True, "location": "outer_hip"},
         "accept": ["emergency"], "condition": "joint_infection"},
        {"id": "O1", "locale": "en-US", "opening": "can't stand after a fall",
         "facts": {"age": 70, "fall_or_blow": True, "bear_weight": False},
         "accept": ["consultation"]},
    ]  # fmt: skip
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(cases))
    table = skill("vignettes", str(path))
    assert table.returncode == 1
    assert "UNDER" in table.stdout and "over" in table.stdout
    run = skill("vignettes", str(path), "--json")
    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["totals"]["under"] == 1 and report["totals"]["over"] == 1
    assert report["totals"]["emergencies"] == 1 and report["totals"]["emergencies_caught"] == 0
    by_id = {c["id"]: c for c in report["cases"]}
    assert by_id["U1"]["verdict"] == "UNDER" and by_id["O1"]["level"] == "emergency_ambulance"


def test_vague_answers_are_given_for_unsure_facts_and_move_the_advice_up(script):
    fever = script.questions["fever"]
    assert vignettes.answer_for(fever, {"fever_or_unwell": True}, ["fever_or_unwell"]) == "sort of"
    assert vignettes.answer_for(fever, {}, ["fever_or_unwell"]) == "dunno"
    case = {"id": "D1", "opening": "hip aches, I'm 40", "facts": {"age": 40, "bear_weight": True},
            "unsure": ["fever_or_unwell"], "accept": ["emergency"]}  # fmt: skip
    assert vignettes.run(script, case).condition == "joint_infection"


def test_openings_are_understood_and_no_stated_red_flag_is_missed(script):
    readings = [vignettes.read_opening(script, c) for c in CASES]
    figures = vignettes.understanding(readings)
    assert figures["red_flags_missed"] == []
    assert figures["understood_share"] >= 0.9
    assert figures["facts_share"] >= 0.9
    assert all(r.stated for r in readings if r.id.startswith("P"))  # every public case annotated


def test_the_understanding_command_names_a_missed_red_flag(tmp_path):
    case = {"id": "M1", "opening": "my hip hurts, what do I do",
            "facts": {"age": 50, "fever_or_unwell": True}, "stated": ["fever_or_unwell"],
            "accept": ["emergency"]}  # fmt: skip
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump([case]))
    run = skill("vignettes", str(path), "--understanding")
    assert run.returncode == 1
    assert "RED FLAG MISSED: joint_infection" in run.stdout
    ok = skill("vignettes", str(PUBLIC_VIGNETTES), "--understanding")
    assert ok.returncode == 0 and "openings understood 12/12" in ok.stdout


def test_the_runner_uses_question_ids_not_wording(tmp_path):
    changed = tmp_path / "content"
    changed.mkdir()
    for f in content.DEFAULT_DIR.glob("*.yaml"):
        (changed / f.name).write_text(f.read_text())
    script_file = changed / "script.yaml"
    text = script_file.read_text()
    for number, question in enumerate(content.load().questions.values()):
        assert f'"{question.text}"' in text
        text = text.replace(f'"{question.text}"', f'"Reworded question {number}?"', 1)
    script_file.write_text(text)
    script = content.load(changed)
    assert all(q.text.startswith("Reworded") for q in script.questions.values())
    case = vignettes.load_cases(PUBLIC_VIGNETTES)[6]  # P07, outer hip bursitis
    assert vignettes.run(script, case).condition == case["condition"]
    assert engine.step(script, None, "hi", 0, locale="en-GB", ttl_seconds=60)[1].question


@pytest.mark.parametrize(
    ("text", "fault"), [(None, "FileNotFoundError"), ("- {id: A1}\n", "KeyError: 'opening'")]
)
def test_a_bad_case_file_is_named_in_one_line(tmp_path, capsys, text, fault):
    path = tmp_path / "cases.yaml"
    if text:
        path.write_text(text)
    assert main(["vignettes", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vignettes: ") and fault in err and err.count("\n") == 1
