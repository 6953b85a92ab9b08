"""Whole-script checks run at load: the graph, the SMS budget, the red flags' own examples and
review dates."""

from __future__ import annotations

import dataclasses
from datetime import date

from skill.content import sms
from skill.content.model import ContentError, Script

SMS_BUDGET = 306  # two GSM-7 segments


def _script_fault(place: str, fault: str) -> ContentError:
    return ContentError("content/script.yaml", place, fault)


def check_graph(script: Script) -> None:
    """Every answer leads somewhere, no path loops, and every outcome can be reached."""
    _check_targets(script)
    reached = _reachable(script, script.start)
    reached |= {flag.outcome for flag in script.red_flags} | {script.safe_ending}
    reached |= {flag.check for flag in script.red_flags}
    if script.not_better:  # given at the check-in, not by an answer
        if script.not_better not in script.outcomes:
            raise _script_fault("not_better", f"'{script.not_better}' is not an outcome")
        reached.add(script.not_better)
    for oid in script.outcomes:
        if oid not in reached:
            raise ContentError("content/outcomes.yaml", f"outcomes.{oid}", "no path reaches it")
    for qid in script.questions:
        if qid not in reached:
            raise _script_fault(f"questions.{qid}", "no path reaches it")


def _check_targets(script: Script) -> None:
    """The start, the safe ending and every answer name a question or an outcome."""
    known = set(script.questions) | set(script.outcomes)
    for place, target in [("start", script.start), ("safe_ending", script.safe_ending)]:
        if target not in known:
            raise _script_fault(place, f"'{target}' is neither a question nor an outcome")
    for q in script.questions.values():
        for target in q.targets():
            if target not in known:
                raise _script_fault(
                    f"questions.{q.id}",
                    f"an answer leads to '{target}', which is neither a question nor an outcome",
                )


def _reachable(script: Script, start: str) -> set[str]:
    """Every question and outcome some answers lead to from `start`; a cycle is a fault."""
    reached: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> None:
        if node in path:
            loop = " -> ".join(path[path.index(node) :] + [node])
            raise _script_fault(f"questions.{node}", f"answers lead round in a cycle: {loop}")
        if node in reached:
            return
        reached.add(node)
        question = script.questions.get(node)
        if question:
            path.append(node)
            for target in question.targets():
                visit(target)
            path.pop()

    visit(start)
    return reached


def check_budget(script: Script) -> None:
    """Questions and short advice fit two SMS segments in every locale."""
    from skill.triage.render import question_text  # render depends on content, not the other way

    footer = script.messages["footer"]
    for code in script.locales:
        for q in script.questions.values():
            text = question_text(script, q, code, voice=False)
            if sms.segments(text) > 2:
                raise ContentError(
                    "content/script.yaml",
                    f"questions.{q.id}.text",
                    f"is {len(text)} characters with its options in {code}: "
                    f"over the {SMS_BUDGET} of two SMS segments",
                )
        for o in script.outcomes.values():
            text = script.fill(f"{o.short}\n{footer}", code)
            if sms.segments(text) > 2:
                raise ContentError(
                    "content/outcomes.yaml",
                    f"outcomes.{o.id}.short",
                    f"is {len(text)} characters with the footer in {code}: "
                    f"over the {SMS_BUDGET} of two SMS segments",
                )


def check_examples(script: Script) -> None:
    """Every red flag's `examples` raise it at once, `weak` ask its check, `not` leave it be."""
    from skill.triage import understand  # the reader depends on content, not the other way

    for i, flag in enumerate(script.red_flags):
        for key, messages, wanted in (
            ("examples", flag.examples, "clear"),
            ("weak", flag.weak, "weak"),
            ("not", flag.not_, None),
        ):
            for message in messages:
                got = understand.flag_strength(script, flag, understand.read(script, message))
                if got != wanted:
                    raise ContentError(
                        "content/red_flags.yaml",
                        f"red_flags[{i}] ({flag.id}).{key}",
                        f"'{message}' {_SAID[got]}, but it should {_SHOULD[wanted]}",
                    )


_SAID = {"clear": "raises it at once", "weak": "asks its check question", None: "does not raise it"}
_SHOULD = {"clear": "raise it at once", "weak": "ask its check question", None: "not raise it"}


def with_warnings(script: Script, today: date) -> Script:
    warnings = tuple(
        f"content/outcomes.yaml: outcomes.{o.id}: review was due on {o.review_due}"
        for o in script.outcomes.values()
        if o.review_due < today
    )
    return dataclasses.replace(script, warnings=warnings)
