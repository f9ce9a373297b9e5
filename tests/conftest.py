"""Shared fixtures: seeded randomness, the fixture datasets and the shared ml-latest-small copy,
the AppTest fixture artifacts, and the browser tests' app server and Chromium."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests are derandomised: the same examples on every run and machine, so a run is
# reproducible and CI never meets an example no one has seen. ``HYPOTHESIS_PROFILE=explore``
# searches fresh random examples (run it locally when changing parsers or fold-in).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ML_LATEST_SMALL = ROOT.parent / "shared" / "data" / "ml-latest-small"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def ml_small_dir() -> Path:
    if not (ML_LATEST_SMALL / "ratings.csv").exists():
        pytest.skip(f"shared ml-latest-small not found at {ML_LATEST_SMALL}")
    return ML_LATEST_SMALL


@pytest.fixture
def torch_device() -> str:
    """'cpu' always; CUDA tests ask for ``cuda_device`` instead."""
    return "cpu"


@pytest.fixture
def cuda_device() -> str:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    return "cuda"


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """A small learnable data set (300 users, 200 items, 4 taste clusters) in ML-25M CSV format."""
    from recsys.synth import SynthConfig, write_movielens_csv

    return write_movielens_csv(tmp_path_factory.mktemp("synthetic") / "synth", SynthConfig())


@pytest.fixture(scope="session")
def artifacts_root(tmp_path_factory) -> Path:
    """test_app.py's two fixture artifacts ('ials' default, 'bpr'), built once per session.

    Shared by the AppTest files: read only (a test that edits an artifact copies it first).
    """
    from test_app import build_fixture_root

    return build_fixture_root(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="session")
def model(artifacts_root):
    """The default fixture artifact, loaded once per session."""
    import recsys

    return recsys.load(artifacts_root / "ials")


@pytest.fixture
def app(monkeypatch, artifacts_root):
    """The app on the fixture artifacts (AppTest), after its first run without an exception."""
    from test_app import new_app

    at = new_app(monkeypatch, artifacts_root)
    at.run()
    assert not at.exception, at.exception
    return at


# -- the browser tests: `streamlit run app.py` and Debian's Chromium through Playwright ---------


def _bench_server():
    """bench/_server.py (starts and stops the app; Chromium's path and flags), skipping the test
    when Chromium or Playwright is missing."""
    bench = str(ROOT / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import _server

    if not _server.CHROMIUM.exists():
        pytest.skip(
            f"{_server.CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        )
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    return _server


@dataclass(frozen=True)
class Served:
    url: str
    root: Path  # the artifacts the server serves

    def model(self):
        import recsys

        return recsys.load(self.root / recsys.default_artifact(self.root))


def _serve(request, tmp_path_factory):
    """Start the app on $RECSYS_ARTIFACTS or the real artifacts/ when they hold a model, else on
    the session's fixture artifacts (``artifacts_root``); yield it as a Served; always stop it."""
    import recsys

    _server = _bench_server()
    env_root = os.environ.get("RECSYS_ARTIFACTS")
    root = Path(env_root) if env_root else ROOT / "artifacts"
    if recsys.default_artifact(root) is None:
        root = request.getfixturevalue("artifacts_root")
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    try:
        proc, url = _server.start_server(root, log, startup_timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield Served(url, root)
    finally:
        _server.stop_server(proc)


@pytest.fixture(scope="session")
def server(request, tmp_path_factory):
    """One app server for every browser test of the session (each test opens its own pages,
    so its own Streamlit sessions)."""
    yield from _serve(request, tmp_path_factory)


@pytest.fixture(scope="module")
def fresh_server(request, tmp_path_factory):
    """An app server of the module's own, whose first request is the module's first page
    (a fresh server runs a page URL's first request in Streamlit's legacy multipage mode)."""
    yield from _serve(request, tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per module: a live sync Playwright leaves asyncio's running loop
    set in the main thread, so one kept for the whole session would break later asyncio.run()
    calls (bench/load_test.py in test_load.py)."""
    _server = _bench_server()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(_server.CHROMIUM), args=_server.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(autouse=True)
def _streamlit_navigation_mode(monkeypatch):
    """Run AppTest apps as a server runs them after its first request.

    A ``pages/`` folder beside app.py makes Streamlit start each server process in its legacy
    multipage mode, which the first ``st.navigation`` call ends for the rest of the process (the
    first request is covered by ``pages/ui/frame.page_context`` and a browser test). AppTest
    re-detects the folder before every run, so without this every rerun would start the page
    script alone, with other widget identities than the server gives them.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # tests that do not need Streamlit still run
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
