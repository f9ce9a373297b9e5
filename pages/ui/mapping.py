"""The pieces of the "Embedding map" page (pages/map.py puts them in place).

The controls, one model's map (the cached base figure with this visitor's layers on top), and the
panel for what is selected: one movie and its neighbours, or a region and its genres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import recsys

from .artifacts import Ctx, MapData, base_map, context, files_stamp, load_model, map_data
from .mapview import (
    COLOUR_MODES,
    add_highlights,
    add_region_labels,
    base_figure,
    cosine_to,
    neighbour_overlap,
    region_labels,
    selection_ids,
    spread_duplicates,
    summarize_selection,
)
from .search import MAX_QUERY_CHARS
from .teaching import MAP_VIEWS
from .text import escape_markdown
from .visitor import pick_settings, picks, ratings, setting
from .widgets import (
    codes_of,
    movie_facts,
    rated_by_column,
    rating_widget,
    similarity_column,
    title_of,
)

NONE = "(none)"
LAYERS = ["Your ratings", "Your picks", "You are here", "Your trail", "Region labels"]
VIEWS = {"umap": "UMAP", "pca": "PCA"}
MAX_TRAIL = 50  # steps drawn (one fold-in each); a longer profile shows its last 50
FOCUS = "map_focus"  # session key: {"ids": [movieId, ...], "kind": "movie" | "region"}


@dataclass(frozen=True)
class MapControls:
    """What the visitor chose above the map."""

    colour: str
    genre: str | None
    query: str
    compare: str
    layers: tuple[str, ...]
    view: str = "umap"  # which 2-D map: "umap" (the artifact's projection) or "pca"


def _search_focus() -> None:
    """Callback: typing a title highlights it and selects it."""
    query = st.session_state.get("map_q", "")
    found = context().derived().search.search(query, limit=1) if query else []
    if len(found):
        movie_id = int(context().model.vocab.ids[int(found[0])])
        st.session_state[FOCUS] = {"ids": [movie_id], "kind": "movie"}


def _chart_selected(chart_key: str) -> None:
    """Callback of a chart's selection: remember the selected movies (empty selections, as sent
    when a chart is redrawn, keep the previous focus; "Clear selection" resets it)."""
    state = st.session_state.get(chart_key) or {}
    selection = state.get("selection") or {}
    ids = selection_ids(selection.get("points") or [])
    if ids:
        region = bool(selection.get("box") or selection.get("lasso")) or len(ids) > 1
        st.session_state[FOCUS] = {"ids": ids, "kind": "region" if region else "movie"}


def controls(ctx: Ctx) -> MapControls:
    """Colouring, genre, title highlight, side-by-side model and layers."""
    d = ctx.derived()
    others = [n for n in ctx.names if n != ctx.name]
    cols = st.columns([1.2, 1.2, 2, 1.5])
    colour = cols[0].selectbox(
        "Colour by",
        COLOUR_MODES,
        help="distinctive genre: each movie's genre that is rarest in the whole catalogue (its "
        "most over-represented one), e.g. Animation rather than Adventure for Toy Story.",
        **setting("map_colour", COLOUR_MODES[0], valid=lambda v: v if v in COLOUR_MODES else None),
    )
    genre = cols[1].selectbox(
        "Genre",
        d.genres,
        disabled=colour != "one genre",
        help="Used when colouring by 'one genre'.",
        **setting(
            "map_genre",
            d.genres[0] if d.genres else None,
            valid=lambda v: v if v in d.genres else d.genres[0],
        ),
    )
    query = cols[2].text_input(
        "Highlight a title",
        key="map_q",
        max_chars=MAX_QUERY_CHARS,
        placeholder="e.g. the matrix",
        on_change=_search_focus,
    )
    compare = cols[3].selectbox(
        "Side by side with",
        [NONE, *others],
        **setting("map_compare", NONE, valid=lambda v: v if v in others else NONE),
    )
    layers = st.pills(
        "Show",
        LAYERS,
        selection_mode="multi",
        **setting("map_layers", LAYERS, valid=lambda v: [x for x in v if x in LAYERS]),
    )
    views = map_views(ctx.model)
    view = views[0]
    if len(views) > 1:
        view = st.radio(
            "Map",
            views,
            format_func=lambda v: VIEWS.get(v, v.upper()),
            horizontal=True,
            help="Two 2-D projections of the same embeddings, both computed at export.",
            **setting("map_view", views[0], valid=lambda v: v if v in views else views[0]),
        )
        st.caption(MAP_VIEWS.get(view, ""))
    return MapControls(colour, genre, query or "", compare, tuple(layers or ()), view)


def map_views(m: recsys.Artifact) -> list[str]:
    """The maps model ``m`` offers: its projection's method, then "pca" when the artifact holds
    a separate PCA map (artifacts exported before it have one map only)."""
    method = str((m.manifest.get("projection") or {}).get("method", "umap"))
    if m.projection_pca is None or method == "pca":
        return [method]
    return [method, "pca"]


@st.cache_resource(max_entries=16, show_spinner=False)
def view_data(path: str, stamp: str, view: str) -> MapData:
    """:class:`MapData` of one artifact's ``view`` map (the PCA map shares the fitted mask and
    hover labels of the main one)."""
    data = map_data(path, stamp)
    model = load_model(path, stamp)
    if view == "pca" and model.projection_pca is not None:
        return MapData(spread_duplicates(model.projection_pca), data.fitted, data.hover)
    return data


@st.cache_resource(max_entries=64, show_spinner="Drawing the map…")
def view_base(path: str, stamp: str, view: str, colour: str, genre: str | None, height: int):
    """The base figure of one artifact's ``view`` map (shared: copy before adding to it)."""
    if view != "pca":
        return base_map(path, stamp, colour, genre, height)
    model, data = load_model(path, stamp), view_data(path, stamp, view)
    return base_figure(model.items, data.xy, colour, genre, data.hover, data.fitted, height)


@st.cache_resource(max_entries=32, show_spinner="Drawing the map…")
def similarity_base(path: str, stamp: str, view: str, code: int, height: int):
    """The base figure of one artifact's ``view`` map with every dot coloured by its cosine to
    item ``code`` in the full embedding space (shared: copy before adding to it)."""
    m, data = load_model(path, stamp), view_data(path, stamp, view)
    return base_figure(
        m.items,
        data.xy,
        "similarity",
        None,
        data.hover,
        data.fitted,
        height,
        values=cosine_to(m.item_embeddings, code),
        values_label=f"cosine to {title_of(m, int(m.vocab.ids[code]))[:40]}",
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def view_regions(path: str, stamp: str, view: str) -> list[tuple[float, float, str]]:
    """:func:`pages.ui.mapview.region_labels` of one artifact's ``view`` map (cached)."""
    data = view_data(path, stamp, view)
    return region_labels(data.xy, list(load_model(path, stamp).items["genres"]))


def raw_coords(m: recsys.Artifact, view: str) -> np.ndarray:
    """The ``view`` map's positions (n, 2) as exported (before stacked dots are spread)."""
    return m.projection_pca if view == "pca" and m.projection_pca is not None else m.projection


def trail(m: recsys.Artifact, rated: dict, coords: np.ndarray) -> list[tuple[float, float]]:
    """Where the visitor stood after each rating: for i = 1..len(rated), the map position
    (:meth:`recsys.Artifact.map_position`) of the fold-in of the first i ratings in the order
    given; the last :data:`MAX_TRAIL` steps."""
    items = list(rated.items())
    out = []
    for i in range(max(1, len(items) - MAX_TRAIL + 1), len(items) + 1):
        prof = m.profile(dict(items[:i]))
        if not len(prof.codes):
            continue
        xy, _ = m.map_position(
            prof.result.user_vector, prof.result.scores, exclude=prof.codes, coords=coords
        )
        out.append(xy)
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def trail_steps(
    path: str, stamp: str, view: str, profile: tuple[tuple[int, float], ...]
) -> list[tuple[float, float]]:
    """:func:`trail` of one artifact's ``view`` map for ``profile`` ((movieId, rating) pairs in
    the order given), cached: it folds in up to :data:`MAX_TRAIL` profiles, and every rerun of
    the page (a click on a dot, a lasso) would repeat them."""
    return trail(load_model(path, stamp), dict(profile), view_data(path, stamp, view).xy)


def search_codes(ctx: Ctx, c: MapControls) -> np.ndarray:
    """The code of the title matching the "Highlight a title" query (one at most; empty without
    a query or a match). The page computes it once and hands it to every :func:`draw`."""
    return ctx.derived().search.search(c.query, limit=1) if c.query else np.array([], np.int64)


def _highlights(
    ctx: Ctx, m: recsys.Artifact, c: MapControls, search_codes: np.ndarray, xy: np.ndarray
) -> tuple[dict[str, np.ndarray], tuple[float, float] | None]:
    """Named highlight traces and the visitor's position on model ``m``'s map."""
    model, rated = ctx.model, ratings()
    focus = st.session_state.get(FOCUS) or {}
    focus_ids = [int(x) for x in focus.get("ids", [])]
    out: dict[str, np.ndarray] = {}
    you = None
    if "Your ratings" in c.layers and rated:
        out["Your ratings"] = codes_of(m, rated)
    if "Your picks" in c.layers:
        # Only the ids are drawn: no "because" column to compute.
        rec = picks(m, pick_settings(ctx), explain=False)
        out["Your picks"] = codes_of(m, rec.picks["movieId"])
    if len(search_codes):
        movie_id = int(model.vocab.ids[int(search_codes[0])])
        out[f"Search: {title_of(model, movie_id)}"] = codes_of(m, [movie_id])
    if focus.get("kind") == "movie" and focus_ids and m.code(focus_ids[0]) is not None:
        nb = m.similar(focus_ids[0], 10)
        out[f"Neighbours of {title_of(m, focus_ids[0])}"] = codes_of(m, nb["movieId"])
        out[f"Selected: {title_of(m, focus_ids[0])}"] = codes_of(m, focus_ids[:1])
    if "You are here" in c.layers and rated:
        prof = m.profile(rated)
        if prof.result.fallback is None and len(prof.codes):
            # On the drawn (spread) positions, so the star sits exactly on one pick's dot.
            you, _ = m.map_position(
                prof.result.user_vector, prof.result.scores, exclude=prof.codes, coords=xy
            )
    return out, you


def focused_movie(m: recsys.Artifact) -> int | None:
    """The code in ``m`` of the one movie selected on the map, or None."""
    focus = st.session_state.get(FOCUS) or {}
    ids = [int(x) for x in focus.get("ids", [])]
    if focus.get("kind") != "movie" or not ids:
        return None
    return m.code(ids[0])


def draw(
    ctx: Ctx, m: recsys.Artifact, name: str, c: MapControls, height: int, found: np.ndarray
) -> None:
    """One model's map: the cached base figure, copied, with this visitor's layers on top; with
    one movie selected, every dot coloured by its cosine to that movie in the full space.
    ``found``: :func:`search_codes` of this run (codes in the current model)."""
    path = ctx.path if m is ctx.model else ctx.manifests[name]["path"]
    stamp = ctx.stamp if m is ctx.model else files_stamp(path)
    view = c.view if c.view in map_views(m) else map_views(m)[0]
    data = view_data(path, stamp, view)
    code = focused_movie(m)
    if code is not None:
        fig = go.Figure(similarity_base(path, stamp, view, code, height))
    else:
        genre = c.genre if c.colour == "one genre" else None
        fig = go.Figure(view_base(path, stamp, view, c.colour, genre, height))
    if "Region labels" in c.layers:
        add_region_labels(fig, view_regions(path, stamp, view))
    hl, you = _highlights(ctx, m, c, found, data.xy)
    steps = None
    rated = ratings()
    if "Your trail" in c.layers and rated:
        steps = trail_steps(path, stamp, view, tuple(rated.items()))
    title = f"{name} · {m.model_name}" if c.compare != NONE else None
    add_highlights(fig, data.xy, m.items["movieId"].to_numpy(), data.hover, hl, you, title, steps)
    key = f"map_chart_{name}"
    # No dragmode in the figure: with point selections Streamlit starts the chart in pan mode,
    # where a click selects a dot; lasso and box stay in the toolbar. No scroll zoom: the mouse
    # wheel scrolls the page.
    st.plotly_chart(
        fig,
        key=key,
        on_select=lambda: _chart_selected(key),
        selection_mode=("points", "box", "lasso"),
        config={"scrollZoom": False, "displaylogo": False},
    )
    if code is not None:
        eligible = m.items["n_ratings"].to_numpy() >= m.min_support
        shared, full, _ = neighbour_overlap(
            m.item_embeddings, raw_coords(m, view), code, eligible, 10
        )
        st.markdown(
            f"**{shared} of its {len(full)} nearest neighbours in the full space are among its "
            f"{len(full)} nearest on this map** ({VIEWS.get(view, view)}). Colours: cosine "
            "similarity to the selected movie in the full embedding space (yellow: same "
            "direction; dark purple: unrelated or opposite); clear the selection to colour by "
            f"{escape_markdown(c.colour)} again."
        )
    if steps:
        st.caption(
            f"Your trail: where you stood after each of your {len(rated)} ratings (numbered), "
            "each a fresh fold-in of your first ratings in the order you gave them."
        )
    if data.fitted is not None:
        n_fit = int(data.fitted.sum())
        st.caption(
            f"Bright dots: the {n_fit} movies the map was fitted on; faint dots: the "
            f"{len(data.fitted) - n_fit} others (too few ratings or no vector), placed beside "
            "their nearest fitted movies. Movies that would sit on one spot are spread on a tiny "
            "spiral, so every dot is one movie and a box counts exactly the dots inside it."
        )


def selection_panel(ctx: Ctx) -> None:
    """What is selected on the map: a movie with its neighbours, or a region with its genres
    and movies; nothing when nothing is selected."""
    focus = st.session_state.get(FOCUS) or {}
    focus_ids = [int(x) for x in focus.get("ids", [])]
    if not focus_ids:
        return
    head = st.columns([4, 1], vertical_alignment="bottom")
    head[1].button(
        "Clear selection",
        key="map_clear",
        on_click=lambda: st.session_state.pop(FOCUS, None),
        width="stretch",
    )
    if focus.get("kind") == "movie":
        _selected_movie(ctx.model, focus_ids[0], head[0])
    else:
        _selected_region(ctx.model, focus_ids, head[0])


def _selected_movie(model: recsys.Artifact, movie_id: int, head) -> None:
    code = model.code(movie_id)
    if code is None:
        head.info("This model does not know the selected movie.")
        return
    head.subheader(f"Selected: {escape_markdown(title_of(model, movie_id))}")
    row = model.items.iloc[code]
    cols = st.columns([2, 3])
    with cols[0]:
        st.markdown(movie_facts(row))
        rating_widget(movie_id, "map", "Your rating", model.rating_scale)
    with cols[1]:
        nb = model.similar(movie_id, 10)
        table = pd.DataFrame(
            {
                "title": nb["title"].astype(str),
                "similarity": nb["similarity"].astype(float),
                "rated by": nb["n_ratings"].to_numpy(),
            }
        )
        table.index = np.arange(1, len(table) + 1)
        st.dataframe(
            table,
            column_config={
                "title": st.column_config.TextColumn("Nearest neighbours", width="medium"),
                "similarity": similarity_column(),
                "rated by": rated_by_column(),
            },
        )
        st.caption(
            "Neighbours come from the full embedding space (cosine similarity), not from "
            "the map; they are ringed on the map, and some may sit far from the movie."
        )


def _selected_region(model: recsys.Artifact, ids: list[int], head) -> None:
    summary = summarize_selection(model.items, ids)
    head.subheader(f"{summary.n} movies in the selected region")
    cols = st.columns([2, 3])
    with cols[0]:
        st.markdown("**Dominant genres**")
        st.dataframe(
            summary.genres.assign(share=lambda t: 100 * t["share"]),
            hide_index=True,
            column_config={
                "genre": st.column_config.TextColumn("Genre"),
                "movies": st.column_config.NumberColumn("Movies"),
                "share": st.column_config.NumberColumn(
                    "Share", format="%.0f%%", help="Share of the selected movies."
                ),
                "lift": st.column_config.NumberColumn(
                    "Lift",
                    format="%.1f×",
                    help="Share here divided by the share in the whole catalogue: how "
                    "over-represented the genre is in this region.",
                ),
            },
        )
    with cols[1]:
        st.markdown("**Movies (most-rated first)**")
        st.dataframe(
            summary.movies.head(500),
            hide_index=True,
            column_config={
                "movieId": None,
                "title": st.column_config.TextColumn("Title", width="medium"),
                "year": st.column_config.NumberColumn("Year", format="%d"),
                "genres": st.column_config.TextColumn("Genres"),
                "n_ratings": st.column_config.NumberColumn("Ratings"),
                "mean_rating": st.column_config.NumberColumn("Mean ★", format="%.2f"),
            },
        )
