"""The clinic console in a real browser: Debian's Chromium driven by Playwright, axe-core on
every page, the app served over real HTTP on a real SQLite file.

Set SCREENSHOTS=DIR to keep a picture of each page at 1280 and 360 pixels wide.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from skill.channels.voice import speakable
from skill.console import accounts
from skill.content import Level
from skill.safety import vignettes
from skill.service import get_triage
from skill.triage import understand
from tests import texting
from tests.browsing import WIDTHS, check_page
from tests.common import PUBLIC_VIGNETTES

NAME, PASSWORD = "clinician", "a long test password"


@pytest.fixture
def staff(app):
    accounts.add(get_triage(app).store, NAME, PASSWORD, now=1.0)


@pytest.fixture
def page(browser, live_server, staff):
    context = browser.new_context(
        viewport={"width": WIDTHS[0], "height": 900}, base_url=live_server
    )
    page = context.new_page()
    yield page
    context.close()


def sign_in(page) -> None:
    page.goto("/console/signin")
    page.get_by_label("Username").fill(NAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/")


def route(script, unsure_at: int = 1) -> tuple[list[str], str]:
    """Messages that answer the script from its start, "no" or the first option or range, and
    "not sure" once; with the outcome the script says they reach."""
    messages, node, index = ["hello"], script.start, 0
    while node in script.questions:
        q = script.questions[node]
        if q.type == "yes_no" and index == unsure_at and q.unsure:
            messages.append(script.vocabulary["unsure"][0])
            node = q.edges[q.unsure]
        elif q.type == "yes_no":
            messages.append("no")
            node = q.edges["no"]
        elif q.type == "number":
            messages.append(str(q.min))
            node = q.ranges[0][1]
        else:
            messages.append(q.options[0].label)
            node = q.options[0].next
        index += 1
    return messages, node


def red_flag_opening(script) -> tuple[str, str]:
    """A public vignette's opening that fires a red flag, and the advice that flag gives."""
    for case in vignettes.load_cases(PUBLIC_VIGNETTES):
        flagged = understand.red_flag(script, understand.read(script, case["opening"]))
        if flagged:
            return case["opening"], flagged.id
    raise AssertionError("no public vignette opens with a red flag")


def test_an_unauthenticated_visit_goes_to_the_sign_in_page(page, axe_source):
    for path in ("/console/", "/console/try", "/console/script"):
        page.goto(path)
        assert page.url.endswith("/console/signin")
    assert page.get_by_role("button", name="Sign in").is_visible()
    check_page(page, axe_source, "signin")


def test_a_wrong_password_is_refused_and_a_right_one_signs_in_and_out(page):
    page.goto("/console/signin")
    page.get_by_label("Username").fill(NAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    sign_in(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/signin")
    page.goto("/console/")
    assert page.url.endswith("/console/signin")


def test_try_holds_a_conversation_to_an_outcome_by_keyboard(page, axe_source, app, script):
    sign_in(page)
    page.get_by_role("link", name="Try").click()
    messages, expected = route(script)
    for message in messages:
        page.get_by_label("Message").focus()
        page.keyboard.type(message)
        with page.expect_navigation():
            page.keyboard.press("Enter")  # the form sends on Enter: no mouse needed
    outcome = script.outcomes[expected]
    decided = page.locator("#outcome").inner_text()
    assert outcome.title in decided and outcome.level in decided
    assert page.locator("#question").inner_text() == "no question"
    rows = page.locator("#answers tbody tr").all_inner_texts()
    assert len(rows) == len(messages) - 1
    assert any("typed" in r for r in rows) and any("not sure" in r for r in rows)
    replies = page.locator(".turns .bot").all_inner_texts()
    assert script.fill(outcome.short, "en-GB").split("\n")[0] in replies[-1]
    # Nothing of it reached the service's store: no conversation, no audit record.
    assert get_triage(app).store.all_audits(get_triage(app).clock()) == []
    check_page(page, axe_source, "try")


def test_try_speaks_on_voice_channels_in_the_chosen_locale(page, script):
    sign_in(page)
    page.goto("/console/try")
    page.get_by_label("Channel").select_option("voice")
    page.get_by_label("Locale").select_option("en-US")
    page.get_by_role("button", name="Start again").click()
    page.get_by_label("Message").fill("hello")
    page.get_by_role("button", name="Send").click()
    first = script.questions[script.start]
    said = page.locator(".turns .bot").last.inner_text()
    # Spoken as the phone channel speaks it: numbers digit by digit.
    assert first.voice in said and speakable(script.locales["en-US"].emergency) in said


def test_the_overview_counts_conversations_sent_through_the_webhooks(
    page, axe_source, live_server, script
):
    messages, expected = route(script)
    for body in messages:
        texting.post_http(live_server, texting.form(sender="+447700900001", body=body))
    for body in messages[:2]:  # a second runner stops after the first answer
        texting.post_http(live_server, texting.form(sender="+447700900002", body=body))
    opening, flagged = red_flag_opening(script)
    texting.post_http(live_server, texting.form(sender="+447700900003", body=opening))
    stopped_at = script.questions[script.start].edges["no"]
    sign_in(page)
    assert page.locator("#total-runs").inner_text() == "3"
    level, flag_level = script.outcomes[expected].level, script.outcomes[flagged].level
    by_level = {lv: 0 for lv in Level}
    by_level[level] += 1
    by_level[flag_level] += 1
    for lv, n in by_level.items():
        assert page.locator(f'#levels tr[data-level="{lv}"] td.n').inner_text() == str(n)
    flags = page.get_by_role("table", name=re.compile("red flag")).inner_text()
    assert script.outcomes[flagged].title in flags
    assert page.locator('#levels tr[data-level="none"] td.n').inner_text() == "1"
    assert stopped_at in page.get_by_role("table", name=re.compile("last question")).inner_text()
    text = page.content()
    assert "+44770090000" not in text and "7700900001" not in text
    for days in ("30", "90"):
        page.get_by_label("Period").select_option(days)
        page.get_by_role("button", name="Show").click()
        assert page.locator("#total-runs").inner_text() == "3"
    download = page.request.get("/console/overview.csv?days=7")
    rows = list(csv.DictReader(io.StringIO(download.text())))
    assert {"count": "runs", "day": "", "value": "last 7 days", "runs": "3"} in rows
    assert {"count": "red_flag", "day": "", "value": flagged, "runs": "1"} in rows
    assert any(r["count"] == "condition" and r["value"] == expected for r in rows)
    check_page(page, axe_source, "overview")


def test_the_script_page_shows_a_selected_questions_wording_and_answers(page, axe_source, script):
    sign_in(page)
    page.get_by_role("link", name="Script").click()
    question = script.questions[script.start]
    node = page.locator(f"#node-{question.id}")
    node.focus()
    page.keyboard.press("Enter")
    details = page.locator(f"#q-{question.id}")
    details.wait_for(state="visible")
    shown = details.inner_text()
    assert question.text in shown and question.voice in shown
    for nxt in question.targets():
        assert (nxt if nxt in script.questions else script.outcomes[nxt].title) in shown
    assert page.locator(f"#q-{question.targets()[0]}").is_hidden()
    check_page(page, axe_source, "script")


def test_try_lists_a_red_flag_and_the_advice_it_forces(page, script):
    opening, flagged = red_flag_opening(script)
    sign_in(page)
    page.goto("/console/try")
    page.get_by_label("Message").fill(opening)
    page.get_by_role("button", name="Send").click()
    assert script.outcomes[flagged].title in page.locator("#red-flags").inner_text()
    assert flagged in page.locator("#outcome").inner_text()


def test_a_forged_form_post_is_refused(page):
    sign_in(page)
    for form in ({"message": "hello"}, {"message": "hello", "csrf": "forged"}):
        assert page.request.post("/console/try", form=form).status == 403
    page.goto("/console/try")
    assert page.locator(".turns .me").count() == 0
