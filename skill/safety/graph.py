"""The triage script as a flowchart (Mermaid or Graphviz dot), for clinicians to check.

Questions are boxes with their text, answers label the edges, red flags are entry nodes
pointing at the outcome they force (they are screened on every message), and outcomes are
coloured by level. A red flag's check question (asked on weak evidence) is part of its red-flag
node, not drawn as a box. Everything comes from the content, so the chart is always the script.
"""

from __future__ import annotations

import re
import textwrap

from skill.content import Level, Script

WRAP = 34  # characters per line inside a node
# Fill and text colour per level, lowest first: green to dark red.
COLOURS = dict(
    zip(
        Level,
        [
            ("#c8e6c9", "#1b5e20"),
            ("#fff59d", "#5d4037"),
            ("#ffcc80", "#7f3300"),
            ("#ef9a9a", "#7f0000"),
            ("#b71c1c", "#ffffff"),
        ],
        strict=True,
    )
)
FENCE = re.compile(r"```mermaid\n.*?```", re.S)


def _edges(script: Script) -> list[tuple[str, str, str]]:
    """(from, answer, to) for every answer of every question, in script order."""
    edges = []
    for q in _script_questions(script):
        if q.type == "number":
            low = q.min
            for top, nxt in q.ranges:
                edges.append((q.id, f"{low}-{top}" if top is not None else f"{low}+", nxt))
                low = (top or 0) + 1
        elif q.type == "choice":
            edges += [(q.id, o.label, o.next) for o in q.options]
        else:
            edges += [(q.id, value, nxt) for value, nxt in q.edges.items()]
    return edges


def _script_questions(script: Script):
    return [q for q in script.questions.values() if not q.checks]


def _flag_label(when) -> str:
    lines = [" + ".join(name.replace("_", " ") for name in line) for line in when]
    return "red flag: " + " or ".join(lines)


def _wrap(text: str, sep: str) -> str:
    return sep.join(textwrap.wrap(text, WRAP))


def mermaid(script: Script) -> str:
    """The script as a Mermaid flowchart."""

    def label(text: str) -> str:
        return '"' + _wrap(text, "<br/>").replace('"', "#quot;") + '"'

    lines = ["flowchart TD", f"    start([start]) --> q_{script.start}"]
    for q in _script_questions(script):
        lines.append(f"    q_{q.id}[{label(q.text)}]")
    for src, answer, dst in _edges(script):
        kind = "q" if dst in script.questions else "o"
        lines.append(f"    q_{src} -->|{label(answer)}| {kind}_{dst}")
    for flag in script.red_flags:
        lines.append(f"    rf_{flag.id}[/{label(_flag_label(flag.when))}/] ==> o_{flag.outcome}")
    lines.append(f'    misses[/"3 unreadable answers"/] -.-> o_{script.safe_ending}')
    for o in script.outcomes.values():
        lines.append(f"    o_{o.id}([{label(f'{o.title} ({o.level})')}]):::{o.level}")
    for level, (fill, colour) in COLOURS.items():
        lines.append(f"    classDef {level} fill:{fill},color:{colour},stroke:{colour}")
    return "\n".join(lines)


def dot(script: Script) -> str:
    """The script as a Graphviz dot digraph."""

    def label(text: str) -> str:
        return '"' + _wrap(text, "\\n").replace('"', '\\"') + '"'

    lines = ["digraph triage {", "    node [fontname=Helvetica fontsize=10];"]
    lines.append(f"    start [shape=circle]; start -> q_{script.start};")
    for q in _script_questions(script):
        lines.append(f"    q_{q.id} [shape=box label={label(q.text)}];")
    for src, answer, dst in _edges(script):
        kind = "q" if dst in script.questions else "o"
        lines.append(f"    q_{src} -> {kind}_{dst} [label={label(answer)}];")
    for flag in script.red_flags:
        flag_label = label(_flag_label(flag.when))
        lines.append(f"    rf_{flag.id} [shape=parallelogram label={flag_label}];")
        lines.append(f"    rf_{flag.id} -> o_{flag.outcome} [style=bold];")
    lines.append('    misses [shape=parallelogram label="3 unreadable answers"];')
    lines.append(f"    misses -> o_{script.safe_ending} [style=dashed];")
    for o in script.outcomes.values():
        fill, colour = COLOURS[o.level]
        lines.append(
            f'    o_{o.id} [shape=box style="rounded,filled" fillcolor="{fill}" '
            f'fontcolor="{colour}" label={label(f"{o.title} ({o.level})")}];'
        )
    lines.append("}")
    return "\n".join(lines)


def embed(text: str, chart: str) -> str:
    """Replace the first ```mermaid block of a document with the chart."""
    if not FENCE.search(text):
        raise ValueError("no ```mermaid block to replace")
    return FENCE.sub(lambda _: f"```mermaid\n{chart}\n```", text, count=1)
