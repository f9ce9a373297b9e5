"""On a phone (390x844 in Chromium): one click on a rating button rates the movie, and the new
first pick is visible without scrolling (the sticky summary line at the top of the window).

Uses conftest.py's server and browser (`streamlit run app.py` on the real artifacts/ when they
hold a model, else on test_app.py's fixture artifacts). No timing is asserted
(bench/click_latency.py measures). Screenshot: test-output/phone_after_rating.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output"

PHONE = {"width": 390, "height": 844}


def test_phone_one_click_rates_and_the_first_pick_is_in_view(server, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a shared machine: generous waits, no timing asserted
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    page.goto(server.url)
    summary = page.locator(".st-key-top_picks")
    expect(summary).to_contain_text("Most popular now: 1. ")
    page.get_by_role("tab", name="Well-known movies").click()
    cards = page.locator("[class*='st-key-grid_']:has([data-testid='stButtonGroup'])")
    card = cards.nth(4)  # far down the page on a phone
    buttons = card.locator("button")
    expect(buttons).to_have_count(10)  # the whole half-star scale, one button each
    top = buttons.last
    top.scroll_into_view_if_needed()
    # One click and nothing else (no release, no key): the rating is sent.
    top.click()
    expect(page.get_by_text("Your ratings (1)")).to_be_attached()
    expect(top).to_have_attribute("aria-checked", "true")
    expect(summary).to_contain_text("Top picks for you now: 1. ")
    assert "r=" in page.url
    # The new first pick is in the window, at the top, while the page is scrolled to the
    # movie just rated.
    assert (
        page.evaluate("window.scrollY") > 0
        or page.evaluate("document.querySelector('[data-testid=stMain]')?.scrollTop ?? 0") > 0
    )
    box = summary.bounding_box()
    assert box is not None
    assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    first = page.locator(".st-key-pick_list p strong").first.inner_text()
    assert first.startswith("1. ")
    expect(summary).to_contain_text(first)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(OUT / "phone_after_rating.png"))
    page.close()
