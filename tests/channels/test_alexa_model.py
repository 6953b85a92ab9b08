"""The Alexa skill package: generated from the content, checked in, and fit for `ask deploy`."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from skill.__main__ import main
from skill.channels import alexa_model

REQUIRED = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
)


@pytest.fixture(scope="module")
def model(script):
    return alexa_model.interaction_model(script)["interactionModel"]["languageModel"]


def _intents(model) -> dict[str, dict]:
    return {intent["name"]: intent for intent in model["intents"]}


def test_checked_in_package_is_what_the_content_generates(script):
    for rel, text in alexa_model.package(script).items():
        path = alexa_model.PACKAGE_DIR / rel
        assert path.is_file(), f"missing {path}: run python -m skill alexa-model --write"
        assert path.read_text(encoding="utf-8") == text, (
            f"skill-package/{rel} is out of date: run python -m skill alexa-model --write"
        )
    assert main(["alexa-model"]) == 0


def test_both_locales_use_the_same_model_and_an_invocation_name(script, model):
    for code in alexa_model.LOCALES:
        path = alexa_model.PACKAGE_DIR / "interactionModels" / "custom" / f"{code}.json"
        assert json.loads(path.read_text())["interactionModel"]["languageModel"] == model
    assert re.fullmatch(r"[a-z]+( [a-z]+)+", model["invocationName"])


def test_required_built_ins_and_our_commands_are_there(model):
    names = set(_intents(model))
    assert set(REQUIRED) <= names
    assert {"MoreIntent", "RestartIntent", "BackIntent", "UnsureIntent"} <= names


def _sayable(words) -> set[str]:
    # Digits and single letters ("1", "y") are for typing, not saying.
    return {w for w in words if re.fullmatch(r"[a-z][a-z' ]*[a-z]", w)}


def test_every_yes_no_and_unsure_word_a_voice_can_say_is_a_sample(script, model):
    intents = _intents(model)
    hedges = _sayable(script.vocabulary["hedge"])
    for name, value in [
        ("AMAZON.YesIntent", "yes"),
        ("AMAZON.NoIntent", "no"),
        ("UnsureIntent", "unsure"),
    ]:
        said = _sayable(script.vocabulary[value]) - hedges  # a hedge is the HedgeIntent's
        assert said and said <= set(intents[name]["samples"])
        assert alexa_model.message_for(script, name) == script.vocabulary[value][0]


def test_every_hedge_is_a_slot_value_so_the_engine_gets_its_words(script, model):
    hedge = _intents(model)["HedgeIntent"]
    assert hedge["samples"] == ["{hedge}"]
    [values] = [t["values"] for t in model["types"] if t["name"] == hedge["slots"][0]["type"]]
    assert {v["name"]["value"] for v in values} == _sayable(script.vocabulary["hedge"])


def test_every_carrier_and_subject_in_the_content_leads_into_free_speech(script, model):
    intents = _intents(model)
    samples = intents["FreeTextIntent"]["samples"]
    assert samples == [f"{lead} {{query}}" for lead in script.carriers]
    subjects = alexa_model.subject_intents(script)
    assert sorted(subjects.values()) == sorted(script.subjects)
    for name, words in subjects.items():  # one intent each, so its words can be put back
        assert intents[name]["samples"] == [f"{words} {{query}}"]
        samples = [*samples, *intents[name]["samples"]]
    for lead in (
        "by the way",
        "also",
        "and",
        "but",
        "it",
        "the pain",
        "actually",
        "oh and",
        "since",
        "when i",
        "my",
    ):
        assert f"{lead} {{query}}" in samples
    # A carrier is dropped by Alexa, so none may be an answer, a negation or a subject.
    answers = {w for words in script.vocabulary.values() for w in words}
    for words in (script.carriers, script.subjects):
        assert not set(words) & answers
        assert not [c for c in words if re.search(r"\b(no|not|never|\w+n't)\b", c)]
    assert not set(script.carriers) & set(script.subjects)


def test_every_choice_option_is_a_slot_value_with_its_words(script, model):
    values = {v["id"]: v["name"] for v in model["types"][0]["values"]}
    taken = {w for words in (*script.vocabulary.values(), *script.commands.values()) for w in words}
    for question in script.questions.values():
        for option in question.options:
            assert values[option.id]["value"] == option.label
            kept = {w for w in option.words if w not in taken}
            assert kept <= set(values[option.id]["synonyms"])
            # A word that is also a command stays the command ("back"), as the engine reads it.
            assert not taken & set(values[option.id]["synonyms"])


def test_age_is_a_number_slot_and_free_text_has_a_catch_all(model):
    intents = _intents(model)
    assert intents["NumberIntent"]["slots"] == [{"name": "number", "type": "AMAZON.NUMBER"}]
    catch_all = intents["FreeTextIntent"]
    assert catch_all["slots"] == [{"name": "query", "type": "AMAZON.SearchQuery"}]
    # Alexa refuses a SearchQuery slot alone: each sample needs a carrier phrase.
    assert all(sample != "{query}" for sample in catch_all["samples"])


def test_samples_are_sayable_and_no_sample_belongs_to_two_intents(model):
    samples = [s for intent in model["intents"] for s in intent["samples"]]
    assert all(re.fullmatch(r"[a-z' ]*(\{[a-z]+\})?[a-z' ]*", s) for s in samples)
    assert [s for s, n in Counter(samples).items() if n > 1] == []


def test_manifest_carries_the_disclaimer_category_and_endpoint(script):
    manifest = alexa_model.manifest(script)["manifest"]
    listing = manifest["publishingInformation"]
    assert set(listing["locales"]) == {"en-GB", "en-US"}
    for code, locale in listing["locales"].items():
        # The health disclaimer and the emergency number, in the content's words.
        assert locale["description"] == script.fill(script.messages["skill_description"], code)
        assert script.locales[code].emergency in locale["description"]
        assert locale["examplePhrases"][0].startswith("Alexa, open ")
    assert listing["category"] == "HEALTH_AND_FITNESS"
    assert manifest["privacyAndCompliance"]["usesPersonalInfo"] is False
    assert manifest["apis"]["custom"]["endpoint"] == {
        "uri": "https://example.invalid/alexa",
        "sslCertificateType": "Wildcard",
    }
