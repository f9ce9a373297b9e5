"""The teaching views in a real browser (Chromium via Playwright, see tests/test_browser.py):
the Model report at 1400x900 scrolls only vertically, and a click on a map dot recolours the map
and says how many of the movie's full-space neighbours the map keeps.

Uses conftest.py's browser and a fresh_server of its own (the real artifacts/ when they hold a
model, else the small fixture artifacts): its first request, for /similar, is the server's first,
which a fresh server runs in Streamlit's legacy multipage mode (pages/ui/frame.page_context); the
first click there must act on the value shown."""

from __future__ import annotations

import time

import pytest
from test_browser import OUT, isolated_dot

pytestmark = pytest.mark.slow

# Page width against the viewport's: a wider document means a horizontal scroll bar.
_OVERFLOW_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def test_first_click_report_width_and_map_overlap(fresh_server, browser):
    server = fresh_server
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)

    # A fresh server's first request: the frame is drawn, and a first click changes the value
    # shown (it once found every widget back at its default: Neighbours 10 -> 1 after "+").
    page.goto(f"{server.url}/similar")
    expect(page.get_by_role("heading", name="Similar movies")).to_be_visible()
    expect(page.get_by_role("link", name="Embedding map")).to_be_visible()
    neighbours = page.locator(".st-key-w_sim_k input")
    expect(neighbours).to_have_value("10")
    page.locator(".st-key-w_sim_k [data-testid='stNumberInputStepUp']").click()
    expect(neighbours).to_have_value("11")
    rows = page.locator("[data-testid='stDataFrame']").first
    expect(rows).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0

    page.goto(f"{server.url}/report")
    expect(page.get_by_role("heading", name="Model report")).to_be_visible()
    expect(page.get_by_role("heading", name="Every model against the baselines")).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    time.sleep(2)  # charts settle their width
    assert page.locator("[data-testid='stException']").count() == 0
    wide, room = page.evaluate(_OVERFLOW_JS)
    assert wide <= room, (wide, room)
    # Nor does any block inside the page stick out of the main column.
    widest = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        '\'[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] > *\')]'
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= room, (widest, room)
    page.screenshot(path=str(OUT / "report-1400.png"), full_page=True)

    page.goto(f"{server.url}/map")
    expect(page.get_by_role("heading", name="The embedding map")).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    time.sleep(1.5)
    x, y, _ = isolated_dot(page)
    page.mouse.click(x, y)
    overlap = page.locator("strong", has_text="nearest neighbours in the full space are among its")
    expect(overlap).to_be_visible()
    assert overlap.inner_text().split()[0].isdigit()
    expect(page.locator("[data-testid='stPlotlyChart']").get_by_text("cosine to")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(OUT / "map-click.png"))
    page.close()
