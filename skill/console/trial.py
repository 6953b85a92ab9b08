"""The try page's conversation: the engine run directly on the tester's own messages.

Only the messages are kept (in the tester's signed session cookie); each page view replays
them through `engine.step`, so no store, conversation, audit record or metric is touched and
the page always shows what the deployed engine and content do now.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from skill.channels import alexa
from skill.channels.voice.twiml import speakable
from skill.content import Outcome, Script
from skill.triage import engine, understand

CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "voice": "Phone call", "alexa": "Alexa"}
MAX_MESSAGE = 500  # characters per message
MAX_TOTAL = 2500  # characters in all: the messages ride in the session cookie (4 KB at most)
HOW = {"user": "typed", "text": "read from free text", "unsure": "not sure"}
_SPEAK = re.compile(r"</?speak>")


@dataclass
class Trial:
    """What the page shows: the turns, and what the engine decided from its state."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (message, reply wording)
    question: str | None = None
    answers: list[dict] = field(default_factory=list)
    known: dict = field(default_factory=dict)
    red_flags: list[tuple[int, Outcome, bool]] = field(default_factory=list)  # turn, raised
    outcome: Outcome | None = None
    forgotten: bool = False  # the last message was an opt-out: the engine forgot the state


def wording(script: Script, reply: engine.Reply, channel: str, locale: str) -> str:
    """The reply as the channel puts it: the text, or the words a voice or Alexa says."""
    if reply.silent:
        return ""
    if channel == "voice":
        return speakable(reply.speech)
    if channel == "alexa":
        said = alexa.respond(script, reply)["response"]["outputSpeech"]["ssml"]
        return html.unescape(_SPEAK.sub("", said))
    return reply.text


def replay(
    script: Script, messages: list[str], channel: str, locale: str, now: float, ttl: float
) -> Trial:
    """Run the messages through the engine from the start; read its decisions off its state."""
    trial, state, unsure = Trial(), None, set()
    for turn, message in enumerate(messages, 1):
        text = understand.read(script, message)
        waiting = script.questions.get(state.get("question") or "") if state else None
        before = len(state.get("trail", [])) if state else 0
        answered_unsure = bool(
            waiting
            and not state.get("outcome")
            and understand.read_answer(script, waiting, text) == "unsure"
        )
        flagged = understand.red_flag(script, text)
        level_before = _outcome(script, state).level if _outcome(script, state) else None
        state, reply = engine.step(script, state, message, now, locale=locale, ttl_seconds=ttl)
        trial.turns.append((message, wording(script, reply, channel, locale)))
        trail = state.get("trail", []) if state else []
        unsure = {i for i in unsure if i < len(trail)}
        if answered_unsure and len(trail) > before and trail[before][0] == waiting.id:
            unsure.add(before)
        if flagged:
            trial.red_flags.append(
                (turn, flagged, not level_before or flagged.level > level_before)
            )
    trial.forgotten = state is None and bool(messages)
    state = state or {}
    trial.question = None if state.get("outcome") else state.get("question")
    trial.outcome = _outcome(script, state)
    trial.known = dict(state.get("known") or {})
    for i, entry in enumerate(state.get("trail", [])):
        qid, value, how = (list(entry) + [None, None, None])[:3]
        how = "unsure" if i in unsure else how
        trial.answers.append({"question": qid, "value": value, "how": HOW.get(how, how or "?")})
    return trial


def _outcome(script: Script, state: dict | None) -> Outcome | None:
    return script.outcomes.get(state.get("outcome") or "") if state else None
