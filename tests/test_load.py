"""Many visitors, shortened: bench/load_test.py with 4 concurrent browser sessions for 15 s.

Asserts no errors (every session saw exactly its own picks and rating count, no exception), no
session ever saw another's ratings, and the server's memory grew by less than 150 MiB over the
run (measured after a warm-up visit has loaded the model). The documented full run is
``python bench/load_test.py --sessions 25 --seconds 60``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import recsys

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MAX_GROWTH_MB = 150


def _load_bench():
    spec = importlib.util.spec_from_file_location("load_test", ROOT / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_four_sessions_for_fifteen_seconds(tmp_path_factory, monkeypatch):
    bench = _load_bench()
    if not bench.CHROMIUM.exists():
        pytest.skip(f"{bench.CHROMIUM} not found: install Debian's chromium")
    pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
    monkeypatch.delenv("RECSYS_ARTIFACTS", raising=False)
    root = ROOT / "artifacts"
    if recsys.default_artifact(root) is None:
        from test_app import build_fixture_root

        root = build_fixture_root(tmp_path_factory.mktemp("load-artifacts"))
    # Correctness and isolation only: the per-check timeout is generous so a loaded machine (4
    # Chromium instances on 2 cores) cannot fail it; the timings are printed, never asserted.
    result = bench.run(sessions=4, seconds=15, root=root, timeout=600)
    print(bench.table(result))
    assert result["errors"] == 0, result["error_samples"]
    assert result["isolation_violations"] == 0, result["violation_samples"]
    assert result["sessions_without_result"] == 0
    assert result["page_loads"] >= 4 and result["clicks"] >= 4
    assert result["rated_labels_checked"] > 0  # the isolation check did read the rated lists
    assert result["rss_growth_mb"] < MAX_GROWTH_MB, result["server_rss_mb"]
