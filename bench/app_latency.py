"""How fast the app answers: start-up and the time from a rating change to rendered picks.

    python bench/app_latency.py                      # artifacts from $RECSYS_ARTIFACTS or artifacts/
    python bench/app_latency.py --root /path --repeats 30 --json results_app_latency.json

Measures, on the default artifact of the root:

(a) start-up
    - ``apptest_cold_start_s``: a fresh Python process that imports Streamlit's AppTest, runs
      app.py once (imports, artifact load + sha256 verification, onboarding groups, first page)
      and exits; wall time from process start to the rendered page.
    - ``server_health_s``: ``streamlit run app.py`` until ``/_stcore/health`` answers 200.
    - ``server_first_render_s``: the same server until a headless Chromium shows the picks
      (only when /usr/bin/chromium and playwright are available).
(b) rating change to rendered picks, server side
    - ``apptest_rating_to_picks_ms``: AppTest, one rating changed on the landing page, time of
      ``at.run()`` (widget callback, fold-in, picks, the whole page rendered to protobuf).
    - ``recommend_ms``: ``model.recommend`` alone for 3, 10 and 50 ratings (k=10, explained).
    - ``browser_rating_to_picks_ms``: click on a rating button until the page shows the new
      rating count, which is drawn in the same run as the picks (client round trip and browser
      rendering included; only with Chromium).
(c) page switches, server side
    - ``apptest_page_ms``: AppTest with the ratings above, ``switch_page`` to each page of the
      multipage app (app.py, the st.navigation entrypoint, draws the shared frame, then the page
      script from pages/ runs) and
      ``at.run()``; the first visit of a page (cold: its caches fill) and later visits.

Prints one JSON object and a short table. Never imports torch or umap.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402

_COLD = r"""
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120).run()
assert not at.exception, at.exception
assert any(md.value.startswith("**1. ") for md in at.markdown), "no picks rendered"
bad = [m for m in ("torch", "umap") if m in sys.modules]
print({{"in_process_s": time.perf_counter() - t0, "heavy_modules": bad}})
"""


def _summary(values: list[float]) -> dict:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return {
        "median": round(statistics.median(values), 2),
        "p95": round(p95, 2),
        "max": round(values[-1], 2),
        "n": len(values),
    }


def cold_start(env: dict) -> dict:
    code = _COLD.format(root=str(ROOT), app=str(ROOT / "app.py"))
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"cold start failed:\n{out.stderr[-3000:]}")
    info = eval(out.stdout.strip().splitlines()[-1])  # our own dict literal
    return {
        "apptest_cold_start_s": round(wall, 3),
        "apptest_in_process_s": round(info["in_process_s"], 3),
        "heavy_modules_imported": info["heavy_modules"],
    }


def rating_to_picks(env_root: Path, repeats: int) -> dict:
    os.environ["RECSYS_ARTIFACTS"] = str(env_root)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    sliders = [s for s in at.segmented_control if s.key.startswith("grid_")]
    if len(sliders) < 3:
        raise SystemExit("the landing page shows fewer than 3 movies to rate")
    keys = [s.key for s in sliders]
    values = [5.0, 4.0, 3.0, 4.5]
    times = []
    at.segmented_control(key=keys[0]).set_value(5.0)
    at.run()  # warm: first fold-in computes the Gramian
    for i in range(repeats):
        key = keys[i % min(len(keys), 6)]
        at.segmented_control(key=key).set_value(values[i % len(values)])
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception, at.exception
    return {
        "apptest_rating_to_picks_ms": _summary(times),
        "ratings_at_end": len(at.session_state["ratings"]),
        "apptest_page_ms": page_switches(at, max(3, repeats // 4)),
    }


def page_switches(at, repeats: int) -> dict:
    """Time ``switch_page(page).run()`` for every page; ``at`` has already run app.py."""
    pages = [f"pages/{name}.py" for name in ("rate", "similar", "map", "report")]
    out = {}
    for page in pages:
        times = []
        for _ in range(repeats + 1):  # the first visit is the cold one
            at.switch_page(pages[0] if page != pages[0] else pages[1]).run()
            at.switch_page(page)
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
            assert not at.exception, (page, at.exception)
        out[page] = {"first_ms": round(times[0], 2), **_summary(times[1:])}
    return out


def recommend_alone(model, repeats: int) -> dict:
    popular = model.items.sort_values("n_ratings", ascending=False)["movieId"].to_numpy()
    out = {}
    for n in (3, 10, 50):
        ratings = {int(m): (5.0 if i % 3 else 3.0) for i, m in enumerate(popular[:n])}
        model.recommend(ratings, k=10)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.recommend(ratings, k=10)
            times.append((time.perf_counter() - start) * 1000)
        out[str(n)] = _summary(times)
    return {"recommend_ms": out}


def server(env: dict, browser: bool, repeats: int) -> dict:
    """Start `streamlit run`; with ``browser``, Chromium is launched first so that its own
    start-up is not counted in the app's start-up."""
    if not browser:
        return _server(env, None, repeats)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            return _server(env, page, repeats)
        finally:
            b.close()


def _server(env: dict, page, repeats: int) -> dict:
    start = time.perf_counter()
    try:
        proc, url = start_server(env.get("RECSYS_ARTIFACTS"), None, 120, poll=0.05)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    out: dict = {}
    try:
        out["server_health_s"] = round(time.perf_counter() - start, 3)
        if page is None:
            return out
        page.goto(url)
        page.wait_for_function(
            "() => document.body.innerText.includes('Your picks') && "
            "document.body.innerText.includes('1. ')",
            polling="raf",
        )
        out["server_first_render_s"] = round(time.perf_counter() - start, 3)
        page.get_by_role("tab", name="Well-known movies").click()
        # the grid's rating controls (one button per value; the last is the top of the scale)
        cards = page.locator("[class*='st-key-grid_']:has([data-testid='stButtonGroup'])")
        cards.first.wait_for(state="attached")
        times = []
        for i in range(min(repeats, cards.count())):
            top = cards.nth(i).locator("button").last
            top.scroll_into_view_if_needed()
            t = time.perf_counter()
            top.click()  # 5 stars: a new rating, so the count below must change
            page.wait_for_function(  # polled every frame (expect() backs off to 1 s)
                "n => document.body.innerText.includes(`Your ratings (${n})`)",
                arg=i + 1,
                polling="raf",
            )
            times.append((time.perf_counter() - t) * 1000)
        out["browser_rating_to_picks_ms"] = _summary(times)
        return out
    finally:
        stop_server(proc)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", help="artifacts root (default: $RECSYS_ARTIFACTS or artifacts/)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measures")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import recsys

    root = Path(args.root or os.environ.get("RECSYS_ARTIFACTS") or ROOT / "artifacts").resolve()
    name = recsys.default_artifact(root)
    if name is None:
        raise SystemExit(f"no artifacts under {root}; train one first (see README)")
    model = recsys.load(root / name)
    env = dict(os.environ, RECSYS_ARTIFACTS=str(root))
    browser = not args.no_browser and CHROMIUM.exists()
    if browser:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            browser = False

    result = {
        "root": str(root),
        "artifact": name,
        "model": model.model_name,
        "n_items": len(model.items),
        "dim": None if model.item_embeddings is None else int(model.item_embeddings.shape[1]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    result.update(cold_start(env))
    result.update(recommend_alone(model, args.repeats))
    result.update(rating_to_picks(root, args.repeats))
    result.update(server(env, browser, args.repeats))

    print(json.dumps(result, indent=2))
    rows = [
        ("app start, AppTest cold process (s)", result["apptest_cold_start_s"], "< 5"),
        ("app start, server health (s)", result["server_health_s"], ""),
    ]
    if "server_first_render_s" in result:
        rows.append(
            ("app start, server to first render (s)", result["server_first_render_s"], "< 5")
        )
    a = result["apptest_rating_to_picks_ms"]
    rows.append(("rating -> rendered picks, AppTest median (ms)", a["median"], "< 200"))
    rows.append(("rating -> rendered picks, AppTest p95 (ms)", a["p95"], "< 200"))
    for n, s in result["recommend_ms"].items():
        rows.append((f"model.recommend, {n} ratings, median (ms)", s["median"], ""))
    for page, s in result["apptest_page_ms"].items():
        rows.append(
            (
                f"switch to {page}, AppTest first / median (ms)",
                f"{s['first_ms']:.0f} / {s['median']:.0f}",
                "",
            )
        )
    if "browser_rating_to_picks_ms" in result:
        rows.append(
            (
                "rating -> picks in Chromium, median (ms)",
                result["browser_rating_to_picks_ms"]["median"],
                "",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure'.ljust(width)}  {'value':>9}  target")
    for label, value, target in rows:
        print(f"{label.ljust(width)}  {value:>9}  {target}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
