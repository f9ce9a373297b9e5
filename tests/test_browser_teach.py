"""In a real browser (Debian's Chromium via Playwright) at 1400x900: rate movies with one
quick-start group, open "Why this pick?" and see its bars and the what-if line; the same page
at 390x844. Screenshots go to test-output/ (teach.png, teach-phone.png). Uses conftest.py's
server and browser (the real artifacts/ when present, else the test fixtures)."""

from __future__ import annotations

import time

import pytest
from test_browser import OUT

pytestmark = pytest.mark.slow


def test_rate_then_open_a_picks_explanation(server, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a shared machine: generous waits, no timing asserted
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(server.url)
    expect(page.get_by_text("Your picks", exact=True)).to_be_visible()
    page.locator(".st-key-group_0 button").click()
    expect(page.get_by_text("Popular picks for now")).to_have_count(0)
    # The vector-turn line answers the rating.
    expect(page.get_by_text("Entered your top 10").first).to_be_visible()

    why = page.locator(".st-key-why_this_pick [data-testid='stExpander']")
    expect(why).to_have_count(1)
    why.locator("summary").click()
    chart = why.locator("[data-testid='stPlotlyChart']")
    expect(chart).to_be_visible()
    bars = chart.locator("g.trace.bars path")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 5  # one per rated movie (five), plus the item bias where it has one
    expect(why.get_by_text("Without your rating of")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    why.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    time.sleep(1)
    page.screenshot(path=str(OUT / "teach.png"))

    page.set_viewport_size({"width": 390, "height": 844})
    time.sleep(1.5)
    why.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    expect(chart).to_be_visible()
    time.sleep(1)
    page.screenshot(path=str(OUT / "teach-phone.png"))
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
