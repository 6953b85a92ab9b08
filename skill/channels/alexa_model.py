"""The Alexa skill package (manifest and interaction models), generated from the content.

`python -m skill alexa-model --write` writes skill-package/ in the ASK CLI layout; a test checks
the committed files equal what this generates, so the model never drifts from the content.
Every intent's words come from the content: answer and command vocabulary, hedges as slot
values (so the engine gets the words and can ask again), choice options (their words as slot
synonyms), the carrier words that lead into free speech, and the store listing in
messages.yaml. Alexa refuses a sample that is an AMAZON.SearchQuery slot alone, so the
catch-all starts with a carrier: "I can't stand up" arrives as "can't stand up", with its
negation, and the engine screens it for red flags.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from skill.content import Script

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent / "skill-package"
LOCALES = ("en-GB", "en-US")
ENDPOINT = "https://example.invalid/alexa"  # replaced with the real URL before `ask deploy`

FALLBACK_INTENT = "AMAZON.FallbackIntent"
# Intents that stand for one word the engine reads: (content list, key); its first entry is
# what the adapter sends, and its entries that a voice can say become the sample utterances.
WORD_INTENTS = {
    "AMAZON.YesIntent": ("vocabulary", "yes"),
    "AMAZON.NoIntent": ("vocabulary", "no"),
    "UnsureIntent": ("vocabulary", "unsure"),  # less its hedges: HedgeIntent has those
    "AMAZON.HelpIntent": ("commands", "help"),
    "RestartIntent": ("commands", "restart"),
    "MoreIntent": ("commands", "more"),
    "BackIntent": ("commands", "back"),
    # Built-ins Amazon trains itself; they carry no samples of ours.
    "AMAZON.NavigateHomeIntent": ("commands", "restart"),
    "AMAZON.StopIntent": ("commands", "stop"),
    "AMAZON.CancelIntent": ("commands", "stop"),
    FALLBACK_INTENT: None,  # nothing readable: the engine asks again, with a hint
}
_BUILT_IN_ONLY = ("AMAZON.NavigateHomeIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent")
ENDING_INTENTS = ("AMAZON.StopIntent", "AMAZON.CancelIntent")
CHOICE_INTENT, CHOICE_SLOT, CHOICE_TYPE = "ChoiceIntent", "choice", "CHOICE_OPTION"
NUMBER_INTENT, NUMBER_SLOT = "NumberIntent", "number"
FREE_TEXT_INTENT, FREE_TEXT_SLOT = "FreeTextIntent", "query"
HEDGE_INTENT, HEDGE_SLOT, HEDGE_TYPE = "HedgeIntent", "hedge", "HEDGE_WORDS"
# A yes or a no that leads into more: the adapter puts the answer's word before the rest.
LEAD_INTENTS = {"YesAndIntent": "yes", "NoAndIntent": "no"}
_CHOICE_SAMPLES = (
    "{c}",
    "in my {c}",
    "on my {c}",
    "in the {c}",
    "at the {c}",
    "it's in my {c}",
    "it's the {c}",
    "it hurts in my {c}",
    "the pain is in my {c}",
    "mostly the {c}",
)
_NUMBER_SAMPLES = (
    "{n}",
    "i'm {n}",
    "i am {n}",
    "about {n}",
    "{n} years old",
    "i'm {n} years old",
    "{n} yo",
    "he's {n}",
    "she's {n}",
    "they're {n}",
    "aged {n}",
)
_SAYABLE = re.compile(r"[a-z][a-z' ]*[a-z]")  # letters, spaces and apostrophes: no digits


def _words(script: Script, source: tuple[str, str]) -> tuple[str, ...]:
    return getattr(script, source[0])[source[1]]


def message_for(script: Script, intent: str) -> str | None:
    """The word the engine reads for a word intent, "" for the fallback, None if not one."""
    if intent not in WORD_INTENTS:
        return None
    source = WORD_INTENTS[intent]
    return _words(script, source)[0] if source else ""


def subject_intents(script: Script) -> dict[str, str]:
    """An intent for each subject ("my {query}"), by name, with the words it puts back."""
    return {
        "Lead" + "".join(w.capitalize() for w in re.findall("[a-z]+", words)) + "Intent": words
        for words in dict.fromkeys(script.subjects)
    }


def answer_lead(script: Script, intent: str) -> str | None:
    """The answer word a lead intent ("no but ...") puts before the rest, None if not one."""
    answer = LEAD_INTENTS.get(intent)
    return script.vocabulary[answer][0] if answer in script.answer_leads else None


def _sayable(words) -> list[str]:
    return [w for w in dict.fromkeys(words) if _SAYABLE.fullmatch(w)]


def _taken_words(script: Script) -> set[str]:
    """Words that already mean an answer or a command, so no slot value may claim them."""
    lists = [*script.vocabulary.values(), *script.commands.values()]
    return {w for words in lists for w in words}


def _choice_values(script: Script) -> list[dict]:
    taken, values = _taken_words(script), {}
    for question in script.questions.values():
        for option in question.options:
            words = [w for w in _sayable(option.words) if w not in taken and w != option.label]
            values.setdefault(
                option.id, {"id": option.id, "name": {"value": option.label, "synonyms": words}}
            )
    return list(values.values())


def _intent(name: str, samples=(), slots=()) -> dict:
    intent = {"name": name, "samples": list(samples)}
    if slots:
        intent["slots"] = [{"name": n, "type": t} for n, t in slots]
    return intent


def interaction_model(script: Script) -> dict:
    """The language model for one locale (the same words serve en-GB and en-US)."""
    intents = []
    hedges = _sayable(script.vocabulary.get("hedge", ()))
    for name, source in WORD_INTENTS.items():
        built_in = source is None or name in _BUILT_IN_ONLY
        samples = [] if built_in else _sayable(_words(script, source))
        intents.append(_intent(name, [s for s in samples if s not in hedges]))
    kinds = {q.type for q in script.questions.values()}
    types = []
    if "choice" in kinds:
        samples = [s.format(c=f"{{{CHOICE_SLOT}}}") for s in _CHOICE_SAMPLES]
        intents.append(_intent(CHOICE_INTENT, samples, [(CHOICE_SLOT, CHOICE_TYPE)]))
        types.append({"name": CHOICE_TYPE, "values": _choice_values(script)})
    if "number" in kinds:
        samples = [s.format(n=f"{{{NUMBER_SLOT}}}") for s in _NUMBER_SAMPLES]
        intents.append(_intent(NUMBER_INTENT, samples, [(NUMBER_SLOT, "AMAZON.NUMBER")]))
    if hedges:
        intents.append(_intent(HEDGE_INTENT, [f"{{{HEDGE_SLOT}}}"], [(HEDGE_SLOT, HEDGE_TYPE)]))
        types.append({"name": HEDGE_TYPE, "values": [{"name": {"value": h}} for h in hedges]})
    for name, answer in LEAD_INTENTS.items():
        if script.answer_leads.get(answer):
            samples = [f"{lead} {{{FREE_TEXT_SLOT}}}" for lead in script.answer_leads[answer]]
            intents.append(_intent(name, samples, [(FREE_TEXT_SLOT, "AMAZON.SearchQuery")]))
    for name, words in subject_intents(script).items():
        samples = [f"{words} {{{FREE_TEXT_SLOT}}}"]
        intents.append(_intent(name, samples, [(FREE_TEXT_SLOT, "AMAZON.SearchQuery")]))
    samples = [f"{lead} {{{FREE_TEXT_SLOT}}}" for lead in dict.fromkeys(script.carriers)]
    intents.append(_intent(FREE_TEXT_INTENT, samples, [(FREE_TEXT_SLOT, "AMAZON.SearchQuery")]))
    model = {"invocationName": script.name.lower(), "intents": intents, "types": types}
    return {"interactionModel": {"languageModel": model}}


def manifest(script: Script, endpoint: str = ENDPOINT) -> dict:
    """skill.json: the store listing with the health disclaimer, privacy and the endpoint."""
    invocation = script.name.lower()
    locales = {
        code: {
            "name": script.name,
            "summary": script.fill(script.messages["skill_summary"], code),
            "description": script.fill(script.messages["skill_description"], code),
            "examplePhrases": [
                f"Alexa, open {invocation}",
                f"Alexa, launch {invocation}",
                f"Alexa, ask {invocation} for help",
            ],
            "keywords": [],
        }
        for code in LOCALES
    }
    return {
        "manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {
                "locales": locales,
                "isAvailableWorldwide": False,
                "distributionCountries": [code.split("-")[1] for code in LOCALES],
                "category": "HEALTH_AND_FITNESS",
                "testingInstructions": script.fill(script.messages["help"], LOCALES[0]),
            },
            "privacyAndCompliance": {
                "allowsPurchases": False,
                "usesPersonalInfo": False,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": False,
            },
            "apis": {"custom": {"endpoint": {"uri": endpoint, "sslCertificateType": "Wildcard"}}},
        }
    }


def package(script: Script, endpoint: str = ENDPOINT) -> dict[str, str]:
    """Every file of the skill package, by path relative to skill-package/, as JSON text."""
    files = {"skill.json": manifest(script, endpoint)}
    for code in LOCALES:
        files[f"interactionModels/custom/{code}.json"] = interaction_model(script)
    return {path: json.dumps(data, indent=2) + "\n" for path, data in files.items()}


def write(script: Script, directory: Path = PACKAGE_DIR, endpoint: str = ENDPOINT) -> list[Path]:
    """Write the package under directory; return the paths written."""
    written = []
    for rel, text in package(script, endpoint).items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
