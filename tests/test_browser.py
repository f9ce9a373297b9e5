"""End to end in a real browser: start `streamlit run app.py` on 127.0.0.1, drive it with
Playwright (Debian's /usr/bin/chromium), rate three movies, see the picks, then visit the other
pages through the sidebar's links (the profile stays in the address bar) and lasso the map.

Screenshots go to test-output/ (landing.png, similar.png, report.png, map.png). Uses $RECSYS_ARTIFACTS or the real
artifacts/ when they hold a model, else the small fixture artifacts of test_app.py. The server
and browser fixtures are in conftest.py (one server for the session); the server is always
stopped.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output"
sys.path.insert(0, str(ROOT / "bench"))
from _server import dots, isolated_dot, new_phone_page  # noqa: E402


def test_rate_three_movies_see_picks_visit_every_page(server, browser):
    from playwright.sync_api import expect

    # A generous wait for each check: the machine may be shared (no timing is asserted here).
    expect.set_options(timeout=60_000)
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(server.url)
    expect(page.get_by_text("Your picks", exact=True)).to_be_visible()
    expect(page.get_by_text("Popular picks for now")).to_be_visible()

    page.get_by_role("tab", name="Well-known movies").click()
    cards = page.locator("[class*='st-key-grid_']:has([data-testid='stButtonGroup'])")
    expect(cards.first).to_be_visible()
    for n in range(1, 4):
        cards.nth(n - 1).locator("button").last.click()  # the top of the scale: 5 stars
        expect(page.get_by_text(f"Your ratings ({n})")).to_be_visible()
    expect(page.get_by_text("Popular picks for now")).to_have_count(0)
    expect(page.get_by_text("because you liked").first).to_be_visible()
    assert "r=" in page.url  # the profile is in the address bar
    query = page.url.split("?", 1)[1]
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("tab", name="Quick start").click()
    time.sleep(1)
    page.screenshot(path=str(OUT / "landing.png"))

    # The sidebar lists the four pages (Streamlit's page list), the landing page first.
    sidebar = page.locator("[data-testid='stSidebar']")
    links = sidebar.locator("[data-testid='stSidebarNavLink']")
    expect(links).to_have_count(4)
    # (each link's text also holds its icon's ligature name, e.g. "star", hence "contain")
    expect(links).to_contain_text(
        ["Rate & recommend", "Similar movies", "Embedding map", "Model report"]
    )

    # Another page through its link: same profile, written back into the address bar.
    sidebar.get_by_role("link", name="Similar movies").click()
    expect(page.get_by_role("heading", name="Similar movies")).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    expect(sidebar.get_by_text("3 ratings in your profile")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(f"/similar?{query}") + "$"))
    time.sleep(1)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(OUT / "similar.png"))

    sidebar.get_by_role("link", name="Model report").click()
    expect(page.get_by_role("heading", name="Model report")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(f"/report?{query}") + "$"))
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(OUT / "report.png"))

    sidebar.get_by_role("link", name="Embedding map").click()
    expect(page.get_by_role("heading", name="The embedding map")).to_be_visible()
    chart = page.locator("[data-testid='stPlotlyChart']")
    expect(chart).to_be_visible()
    expect(chart.get_by_text("Your ratings")).to_be_visible()  # legend entry
    expect(chart.get_by_text("You are here")).to_be_visible()
    time.sleep(1.5)
    assert page.locator("[data-testid='stException']").count() == 0
    expect(page).to_have_url(re.compile(re.escape(query) + "$"))  # the profile follows
    page.screenshot(path=str(OUT / "map.png"))

    # A click on a dot (the chart's default mode) lists that movie's neighbours.
    x, y, _ = isolated_dot(page)
    page.mouse.click(x, y)
    expect(page.get_by_role("heading", name="Selected:")).to_be_visible()
    # The neighbour table (its column header, in the grid's accessible table).
    expect(page.locator("th", has_text="Nearest neighbours")).to_have_count(1)
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Clear selection").click()
    expect(page.get_by_role("heading", name="Selected:")).to_have_count(0)

    # A box selection (toolbar) counts exactly the dots drawn inside the box.
    chart.hover()
    chart.locator("[data-title='Box Select']").click()
    area = chart.locator(".nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + area["width"] * 0.35, area["y"] + area["height"] * 0.35
    x1, y1 = area["x"] + area["width"] * 0.6, area["y"] + area["height"] * 0.6
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    page.mouse.up()
    heading = page.get_by_role("heading", name="movies in the selected region")
    expect(heading).to_be_visible()
    shown = int(heading.inner_text().split()[0])
    # The box as Plotly recorded it (data coordinates), and the dots drawn inside it.
    plot = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    box = plot.evaluate(
        "(gd) => { const s = gd.layout.selections[0]; return [s.x0, s.x1, s.y0, s.y1]; }"
    )
    bx0, bx1, by0, by1 = min(box[:2]), max(box[:2]), min(box[2:]), max(box[2:])
    # Dots cut by the box's edge (within a pixel of it) may fall either way.
    px, py = (bx1 - bx0) / (x1 - x0), (by1 - by0) / (y1 - y0)  # one pixel in data units
    drawn = dots(page, data=True)

    def count(grow: float) -> int:
        return len(
            {
                m
                for x, y, m in drawn
                if bx0 - grow * px <= x <= bx1 + grow * px
                and by0 - grow * py <= y <= by1 + grow * py
            }
        )

    assert 0 < count(-1) <= shown <= count(1), (count(-1), shown, count(1))
    expect(page.get_by_text("Dominant genres")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_search_groups_and_popularity_knob(server, browser):
    """At 1400x900: typos and numbers in the search, quick-start groups named by what their
    members share and drawn without cut words, the popularity knob changing most of the list."""
    from playwright.sync_api import expect
    from test_explore import label_matches_members

    from recsys.onboarding import onboarding_groups

    expect.set_options(timeout=60_000)
    model = server.model()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(server.url)
    expect(page.get_by_text("Your picks", exact=True)).to_be_visible()

    # Every group card: its name is the model's group label, borne out by its members, and no
    # word of a card is wider than the card.
    groups = onboarding_groups(model.items, model.item_embeddings)
    cards = page.locator("[class*='st-key-card_']")
    expect(cards).to_have_count(len(groups))
    for card, group in zip(cards.all(), groups):
        assert card.locator("strong").first.inner_text() == group.label
        assert label_matches_members(group.label, model.items, group.codes), group
        for text in card.locator("[data-testid='stCaptionContainer'], button").all():
            widest, room = text.evaluate(_WIDEST_WORD_JS)
            assert widest <= room + 1, (group.label, text.inner_text(), widest, room)
    page.screenshot(path=str(OUT / "groups.png"))

    if "Godfather, The (1972)" in set(model.items["title"]):  # the real catalogue
        page.get_by_role("tab", name="Search a title").click()
        box = page.locator(".st-key-search_q input")
        for query, first in (
            ("godfahter", "Godfather, The (1972)"),
            ("star wars 5", "Star Wars: Episode V - The Empire Strikes Back (1980)"),
        ):
            box.fill(query)
            box.press("Enter")
            labels = page.locator(
                "[class*='st-key-search_']:not(.st-key-search_q) [data-testid='stWidgetLabel']"
            )
            expect(labels.first).to_have_text(first)
        expect(labels).to_have_count(1)  # "5" matches neither 2005 nor 2015
        page.get_by_role("tab", name="Quick start").click()

    # A typical 5-movie profile: one group. Then the knob at -1 and at +1.
    page.locator(".st-key-group_0 button").click()
    expect(page.get_by_text("Your ratings (5)")).to_be_visible()
    page.get_by_text("Filters", exact=True).click()
    knob = page.locator(".st-key-w_popularity input[type='range']")
    before = pick_list(page)
    knob.focus()
    knob.press("Home")
    niche = wait_for_new_picks(page, before)
    knob.press("End")
    mainstream = wait_for_new_picks(page, niche)
    assert len(niche) == len(mainstream) == 10
    assert len(set(niche) & set(mainstream)) <= 5, (niche, mainstream)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_phone(server, browser):
    """At 390x844: the first pick is visible right after a rating, the sidebar closes after a
    tap on a page, the map's legend sits below it and tables fit the screen."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    # A phone's user agent: Streamlit closes the sidebar after a tap only on a mobile device.
    page = new_phone_page(browser)
    page.set_default_timeout(30_000)
    page.goto(server.url)
    expect(page.get_by_text("Your picks", exact=True)).to_be_visible()
    page.locator(".st-key-group_0 button").click()
    toast = page.locator("[data-testid='stToast']")
    expect(toast).to_contain_text("Top pick now")
    # Read the toast while it is up (Streamlit hides it after a few seconds; on a loaded
    # machine reading the pick list first could outlast it), then match it to the list.
    toast_text, box = toast.inner_text(), toast.bounding_box()
    page.screenshot(path=str(OUT / "phone-rated.png"))
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844  # within the screen, no scrolling
    toast_pick = " ".join(toast_text.split("Top pick now:", 1)[1].split())
    first = first_pick_once_drawn(page, toast_pick)
    assert first == toast_pick  # the toast names the list's first pick
    page.evaluate("window.scrollTo(0, 0)")
    summary = page.get_by_text("Top picks for you now")
    expect(summary).to_contain_text(f"1. {first}")
    assert summary.bounding_box()["y"] + summary.bounding_box()["height"] <= 844
    time.sleep(1)
    page.screenshot(path=str(OUT / "phone-top.png"))

    # The sidebar starts closed on a phone; after a tap on a page it closes again.
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    page.locator("[data-testid='stExpandSidebarButton']").click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_role("link", name="Similar movies").click()
    expect(page.get_by_role("heading", name="Similar movies")).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    table = page.locator("[data-testid='stDataFrame']").first
    expect(table).to_be_visible()
    assert table.bounding_box()["width"] <= 390
    table.scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(OUT / "phone-similar.png"))

    page.locator("[data-testid='stExpandSidebarButton']").click()
    sidebar.get_by_role("link", name="Embedding map").click()
    expect(page.get_by_role("heading", name="The embedding map")).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    plot = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    expect(plot).to_be_visible()
    legend, area = plot.evaluate(
        "(gd) => [gd.querySelector('.legend').getBoundingClientRect().toJSON(),"
        " gd.querySelector('.nsewdrag').getBoundingClientRect().toJSON()]"
    )
    assert legend["top"] >= area["bottom"] - 1  # below the map, not beside it
    assert legend["right"] <= 390 + 1
    plot.scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(OUT / "phone-map.png"))
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


# The widest word of an element's text in its own font, and the element's inner width (px).
_WIDEST_WORD_JS = """(el) => {
    const ctx = document.createElement("canvas").getContext("2d");
    const style = getComputedStyle(el);
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const words = el.innerText.split(/\\s+/).filter((w) => w.length);
    const widest = Math.max(0, ...words.map((w) => ctx.measureText(w).width));
    return [widest, el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
}"""


def pick_list(page) -> list[str]:
    """Titles of the landing page's pick list, in order."""
    lines = page.locator("[data-testid='stMarkdownContainer'] p").filter(
        has_text=re.compile(r"rated by \d+ (people|person)")
    )
    return [
        re.sub(r"^\d+\. ", "", line.locator("strong").first.inner_text()) for line in lines.all()
    ]


def first_pick_once_drawn(page, expected: str, timeout: float = 60) -> str | None:
    """The pick list's first title once it reads ``expected`` (the run that raised the toast
    may still be drawing the list), or whatever it reads at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        titles = pick_list(page)
        first = " ".join(titles[0].split()) if titles else None
        if first == expected or time.monotonic() >= deadline:
            return first
        time.sleep(0.25)


def wait_for_new_picks(page, before: list[str], timeout: float = 60) -> list[str]:
    """The pick list once it differs from ``before`` (a rerun has drawn it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = pick_list(page)
        if now and now != before:
            time.sleep(0.5)  # let the run finish drawing
            return pick_list(page)
        time.sleep(0.25)
    raise AssertionError(f"the picks did not change from {before}")
