"""Start and stop a local `streamlit run app.py`, the Chromium flags, a phone-sized page and the
map's dots as drawn, shared by the browser tests, the load test, the app latency benchmark and
docs/take_screenshots.py. Loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Headless Debian Chromium as root on a machine with no outside network: no sandbox, no GPU, and
# none of the background connections that would be refused by the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    artifacts_root: Path | None,
    log_path: Path | None,
    startup_timeout: float = 60.0,
    poll: float = 0.25,
    script: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start the app on a free loopback port and wait for its health check.

    ``artifacts_root`` sets RECSYS_ARTIFACTS (None: the environment's, else artifacts/);
    output goes to ``log_path`` (None: discarded); the health check is polled every ``poll``
    seconds (small when the start-up itself is being timed); ``script`` runs another Streamlit
    script instead of app.py (a reference app in a benchmark). Returns (process, base URL); raises
    RuntimeError with the log's tail if the server exits or does not answer in time.
    """
    port = free_port()
    env = dict(os.environ)
    if artifacts_root is not None:
        env["RECSYS_ARTIFACTS"] = str(artifacts_root)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    out = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log_path is not None:
            out.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text()[-3000:] if log_path is not None else ""
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            tail = log_path.read_text()[-3000:] if log_path is not None else ""
            raise RuntimeError(f"streamlit did not answer in {startup_timeout} s:\n{tail}")
        time.sleep(poll)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate the server (kill it if it does not stop within 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


# A phone: 390x844, touch, and a mobile user agent (Streamlit closes the sidebar after a tap only
# on a mobile device).
PHONE_VIEWPORT = {"width": 390, "height": 844}
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def new_phone_page(browser):
    """A new page of a Playwright ``browser`` as a phone shows it."""
    return browser.new_page(
        viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True, user_agent=PHONE_UA
    )


# The movies' dots as drawn: page pixel position and movieId of every point of the map's base
# traces (the visitor's own layers repeat movies already there), read from Plotly's own state.
_DOTS_JS = """([gd, data]) => {
    const box = gd.getBoundingClientRect();
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const out = [];
    for (const t of gd._fullData) {
        const layers = ["Your ratings", "Your picks", "You are here", "Your trail", "Region labels"];
        if (layers.includes(t.name)) continue;
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
