"""What the browser suites share: Debian's Chromium driven by Playwright, axe-core from the
npm registry (installed from tests/console/axe's lock file), and the check every page passes.

Set SCREENSHOTS=DIR to keep a picture of each checked page at 1280 and 360 pixels wide.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.common import ROOT, need, npm_installed

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "console" / "axe"
WIDTHS = (1280, 360)


@pytest.fixture(scope="module")
def browser():
    need(CHROMIUM.exists(), "Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core from the npm registry, installed from the committed lock file."""
    return (npm_installed(AXE, "axe-core") / "axe.min.js").read_text(encoding="utf-8")


def check_page(page, axe_source: str, name: str) -> None:
    """No serious or critical axe finding at either width; a screenshot of each if asked."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate(axe_source)  # evaluated, not a <script>: the page's CSP stays on
        found = page.evaluate("async () => (await axe.run(document)).violations")
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name} at {width}px: {bad}"
        # Readable at 360 px: the page itself never scrolls sideways (wide parts scroll alone).
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} is {scroll}px wide at {width}px"
        if os.environ.get("SCREENSHOTS"):
            Path(os.environ["SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{os.environ['SCREENSHOTS']}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
