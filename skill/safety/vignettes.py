"""Vignette cases: a runner's opening and facts, answered question by question.

Answers come from the content's own question `facts` and types, never from the wording,
so new cases and new questions need no code. A case may give the runner's literal reply at
a question (`say`). `run` plays a case through the engine in an answer style (plain, or as
people text) and grades the level against the levels a clinician accepts; `understanding`
measures how much of each opening message the free-text reader picks up.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from skill.content import Level, Question, Script
from skill.triage import engine, understand

MAX_TURNS = 60  # more than any path through the script, with every re-ask
DEFAULT_LOCALE = "en-GB"
STYLES = ("plain", "people")
# How people answer, for the "people" style: varied forms, slips and short remarks. A hedge is
# only ever given where the true answer is the question's own `unsure` (safer) answer, so moving
# up, or asking again, is the accepted behaviour; a re-asked question gets a plain answer.
PEOPLE_SAY = {
    "yes": [
        "yes",
        "yeah",
        "yep",
        "yh",
        "yeah it does",
        "yes mate",
        "aye",
        "yup",
        "yse",
        "yeah, a bit of that",
        "i think so",
        "reckon so",
        "possibly",
    ],
    "no": [
        "no",
        "nope not really",
        "nah mate",
        "nah",
        "nope",
        "no not really",
        "noo",
        "not at all",
        "nay",
        "no, nothing like that",
        "n",
    ],
    "choice": ["{label}", "mostly the {label}", "the {label} i reckon", "{label} mainly"],
    "number": ["{n}", "i'm {n}", "{n}yo", "{n} years old"],
}
HEDGES = ("yeah, a bit of that", "i think so", "reckon so", "possibly")


def load_cases(path: str | Path) -> list[dict]:
    """The cases in a vignette file."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def answer_value(question: Question, facts: dict) -> str | None:
    """The answer the facts give, as the engine's value: yes/no, an option id or a number."""
    if question.type == "number":
        values = [facts[f] for f in question.facts if isinstance(facts.get(f), int | float)]
        return str(int(values[0])) if values else None
    if question.type == "choice":
        wanted = {facts.get(f) for f in question.facts}
        return next((o.id for o in question.options if o.id in wanted), None)
    return "yes" if any(facts.get(f) is True for f in question.facts) else "no"


def answer_for(
    question: Question,
    facts: dict,
    unsure=(),
    rng: random.Random | None = None,
    again: bool = False,
) -> str:
    """What the runner in the case would reply: a fact not given counts as no (or unknown).

    A fact named in `unsure` is answered vaguely: "sort of" when it is true, else "dunno".
    With `rng`, the answer is phrased as people do (PEOPLE_SAY); `again` (a re-ask) gets a
    plain form, never a hedge.
    """
    doubtful = [f for f in question.facts if f in unsure]
    if doubtful:
        return "sort of" if any(facts.get(f) is True for f in doubtful) else "dunno"
    value = answer_value(question, facts)
    if value is None:
        return "not sure"
    label = next((o.label for o in question.options if o.id == value), value)
    if rng is None:
        return label
    kind = {"choice": "choice", "number": "number"}.get(question.type, value)
    hedge_ok = value == question.unsure and not again
    forms = [f for f in PEOPLE_SAY[kind] if hedge_ok or f not in HEDGES]
    return rng.choice(forms).format(label=label, n=value)


@dataclass(frozen=True)
class Result:
    """How one case went: the advice given against the advice accepted."""

    id: str
    level: str
    condition: str
    accept: tuple[str, ...]
    expected: str | None
    verdict: str  # exact | over | UNDER
    asked: tuple[str, ...]  # questions asked, in order, re-asks included
    reasks: int


def verdict(level: str, accept) -> str:
    """exact when accepted, UNDER when below the lowest accepted level, else over."""
    if level in accept:
        return "exact"
    if Level(level) < min(Level(a) for a in accept):
        return "UNDER"
    return "over"


def case_locale(case: dict, locale: str | None = None) -> str:
    """The case's own locale, else the one asked for, else the default."""
    return case.get("locale") or locale or DEFAULT_LOCALE


class Runner:
    """The runner in a case, answering each question as it is asked, in an answer style.

    At a question named in the case's `say`, the runner sends those words the first time it
    is asked (a list: each in turn as it is asked again); otherwise the answer comes from the
    facts, in the style asked for, a question asked again straight after getting a plain form.
    Any channel can play a case with one: it only needs the question each reply asks.
    """

    def __init__(self, case: dict, style: str = "plain", seed: int = 0):
        self.facts, self.unsure = case.get("facts", {}), case.get("unsure", [])
        self.say = case.get("say", {})
        self.rng = random.Random(f"{seed}:{case['id']}") if style == "people" else None
        self.asked: list[str] = []

    def answer(self, question: Question) -> str:
        """What the runner replies to the question, this time it is asked."""
        said = self.say.get(question.id, [])
        said = [said] if isinstance(said, str) else said
        times = self.asked.count(question.id)
        again = bool(self.asked) and self.asked[-1] == question.id
        self.asked.append(question.id)
        if times < len(said):
            return str(said[times])
        return answer_for(question, self.facts, self.unsure, self.rng, again)


def play(
    script: Script, case: dict, locale: str | None = None, style: str = "plain", seed: int = 0
):
    """Run a case through the engine, the runner answering as Runner does; yield each reply."""
    runner = Runner(case, style, seed)
    state, reply = engine.step(
        script, None, case["opening"], 0.0, locale=case_locale(case, locale), ttl_seconds=1e9
    )
    for turn in range(MAX_TURNS):
        yield reply
        if reply.ended or not reply.question:
            return
        message = runner.answer(reply.question)
        state, reply = engine.step(
            script, state, message, turn + 1.0, locale=state["locale"], ttl_seconds=1e9
        )
    raise RuntimeError(f"case {case['id']} did not finish in {MAX_TURNS} turns")


def run(
    script: Script, case: dict, locale: str | None = None, style: str = "plain", seed: int = 0
) -> Result:
    """Play one case and grade the advice it ends with."""
    asked, reasks = [], 0
    for reply in play(script, case, locale, style, seed):
        if reply.question:
            reasks += bool(asked) and asked[-1] == reply.question.id
            asked.append(reply.question.id)
        final = reply
    outcome = final.outcome
    accept = tuple(case["accept"])
    return Result(
        id=str(case["id"]),
        level=outcome.level,
        condition=outcome.id,
        accept=accept,
        expected=case.get("condition"),
        verdict=verdict(outcome.level, accept),
        asked=tuple(asked),
        reasks=reasks,
    )


def totals(results: list[Result]) -> dict:
    """Counts of exact, over- and under-triage, emergencies caught, self-care cases given self
    care, conditions named, and the median number of questions before the advice."""
    emergencies = [r for r in results if max(Level(a) for a in r.accept).urgent]
    self_care = [r for r in results if min(Level(a) for a in r.accept) == Level.SELF_CARE]
    named = [r for r in results if r.expected]
    return {
        "cases": len(results),
        "exact": sum(r.verdict == "exact" for r in results),
        "over": sum(r.verdict == "over" for r in results),
        "under": sum(r.verdict == "UNDER" for r in results),
        "emergencies": len(emergencies),
        "emergencies_caught": sum(Level(r.level).urgent for r in emergencies),
        "self_care": len(self_care),
        "self_care_correct": sum(r.level == Level.SELF_CARE for r in self_care),
        "median_questions": statistics.median(len(r.asked) for r in results) if results else 0,
        "conditions": len(named),
        "conditions_named": sum(r.condition == r.expected for r in named),
    }


def table(results: list[Result]) -> str:
    """The results as a plain-text table with the totals underneath."""
    head = ("case", "level given", "condition given", "accepted", "expected", "verdict")
    rows = [head] + [
        (r.id, r.level, r.condition, ",".join(r.accept), r.expected or "-", r.verdict)
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    t = totals(results)
    lines.append(
        f"\n{t['cases']} cases: {t['exact']} exact, {t['over']} over-triage, "
        f"{t['under']} under-triage; emergencies caught {t['emergencies_caught']}/"
        f"{t['emergencies']}; self care correct {t['self_care_correct']}/{t['self_care']}; "
        f"condition named {t['conditions_named']}/{t['conditions']}; "
        f"median questions {t['median_questions']:g}"
    )
    return "\n".join(lines)


def as_json(results: list[Result]) -> dict:
    """The results and totals as plain data."""
    return {"cases": [asdict(r) for r in results], "totals": totals(results)}


@dataclass(frozen=True)
class Reading:
    """What the free-text reader made of one case's opening message."""

    id: str
    understood: bool  # a fact or red flag found, and the first question not asked twice
    red_flag: str | None
    found: tuple[str, ...]  # questions the opening answered
    stated: tuple[str, ...]  # facts the opening states that some question asks about
    picked: tuple[str, ...]  # those of them the reader picked up with the case's value
    missed_flags: tuple[str, ...]  # red flags the opening states that did not fire


def _answers(script: Script, fact: str, value) -> set[tuple[str, str]]:
    """The (question, answer) pairs a fact with this value gives."""
    return {
        (q.id, answer_value(q, {fact: value})) for q in script.questions.values() if fact in q.facts
    }


def read_opening(script: Script, case: dict) -> Reading:
    """Measure the opening of a case: which stated facts and red flags the reader found."""
    text = understand.read(script, case["opening"])
    facts = case.get("facts", {})
    flag = understand.red_flag(script, text)
    found = understand.detect(script, text)
    asked = run(script, case).asked
    first_reask = len(asked) > 1 and asked[0] == asked[1]
    stated = tuple(f for f in case.get("stated", ()) if _answers(script, f, True))
    picked = tuple(
        f for f in stated if any(found.get(q) == v for q, v in _answers(script, f, facts.get(f)))
    )
    given = set().union(*(_answers(script, f, facts.get(f)) for f in stated))
    detected_by = {
        name: {
            (q.id, value)
            for q in script.questions.values()
            for value, names in q.detect
            if name in names
        }
        for name in script.phrases
    }
    missed = tuple(
        rf.id
        for rf in script.red_flags
        if any(all(detected_by[name] & given for name in line) for line in rf.when)
        and (flag is None or flag.level < script.outcomes[rf.outcome].level)
    )
    return Reading(
        id=str(case["id"]),
        understood=bool(flag or found) and not first_reask,
        red_flag=flag.id if flag else None,
        found=tuple(found),
        stated=stated,
        picked=picked,
        missed_flags=missed,
    )


def understanding(readings: list[Reading]) -> dict:
    """Share of openings understood, share of stated facts picked up, red flags missed."""
    stated = sum(len(r.stated) for r in readings)
    picked = sum(len(r.picked) for r in readings)
    return {
        "openings": len(readings),
        "understood": sum(r.understood for r in readings),
        "understood_share": round(sum(r.understood for r in readings) / len(readings), 3),
        "facts_stated": stated,
        "facts_picked": picked,
        "facts_share": round(picked / stated, 3) if stated else 1.0,
        "red_flags_missed": [f"{r.id}:{f}" for r in readings for f in r.missed_flags],
    }


def understanding_table(readings: list[Reading]) -> str:
    """Per opening: understood or not, and the stated facts it missed; then the figures."""
    lines = []
    for r in readings:
        missed = [f for f in r.stated if f not in r.picked]
        lines.append(
            f"{r.id:<5} {'understood' if r.understood else 'RE-ASK    '} "
            f"picked {len(r.picked)}/{len(r.stated)}"
            + (f"  missed: {', '.join(missed)}" if missed else "")
            + (f"  RED FLAG MISSED: {', '.join(r.missed_flags)}" if r.missed_flags else "")
        )
    u = understanding(readings)
    lines.append(
        f"\nopenings understood {u['understood']}/{u['openings']} "
        f"({u['understood_share']:.0%}); stated facts picked up {u['facts_picked']}/"
        f"{u['facts_stated']} ({u['facts_share']:.0%}); red flags missed "
        f"{len(u['red_flags_missed'])}"
    )
    return "\n".join(lines)
