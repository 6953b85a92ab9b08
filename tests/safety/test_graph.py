"""The flowchart of the triage script: what docs/flowchart.md shows is what the content says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from skill import content
from skill.__main__ import main
from skill.safety import graph
from tests.common import ROOT

CHART_PAGE = ROOT / "docs" / "flowchart.md"


def printed(capsys, *args: str) -> str:
    """What `python -m skill graph ...` prints."""
    assert main(["graph", *args]) == 0
    return capsys.readouterr().out


def copy_content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    for f in content.DEFAULT_DIR.glob("*.yaml"):
        (folder / f.name).write_text(f.read_text())
    return folder


def test_the_docs_chart_is_what_the_graph_command_prints():
    block = re.search(r"```mermaid\n(.*?)```", CHART_PAGE.read_text(), re.S)
    assert block, "docs/flowchart.md needs a ```mermaid block"
    run = subprocess.run(
        [sys.executable, "-m", "skill", "graph"], capture_output=True, text=True, timeout=60
    )
    assert block.group(1) == run.stdout, "docs/flowchart.md is out of date: run `make content`"
    assert "```mermaid" not in (ROOT / "README.md").read_text()  # one chart, in the docs


def _answers(q) -> list[tuple[str, str]]:
    """(label, where it leads) for each answer: yes/no values, choice labels, number ranges."""
    if q.type == "choice":
        return [(o.label, o.next) for o in q.options]
    answers, low = list(q.edges.items()), q.min
    for top, nxt in q.ranges:
        answers.append((f"{low}-{top}" if top is not None else f"{low}+", nxt))
        low = (top or 0) + 1
    return answers


def test_chart_shows_every_question_answer_red_flag_and_outcome(script, capsys):
    chart = printed(capsys)
    assert chart.startswith("flowchart TD\n")
    for q in script.questions.values():
        if q.checks:
            continue  # a red flag's check question belongs to its red-flag node
        first_words = " ".join(q.text.split()[:3])
        assert f'q_{q.id}["{first_words}' in chart
    for q in script.questions.values():  # every answer, as the content has it
        for answer, nxt in [] if q.checks else _answers(q):
            kind = "q" if nxt in script.questions else "o"
            assert f'q_{q.id} -->|"{answer}"| {kind}_{nxt}\n' in chart
    for flag in script.red_flags:
        assert re.search(rf"rf_{flag.id}\[/\"red flag: .*?\"/\] ==> o_{flag.outcome}\n", chart)
    for o in script.outcomes.values():
        assert f"o_{o.id}([" in chart and f"]):::{o.level}\n" in chart
    for level in content.Level:
        assert f"classDef {level} fill:" in chart
    assert f"-.-> o_{script.safe_ending}" in chart


def test_dot_colours_outcomes_by_level(script, capsys):
    chart = printed(capsys, "--format", "dot")
    assert chart.startswith("digraph triage {") and chart.rstrip().endswith("}")
    for o in script.outcomes.values():
        fill = graph.COLOURS[o.level][0]
        assert re.search(rf'o_{o.id} \[[^\n]*fillcolor="{fill}"', chart)
    assert "q_fever -> o_joint_infection" in chart


def test_chart_of_edited_content_shows_the_edit_and_escapes_quotes(tmp_path, script, capsys):
    folder = copy_content(tmp_path)
    script_file = folder / "script.yaml"
    text, first = script_file.read_text(), script.questions[script.start].text
    assert f'"{first}"' in text  # the question as the file has it, in double quotes
    script_file.write_text(text.replace(f'"{first}"', '"Where is the \\"worst\\" pain?"', 1))
    chart = printed(capsys, str(folder))
    assert f'q_{script.start}["Where is the #quot;worst#quot; pain?"]' in chart
    assert '\\"worst\\"' in printed(capsys, str(folder), "--format", "dot")


def test_into_rewrites_only_the_mermaid_block(tmp_path, script):
    doc = tmp_path / "README.md"
    doc.write_text("# Title\n\n```mermaid\nflowchart TD\n  old --> chart\n```\n\nAfter.\n")
    assert main(["graph", "--into", str(doc)]) == 0
    assert doc.read_text() == f"# Title\n\n```mermaid\n{graph.mermaid(script)}\n```\n\nAfter.\n"
    with pytest.raises(ValueError):
        graph.embed("no chart here", "flowchart TD")
