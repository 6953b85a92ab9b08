"""WhatsApp answer buttons (WHATSAPP_BUTTONS=1) against a local stand-in for Twilio's Content
and Messages APIs: templates made from the content, replies sent with ContentSid, taps read as
answers, a retried delivery sent once, and TwiML whenever buttons cannot go."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from app import create_app
from skill import content
from skill.channels.whatsapp_buttons import MAX_ROW, MAX_ROWS, WhatsAppButtons, templates
from skill.config import SettingsError, from_env
from tests.common import twilio_id
from tests.drivers import Messaging

WHATSAPP = Messaging("whatsapp")


@pytest.fixture
def button_settings(texting_settings):
    return replace(texting_settings, whatsapp_buttons=True)


@pytest.fixture
def buttons(button_settings, twilio_api):
    return WhatsAppButtons(button_settings, http_client=twilio_api.http_client())


@pytest.fixture
def client(button_settings, script, buttons, twilio_texts):
    app = create_app(button_settings, script, outbound=twilio_texts, whatsapp_buttons=buttons)
    return app.test_client()


def sent_to(twilio_api, sender: str) -> list[dict]:
    """What the Messages API accepted for the runner (not the clinic's alerts)."""
    return [m for m in twilio_api.messages if m.get("To") == sender]


def template_of(twilio_api, message: dict) -> dict:
    return twilio_api.contents[message["ContentSid"]]["types"]


def test_sync_makes_the_templates_the_content_needs_once(buttons, script, twilio_api):
    made, deleted = buttons.sync(script)
    assert sorted(made) == sorted(templates(script)) and deleted == []
    kinds = {q.type for q in script.questions.values()}
    assert ("yes_no" in kinds) <= any(
        "twilio/quick-reply" in t["types"] for t in twilio_api.contents.values()
    )
    for body in twilio_api.contents.values():
        if "twilio/quick-reply" in body["types"]:
            titles = [a["title"] for a in body["types"]["twilio/quick-reply"]["actions"]]
            assert 2 <= len(titles) <= 3 and len(set(titles)) == len(titles)
            assert all(len(t) <= 20 for t in titles)
            assert titles[0] == script.messages["button_yes"]
        else:
            rows = body["types"]["twilio/list-picker"]["items"]
            assert 1 <= len(rows) <= MAX_ROWS and all(len(r["item"]) <= MAX_ROW for r in rows)
    assert buttons.sync(script) == ([], [])  # nothing to do the second time


def test_sync_replaces_templates_when_the_content_changes(buttons, script, tmp_path):
    buttons.sync(script)
    shutil.copytree(content.DEFAULT_DIR, tmp_path, dirs_exist_ok=True)
    messages = tmp_path / "messages.yaml"
    messages.write_text(
        messages.read_text().replace('button_unsure: "Not sure"', 'button_unsure: "Unsure"')
    )
    changed = content.load(tmp_path)
    made, deleted = buttons.sync(changed)
    assert made and len(made) == len(deleted)
    assert set(buttons.listed()) == set(templates(changed))


def test_a_question_goes_with_buttons_and_a_tap_answers_it(client, script, buttons, twilio_api):
    buttons.sync(script)
    sender = WHATSAPP.sender(script, "en-GB", 1)
    first = WHATSAPP.call(sender, "hello", twilio_id("SM", "1")).to_client(client)
    assert WHATSAPP.reply(first) is None  # empty TwiML: the reply went through the API
    (message,) = sent_to(twilio_api, sender)
    assert message["From"] == "whatsapp:+447700900999"
    text = json.loads(message["ContentVariables"])["1"]
    question = script.questions[script.start]
    assert script.fill(question.text, "en-GB") in text
    assert f"call {script.locales['en-GB'].emergency}" in text  # the intro's emergency line
    assert "twilio/quick-reply" in template_of(twilio_api, message)
    # Tapping "No" comes back with its id; the next question goes with its buttons too.
    no = script.messages["button_no"]
    WHATSAPP.call(sender, no, twilio_id("SM", "2"), ButtonText=no, ButtonPayload=no).to_client(
        client
    )
    second = sent_to(twilio_api, sender)[-1]
    nxt = script.questions[question.edges["no"]]
    assert script.fill(nxt.text, "en-GB") in json.loads(second["ContentVariables"])["1"]


def path_to_a_choice(script) -> tuple[list[str], str]:
    """The fewest yes/no taps (and typed numbers) from the start to a choice question."""
    paths, seen = [(script.start, [])], {script.start}
    while paths:
        node, taps = paths.pop(0)
        question = script.questions[node]
        if question.type == "choice":
            return taps, node
        if question.type == "number":  # a number in each range: its bound, or past the last
            bounds = [upper for upper, _ in question.ranges]
            steps = [
                (str(upper if upper else bounds[i - 1] + 1), nxt)
                for i, (upper, nxt) in enumerate(question.ranges)
            ]
        else:
            steps = [
                (script.messages[f"button_{answer}"], question.edges[answer])
                for answer in ("yes", "no")
                if answer in question.edges
            ]
        for words, nxt in steps:
            if nxt in script.questions and nxt not in seen:
                seen.add(nxt)
                paths.append((nxt, [*taps, words]))
    raise AssertionError("the script has no choice question")


def test_a_list_row_tapped_answers_a_choice_question(client, script, buttons, twilio_api):
    buttons.sync(script)
    sender = WHATSAPP.sender(script, "en-GB", 2)
    taps, node = path_to_a_choice(script)
    WHATSAPP.call(sender, "hello", twilio_id("SM", "0")).to_client(client)
    for n, words in enumerate(taps, 1):
        WHATSAPP.call(sender, words, twilio_id("SM", str(n)), ButtonPayload=words).to_client(client)
    last = sent_to(twilio_api, sender)[-1]
    picker = template_of(twilio_api, last)["twilio/list-picker"]
    choice = script.questions[node]
    assert [r["id"] for r in picker["items"]] == [o.label for o in choice.options]
    option = choice.options[0]
    before = len(sent_to(twilio_api, sender))
    reply = WHATSAPP.call(
        sender,
        option.label[:MAX_ROW],
        twilio_id("SM", "last"),
        ListId=option.label,
        ListTitle=option.label[:MAX_ROW],
    ).to_client(client)
    if option.next in script.outcomes:  # advice goes as TwiML text, as before
        advice = script.outcomes[option.next]
        assert script.fill(advice.short, "en-GB") in WHATSAPP.reply(reply)
    else:
        assert len(sent_to(twilio_api, sender)) == before + 1


def test_a_retried_delivery_sends_the_buttons_once(client, script, buttons, twilio_api):
    buttons.sync(script)
    sender = WHATSAPP.sender(script, "en-GB", 3)
    call = WHATSAPP.call(sender, "hello", twilio_id("SM", "retried"))
    first, again = call.to_client(client), call.to_client(client)
    assert WHATSAPP.reply(first) is None and WHATSAPP.reply(again) is None
    assert len(sent_to(twilio_api, sender)) == 1


def test_without_templates_or_when_the_api_fails_the_reply_goes_as_twiml(
    client, script, buttons, twilio_api
):
    sender = WHATSAPP.sender(script, "en-GB", 4)
    question = script.fill(script.questions[script.start].text, "en-GB")
    assert question in WHATSAPP.reply(
        WHATSAPP.call(sender, "hello", twilio_id("SM", "a")).to_client(client)
    )
    buttons.sync(script)
    twilio_api.failures = [400]  # the Messages API refuses the send
    restart = script.commands["restart"][0]
    reply = WHATSAPP.reply(WHATSAPP.call(sender, restart, twilio_id("SM", "b")).to_client(client))
    assert question in reply
    assert sent_to(twilio_api, sender) == []


def test_buttons_are_off_by_default(settings):
    assert not settings.whatsapp_buttons and not from_env({}).whatsapp_buttons
    with pytest.raises(SettingsError, match="WHATSAPP_BUTTONS"):
        from_env({"WHATSAPP_BUTTONS": "1"})
    env = {
        "WHATSAPP_BUTTONS": "1",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_FROM": "+447700900999",
    }
    assert from_env(env).whatsapp_buttons
