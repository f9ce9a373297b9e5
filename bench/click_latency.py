"""Picks in a blink: a click on a rating until the picks change, in Chromium, against a bare app.

    python bench/click_latency.py                    # artifacts from $RECSYS_ARTIFACTS or artifacts/
    python bench/click_latency.py --clicks 30 --json results_click_latency.json

Starts two Streamlit servers on this machine at once: the real app (app.py, via
bench/_server.py) and a bare reference app (a script written to a temporary directory: one
segmented control whose click reruns the script once and redraws a counter). Both are driven in
headless Chromium (Playwright, /usr/bin/chromium). A click is timed inside the page: the time
``performance.now()`` just before a JavaScript ``click()`` on the button, to the first DOM
mutation that changes the watched text (the app's pick list, ``.st-key-pick_list``; the bare
app's counter), seen by a MutationObserver. So Playwright's own round trips are not counted.
Clicks alternate between the two apps, so both are measured under the same load.

The app: the "Well-known movies" tab, then ``--clicks`` clicks on the top of the scale of the
grid's movies in turn (each click rates a new movie, or on the second pass clears its rating:
either way the profile changes, and with it the picks and their scores). The first click after
opening the page is reported apart (``first_click_ms``). A click whose picks do not change within
``--wait`` seconds counts as a miss.

Prints one JSON object: p50/p95 of both, the ratio of the p50s (target <= 1.3), the time from
opening the page to the first picks (``first_picks_s``: ``page.goto`` until the summary line
holds a first pick; target <= 1.5 s; the median of ``--opens`` fresh pages after a warm-up
one, and the cold first open of the fresh server apart; the bare app's first open, for scale),
and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402
from _util import percentile  # noqa: E402

# The reference: one widget of the same kind as the app's rating control, one rerun per click,
# one line of text that changes with every click.
BARE_APP = """
import streamlit as st

st.session_state.setdefault("clicks", 0)


def _clicked():
    st.session_state["clicks"] += 1


st.segmented_control(
    "Rate",
    [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0],
    format_func=lambda v: f"{v:g}",
    key="bare",
    on_change=_clicked,
)
with st.container(key="pick_list"):
    st.markdown(f"clicks: {st.session_state['clicks']}")
"""

# In the page: watch the text of `.st-key-pick_list`; click `button` and resolve with the time
# from just before the click to the first mutation after which the text differs.
CLICK_JS = """
async ([selector, button, waitMs]) => {
  const watched = () => document.querySelector('.st-key-pick_list');
  const before = watched() ? watched().textContent : null;
  const target = document.querySelectorAll(selector)[button.index];
  const btn = [...target.querySelectorAll('button')].find(b => b.innerText.trim() === button.label);
  if (!btn) return {error: 'no button ' + button.label};
  return await new Promise(resolve => {
    let t0 = 0;
    const done = (ms) => { obs.disconnect(); clearTimeout(timer); resolve({ms}); };
    const obs = new MutationObserver(() => {
      const el = watched();
      if (el && el.textContent !== before) done(performance.now() - t0);
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
    const timer = setTimeout(() => { obs.disconnect(); resolve({ms: null}); }, waitMs);
    t0 = performance.now();
    btn.click();
  });
}
"""

FIRST_PICKS_JS = """() => {
  const el = document.querySelector('.st-key-top_picks');
  return el && /1\\. /.test(el.innerText);
}"""


def _summary(ms: list[float]) -> dict:
    p50, p95 = percentile(ms, 0.5), percentile(ms, 0.95)
    return {
        "n": len(ms),
        "p50_ms": None if p50 is None else round(p50, 1),
        "p95_ms": None if p95 is None else round(p95, 1),
    }


def _clicks(page, selector: str, buttons: list[dict], wait_s: float) -> tuple[list, int]:
    """Time each click of ``buttons`` ({index, label}); returns (ms list, misses)."""
    times, misses = [], 0
    for b in buttons:
        got = page.evaluate(CLICK_JS, [selector, b, int(wait_s * 1000)])
        if got.get("error"):
            raise SystemExit(f"click failed: {got['error']}")
        if got["ms"] is None:
            misses += 1
        else:
            times.append(got["ms"])
        page.wait_for_timeout(150)  # let the run finish drawing before the next click
    return times, misses


def _open_until_picks(browser, url: str) -> tuple[float, object]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(FIRST_PICKS_JS, polling="raf")
    return time.perf_counter() - start, page


def _open_app(browser, url: str, opens: int) -> tuple[dict, object]:
    """Time fresh pages to their first picks; returns (times, the last page, left open)."""
    cold_s, page = _open_until_picks(browser, url)
    page.close()
    open_s = []
    for i in range(opens):
        s, page = _open_until_picks(browser, url)
        open_s.append(s)
        if i < opens - 1:
            page.close()
    times = {
        "first_open_cold_s": round(cold_s, 3),
        "first_picks_s": round(statistics.median(open_s), 3),
        "first_picks_all_s": [round(s, 3) for s in open_s],
    }
    return times, page


def measure(browser, root: Path | None, clicks: int, opens: int, wait_s: float) -> dict:
    """Both servers up at once, clicks alternating between the app and the bare app, so both
    see the same load on a shared machine."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare_app.py"
        script.write_text(BARE_APP)
        bare_proc, bare_url = start_server(None, None, 120, poll=0.05, script=script)
        app_proc, app_url = None, None
        try:
            app_proc, app_url = start_server(root, None, 120, poll=0.05)
            bare_page = browser.new_page(viewport={"width": 1400, "height": 900})
            bare_page.set_default_timeout(60_000)
            start = time.perf_counter()
            bare_page.goto(bare_url)
            bare_page.locator(".st-key-bare button").first.wait_for(state="visible")
            bare_open_s = time.perf_counter() - start  # Streamlit's own page load, for scale
            opened, page = _open_app(browser, app_url, opens)
            page.get_by_role("tab", name="Well-known movies").click()
            # the grid's rating controls (not its "Other movies" button, key grid_refresh)
            selector = "[class*='st-key-grid_']:has([data-testid='stButtonGroup'])"
            page.locator(selector + " button").first.wait_for(state="visible")
            n = page.locator(selector).count()
            top = page.locator(selector).first.locator("button").last.inner_text().strip()
            app_ms, bare_ms, app_miss, bare_miss = [], [], 0, 0
            for i in range(clicks + 1):  # the first click of each is reported apart
                t, m = _clicks(page, selector, [{"index": i % n, "label": top}], wait_s)
                app_ms += t
                app_miss += m
                label = ["5", "1"][i % 2]  # alternate: every click sets a new value
                t, m = _clicks(bare_page, ".st-key-bare", [{"index": 0, "label": label}], wait_s)
                bare_ms += t
                bare_miss += m
            return {
                "app": {
                    **opened,
                    "first_click_ms": round(app_ms[0], 1) if app_ms else None,
                    "click_to_picks": _summary(app_ms[1:]),
                    "misses": app_miss,
                    "grid_movies": n,
                },
                "bare": {
                    "first_open_s": round(bare_open_s, 3),
                    "click_to_change": _summary(bare_ms[1:]),
                    "misses": bare_miss,
                },
            }
        finally:
            if app_proc is not None:
                stop_server(app_proc)
            stop_server(bare_proc)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", help="artifacts root (default: $RECSYS_ARTIFACTS or artifacts/)")
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--opens", type=int, default=3, help="fresh pages timed to first picks")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds before a miss")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    root = Path(args.root or os.environ.get("RECSYS_ARTIFACTS") or ROOT / "artifacts").resolve()
    load_before = os.getloadavg()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            got = measure(browser, root, args.clicks, args.opens, args.wait)
        finally:
            browser.close()
    app, bare = got["app"], got["bare"]
    a, b = app["click_to_picks"]["p50_ms"], bare["click_to_change"]["p50_ms"]
    result = {
        "artifacts": str(root),
        "clicks": args.clicks,
        "app": app,
        "bare": bare,
        "p50_ratio_app_over_bare": round(a / b, 2) if a and b else None,
        "targets": {"p50_ratio": 1.3, "first_picks_s": 1.5},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
