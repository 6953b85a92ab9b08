"""The web chat in a real browser: the demo page and a clinic's own page on another origin,
Debian's Chromium driven by Playwright, axe-core, the app over real HTTP on a real SQLite file.

Set SCREENSHOTS=DIR to keep pictures of the widget at 1280 and 360 pixels wide.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from skill.safety import vignettes
from skill.service import get_triage
from skill.triage import render
from tests.browsing import WIDTHS, check_page
from tests.common import PUBLIC_VIGNETTES

CASES = vignettes.load_cases(PUBLIC_VIGNETTES)
LOCALE = "en-GB"  # the settings' DEFAULT_LOCALE: the web chat has no number to read one from
# A clinic page that styles everything it can, as a careless theme does.
HOSTILE = (
    "* { color: #f0f !important; font: 40px/3 serif !important; "
    "letter-spacing: 0.5em !important; } button { display: none !important; }"
)
FOCUSED = """() => { let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? (el.id || el.textContent) : null; }"""


class ClinicPage:
    """A clinic's own site on another origin: a page with the embed snippet, and nothing else.
    `service` is set once the app is served (the settings need this page's origin first)."""

    def __init__(self):
        self.service = ""
        clinic = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                snippet = f'<script src="{clinic.service}/web/widget.js" defer></script>'
                head = f"<title>Clinic</title><style>{HOSTILE}</style>{snippet}"
                main = '<h1>Clinic</h1><button id="theirs">Book</button>'
                page = f'<!doctype html><html lang="en"><head>{head}</head><main>{main}</main>'
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass  # keep test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clinics():
    """Two clinic sites: the first on WEBCHAT_ORIGINS, the second not."""
    pages = (ClinicPage(), ClinicPage())
    yield pages
    for clinic in pages:
        clinic.close()


@pytest.fixture
def settings(settings, clinics):
    return replace(settings, webchat_origins=(clinics[0].url,))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    page = context.new_page()
    yield page
    context.close()


def replies(page):
    return page.locator(".log .bot")


def wait_reply(page, seen: int) -> str:
    """The widget's next reply after `seen` of them, once it is shown."""
    replies(page).nth(seen).wait_for()
    return replies(page).nth(seen).inner_text()


def waiting(script, text: str):
    """The question a reply asks, read off its words as on SMS."""
    asking = {
        render.question_text(script, q, LOCALE, voice=False): q for q in script.questions.values()
    }
    found = [words for words in asking if words in text]
    return asking[max(found, key=len)] if found else None


def advised(script, text: str):
    return next((o for o in script.outcomes.values() if script.fill(o.short, LOCALE) in text), None)


def button_for(script, question, answer: str) -> str | None:
    """The button that gives the case's answer, if the question has one."""
    if question.type == "yes_no":
        key = {"yes": "button_yes", "no": "button_no", "not sure": "button_unsure"}[answer]
        return script.fill(script.messages[key], LOCALE)
    return answer if question.type == "choice" else None


def describe(page, words: str, seen: int) -> str:
    """Type the runner's description at the widget's open question; the reply to it."""
    page.get_by_label("Message").fill(words)
    page.get_by_role("button", name="Send").click()
    return wait_reply(page, seen)


def play(page, script, case: dict, how: str):
    """Describe the pain (the case's opening), then answer the widget's questions from the
    case's facts to its advice: by typing, by clicking the answer buttons, or by the keyboard
    alone (Tab to a button or the box, then Enter)."""
    text = wait_reply(page, 0)
    assert f"call {script.locales[LOCALE].emergency}" in text  # the intro's emergency line
    assert waiting(script, text) is None  # the open question: how it hurts, in a few words
    text = describe(page, case["opening"], 1)
    for turn in range(2, len(script.questions) * 2):
        question, outcome = waiting(script, text), advised(script, text)
        if outcome:
            return outcome
        assert question, text
        answer = vignettes.answer_for(question, case["facts"])
        button = button_for(script, question, answer)
        if how == "click" and button:
            page.get_by_role("button", name=button, exact=True).click()
        elif how == "keyboard":
            target = button or "message"
            for _ in range(12):
                if page.evaluate(FOCUSED) == target:
                    break
                page.keyboard.press("Tab")
            assert page.evaluate(FOCUSED) == target
            if not button:
                page.keyboard.type(answer)
            page.keyboard.press("Enter")
        else:
            page.get_by_label("Message").fill(answer)
            page.get_by_role("button", name="Send").click()
        text = wait_reply(page, turn)
    raise AssertionError("no advice")


@pytest.mark.parametrize("how", ["type", "click", "keyboard"])
def test_the_demo_page_plays_public_cases_to_their_advice(
    page,
    live_server,
    script,
    axe_source,
    how,
):
    for case in CASES[:: 3 if how == "click" else 5]:
        page.goto(live_server + "/web/demo")
        page.evaluate("sessionStorage.clear()")
        page.reload()
        outcome = play(page, script, case, how)
        assert outcome.level in case["accept"], case["id"]
    check_page(page, axe_source, f"web-demo-{how}")


def test_a_page_reload_keeps_the_conversation(page, live_server, script):
    page.goto(live_server + "/web/demo")
    wait_reply(page, 0)
    describe(page, "my hip aches", 1)
    no = script.fill(script.messages["button_no"], LOCALE)
    page.get_by_role("button", name=no, exact=True).click()
    asked = waiting(script, wait_reply(page, 2))
    page.reload()
    again = wait_reply(page, 0)  # where it stands, without the intro
    assert waiting(script, again) == asked
    assert script.fill(script.messages["intro"], LOCALE) not in again


def test_at_360_pixels_the_widget_fits_and_its_buttons_are_big_enough(
    page,
    live_server,
    script,
    axe_source,
):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + "/web/demo")
    wait_reply(page, 0)
    describe(page, "my hip aches", 1)  # a question with its answer buttons
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for button in page.locator("button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    check_page(page, axe_source, "web-demo")


def test_a_clinic_page_on_an_allowed_origin_works_and_keeps_its_styles_out(
    page, app, live_server, script, clinics
):
    clinic = clinics[0]
    clinic.service = live_server
    page.goto(clinic.url)
    text = wait_reply(page, 0)
    assert f"call {script.locales[LOCALE].emergency}" in text
    describe(page, "my hip aches", 1)
    yes = page.get_by_role("button", name=script.fill(script.messages["button_yes"], LOCALE))
    assert yes.is_visible()  # the page's `button { display: none }` stays outside
    assert yes.evaluate("b => getComputedStyle(b).fontSize") == "16px"
    send = page.get_by_role("button", name="Send").bounding_box()
    assert 44 <= send["height"] <= 64  # not sized by the page's 40px root font
    theirs = page.locator("#theirs").evaluate("b => getComputedStyle(b).backgroundColor")
    assert theirs != yes.evaluate("b => getComputedStyle(b).backgroundColor")
    yes.click()
    wait_reply(page, 2)
    assert get_triage(app).store.all_audits(get_triage(app).clock())
    if os.environ.get("SCREENSHOTS"):
        page.set_viewport_size({"width": 360, "height": 740})
        page.screenshot(path=f"{os.environ['SCREENSHOTS']}/web-clinic-360.png", full_page=True)


def test_a_page_on_another_origin_is_refused(page, app, live_server, script, clinics):
    clinic = clinics[1]
    clinic.service = live_server
    page.goto(clinic.url)
    text = wait_reply(page, 0)
    # The service said no (403, no CORS header): the widget says it cannot reach it, and no
    # conversation was started.
    assert "emergency" in text and waiting(script, text) is None
    assert get_triage(app).store.all_audits(get_triage(app).clock()) == []
