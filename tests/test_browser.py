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

    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(30_000)
    page.goto(server)
    expect(page.get_by_text("Your picks")).to_be_visible()
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

    # Lasso a wide region (the chart's default drag mode): the region's movies are listed.
    area = chart.locator(".nsewdrag").first.bounding_box()
    corners = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.1, 0.12)]
    page.mouse.move(area["x"] + area["width"] * 0.1, area["y"] + area["height"] * 0.1)
    page.mouse.down()
    for fx, fy in corners[1:]:
        page.mouse.move(area["x"] + area["width"] * fx, area["y"] + area["height"] * fy, steps=10)
    page.mouse.up()
    expect(page.get_by_text("movies in the selected region")).to_be_visible()
    expect(page.get_by_text("Dominant genres")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
