"""The triage script laid out for an SVG drawing on the server: no JavaScript, no library.

Questions are cards in layers (each below every question that leads to it); an answer that
leads to another question is an arrow, and one that ends in advice is a chip in the level's
colour inside the card, so every way through reads top to bottom. The answer a "not sure"
counts as is labelled so. Red flags, checked on every message, are entry points in a band of
their own above the questions.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from skill.console import levels
from skill.content import Question, Script

CARD_W, GAP_X, GAP_Y = 230, 30, 70  # card width, gaps between cards and between layers
LINE, CHIP_LINE, PAD = 17, 15, 10  # line heights of question and chip text, card padding
WRAP, CHIP_WRAP = 30, 33  # characters per line of question text and of chip text
TITLE = 18  # the question id's line, from the card's top padding to the text's first line
LABEL_LINE = 14  # line height of an arrow's label
LABEL_CHAR = 6.6  # SVG units per character of an arrow's label, for the white behind it
FLAG_W, FLAG_H = CARD_W, 96
MARGIN = 16


@dataclass
class Card:
    """One question's card: where it is drawn and what is in it."""

    question: Question
    lines: list[str]
    chips: list[dict]  # answers that end in advice: label, outcome, fill, ink
    x: float = 0.0
    y: float = 0.0
    h: float = 0.0
    row_h: float = 0.0  # the tallest card in its layer: arrows leave from below that
    edges: list[dict] = field(default_factory=list)  # answers that lead on to a question


def answers(question: Question) -> list[tuple[str, str]]:
    """(answer label, where it leads) for every answer the question takes, "not sure" noted."""
    if question.type == "number":
        found, low = [], question.min
        for top, nxt in question.ranges:
            found.append((f"{low} to {top}" if top is not None else f"{low} or over", nxt))
            low = (top or 0) + 1
        return found
    if question.type == "choice":
        pairs = [(o.id, o.label, o.next) for o in question.options]
    else:
        pairs = [(value, value, nxt) for value, nxt in question.edges.items()]
    return [
        (label + (", or not sure" if value == question.unsure else ""), nxt)
        for value, label, nxt in pairs
    ]


def _layers(script: Script) -> dict[str, int]:
    """Each question's layer: the longest way to it from the start (the script has no loops)."""
    depth: dict[str, int] = {}

    def reach(qid: str, d: int) -> None:
        if depth.get(qid, -1) >= d:
            return
        depth[qid] = d
        for _, nxt in answers(script.questions[qid]):
            if nxt in script.questions:
                reach(nxt, d + 1)

    reach(script.start, 0)
    return depth


def layout(script: Script) -> dict:
    """Everything the template draws: cards, arrows, red-flag entries and the picture's size."""
    cards = {q.id: _card(script, q) for q in script.questions.values()}
    parents: dict[str, list[Card]] = {}
    for card in cards.values():
        for _, nxt in answers(card.question):
            if nxt in cards:
                parents.setdefault(nxt, []).append(card)
    rows: dict[int, list[Card]] = {}
    for qid, d in _layers(script).items():
        rows.setdefault(d, []).append(cards[qid])
    for d in sorted(rows):
        _place_row(rows[d], parents)
    left = min(c.x for row in rows.values() for c in row)
    width = max(c.x for row in rows.values() for c in row) - left + CARD_W + 2 * MARGIN
    flags = _flags(script, width)
    y = (flags[-1]["y"] + FLAG_H if flags else MARGIN) + GAP_Y * 1.2
    top = y
    for d in sorted(rows):
        row_h = max(c.h for c in rows[d])
        for card in rows[d]:
            card.x += MARGIN - left
            card.y, card.row_h = y, row_h
        y += row_h + GAP_Y
    arrows = _arrows(cards)
    start = cards[script.start]
    return {
        "cards": [c for row in rows.values() for c in row],
        "arrows": arrows,
        "flags": flags,
        "width": round(width),
        "height": round(y),
        "top": top - GAP_Y * 0.6,
        "start": {"x": start.x + CARD_W / 2, "y": start.y},
        "card_w": CARD_W,
        "title": TITLE,
        "line": LINE,
        "chip_line": CHIP_LINE,
        "pad": PAD,
        "flag_w": FLAG_W,
        "flag_h": FLAG_H,
    }


def _card(script: Script, question: Question) -> Card:
    chips = []
    for label, nxt in _merged(answers(question)):
        if nxt in script.outcomes:
            outcome = script.outcomes[nxt]
            fill, ink = levels.colours(outcome.level)
            lines = textwrap.wrap(label, CHIP_WRAP) + textwrap.wrap(
                f"\u2192 {outcome.title}", CHIP_WRAP
            )
            chips.append(
                {
                    "lines": lines,
                    "outcome": outcome,
                    "fill": fill,
                    "ink": ink,
                    "h": CHIP_LINE * len(lines) + 6,
                }
            )
    lines = textwrap.wrap(question.text, WRAP)
    h = PAD * 2 + TITLE + LINE * len(lines) + sum(c["h"] + 3 for c in chips)
    return Card(question, lines, chips, h=h)


def _merged(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Answers that lead to the same place as one, their labels joined."""
    joined: dict[str, list[str]] = {}
    for label, nxt in pairs:
        joined.setdefault(nxt, []).append(label)
    return [(" / ".join(labels), nxt) for nxt, labels in joined.items()]


def _place_row(row: list[Card], parents: dict[str, list[Card]]) -> None:
    """Put each card under the middle of the cards that lead to it, without overlaps."""
    wanted = {}
    for card in row:
        above = parents.get(card.question.id, [])
        wanted[card.question.id] = sum(p.x for p in above) / len(above) if above else 0.0
        card.x = wanted[card.question.id]
    row.sort(key=lambda c: c.x)
    for before, card in zip(row, row[1:], strict=False):
        card.x = max(card.x, before.x + CARD_W + GAP_X)
    shift = (sum(wanted.values()) - sum(c.x for c in row)) / len(row)  # pushed apart evenly
    for card in row:
        card.x += shift


def _flags(script: Script, width: float) -> list[dict]:
    """Red flags (and the safe ending after unreadable answers) as entries along the top."""
    entries = [
        (
            " or ".join(" + ".join(n.replace("_", " ") for n in line) for line in flag.when),
            script.outcomes[flag.outcome],
            flag.id,
        )
        for flag in script.red_flags
    ]
    entries.append(("3 answers it cannot read", script.outcomes[script.safe_ending], "unreadable"))
    per_row = max(1, int((width - 2 * MARGIN + GAP_X) // (FLAG_W + GAP_X)))
    found = []
    for i, (when, outcome, ident) in enumerate(entries):
        fill, ink = levels.colours(outcome.level)
        found.append(
            {
                "id": ident,
                "when": textwrap.wrap(when, CHIP_WRAP)[:3],
                "outcome": outcome,
                "lines": textwrap.wrap(f"\u2192 {outcome.title}", CHIP_WRAP),
                "fill": fill,
                "ink": ink,
                "x": MARGIN + (i % per_row) * (FLAG_W + GAP_X),
                "y": MARGIN + 26 + (i // per_row) * (FLAG_H + 12),
            }
        )
    return found


def _arrows(cards: dict[str, Card]) -> list[dict]:
    """Every arrow between cards, its answer labelled just above the card it points to; the
    labels of several arrows into one card share its width, in the order their sources sit."""
    into: dict[str, list[tuple[Card, str]]] = {}
    for card in cards.values():
        for label, nxt in _merged(answers(card.question)):
            if nxt in cards:
                into.setdefault(nxt, []).append((card, label))
    arrows = []
    for nxt, sources in into.items():
        target = cards[nxt]
        sources.sort(key=lambda pair: pair[0].x)
        share = CARD_W / len(sources)
        for k, (source, label) in enumerate(sources):
            lines = textwrap.wrap(label, max(8, int(share / LABEL_CHAR) - 1))
            w = max(len(line) for line in lines) * LABEL_CHAR + 6
            x = target.x + share * (k + 0.5) - w / 2
            y = target.y - 14 - LABEL_LINE * len(lines)
            arrows.append(
                {
                    "path": _path(source, target),
                    "lines": lines,
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "w": round(w),
                    "h": LABEL_LINE * len(lines) + 4,
                    "unsure": "not sure" in label,
                }
            )
    return arrows


def _path(source: Card, target: Card) -> str:
    """Down from a card to below its layer, then a curve to the top of the target card."""
    x1, y0, y1 = source.x + CARD_W / 2, source.y + source.h, source.y + source.row_h
    x2, y2 = target.x + CARD_W / 2, target.y
    bend = max(GAP_Y, (y2 - y1) / 2)
    return (
        f"M{x1:.0f},{y0:.0f} L{x1:.0f},{y1:.0f} "
        f"C{x1:.0f},{y1 + bend:.0f} {x2:.0f},{y2 - bend:.0f} {x2:.0f},{y2:.0f}"
    )
