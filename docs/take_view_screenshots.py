"""Screenshots of the teaching views: the Model report, the map after a click (similarity
colours, the neighbour overlap, the visitor's trail) and the Similar movies page's dot-vs-cosine
scatter, on the committed artifacts, in Chromium via Playwright.

    python docs/take_view_screenshots.py   # writes docs/{report,report-cold-start,map-click,
                                           #   similar-dot}.png and docs/phone-{report,map-click}.png

Desktop at 1400x900, phone at 390x844. Prints each page's document width against the viewport
(a wider document scrolls sideways). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
WAIT_MS = 120_000
_WIDTH_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def _scroll_to(page, text: str) -> None:
    page.get_by_role("heading", name=text).first.evaluate(
        "(el) => el.scrollIntoView({block: 'start'})"
    )
    time.sleep(1)


def shoot(browser, url: str, phone: bool) -> None:
    from test_browser import isolated_dot

    if phone:
        page = browser.new_page(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            user_agent=PHONE_UA,
        )
    else:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    prefix = "phone-" if phone else ""

    page.goto(f"{url}/report")
    page.get_by_role("heading", name="Every model against the baselines").wait_for()
    page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first.wait_for()
    time.sleep(3)
    print(prefix + "report width", page.evaluate(_WIDTH_JS))
    page.screenshot(path=str(DOCS / f"{prefix}report.png"))
    if not phone:
        _scroll_to(page, "How many movies must a visitor rate?")
        page.screenshot(path=str(DOCS / "report-cold-start.png"))

    # A profile first (the first quick-start group), so the map has a trail.
    page.goto(url)
    page.get_by_text("Your picks", exact=True).wait_for()
    page.locator(".st-key-group_0 button").click()
    page.locator("[data-testid='stToast']").wait_for()
    time.sleep(1.5)
    page.goto(page.url.replace("?", "map?", 1) if "/?" in page.url else f"{url}/map")
    plot = page.locator("[data-testid='stPlotlyChart']").first
    plot.wait_for()
    time.sleep(2)
    if not phone:
        x, y, _ = isolated_dot(page)
        page.mouse.click(x, y)
        page.locator("strong", has_text="nearest neighbours in the full space").wait_for()
        time.sleep(2)
    plot.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    time.sleep(1)
    print(prefix + "map width", page.evaluate(_WIDTH_JS))
    page.screenshot(path=str(DOCS / f"{prefix}map-click.png"))

    if not phone:
        page.goto(f"{url}/similar")
        page.get_by_role("heading", name="Similar movies").wait_for()
        page.locator(".st-key-sim_q input").fill("toy story")  # a movie with a shorter vector
        page.locator(".st-key-sim_q input").press("Enter")
        time.sleep(2)
        page.get_by_text("Dot product (direction × lengths)").click()
        page.get_by_text("Why dot products favour popular movies").wait_for()
        time.sleep(2)
        page.get_by_text("Why dot products favour popular movies").evaluate(
            "(el) => el.scrollIntoView({block: 'start'})"
        )
        time.sleep(1)
        page.screenshot(path=str(DOCS / "similar-dot.png"))
    page.close()


def main() -> int:
    from playwright.sync_api import sync_playwright

    proc, url = start_server(ROOT / "artifacts", None, startup_timeout=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                shoot(browser, url, phone=False)
                shoot(browser, url, phone=True)
            finally:
                browser.close()
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
