"""Take the README's screenshots: the app on the committed artifacts, in Chromium via Playwright.

    python docs/take_screenshots.py        # writes docs/{screenshot,map,phone,phone-map}.png

Desktop at 1400x900 (the landing page after one quick-start group, and the map), phone at
390x844 (right after the same rating, and the map). Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "bench"))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
WAIT_MS = 120_000


def shoot(browser, url: str, phone: bool) -> None:
    """Rate the first quick-start group, then capture the landing page and the map."""
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
    page.goto(url)
    page.get_by_text("Your picks", exact=True).wait_for()
    page.locator(".st-key-group_0 button").click()
    page.locator("[data-testid='stToast']").wait_for()
    time.sleep(1.5)
    page.screenshot(path=str(DOCS / ("phone.png" if phone else "screenshot.png")))
    page.goto(page.url.replace("?", "map?", 1) if "/?" in page.url else f"{url}/map")
    plot = page.locator("[data-testid='stPlotlyChart']").first
    plot.wait_for()
    time.sleep(2)
    plot.evaluate("(el) => el.scrollIntoView({block: 'start'})")  # the map and its legend
    time.sleep(1)
    page.screenshot(path=str(DOCS / ("phone-map.png" if phone else "map.png")))
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
    print("wrote", ", ".join(sorted(p.name for p in DOCS.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
