"""Answers that lead through the script to advice of a given level, found from the content
(no wording pinned): for each question on the way, the words that answer it."""

from __future__ import annotations

from skill.content import Script


def _answers(question) -> list[tuple[str, str]]:
    """(words, where they lead) for each answer a question takes."""
    if question.type == "yes_no":
        return [
            (value, question.edges[value]) for value in ("no", "yes") if value in question.edges
        ]
    if question.type == "choice":
        return [(option.label, option.next) for option in question.options]
    low = question.min
    found, previous = [], low
    for top, nxt in question.ranges:
        found.append((str(max(previous, low)), nxt))
        previous = (top or previous) + 1
    return found


def path_to(script: Script, level: str) -> dict[str, str]:
    """Question id -> words, along the first path from the start to advice at `level`."""

    def walk(node: str, seen: dict[str, str]):
        if node in script.outcomes:
            return seen if script.outcomes[node].level == level else None
        for words, nxt in _answers(script.questions[node]):
            found = walk(nxt, {**seen, node: words})
            if found is not None:
                return found
        return None

    found = walk(script.start, {})
    assert found is not None, f"no path to {level} advice"
    return found
