"""The frame every page shares, and what the pages share besides.

Every page script (app.py, the landing page, and each ``pages/*.py``) starts with
``ctx = frame.frame("Title")``: page config, artifacts (cached per server process), the guard
that shows the setup page instead of any page when no artifact loads, the profile from the link
and back into it, the shared sidebar (navigation, model selector, share link) and warnings.
Streamlit runs only the chosen page's file (app.py is not run before the pages), so the frame
must be called by each of them.

Rules kept here:

- A model is loaded once per server process: :func:`load_model` is ``st.cache_resource`` keyed by
  the artifact's path and a stamp of its files (so a re-trained artifact is picked up); cached
  functions read nothing but their arguments.
- A visitor's ratings live in ``st.session_state["ratings"]`` ({movieId: rating}); nothing
  per-visitor is ever stored at module level, so two visitors never see each other's ratings.
- Dataset strings reach Markdown only through :func:`recsys.explore.escape_markdown`; no
  ``unsafe_allow_html`` anywhere.
- Ratings change only in widget callbacks, which run before the script, so the picks, the map
  and the URL of the same run already reflect the change.
- Widgets are page-scoped in Streamlit (a page's widget is forgotten on another page): values
  that must survive a page switch are kept outside the widgets (:func:`setting`, the model
  choice in :func:`build_context`).
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

import recsys
from recsys import explore as E

APP_DIR = Path(__file__).resolve().parents[2]  # pages/_ui/frame.py -> the app's folder
ARTIFACTS_ENV = "RECSYS_ARTIFACTS"
TRAIN_COMMAND = (
    "python -m recsys train --data ../shared/data/ml-latest-small --skip-bad-lines "
    "--model ials --out artifacts/ials --default"
)
RATINGS = "ratings"  # session key: {movieId: rating}, insertion order = order rated
NOT_RATED = "—"  # the rating widget's first option
GRID_SIZE = 16
APP_TITLE = "Seeing recommendation embeddings"
# The sidebar's navigation: (script relative to app.py, title, icon). Streamlit's own page list
# is hidden (.streamlit/config.toml: client.showSidebarNavigation = false) because it would name
# the landing page after its file ("app"); these links name it properly and carry the profile.
PAGES = [
    ("app.py", "Rate & recommend", ":material/star:"),
    ("pages/1_Similar_movies.py", "Similar movies", ":material/hub:"),
    ("pages/2_Embedding_map.py", "Embedding map", ":material/map:"),
    ("pages/3_Model_report.py", "Model report", ":material/analytics:"),
]


# -- artifacts ---------------------------------------------------------------------------------


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

    search: E.TitleSearch
    groups: list[E.Group]
    genres: list[str]
    years: tuple[int, int] | None
    ids: frozenset
    hover: np.ndarray = field(repr=False)


@st.cache_resource(max_entries=16, show_spinner=False)
def derived(path: str, stamp: str) -> Derived:
    """Search index, onboarding groups and filter ranges of one artifact (cached)."""
    model = load_model(path, stamp)
    items = model.items
    year = items["year"].dropna()
    years = (int(year.min()), int(year.max())) if len(year) else None
    return Derived(
        search=E.TitleSearch(items["title"].tolist(), items["n_ratings"].to_numpy()),
        groups=E.onboarding_groups(items, model.item_embeddings, seed=0)
        if model.item_embeddings is not None
        else [],
        genres=E.genre_vocabulary(items),
        years=years,
        ids=frozenset(int(m) for m in items["movieId"]),
        hover=E.hover_texts(items),
    )


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
    order = list(dict.fromkeys([wanted, default, *manifests]))
    order = [n for n in order if n in manifests]
    for name in order:
        model, error, stamp = try_load(manifests[name])
        if model is not None:
            ctx.name, ctx.path, ctx.stamp, ctx.model = name, manifests[name]["path"], stamp, model
            break
        ctx.problems.append(error)
    if ctx.model is not None:
        # The selector is a different widget on every page (widgets are page-scoped), so its
        # value is handed on explicitly each run; otherwise a page switch would reset it.
        st.session_state["model_name"] = ctx.name
    return ctx


def context() -> Ctx:
    """The context :func:`frame` built for the latest run (for callbacks, which run before the
    page script)."""
    ctx = st.session_state.get("_ctx")
    if ctx is None:
        ctx = build_context()
        st.session_state["_ctx"] = ctx
    return ctx


# -- the visitor's ratings and settings ---------------------------------------------------------


def ratings() -> dict[int, float]:
    """This visitor's ratings ({movieId: rating}), in the order they were given."""
    if RATINGS not in st.session_state:
        st.session_state[RATINGS] = {}
    return st.session_state[RATINGS]


def set_rating(movie_id: int, value: float | None) -> None:
    """Rate (or, with None, un-rate) one movie."""
    r = ratings()
    if value is None:
        r.pop(int(movie_id), None)
    else:
        r[int(movie_id)] = float(value)


def _on_rating_widget(key: str, movie_id: int) -> None:
    value = st.session_state.get(key)
    set_rating(movie_id, None if value in (None, NOT_RATED) else float(value))


def _format_option(value) -> str:
    return NOT_RATED if value == NOT_RATED else E.format_rating(value)


def rating_widget(
    movie_id: int, prefix: str, label: str, scale, label_visibility: str = "visible"
) -> None:
    """A star rating for one movie: ``st.select_slider`` over exactly the dataset's scale.

    Options are "—" (not rated) then every value from low to high by step (0.5..5 by 0.5 on
    MovieLens); the chosen value is stored as-is, so no mapping is involved. The widget is
    synced from the ratings dict before it is drawn, so the same movie shown in two places (the
    grid and "Your ratings") always agrees. ``label`` must already be Markdown-safe.
    """
    values = E.scale_values(scale)
    key = f"{prefix}_{movie_id}"
    current = ratings().get(int(movie_id), NOT_RATED)
    if current != NOT_RATED and current not in values:  # e.g. a model with another scale
        current = min(values, key=lambda v: abs(v - current))
    if st.session_state.get(key, "unset") != current:
        st.session_state[key] = current
    st.select_slider(
        label,
        options=[NOT_RATED, *values],
        format_func=_format_option,
        key=key,
        on_change=_on_rating_widget,
        args=(key, int(movie_id)),
        label_visibility=label_visibility,
    )


def rate_many(movie_ids, value: float) -> None:
    """Callback: rate several movies at once (an onboarding group); movies the visitor already
    rated keep their rating."""
    r = ratings()
    for m in movie_ids:
        if int(m) not in r:
            set_rating(m, value)


def clear_ratings() -> None:
    st.session_state[RATINGS] = {}


def setting(name: str, default, valid=None):
    """Keyword arguments that make a widget's value survive page switches.

    Streamlit forgets the state of widgets a page does not draw; the value is therefore kept
    under ``_settings`` and copied into the widget's key before it is drawn. ``valid`` maps a
    stored value onto one the widget accepts now (e.g. a year range for another catalogue).
    """
    store = st.session_state.setdefault("_settings", {})
    key = f"w_{name}"
    value = st.session_state[key] if key in st.session_state else store.get(name, default)
    if valid is not None:
        try:
            value = valid(value)
        except (TypeError, ValueError, IndexError):
            value = default
    if key not in st.session_state or st.session_state[key] != value:
        st.session_state[key] = value
    return {"key": key, "on_change": _store_setting, "args": (name, key)}


def _store_setting(name: str, key: str) -> None:
    st.session_state.setdefault("_settings", {})[name] = st.session_state[key]


def get_setting(name: str, default):
    """A setting's current value, whether or not its widget is on this page."""
    key = f"w_{name}"
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get("_settings", {}).get(name, default)


@dataclass(frozen=True)
class PickSettings:
    k: int = 10
    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    min_ratings: int = 0
    popularity: float = 0.0


def pick_settings(ctx: Ctx) -> PickSettings:
    """The visitor's pick filters (set on the landing page), valid for the current model."""
    d = ctx.derived()
    genres = tuple(g for g in get_setting("genres", []) if g in d.genres)
    years = get_setting("years", None)
    if years is not None and d.years is not None:
        lo, hi = max(int(years[0]), d.years[0]), min(int(years[1]), d.years[1])
        years = None if (lo, hi) == d.years or lo > hi else (lo, hi)
    else:
        years = None
    return PickSettings(
        k=int(get_setting("k", 10)),
        genres=genres,
        years=years,
        min_ratings=int(get_setting("min_ratings", 0)),
        popularity=float(get_setting("popularity", 0.0)),
    )


def picks(model: recsys.Artifact, settings: PickSettings) -> recsys.Recommendations:
    """model.recommend for this visitor with their filters."""
    return model.recommend(
        ratings(),
        k=settings.k,
        genres=list(settings.genres) or None,
        years=settings.years,
        min_ratings=settings.min_ratings,
        popularity=settings.popularity,
    )


def codes_of(model: recsys.Artifact, movie_ids) -> np.ndarray:
    """Item codes of the ids the model knows (unknown ids are left out), in the given order."""
    codes = model.codes(movie_ids)
    return codes[codes >= 0]


def embedding_dim(model: recsys.Artifact | None) -> int | None:
    """Size of the model's item vectors (None when it has none)."""
    if model is None or model.item_embeddings is None:
        return None
    return int(model.item_embeddings.shape[1])


def title_of(model: recsys.Artifact, movie_id: int) -> str:
    code = model.code(int(movie_id))
    return str(model.items["title"].iat[code]) if code is not None else f"movie {movie_id}"


# -- the URL ------------------------------------------------------------------------------------


def read_url_once(ctx: Ctx) -> None:
    """On a session's first run, take the profile and model from the link (``?r=...&model=...``).

    Malformed parts, ratings off the scale and unknown ids are dropped; each kind is reported
    in ``_url_warnings`` (shown by :func:`frame`). Later runs never read the URL again: the session's
    ratings are the truth and :func:`sync_url` writes them back.
    """
    if st.session_state.get("_url_read"):
        return
    st.session_state["_url_read"] = True
    warnings: list[str] = []
    url_model = st.query_params.get("model")
    if (
        url_model is not None and url_model != ctx.name
    ):  # build_context already chose it if it could
        warnings.append(
            f"The link asks for model {url_model[:40]!r}, which is not available here; "
            f"using {ctx.name!r}."
        )
    raw = st.query_params.get("r")
    if raw and ctx.model is not None:
        found, problems = E.decode_profile(raw, ctx.model.rating_scale, known_ids=ctx.derived().ids)
        warnings.extend(problems)
        if found:
            ratings().update(found)
    st.session_state["_url_warnings"] = warnings


def share_query(ctx: Ctx) -> dict[str, str]:
    """The query parameters that reproduce this visitor's picks."""
    out = {}
    r = ratings()
    if r:
        out["r"] = E.encode_profile(r)
    default = default_name(str(ctx.root))
    if ctx.name and (r or ctx.name != default):
        out["model"] = ctx.name
    return out


def sync_url(ctx: Ctx) -> None:
    """Write the ratings and model into the address bar (only what changed)."""
    wanted = share_query(ctx)
    for key in ("r", "model"):
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


def share_link(ctx: Ctx) -> str:
    """A full link to this profile when the app's URL is known, else just the query string."""
    query = urllib.parse.urlencode(share_query(ctx), safe=":,")
    base = ""
    try:
        url = st.context.url
    except Exception:  # no browser (tests): fall back to the query string alone
        url = None
    if url:
        parts = urllib.parse.urlsplit(url)
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"{base}?{query}" if query else (base or "")


# -- the frame ---------------------------------------------------------------------------------


def frame(title: str | None = None) -> Ctx:
    """What every page runs first; returns this run's context, whose ``model`` is loaded.

    Page config, artifacts, the setup page (then the run stops) when no artifact loads, the
    link's profile (first run of a session) and the address bar kept in sync, the sidebar and
    warnings. ``title`` names the page in the browser tab (None: the landing page).
    """
    st.set_page_config(
        page_title=f"{title} · {APP_TITLE}" if title else APP_TITLE,
        page_icon=":material/movie:",
        layout="wide",
        menu_items={"About": "Rate movies, watch the picks change, explore the embedding space."},
    )
    ctx = build_context()
    st.session_state["_ctx"] = ctx
    if ctx.model is None:
        setup_needed_page(ctx)
        st.stop()
    read_url_once(ctx)
    sync_url(ctx)
    sidebar(ctx)
    if ctx.problems:
        with st.sidebar:
            for problem in ctx.problems:
                st.warning(E.escape_markdown(problem), icon=":material/warning:")
    show_url_warnings()
    return ctx


# -- shared pieces of UI ------------------------------------------------------------------------


def navigation(ctx: Ctx) -> None:
    """Links to the four pages. Each link carries the profile and model in its query string, so
    a page opened from it (also in a new tab) shows the same picks."""
    query = share_query(ctx)
    try:
        for script, title, icon in PAGES:
            st.page_link(script, label=title, icon=icon, query_params=query, width="stretch")
    except StreamlitPageNotFoundError:
        # A page file run on its own (`streamlit run pages/...`, AppTest on that file): there is
        # no pages directory beside it, so there is nothing to link to.
        return


def sidebar(ctx: Ctx) -> None:
    """Navigation, model selector, profile summary, share link and data attribution."""
    with st.sidebar:
        navigation(ctx)
        st.divider()
        manifests = ctx.manifests
        default = default_name(str(ctx.root))

        def label(name: str) -> str:
            m = manifests.get(name, {})
            model = (m.get("model") or {}).get("name", "?")
            tag = " (default)" if name == default else ""
            return f"{name} · {model}{tag}"

        st.selectbox(
            "Model",
            ctx.names,
            format_func=label,
            key="model_name",
            help="Every trained artifact found in the artifacts directory. Your ratings are kept "
            "when you switch.",
        )
        n = len(ratings())
        st.caption(
            f"{n} rating{'s' if n != 1 else ''} in your profile. They live only in this browser "
            "session and in the link below."
        )
        link = share_link(ctx)
        if n and link:
            st.code(link, language=None, wrap_lines=True)
            st.caption("Share this link to reproduce the same picks.")
        st.divider()
        st.caption(
            "Data: [MovieLens](https://grouplens.org/datasets/movielens/) by GroupLens "
            "(F. M. Harper and J. A. Konstan, 2015), used under its licence for research and "
            "education."
        )


def show_url_warnings() -> None:
    """Problems found in the link this session was opened with, until dismissed."""
    warnings = st.session_state.get("_url_warnings") or []
    if not warnings:
        return
    with st.container():
        for w in warnings:
            st.warning(E.escape_markdown(w), icon=":material/warning:")
        if st.button("Dismiss", key="dismiss_url_warnings"):
            st.session_state["_url_warnings"] = []
            st.rerun()


def setup_needed_page(ctx: Ctx) -> None:
    """Shown instead of every page when no artifact can be loaded: what is wrong and the command
    that makes one. Never a traceback."""
    st.title("This app needs a trained model")
    st.write(
        "The app shows models that were trained offline and exported as *artifacts* "
        "(a directory with the item embeddings, the 2-D map and a manifest). "
        f"It looked in `{ctx.root}` (set the `{ARTIFACTS_ENV}` environment variable to look "
        "elsewhere)."
    )
    if ctx.problems:
        st.subheader("What is wrong")
        for p in ctx.problems:
            st.error(E.escape_markdown(p))
    else:
        st.error(E.escape_markdown(f"No artifact directories were found under {ctx.root}."))
    st.subheader("How to fix it")
    st.write("From the project directory, train a model and export it (a few minutes on a CPU):")
    st.code(TRAIN_COMMAND, language="bash")
    st.write("Then reload this page.")


def how_this_works(markdown: str) -> None:
    """The collapsible "How this works" box every page has."""
    with st.expander("How this works", icon=":material/school:"):
        st.markdown(markdown)


def movie_line(model: recsys.Artifact, code: int) -> str:
    """``**Title** · Genre, Genre`` (Markdown-safe)."""
    row = model.items.iloc[int(code)]
    genres = ", ".join(row["genres"]) or "no genre"
    return f"**{E.escape_markdown(row['title'])}** · {E.escape_markdown(genres)}"


def links_markdown(row) -> str:
    """IMDb / TMDB links for a row with imdbId/tmdbId (where present)."""
    out = []
    imdb = E.imdb_url(row.get("imdbId")) if hasattr(row, "get") else None
    tmdb = E.tmdb_url(row.get("tmdbId")) if hasattr(row, "get") else None
    if imdb:
        out.append(f"[IMDb]({imdb})")
    if tmdb:
        out.append(f"[TMDB]({tmdb})")
    return " · ".join(out)
