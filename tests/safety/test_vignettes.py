"""Every public and project vignette triaged within its accepted levels; the runner and the
free-text measure, through the command line a clinician would use."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys

import pytest
import yaml

from skill import content
from skill.__main__ import main
from skill.content import Level
from skill.safety import vignettes
from skill.triage import engine
from tests.common import HARDER_VIGNETTES, PROJECT_VIGNETTES, PUBLIC_VIGNETTES

CASES = vignettes.load_cases(PUBLIC_VIGNETTES) + vignettes.load_cases(PROJECT_VIGNETTES)
HARDER = vignettes.load_cases(HARDER_VIGNETTES)
ALL = CASES + HARDER
STYLES = [("plain", 0), ("people", 1), ("people", 2), ("people", 3)]


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


@pytest.mark.parametrize(("style", "seed"), STYLES, ids=[f"{s}{n}" for s, n in STYLES])
def test_no_case_is_under_triaged_in_any_answer_style_and_the_bar_is_met(script, style, seed):
    for cases in (CASES, HARDER):
        results = [vignettes.run(script, c, style=style, seed=seed) for c in cases]
        totals = vignettes.totals(results)
        assert [r.id for r in results if r.verdict == "UNDER"] == []
        assert totals["exact"] >= 0.95 * totals["cases"]
        assert totals["self_care_correct"] >= 0.9 * totals["self_care"]
        assert totals["emergencies_caught"] == totals["emergencies"]


def test_the_harder_cases_cover_the_ways_words_mislead(script):
    assert len(HARDER) >= 60 and len({c["id"] for c in ALL}) == len(ALL)
    said = [c for c in HARDER if c.get("say")]
    assert len(said) >= 15
    openings = " ".join(c["opening"].lower() for c in HARDER)
    for kind in (
        "can't stand hill",
        "my mate",
        "long gone",
        "since i was a child",
        "bike saddle",
        "possibly",
        "hit the deck",
        "i'm 16",
        "asking for",
    ):
        assert kind in openings, kind
    replies = " ".join(str(v) for c in said for v in c["say"].values()).lower()
    for kind in ("no but", "not as far as i know", "doubt it", "reckon so", "yh", "nay", "34yo"):
        assert kind in replies, kind


def test_people_style_answers_vary_repeat_with_the_seed_and_hedge_only_where_safe(script):
    case = vignettes.load_cases(PUBLIC_VIGNETTES)[6]
    runs = [
        [r.text for r in vignettes.play(script, case, style="people", seed=n)] for n in (1, 1, 2)
    ]
    assert runs[0] == runs[1]
    rng = random.Random(0)
    for q in script.questions.values():
        if q.type != "yes_no":
            continue
        for value in ("yes", "no"):
            facts = {f: value == "yes" for f in q.facts}
            said = {vignettes.answer_for(q, facts, rng=rng) for _ in range(60)}
            assert len(said) > 3
            if value != q.unsure:
                assert not said & set(vignettes.HEDGES), q.id


def test_a_case_can_say_the_runners_own_words_at_a_question(script):
    say = {"fall": "yes, I fell", "fall_weight": ["purple", "nah, I can't put any weight on it"]}
    case = {
        "id": "S1",
        "opening": "hip hurts",
        "say": say,
        "accept": ["emergency_ambulance"],
        "facts": {"age": 70, "bear_weight": True},
    }
    result = vignettes.run(script, case)
    assert result.asked == ("fall", "fall_weight", "fall_weight")
    assert result.condition == "fracture_or_dislocation" and result.verdict == "exact"


def test_the_totals_count_self_care_and_median_questions(script):
    results = [vignettes.run(script, c) for c in vignettes.load_cases(PUBLIC_VIGNETTES)]
    totals = vignettes.totals(results)
    self_care = [r for r in results if min(r.accept, key=Level) == "self_care"]
    assert totals["self_care"] == len(self_care) > 0
    assert totals["self_care_correct"] == sum(r.level == "self_care" for r in self_care)
    assert totals["median_questions"] == statistics.median(len(r.asked) for r in results)
    assert f"median questions {totals['median_questions']:g}" in vignettes.table(results)


def test_the_cases_cover_every_outcome_and_the_ways_runners_text(script):
    expected = {c["condition"] for c in CASES}
    # not_better is given only at the check-in, which tests/followup covers (no case reaches it).
    assert set(script.outcomes) - {script.safe_ending, script.not_better} <= expected
    project = vignettes.load_cases(PROJECT_VIGNETTES)
    assert len(project) >= 30 and len({c["id"] for c in CASES}) == len(CASES)
    assert any(c.get("locale") == "en-US" for c in project)
    assert any(c.get("unsure") for c in project)
    openings = " ".join(c["opening"].lower() for c in project)
    for said in ("no fever", "didn't fall", "can walk", "daughter", "husband", "stnad"):
        assert said in openings


def test_the_runner_passes_every_file_with_no_under_triage_in_both_styles():
    for path in (PUBLIC_VIGNETTES, PROJECT_VIGNETTES, HARDER_VIGNETTES):
        for style in (["--style", "plain"], ["--style", "people", "--seed", "7"]):
            run = skill("vignettes", str(path), *style)
            assert run.returncode == 0, run.stdout + run.stderr
            assert "0 under-triage" in run.stdout
            assert "UNDER" not in run.stdout


def test_the_runner_fails_on_under_triage_and_reports_it_as_json(tmp_path):
    cases = [
        {
            "id": "U1",
            "opening": "hip sore after parkrun, I'm 30",
            "facts": {"age": 30, "bear_weight": True, "location": "outer_hip"},
            "accept": ["emergency"],
            "condition": "joint_infection",
        },
        {
            "id": "O1",
            "locale": "en-US",
            "opening": "can't stand after a fall",
            "facts": {"age": 70, "fall_or_blow": True, "bear_weight": False},
            "accept": ["consultation"],
        },
    ]
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
    case = {
        "id": "D1",
        "opening": "hip aches, I'm 40",
        "facts": {"age": 40, "bear_weight": True},
        "unsure": ["fever_or_unwell"],
        "accept": ["emergency"],
    }
    assert vignettes.run(script, case).condition == "joint_infection"


def test_openings_are_understood_and_no_stated_red_flag_is_missed(script):
    readings = [vignettes.read_opening(script, c) for c in CASES]
    figures = vignettes.understanding(readings)
    assert figures["red_flags_missed"] == []
    assert figures["understood_share"] >= 0.9
    assert figures["facts_share"] >= 0.9
    assert all(r.stated for r in readings if r.id.startswith("P"))  # every public case annotated


def test_the_understanding_command_names_a_missed_red_flag(tmp_path):
    case = {
        "id": "M1",
        "opening": "my hip hurts, what do I do",
        "facts": {"age": 50, "fever_or_unwell": True},
        "stated": ["fever_or_unwell"],
        "accept": ["emergency"],
    }
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
    asked = [q for q in content.load().questions.values() if not q.checks]  # script.yaml's
    for number, question in enumerate(asked):
        assert f'"{question.text}"' in text
        text = text.replace(f'"{question.text}"', f'"Reworded question {number}?"', 1)
    script_file.write_text(text)
    script = content.load(changed)
    assert all(script.questions[q.id].text.startswith("Reworded") for q in asked)
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
