"""Vignette cases: a runner's opening and facts, answered question by question.

Answers come from the content's own question `facts` and types, never from the wording,
so new cases and new questions need no code.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from skill.content import Question


def load_cases(path: str | Path) -> list[dict]:
    """The cases in a vignette file."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def answer_for(question: Question, facts: dict) -> str:
    """What the runner in the case would reply: a fact not given counts as no (or unknown)."""
    if question.type == "number":
        values = [facts[f] for f in question.facts if isinstance(facts.get(f), int | float)]
        return str(values[0]) if values else "not sure"
    if question.type == "choice":
        wanted = {facts.get(f) for f in question.facts}
        chosen = next((o for o in question.options if o.id in wanted), None)
        return chosen.label if chosen else "not sure"
    return "yes" if any(facts.get(f) is True for f in question.facts) else "no"
