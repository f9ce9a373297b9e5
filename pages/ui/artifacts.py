"""Which trained models the app can serve, loaded once per server process.

- A model is loaded once per server process: :func:`load_model` is ``st.cache_resource`` keyed by
  the artifact's path and a stamp of its files (so a re-trained artifact is picked up); cached
  functions read nothing but their arguments.
- :func:`build_context` chooses this run's model (the sidebar's choice, else the link's
  ``model``, else the default) and falls back to another loadable artifact, recording why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

import recsys
from recsys.onboarding import Group, onboarding_groups

from .lists import min_ratings_options
from .mapview import base_figure, fitted_mask, genre_vocabulary, hover_texts, spread_duplicates
from .search import TitleSearch

APP_DIR = Path(__file__).resolve().parents[2]  # pages/ui/artifacts.py -> the app's folder
ARTIFACTS_ENV = "RECSYS_ARTIFACTS"


def artifacts_root() -> Path:
    """``$RECSYS_ARTIFACTS``, or the ``artifacts/`` directory beside app.py."""
    env = os.environ.get(ARTIFACTS_ENV, "").strip()
    return Path(env) if env else APP_DIR / "artifacts"


def files_stamp(path: str | Path) -> str:
    """Names, sizes and modification times of an artifact's files: changes when it is
    re-written, so the cache loads the new version (and only then)."""
    p = Path(path)
    try:
        parts = [
            f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
            for f in sorted(p.iterdir())
            if f.is_file()
        ]
    except OSError:
        return "missing"
    return "|".join(parts)


@st.cache_data(ttl=10, show_spinner=False)
def list_entries(root: str) -> list[dict]:
    """Manifests under ``root`` (recsys.list_artifacts), re-read at most every 10 seconds."""
    return recsys.list_artifacts(root)


@st.cache_data(ttl=10, show_spinner=False)
def default_name(root: str) -> str | None:
    """recsys.default_artifact(root), re-read at most every 10 seconds."""
    return recsys.default_artifact(root)


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def load_model(path: str, stamp: str) -> recsys.Artifact:
    """Load and verify one artifact, once per server process and version of its files.

    ``stamp`` (from :func:`files_stamp`) is part of the cache key only. Errors are not cached.
    """
    del stamp
    return recsys.load(path)


@dataclass(frozen=True)
class Derived:
    """Per-model data computed once per server process (read-only, shared by all visitors)."""

    search: TitleSearch
    groups: list[Group]
    genres: list[str]
    years: tuple[int, int] | None
    ids: frozenset
    min_ratings_options: list[int]
    hover: np.ndarray = field(repr=False)


@st.cache_resource(max_entries=16, show_spinner=False)
def derived(path: str, stamp: str) -> Derived:
    """Search index, onboarding groups and filter ranges of one artifact (cached)."""
    model = load_model(path, stamp)
    items = model.items
    year = items["year"].dropna()
    years = (int(year.min()), int(year.max())) if len(year) else None
    return Derived(
        search=TitleSearch(items["title"].tolist(), items["n_ratings"].to_numpy()),
        groups=onboarding_groups(items, model.item_embeddings, seed=0),
        genres=genre_vocabulary(items),
        years=years,
        ids=frozenset(int(m) for m in items["movieId"]),
        min_ratings_options=min_ratings_options(items["n_ratings"].to_numpy()),
        hover=hover_texts(items),
    )


@dataclass(frozen=True)
class MapData:
    """What every drawing of one model's map shares (cached, read-only): display positions with
    stacked movies spread apart, shape (n, 2); the fitted-or-placed mask (None: unknown); hover
    labels."""

    xy: np.ndarray = field(repr=False)
    fitted: np.ndarray | None = field(repr=False)
    hover: np.ndarray = field(repr=False)


@st.cache_resource(max_entries=16, show_spinner=False)
def map_data(path: str, stamp: str) -> MapData:
    """:class:`MapData` of one artifact (cached per server process and version of its files)."""
    model = load_model(path, stamp)
    info = model.manifest.get("projection") or {}
    return MapData(
        xy=spread_duplicates(model.projection),
        fitted=fitted_mask(
            model.items, model.item_embeddings, info if isinstance(info, dict) else {}
        ),
        hover=derived(path, stamp).hover,
    )


@st.cache_resource(max_entries=64, show_spinner="Drawing the map…")
def base_map(path: str, stamp: str, colour: str, genre: str | None, height: int):
    """The map of one artifact without any visitor's layers (a ``go.Figure`` shared by every
    visitor: copy it before adding to it)."""
    model = load_model(path, stamp)
    data = map_data(path, stamp)
    return base_figure(model.items, data.xy, colour, genre, data.hover, data.fitted, height)


@dataclass
class Ctx:
    """This run's view of the artifacts: what exists, which model is used, what went wrong."""

    root: Path
    entries: list[dict]
    names: list[str]
    name: str | None = None
    path: str | None = None
    stamp: str | None = None
    model: recsys.Artifact | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def manifests(self) -> dict[str, dict]:
        return {e["name"]: e for e in self.entries if "error" not in e}

    def derived(self) -> Derived:
        return derived(self.path, self.stamp)


def try_load(entry: dict) -> tuple[recsys.Artifact | None, str | None, str]:
    """(model, error message, stamp) for one list_artifacts entry."""
    stamp = files_stamp(entry["path"])
    try:
        return load_model(entry["path"], stamp), None, stamp
    except recsys.RecsysError as exc:
        return None, str(exc), stamp
    except Exception as exc:  # an unreadable file can raise from numpy/pyarrow/faiss
        return None, f"{entry['path']}: could not be loaded ({type(exc).__name__}: {exc})", stamp


def load_named(ctx: Ctx, name: str) -> recsys.Artifact | None:
    """Another artifact by name (for side-by-side views), or None if it cannot be loaded."""
    entry = ctx.manifests.get(name)
    if entry is None:
        return None
    model, _, _ = try_load(entry)
    return model


def build_context() -> Ctx:
    """Find the artifacts, choose the model (sidebar choice, else the link's ``model``, else the
    default) and load it; fall back to another loadable artifact, recording why."""
    root = artifacts_root()
    entries = list_entries(str(root))
    problems = [e["error"] for e in entries if "error" in e]
    manifests = {e["name"]: e for e in entries if "error" not in e}
    ctx = Ctx(root=root, entries=entries, names=list(manifests), problems=problems)
    if not manifests:
        return ctx
    default = default_name(str(root))
    wanted = st.session_state.get("model_name")
    if wanted not in manifests:
        # A session's first run: the link may name the model (?model=...).
        url_model = None if st.session_state.get("_url_read") else st.query_params.get("model")
        wanted = url_model if url_model in manifests else default
    # If the wanted model fails to load, the default comes next, then the others.
    order = [n for n in dict.fromkeys([wanted, default, *manifests]) if n in manifests]
    for name in order:
        model, error, stamp = try_load(manifests[name])
        if model is not None:
            ctx.name, ctx.path, ctx.stamp, ctx.model = name, manifests[name]["path"], stamp, model
            break
        ctx.problems.append(error)
    if ctx.model is not None:
        # Hand the choice on explicitly each run: a widget's state is forgotten in any run that
        # does not draw it, so the selector alone would not keep it.
        st.session_state["model_name"] = ctx.name
    return ctx


def context() -> Ctx:
    """The context app.py built for this run (pages and callbacks read it from here); built now
    when there is none yet (a callback in a session's very first run)."""
    ctx = st.session_state.get("_ctx")
    if ctx is None:
        ctx = build_context()
        st.session_state["_ctx"] = ctx
    return ctx
