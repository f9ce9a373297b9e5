"""Many visitors at once: N concurrent browser sessions against one ``streamlit run app.py``.

    python bench/load_test.py                             # 25 sessions for 60 s (the documented run)
    python bench/load_test.py --sessions 4 --seconds 15 --json load.json

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port; nothing else is contacted), then one
headless Chromium (Debian's /usr/bin/chromium through Playwright) with one browser context per
session. Each session owns a distinct slice of well-known movies and, until the time is up, loops:

1. open ``/?r=<three ratings from its own slice>&model=<default artifact>``, and wait until the
   page shows "Your ratings (3)" and exactly the picks ``recsys.load(...).recommend`` gives for
   that profile (time to picks);
2. click one "I like this kind" group button, wait until the address bar holds the grown profile
   and the page shows exactly its picks (time to picks after a click).

A session's check fails (an error) when the picks or the rating count do not match within
``--timeout`` seconds, or the page shows a Streamlit exception or raises a page error. Isolation:
every profile seen in a session's address bar and every title in its "Your ratings" list must
come from its own slice or the shared groups, never from another session's slice.

Reports errors (must be 0), isolation violations (must be 0), p50/p95 time to picks, and the
server's resident memory before the sessions, at its peak, and after they closed (psutil if
installed, else /proc/<pid>/status VmRSS). Prints one JSON object and a short table; exits 1 on
any error or violation. Every loop is bounded in count and time; the server is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import recsys  # noqa: E402
from pages.ui.profile import decode_profile, encode_profile  # noqa: E402
from pages.ui.text import escape_markdown  # noqa: E402
from recsys.onboarding import onboarding_groups  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402
from _util import percentile  # noqa: E402

MAX_ITERATIONS = 500  # per session, whatever the duration
PROFILE_SIZE = 3
PICKS_K = 10  # the landing page's default number of picks

# What the page shows, read in one evaluation: pick lines, the ratings header, rated titles.
READ_PAGE = """() => {
  const picks = [];  // pick lines only (not the one-line summary above them)
  for (const p of document.querySelectorAll('[data-testid="stMarkdownContainer"] p')) {
    const el = p.querySelector('strong');
    const m = el && /rated by \\d+ (people|person)/.test(p.innerText)
      ? el.innerText.match(/^(\\d+)\\. ([\\s\\S]*)$/) : null;
    if (m) picks.push(m[2]);
  }
  let count = null;
  for (const h of document.querySelectorAll('h3')) {
    const m = h.innerText.match(/^Your ratings \\((\\d+)\\)/);
    if (m) count = parseInt(m[1]);
  }
  const rated = [];
  for (const el of document.querySelectorAll('[class*="st-key-rated_"] [data-testid="stWidgetLabel"]')) {
    rated.push(el.innerText.trim());
  }
  const exceptions = document.querySelectorAll('[data-testid="stException"]').length;
  return {url: location.href, picks, count, rated, exceptions};
}"""


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used."""
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Plan:
    """The model, the shared group movies and each session's own slice of movies."""

    def __init__(self, root: Path, sessions: int):
        name = recsys.default_artifact(root)
        if name is None:
            raise RuntimeError(f"no artifact in {root}")
        self.name = name
        self.model = recsys.load(root / name)
        items = self.model.items
        groups = onboarding_groups(items, self.model.item_embeddings, seed=0)
        self.group_ids = {int(m) for g in groups for m in g.movie_ids}
        self.n_groups = len(groups)
        order = items["n_ratings"].to_numpy().argsort(kind="stable")[::-1]
        pool = [int(m) for m in items["movieId"].to_numpy()[order] if int(m) not in self.group_ids]
        per = max(PROFILE_SIZE * 2, min(60, len(pool) // max(sessions, 1)))
        if per * sessions > len(pool):
            raise RuntimeError(
                f"{sessions} sessions need {per * sessions} movies, have {len(pool)}"
            )
        self.slices = [pool[i * per : (i + 1) * per] for i in range(sessions)]
        self.owner = {m: i for i, s in enumerate(self.slices) for m in s}
        self.title = dict(zip(items["movieId"].astype(int), items["title"].astype(str)))
        self.scale = self.model.rating_scale
        self._expected: dict[str, list[str]] = {}

    def picks(self, ratings: dict[int, float]) -> list[str]:
        key = encode_profile(ratings)
        if key not in self._expected:
            df = self.model.recommend(ratings, k=PICKS_K).picks
            self._expected[key] = [str(t) for t in df["title"]]
        return self._expected[key]


def _profile_of(url: str, scale) -> dict[int, float]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return decode_profile(query.get("r", [""])[0], scale)[0]


async def run_session(index: int, browser, base: str, plan: Plan, deadline: float, timeout: float):
    """One visitor's loop; returns its record (times, errors, isolation violations)."""
    rng = random.Random(1000 + index)
    rec = {"session": index, "iterations": 0, "times": [], "click_times": [], "errors": []}
    rec["violations"] = []
    rec["rated_labels_checked"] = 0
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    page.on("pageerror", lambda exc: rec["errors"].append(f"page error: {exc}"[:300]))
    own = plan.slices[index]

    def isolation(state: dict, profile: dict[int, float]) -> None:
        for m in profile:
            owner = plan.owner.get(m)
            if m not in plan.group_ids and owner != index:
                rec["violations"].append(f"movie {m} of session {owner} in the address bar")
        allowed = {escape_markdown(plan.title[m]) for m in own} | {
            escape_markdown(plan.title[m]) for m in plan.group_ids
        }
        allowed |= {plan.title[m] for m in own} | {plan.title[m] for m in plan.group_ids}
        rec["rated_labels_checked"] += len(state["rated"])
        for label in state["rated"]:
            if label not in allowed:
                rec["violations"].append(f"rated title {label[:60]!r} is not this session's")

    async def wait_for(expected_profile, started: float) -> float | None:
        """Poll the page until it shows ``expected_profile`` (a dict, or None: whatever the
        address bar holds once it differs from the last one) and its exact picks."""
        last = None
        while time.monotonic() - started < timeout:
            state = await page.evaluate(READ_PAGE)
            last = state
            if state["exceptions"]:
                rec["errors"].append("the page shows a Streamlit exception")
                return None
            profile = expected_profile
            if profile is None:
                profile = _profile_of(state["url"], plan.scale)
                if len(profile) <= PROFILE_SIZE:
                    await asyncio.sleep(0.2)
                    continue
            if state["count"] == len(profile) and state["picks"] == plan.picks(profile):
                if _profile_of(state["url"], plan.scale) == profile:
                    isolation(state, profile)
                    return time.monotonic() - started
            await asyncio.sleep(0.2)
        shown = (last or {}).get("picks", [])[:3]
        rec["errors"].append(
            f"no matching picks within {timeout} s (count {(last or {}).get('count')}, "
            f"first picks {shown})"
        )
        return None

    try:
        while time.monotonic() < deadline and rec["iterations"] < MAX_ITERATIONS:
            movies = rng.sample(own, PROFILE_SIZE)
            values = [plan.scale[1]] + [rng.choice([3.0, 4.0, 4.5]) for _ in movies[1:]]
            profile = dict(zip(movies, values))
            query = urllib.parse.urlencode({"r": encode_profile(profile), "model": plan.name})
            started = time.monotonic()
            await page.goto(f"{base}/?{query}", wait_until="domcontentloaded")
            took = await wait_for(profile, started)
            if took is None:
                break
            rec["times"].append(took)
            # Every session clicks at least once, however slowly the machine ran the first load:
            # the test checks what happens, never how fast.
            if rec["iterations"] == 0 or time.monotonic() < deadline:
                group = rng.randrange(plan.n_groups)
                button = page.locator(f".st-key-group_{group} button")
                started = time.monotonic()
                await button.click()
                took = await wait_for(None, started)
                if took is None:
                    break
                rec["click_times"].append(took)
            rec["iterations"] += 1
    except Exception as exc:  # a timeout or a crash of the page: counted, never hidden
        rec["errors"].append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        await context.close()
    return rec


async def _drive(base: str, plan: Plan, sessions: int, seconds: float, timeout: float, server_pid):
    from playwright.async_api import async_playwright

    peak = {"rss": rss_mb(server_pid)}
    memory = {"cold": peak["rss"]}

    async def sample_memory(stop: asyncio.Event):
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], rss_mb(server_pid))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(stop))
        try:
            # Warm-up: one visit loads the model into the server's cache, so the memory
            # baseline below is the steady state a restart reaches, not an empty process.
            warm = await run_session(-1, browser, base, plan, time.monotonic() + 1, 120.0)
            if warm["errors"]:
                raise RuntimeError(f"warm-up visit failed: {warm['errors']}")
            memory["warm"] = rss_mb(server_pid)
            memory["cpu0"], memory["t0"] = cpu_s(server_pid), time.monotonic()
            deadline = time.monotonic() + seconds
            tasks = []
            for i in range(sessions):
                tasks.append(
                    asyncio.create_task(run_session(i, browser, base, plan, deadline, timeout))
                )
                await asyncio.sleep(0.05)  # a realistic trickle rather than one instant
            records = await asyncio.gather(*tasks)
            memory["cpu"] = cpu_s(server_pid) - memory["cpu0"]
            memory["busy_s"] = time.monotonic() - memory["t0"]
        finally:
            stop.set()
            await sampler
            await browser.close()
    memory["peak"] = peak["rss"]
    return records, memory


def run(
    sessions: int = 25,
    seconds: float = 60.0,
    root: Path | None = None,
    timeout: float = 180.0,
    startup_timeout: float = 180.0,
) -> dict:
    """Run the load test; returns the result dict (see the module docstring)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
    env_root = os.environ.get("RECSYS_ARTIFACTS")
    root = Path(root or env_root or ROOT / "artifacts")
    plan = Plan(root, sessions)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "streamlit.log"
        proc, base = start_server(root, log_path, startup_timeout)
        try:
            records, memory = asyncio.run(_drive(base, plan, sessions, seconds, timeout, proc.pid))
            time.sleep(2.0)  # let the server drop the closed sessions
            after = rss_mb(proc.pid)
            server_alive = proc.poll() is None
            tail = log_path.read_text(errors="replace")[-2000:]
        finally:
            stop_server(proc)
    times = [t for r in records for t in r["times"]]
    clicks = [t for r in records for t in r["click_times"]]
    both = times + clicks
    errors = [f"session {r['session']}: {e}" for r in records for e in r["errors"]]
    if not server_alive:
        errors.append("the server died during the run")
    violations = [f"session {r['session']}: {v}" for r in records for v in r["violations"]]
    result = {
        "sessions": sessions,
        "seconds": seconds,
        "model": plan.name,
        "iterations": sum(r["iterations"] for r in records),
        "page_loads": len(times),
        "clicks": len(clicks),
        "errors": len(errors),
        "error_samples": errors[:10],
        "isolation_violations": len(violations),
        "violation_samples": violations[:10],
        "sessions_without_result": sum(1 for r in records if not r["times"]),
        "time_to_picks_s": {
            "p50": percentile(both, 0.5),
            "p95": percentile(both, 0.95),
            "max": max(both) if both else None,
            "n": len(both),
        },
        "page_load_to_picks_s": {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95)},
        "click_to_picks_s": {"p50": percentile(clicks, 0.5), "p95": percentile(clicks, 0.95)},
        "server_rss_mb": {
            "cold": memory["cold"],
            "before": memory["warm"],
            "peak": memory["peak"],
            "after": after,
        },
        "rss_growth_mb": after - memory["warm"],
        # The server's share of the machine while the sessions ran (the browsers take the rest
        # when client and server share few cores).
        "server_cpu_s": memory["cpu"],
        "server_cpu_share": memory["cpu"] / (memory["busy_s"] * (os.cpu_count() or 1)),
        "rated_labels_checked": sum(r["rated_labels_checked"] for r in records),
        "wall_s": time.monotonic() - started,
        "cpus": os.cpu_count(),
    }
    if errors:
        result["server_log_tail"] = tail
    return result


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def table(result: dict) -> str:
    rows = [
        ("sessions x seconds", f"{result['sessions']} x {result['seconds']:g}"),
        ("iterations (load + click)", result["iterations"]),
        ("page loads / clicks checked", f"{result['page_loads']} / {result['clicks']}"),
        ("errors", result["errors"]),
        ("isolation violations", result["isolation_violations"]),
        ("time to picks p50 / p95 (s)", " / ".join(_fmt(result["time_to_picks_s"][k]) for k in ("p50", "p95"))),
        ("  after page load p50 / p95", " / ".join(_fmt(result["page_load_to_picks_s"][k]) for k in ("p50", "p95"))),
        ("  after a click p50 / p95", " / ".join(_fmt(result["click_to_picks_s"][k]) for k in ("p50", "p95"))),
        ("server RSS cold (MiB)", _fmt(result["server_rss_mb"]["cold"])),
        ("server RSS before/peak/after MiB", " / ".join(_fmt(result["server_rss_mb"][k]) for k in ("before", "peak", "after"))),
        ("RSS growth over the run (MiB)", _fmt(result["rss_growth_mb"])),
        ("server CPU s (share of machine)", f"{result['server_cpu_s']:.1f} ({result['server_cpu_share']:.0%})"),
        ("wall (s)", _fmt(result["wall_s"])),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=25, help="concurrent sessions (25)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration (60)")
    parser.add_argument("--root", help="artifacts directory ($RECSYS_ARTIFACTS or artifacts/)")
    parser.add_argument("--timeout", type=float, default=180.0, help="per check, seconds (180)")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 200 or not 0 < args.seconds <= 3600:
        parser.error("--sessions must be 1..200 and --seconds 0..3600")
    result = run(args.sessions, args.seconds, args.root, args.timeout)
    text = json.dumps(result, indent=2)
    print(text)
    print()
    print(table(result))
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if result["errors"] == 0 and result["isolation_violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
