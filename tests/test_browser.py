"""End to end in a real browser: start `streamlit run app.py` on 127.0.0.1, drive it with
Playwright (Debian's /usr/bin/chromium), rate three movies, see the picks, then visit the other
pages through the sidebar's links (the profile stays in the address bar) and lasso the map.

Screenshots go to test-output/ (landing.png, similar.png, report.png, map.png). Uses $RECSYS_ARTIFACTS or the real
artifacts/ when they hold a model, else the small fixture artifacts of test_app.py. The server is
always stopped.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

import recsys

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output"
sys.path.insert(0, str(ROOT / "bench"))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    env_root = os.environ.get("RECSYS_ARTIFACTS")
    root = Path(env_root) if env_root else ROOT / "artifacts"
    if recsys.default_artifact(root) is None:
        from test_app import build_fixture_root

        root = build_fixture_root(tmp_path_factory.mktemp("browser-artifacts"))
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    try:
        proc, url = start_server(root, log, startup_timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_rate_three_movies_see_picks_visit_every_page(server, browser):
    from playwright.sync_api import expect

    # A generous wait for each check: the machine may be shared (no timing is asserted here).
    expect.set_options(timeout=60_000)
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(server)
    expect(page.get_by_text("Your picks", exact=True)).to_be_visible()
    expect(page.get_by_text("Popular picks for now")).to_be_visible()

    page.get_by_role("tab", name="Well-known movies").click()
    sliders = page.locator("[class*='st-key-grid_'] input[type='range']")
    expect(sliders.first).to_be_visible()
    for n in range(1, 4):
        slider = sliders.nth(n - 1)
        slider.focus()
        slider.press("End")  # the top of the scale: 5 stars
        expect(page.get_by_text(f"Your ratings ({n})")).to_be_visible()
    expect(page.get_by_text("Popular picks for now")).to_have_count(0)
    expect(page.get_by_text("because you liked").first).to_be_visible()
    assert "r=" in page.url  # the profile is in the address bar
    query = page.url.split("?", 1)[1]
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("tab", name="Quick start").click()
    time.sleep(1)
    page.screenshot(path=str(OUT / "landing.png"))

    # The sidebar lists the four pages, the landing page first, with their titles.
    sidebar = page.locator("[data-testid='stSidebar']")
    links = sidebar.locator("[data-testid='stPageLink']")
    expect(links).to_have_count(4)
    # (each link's text also holds its icon's ligature name, e.g. "star", hence "contain")
    expect(links).to_contain_text(
        ["Rate & recommend", "Similar movies", "Embedding map", "Model report"]
    )

    # Another page through its link: same profile, same address-bar query.
    sidebar.get_by_role("link", name="Similar movies").click()
    expect(page.get_by_role("heading", name="Similar movies")).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
    expect(sidebar.get_by_text("3 ratings in your profile")).to_be_visible()
    assert "/similar?" in page.url and page.url.endswith(query)
    time.sleep(1)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(OUT / "similar.png"))

    sidebar.get_by_role("link", name="Model report").click()
    expect(page.get_by_role("heading", name="Model report")).to_be_visible()
    assert "/report?" in page.url and page.url.endswith(query)
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
    assert page.url.endswith(query)  # the profile follows the visitor across pages
    page.screenshot(path=str(OUT / "map.png"))

    # A click on a dot (the chart's default mode) lists that movie's neighbours.
    x, y, _ = isolated_dot(page)
    page.mouse.click(x, y)
    expect(page.get_by_role("heading", name="Selected:")).to_be_visible()
    expect(page.get_by_text("Nearest neighbours")).to_be_visible()
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


# The movies' dots as drawn: page pixel position and movieId of every point of the map's base
# traces (the visitor's own layers repeat movies already there), read from Plotly's own state.
_DOTS_JS = """([gd, data]) => {
    const box = gd.getBoundingClientRect();
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const out = [];
    for (const t of gd._fullData) {
        if (["Your ratings", "Your picks", "You are here"].includes(t.name)) continue;
        if (t.name.startsWith("Search:") || t.name.startsWith("Neighbours of")) continue;
        if (t.name.startsWith("Selected:")) continue;
        for (let k = 0; k < t.x.length; k++) {
            const px = xa._offset + xa.l2p(t.x[k]), py = ya._offset + ya.l2p(t.y[k]);
            if (px < xa._offset || px > xa._offset + xa._length) continue;
            if (py < ya._offset || py > ya._offset + ya._length) continue;
            const movie = Number(t.customdata[k]);
            out.push(data ? [t.x[k], t.y[k], movie] : [box.left + px, box.top + py, movie]);
        }
    }
    return out;
}"""


def dots(page, data: bool = False) -> list[tuple[float, float, int]]:
    """(x, y, movieId) of every dot inside the axes: page pixels, or data coordinates."""
    plot = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    return [tuple(d) for d in plot.evaluate(f"(gd) => ({_DOTS_JS})([gd, {str(data).lower()}])")]


def isolated_dot(page) -> tuple[float, float, int]:
    """A dot in the middle half of the chart whose nearest other dot is farthest away (so a
    click there can only mean that movie)."""
    import numpy as np

    pts = np.array(dots(page))
    lo, hi = np.percentile(pts[:, :2], 25, axis=0), np.percentile(pts[:, :2], 75, axis=0)
    middle = pts[((pts[:, :2] >= lo) & (pts[:, :2] <= hi)).all(axis=1)][:600]
    d = np.linalg.norm(middle[:, None, :2] - pts[None, :, :2], axis=2)
    d[d == 0] = np.inf
    best = middle[int(np.argmax(d.min(axis=1)))]
    return float(best[0]), float(best[1]), int(best[2])
