"""Take the README's screenshots: the app on the committed artifacts, in Chromium via Playwright.

    python docs/take_screenshots.py                 # both sets below, into docs/
    python docs/take_screenshots.py landing         # docs/{screenshot,map,phone,phone-map}.png
    python docs/take_screenshots.py views           # docs/{report,report-cold-start,map-click,
                                                    #   similar-dot,phone-report,phone-map-click}.png
    python docs/take_screenshots.py views --out /tmp/shots   # elsewhere (nothing overwritten)

Desktop at 1400x900, phone at 390x844. ``landing``: the landing page right after one quick-start
group, and the map. ``views``: the teaching views (the Model report, the map after a click with
similarity colours, neighbour overlap and the visitor's trail, the Similar movies page's
dot-vs-cosine scatter); it prints each page's document width against the viewport (a wider
document scrolls sideways). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    isolated_dot,
    new_phone_page,
    start_server,
    stop_server,
)

WAIT_MS = 120_000
_WIDTH_JS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def new_page(browser, phone: bool):
    """A page at desktop (1400x900) or phone (390x844, touch, mobile user agent) size."""
    if phone:
        page = new_phone_page(browser)
    else:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    return page


def rate_first_group(page, url: str) -> None:
    """Open the landing page and rate the first quick-start group (one click)."""
    page.goto(url)
    page.get_by_text("Your picks", exact=True).wait_for()
    page.locator(".st-key-group_0 button").click()
    page.locator("[data-testid='stToast']").wait_for()
    time.sleep(1.5)


def open_map(page, url: str):
    """Go to the map with the visitor's profile (kept in the link); returns its chart."""
    page.goto(page.url.replace("?", "map?", 1) if "/?" in page.url else f"{url}/map")
    plot = page.locator("[data-testid='stPlotlyChart']").first
    plot.wait_for()
    time.sleep(2)
    return plot


def scroll_to_top(locator) -> None:
    locator.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    time.sleep(1)


def shoot_landing(page, url: str, out: Path, phone: bool) -> None:
    """The landing page after one quick-start group, then the map and its legend."""
    rate_first_group(page, url)
    page.screenshot(path=str(out / ("phone.png" if phone else "screenshot.png")))
    scroll_to_top(open_map(page, url))
    page.screenshot(path=str(out / ("phone-map.png" if phone else "map.png")))


def shoot_views(page, url: str, out: Path, phone: bool) -> None:
    """The Model report, the map after a click, and (desktop) the dot-product scatter."""
    prefix = "phone-" if phone else ""
    page.goto(f"{url}/report")
    page.get_by_role("heading", name="Every model against the baselines").wait_for()
    page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first.wait_for()
    time.sleep(3)
    print(prefix + "report width", page.evaluate(_WIDTH_JS))
    page.screenshot(path=str(out / f"{prefix}report.png"))
    if not phone:
        scroll_to_top(
            page.get_by_role("heading", name="How many movies must a visitor rate?").first
        )
        page.screenshot(path=str(out / "report-cold-start.png"))

    rate_first_group(page, url)  # a profile first, so the map has a trail
    plot = open_map(page, url)
    if not phone:
        x, y, _ = isolated_dot(page)
        page.mouse.click(x, y)
        page.locator("strong", has_text="nearest neighbours in the full space").wait_for()
        time.sleep(2)
    scroll_to_top(plot)
    print(prefix + "map width", page.evaluate(_WIDTH_JS))
    page.screenshot(path=str(out / f"{prefix}map-click.png"))

    if not phone:
        page.goto(f"{url}/similar")
        page.get_by_role("heading", name="Similar movies").wait_for()
        page.locator(".st-key-sim_q input").fill("toy story")  # a movie with a shorter vector
        page.locator(".st-key-sim_q input").press("Enter")
        time.sleep(2)
        page.get_by_text("Dot product (direction × lengths)").click()
        page.get_by_text("Why dot products favour popular movies").wait_for()
        time.sleep(2)
        scroll_to_top(page.get_by_text("Why dot products favour popular movies"))
        page.screenshot(path=str(out / "similar-dot.png"))


SETS = {"landing": shoot_landing, "views": shoot_views}


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", metavar="SET", help=f"{' or '.join(SETS)}; default: all")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="default: docs/")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sets) - set(SETS))
    if unknown:
        parser.error(
            f"unknown screenshot set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(ROOT / "artifacts", None, startup_timeout=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for name in args.sets or list(SETS):
                    for phone in (False, True):
                        page = new_page(browser, phone)
                        SETS[name](page, url, args.out, phone)
                        page.close()
            finally:
                browser.close()
    finally:
        stop_server(proc)
    print("wrote", ", ".join(sorted(p.name for p in args.out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
