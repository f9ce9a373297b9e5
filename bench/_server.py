"""Start and stop a local `streamlit run app.py` and the Chromium flags, shared by the browser
test, the load test and the app latency benchmark. Loopback only."""

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
