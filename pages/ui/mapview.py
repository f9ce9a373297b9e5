"""The embedding map: the Plotly figure, genres for colouring, and what a selection holds.

:func:`base_figure` draws the projection (display positions from :func:`spread_duplicates`) as
WebGL scatter traces whose points carry their movieId, and :func:`add_highlights` draws a
visitor's layers on a copy of it; :func:`selection_ids` maps a Plotly selection back to movies
and :func:`summarize_selection` lists them with their over-represented genres. Plotly is imported
inside the drawing functions only, so the other helpers need no Plotly.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import projection
from recsys.onboarding import NOT_GENRES  # formats, not kinds of film: never distinctive

from .onboarding import kmeans
from .text import positive_int

__all__ = [
    "NO_GENRE",
    "NOT_GENRES",
    "distinctive_genres",
    "fitted_mask",
    "spread_duplicates",
    "base_figure",
    "add_highlights",
    "genre_vocabulary",
    "selection_ids",
    "SelectionSummary",
    "summarize_selection",
    "COLOUR_MODES",
    "hover_texts",
    "cosine_to",
    "neighbour_overlap",
    "norm_popularity",
    "norm_figure",
    "region_labels",
    "add_region_labels",
]


NO_GENRE = "(no genre)"


def genre_vocabulary(items: pd.DataFrame) -> list[str]:
    """All genres in the catalogue, most frequent first (ties alphabetical)."""
    counts = pd.Series([g for gs in items["genres"] for g in gs], dtype=object).value_counts()
    return sorted(counts.index, key=lambda g: (-counts[g], g))


def distinctive_genres(items: pd.DataFrame) -> np.ndarray:
    """Each movie's most over-represented genre relative to the catalogue.

    A movie with genres G gives each of them the share 1/|G|; its lift over the catalogue,
    (1/|G|) / catalogue share, is largest for the genre of G that is rarest in the catalogue, so
    that genre is chosen (ties: alphabetical). Toy Story (Adventure, Animation, Children, Comedy,
    Fantasy) is "Animation", not "Adventure" as its first listed genre would say. Formats
    (:data:`NOT_GENRES`) are skipped; ``"(no genre)"`` when nothing is left.
    """
    counts = pd.Series(
        [g for gs in items["genres"] for g in gs if g not in NOT_GENRES], dtype=object
    ).value_counts()
    out = []
    for gs in items["genres"]:
        kept = [g for g in gs if g not in NOT_GENRES]
        out.append(min(kept, key=lambda g: (counts[g], g)) if kept else NO_GENRE)
    return np.array(out, dtype=object)


def selection_ids(points: Iterable[Mapping]) -> list[int]:
    """Movie ids of the points a Plotly selection returned (from each point's ``customdata``),
    unique, in selection order. Points without an id (a visitor marker) are skipped."""
    out: list[int] = []
    seen: set[int] = set()
    for p in points or ():
        cd = p.get("customdata") if isinstance(p, Mapping) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        number = positive_int(cd)
        if number is not None and number not in seen:
            seen.add(number)
            out.append(number)
    return out


@dataclass(frozen=True)
class SelectionSummary:
    """Movies in a map region and what they have in common.

    ``movies``: movieId, title, year, genres (joined), n_ratings, mean_rating, most-rated first;
    ``genres``: genre, movies, share (of the selection), lift (share / catalogue share), by count.
    """

    n: int
    movies: pd.DataFrame
    genres: pd.DataFrame


def summarize_selection(
    items: pd.DataFrame, movie_ids: Iterable[int], top_genres: int = 5
) -> SelectionSummary:
    """Summarise the movies with ``movie_ids`` (unknown ids ignored): the list, and the genres
    that dominate it, with how over-represented each is compared with the whole catalogue."""
    index = pd.Index(items["movieId"].to_numpy())
    ids = list(dict.fromkeys(int(m) for m in movie_ids))
    codes = index.get_indexer(pd.Index(ids, dtype="int64")) if ids else np.array([], int)
    codes = codes[codes >= 0]
    sub = items.iloc[codes]
    movies = pd.DataFrame(
        {
            "movieId": sub["movieId"].to_numpy(),
            "title": sub["title"].to_numpy(),
            "year": sub["year"].to_numpy(),
            "genres": [", ".join(g) for g in sub["genres"]],
            "n_ratings": sub["n_ratings"].to_numpy(),
            "mean_rating": np.round(sub["mean_rating"].to_numpy(np.float64), 2),
        }
    )
    if len(movies):
        movies = movies.iloc[
            np.lexsort((movies["movieId"].to_numpy(), -movies["n_ratings"].to_numpy()))
        ].reset_index(drop=True)
    inside = pd.Series([g for gs in sub["genres"] for g in gs], dtype=object).value_counts()
    catalogue = pd.Series([g for gs in items["genres"] for g in gs], dtype=object).value_counts()
    n = len(codes)
    rows = []
    for g, count in inside.items():
        share = count / n
        base = catalogue.get(g, 0) / max(len(items), 1)
        rows.append((g, int(count), share, share / base if base > 0 else float("nan")))
    genres = pd.DataFrame(rows, columns=["genre", "movies", "share", "lift"])
    if len(genres):
        genres = genres.sort_values(["movies", "lift", "genre"], ascending=[False, False, True])
        genres = genres.head(top_genres).reset_index(drop=True)
    return SelectionSummary(n=n, movies=movies, genres=genres)


COLOUR_MODES = ("distinctive genre", "one genre", "year", "popularity", "mean rating")

# Qualitative palette with 24 colours, no greys (grey means "no genre"); kept explicit so the
# map's colours do not change with a Plotly upgrade.
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#469990",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#808000", "#fd8d3c", "#74c476", "#9e9ac8", "#6baed6",
)  # fmt: skip
_PLACED_NOTE = "<br><i>placed beside its nearest fitted movies</i>"


def hover_texts(items: pd.DataFrame) -> np.ndarray:
    """``"Title<br>1999 · Drama, Romance"``: dataset strings HTML-escaped, since Plotly renders a
    subset of HTML tags in hover labels."""
    years = items["year"].to_numpy(dtype=object, na_value=None)
    return np.array(
        [
            html.escape(str(t))
            + "<br>"
            + (f"{y} · " if y is not None else "")
            + html.escape(", ".join(g) or NO_GENRE)
            for t, y, g in zip(items["title"], years, items["genres"])
        ],
        dtype=object,
    )


def fitted_mask(
    items: pd.DataFrame, embeddings: np.ndarray | None, projection_info: Mapping
) -> np.ndarray | None:
    """Which movies the 2-D map was fitted on (True) and which were placed beside their nearest
    fitted movies afterwards (False), shape (n_items,).

    Export fits the map on the movies with at least ``min_count`` ratings and a non-zero vector
    (``recsys.projection.project_items``) and records ``min_count`` and ``fitted_on`` in the
    manifest; the mask is that rule re-applied, and None when the manifest does not say or the
    count differs (then the app does not claim to know).
    """
    min_count = projection_info.get("min_count")
    fitted_on = projection_info.get("fitted_on")
    if embeddings is None or not isinstance(min_count, int) or not isinstance(fitted_on, int):
        return None
    mask = (items["n_ratings"].to_numpy() >= min_count) & (
        np.linalg.norm(np.asarray(embeddings, np.float64), axis=1) > 0
    )
    return mask if int(mask.sum()) == fitted_on else None


def spread_duplicates(xy: np.ndarray, spacing: float | None = None) -> np.ndarray:
    """Display positions where no two movies share a point, shape (n, 2) float32.

    Movies at identical positions (export places every movie with a zero vector at its genre's
    centre, and others on the mean of the same fitted movies) would be drawn as one dot while a
    box selection counts them all. Each such group keeps its first movie (lowest code) in place
    and spreads the others on a sunflower spiral around it
    (:func:`recsys.projection.spread_duplicates`), the k-th at radius ``spacing * sqrt(k)``:
    deterministic, evenly filled, and about ``spacing`` apart. ``spacing`` defaults to 0.4 % of
    the larger side of the central 99 % of the map (about one marker on a 640-pixel chart).
    """
    if len(xy) < 2:
        return np.asarray(xy, np.float32).copy()
    if spacing is None:
        x_range, y_range = _core_ranges(np.asarray(xy, np.float64))
        spacing = 0.004 * max(x_range[1] - x_range[0], y_range[1] - y_range[0])
    return projection.spread_duplicates(xy, spacing=spacing)


def base_figure(
    items: pd.DataFrame,
    xy: np.ndarray,
    colour_by: str = "distinctive genre",
    genre: str | None = None,
    hover: Sequence[str] | None = None,
    fitted: np.ndarray | None = None,
    height: int = 640,
    values: np.ndarray | None = None,
    values_label: str = "cosine similarity",
):
    """The map without any visitor's layer: one WebGL scatter trace per colour class.

    ``xy``: display positions (:func:`spread_duplicates`). ``colour_by`` is one of
    :data:`COLOUR_MODES`: one trace per :func:`distinctive_genres` class, two traces for
    ``"one genre"`` (that ``genre`` vs the rest), or one trace on a continuous scale (year;
    popularity = log10(1 + number of ratings); mean rating). ``fitted`` (:func:`fitted_mask`):
    placed movies are drawn smaller and fainter, and say so on hover. Every point carries its
    movieId in ``customdata``. Clicks select a point (Streamlit starts a chart with point
    selections in pan mode); lasso and box are in the toolbar. ``colour_by="similarity"`` colours
    by ``values`` (n,) (e.g. :func:`cosine_to`) on a sequential scale, named ``values_label``. Returns a ``go.Figure``.
    """
    import plotly.graph_objects as go

    xy = np.asarray(xy, np.float32)
    n = len(items)
    hover = hover_texts(items) if hover is None else np.asarray(hover, dtype=object)
    ids = items["movieId"].to_numpy()
    size = 4 if n > 3000 else 6
    placed = np.zeros(n, bool) if fitted is None else ~np.asarray(fitted, bool)
    if placed.any():
        hover = np.where(placed, hover + _PLACED_NOTE, hover)

    def trace(codes, opacity: float, **kw):
        marker = kw.pop("marker")
        marker["size"] = np.where(placed[codes], max(size - 1.5, 2.5), marker.get("size", size))
        marker["opacity"] = np.where(placed[codes], opacity * 0.45, opacity)
        return go.Scattergl(
            x=xy[codes, 0],
            y=xy[codes, 1],
            mode="markers",
            customdata=ids[codes],
            hovertext=hover[codes],
            hovertemplate="%{hovertext}<extra></extra>",
            marker=marker,
            **kw,
        )

    traces = []
    if colour_by == "distinctive genre":
        label = distinctive_genres(items)
        order = pd.Series(label).value_counts()
        names = sorted(order.index, key=lambda g: (g == NO_GENRE, -order[g], g))
        for i, g in enumerate(names):
            colour = "#bbbbbb" if g == NO_GENRE else _PALETTE[i % len(_PALETTE)]
            codes = np.flatnonzero(label == g)
            traces.append(trace(codes, 0.8, name=html.escape(g), marker={"color": colour}))
    elif colour_by == "one genre":
        has = np.fromiter((genre in gs for gs in items["genres"]), bool, n)
        traces.append(
            trace(np.flatnonzero(~has), 0.5, name="other movies", marker={"color": "#cccccc"})
        )
        traces.append(
            trace(
                np.flatnonzero(has),
                0.85,
                name=html.escape(str(genre)),
                marker={"color": "#d62728", "size": size + 1},
            )
        )
    else:
        if colour_by == "year":
            values = items["year"].to_numpy(dtype=np.float64, na_value=np.nan)
            label, scale = "year", "Viridis"
        elif colour_by == "popularity":
            values = np.log10(1.0 + items["n_ratings"].to_numpy(np.float64))
            label, scale = "log10(1 + ratings)", "Plasma"
        elif colour_by == "mean rating":
            values = items["mean_rating"].to_numpy(np.float64)
            label, scale = "mean rating", "RdYlBu"
        elif colour_by == "similarity" and values is not None:
            values = np.asarray(values, np.float64)
            # Sequential, no white: on a white page a diverging scale hides the many values near 0.
            label, scale = values_label, "Viridis"
        else:
            raise ValueError(f"unknown colour mode {colour_by!r}; choose from {COLOUR_MODES}")
        known = np.isfinite(values)
        if (~known).any():
            codes = np.flatnonzero(~known)
            traces.append(trace(codes, 0.5, name=f"no {label}", marker={"color": "#cccccc"}))
        codes = np.flatnonzero(known)
        traces.append(
            trace(
                codes,
                0.75,
                name=f"coloured by {label}",
                showlegend=False,
                marker={
                    "color": values[codes],
                    "colorscale": scale,
                    # Above the plot on the right, horizontal: never under the legend (below the
                    # plot) and as wide on a phone as on a desktop.
                    "colorbar": {
                        "title": {"text": label, "side": "top"},
                        "orientation": "h",
                        "thickness": 10,
                        "len": 0.45,
                        "x": 1.0,
                        "xanchor": "right",
                        "y": 1.0,
                        "yanchor": "bottom",
                    },
                    "showscale": True,
                },
            )
        )
    fig = go.Figure(traces)
    x_range, y_range = _core_ranges(xy)
    continuous = colour_by not in ("distinctive genre", "one genre")
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 70 if continuous else 30, "b": 10},
        # Below the plot, horizontal: on a phone a legend at the side would take half the width.
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -0.02,
            "yanchor": "top",
            "itemsizing": "constant",
            "font": {"size": 11},
        },
        hovermode="closest",
        xaxis={
            "showticklabels": False,
            "zeroline": False,
            "showgrid": False,
            "title": None,
            "range": x_range,
        },
        yaxis={
            "showticklabels": False,
            "zeroline": False,
            "showgrid": False,
            "title": None,
            "range": y_range,
        },
    )
    return fig


def add_highlights(
    fig,
    xy: np.ndarray,
    ids: np.ndarray,
    hover: Sequence[str],
    highlights: Mapping[str, Sequence[int]] | None = None,
    you: tuple[float, float] | None = None,
    title: str | None = None,
    trail: Sequence[tuple[float, float]] | None = None,
) -> None:
    """Draw a visitor's layers on ``fig`` (in place): ``highlights`` maps a trace name ("Your
    ratings", "Your picks", "Search: ...") to item codes drawn on top with outlined markers at
    their display positions ``xy``; ``trail`` (one (x, y) per rating, in order) is drawn as a
    numbered path; ``you`` adds a "You are here" star; ``title`` names the chart."""
    import plotly.graph_objects as go

    xy = np.asarray(xy, np.float32)
    hover = np.asarray(hover, dtype=object)
    styles = {
        "Your ratings": {"color": "#111111", "symbol": "circle", "size": 11},
        "Your picks": {"color": "#ffbf00", "symbol": "diamond", "size": 12},
    }
    for name, codes in (highlights or {}).items():
        codes = np.asarray(list(codes), np.int64)
        if len(codes) == 0:
            continue
        style = styles.get(name, {"color": "#e7298a", "symbol": "circle-open", "size": 18})
        fig.add_trace(
            go.Scattergl(
                x=xy[codes, 0],
                y=xy[codes, 1],
                mode="markers",
                customdata=ids[codes],
                hovertext=hover[codes],
                hovertemplate="%{hovertext}<extra></extra>",
                name=html.escape(name),
                marker={
                    "size": style["size"],
                    "color": style["color"],
                    "symbol": style["symbol"],
                    "line": {
                        "width": 2,
                        "color": "white" if "open" not in style["symbol"] else style["color"],
                    },
                },
            )
        )
    if trail:
        steps = np.asarray(trail, np.float64).reshape(-1, 2)
        fig.add_trace(
            go.Scatter(
                x=steps[:, 0],
                y=steps[:, 1],
                mode="lines+markers+text",
                name="Your trail",
                text=[str(i) for i in range(1, len(steps) + 1)],
                textposition="top right",
                textfont={"size": 12, "color": "#7a0177"},
                hovertemplate="after rating %{text}<extra></extra>",
                line={"color": "#7a0177", "width": 2, "dash": "dot"},
                marker={"size": 9, "color": "#7a0177", "line": {"width": 1, "color": "white"}},
            )
        )
    if you is not None:
        fig.add_trace(
            go.Scattergl(
                x=[you[0]],
                y=[you[1]],
                mode="markers+text",
                name="You are here",
                text=["you"],
                textposition="top center",
                hovertemplate="You are here: the map medoid of your 10 top picks (the pick "
                "closest to the others on the map)<extra></extra>",
                marker={
                    "size": 22,
                    "color": "#e41a1c",
                    "symbol": "star",
                    "line": {"width": 2, "color": "white"},
                },
            )
        )
    if title:
        fig.update_layout(title={"text": html.escape(title)}, margin={"t": 80})


def _core_ranges(xy: np.ndarray, keep: float = 0.99) -> tuple[list[float], list[float]]:
    """Axis ranges that frame the central ``keep`` share of the points on each axis (plus a
    margin): a few far-flung rarely-rated movies would otherwise shrink the map to a blob.
    Double-clicking the chart (Plotly's autoscale) still shows every point."""
    if len(xy) == 0:
        return [-1.0, 1.0], [-1.0, 1.0]
    lo = np.percentile(xy, 50 * (1 - keep), axis=0)
    hi = np.percentile(xy, 100 - 50 * (1 - keep), axis=0)
    pad = (hi - lo) * 0.05 + 1e-6
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0])], [
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    ]


def cosine_to(embeddings: np.ndarray, code: int) -> np.ndarray:
    """Cosine similarity of every item vector to item ``code``'s, shape (n,) float64, in the full
    embedding space (zero vectors get 0)."""
    emb = np.asarray(embeddings, np.float64)
    norms = np.linalg.norm(emb, axis=1)
    unit = emb / np.where(norms > 0, norms, 1.0)[:, None]
    return unit @ unit[code]


def neighbour_overlap(
    embeddings: np.ndarray,
    coords: np.ndarray,
    code: int,
    eligible: np.ndarray | None = None,
    k: int = 10,
) -> tuple[int, np.ndarray, np.ndarray]:
    """How many of item ``code``'s ``k`` nearest neighbours in the full space (cosine of
    ``embeddings`` (n, d)) are among its ``k`` nearest on the map (Euclidean in ``coords``
    (n, 2)). Both lists are drawn from ``eligible`` (n,) bool (default: every item), never the
    item itself; ties go to the lower code. Returns (shared count, full-space codes, map codes)."""
    n = len(coords)
    ok = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool).copy()
    ok[code] = False
    k = int(min(k, ok.sum()))
    candidates = np.flatnonzero(ok)
    cos = cosine_to(embeddings, code)[candidates]
    xy = np.asarray(coords, np.float64)
    dist = np.linalg.norm(xy[candidates] - xy[code], axis=1)
    full = candidates[np.lexsort((candidates, -cos))[:k]]
    near = candidates[np.lexsort((candidates, dist))[:k]]
    return len(set(full.tolist()) & set(near.tolist())), full, near


def norm_popularity(embeddings: np.ndarray, n_ratings: np.ndarray) -> tuple[np.ndarray, float]:
    """Each item vector's length, shape (n,), and its Spearman rank correlation with the number
    of ratings (items with a zero vector left out of the correlation; nan when fewer than 3)."""
    norms = np.linalg.norm(np.asarray(embeddings, np.float64), axis=1)
    keep = norms > 0
    if keep.sum() < 3:
        return norms, float("nan")
    rho = pd.Series(norms[keep]).corr(pd.Series(np.asarray(n_ratings)[keep]), method="spearman")
    return norms, float(rho)


def norm_figure(
    items: pd.DataFrame,
    norms: np.ndarray,
    lists: Mapping[str, Sequence[int]] | None = None,
    height: int = 380,
):
    """Scatter of vector length against number of ratings (log x), one grey dot per movie;
    ``lists`` maps a name to item codes drawn on top in colour (e.g. a dot-product and a cosine
    neighbour list). Returns a ``go.Figure``."""
    import plotly.graph_objects as go

    counts = items["n_ratings"].to_numpy(np.float64)
    hover = hover_texts(items)
    fig = go.Figure(
        go.Scattergl(
            x=counts,
            y=norms,
            mode="markers",
            name="every movie",
            hovertext=hover,
            hovertemplate="%{hovertext}<br>%{x} ratings, length %{y:.2f}<extra></extra>",
            marker={"size": 4, "color": "#bbbbbb", "opacity": 0.6},
        )
    )
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e")
    for i, (name, codes) in enumerate((lists or {}).items()):
        codes = np.asarray(list(codes), np.int64)
        fig.add_trace(
            go.Scattergl(
                x=counts[codes],
                y=norms[codes],
                mode="markers",
                name=html.escape(name),
                hovertext=hover[codes],
                hovertemplate="%{hovertext}<br>%{x} ratings, length %{y:.2f}<extra></extra>",
                marker={"size": 9, "color": colours[i % len(colours)], "symbol": "diamond"},
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "x": 0, "y": -0.2, "yanchor": "top"},
    )
    fig.update_xaxes(type="log", dtick=1, title="number of ratings (log scale)")
    fig.update_yaxes(title="vector length ‖q‖")
    return fig


def region_labels(
    xy: np.ndarray,
    genres: Sequence[Sequence[str]],
    k: int = 12,
    seed: int = 0,
    min_lift: float = 1.5,
    min_share: float = 0.15,
) -> list[tuple[float, float, str]]:
    """Labels for regions of the map: (x, y, text) per region that has a distinctive genre.

    The map's points ``xy`` (n, 2) are cut into ``k`` regions by k-means (seeded). In each, a
    genre's lift is its share of the region's movies over its share of all movies; the label names
    the (at most two) genres with lift >= ``min_lift`` held by at least ``min_share`` of the
    region's movies, highest lift first (formats such as IMAX are skipped). It is placed at the
    region's medoid (its movie closest to the others in total), so it sits on real dots."""
    xy = np.asarray(xy, np.float64)
    n = len(xy)
    if n < 2 * k:
        return []
    labels, _ = kmeans(xy, k, seed=seed, n_iter=25)
    catalogue = pd.Series([g for gs in genres for g in gs if g not in NOT_GENRES]).value_counts()
    out = []
    for j in range(k):
        members = np.flatnonzero(labels == j)
        if len(members) < 5:
            continue
        inside = pd.Series(
            [g for i in members for g in genres[i] if g not in NOT_GENRES], dtype=object
        ).value_counts()
        scored = []
        for g, count in inside.items():
            share = count / len(members)
            lift = share / (catalogue[g] / n)
            if lift >= min_lift and share >= min_share:
                scored.append((-lift, g))
        if not scored:
            continue
        text = " · ".join(g for _, g in sorted(scored)[:2])
        pts = xy[members]
        if len(pts) > 400:  # the medoid of a sample: a region can hold thousands of movies
            pts = pts[np.random.default_rng(seed).choice(len(pts), 400, replace=False)]
        total = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).sum(1)
        x, y = pts[int(np.argmin(total))]
        out.append((float(x), float(y), text))
    return out


def add_region_labels(fig, labels: Sequence[tuple[float, float, str]]) -> None:
    """Write :func:`region_labels` on ``fig`` (in place) as one text trace, not clickable."""
    import plotly.graph_objects as go

    if not labels:
        return
    fig.add_trace(
        go.Scatter(
            x=[x for x, _, _ in labels],
            y=[y for _, y, _ in labels],
            mode="text",
            text=[f"<b>{html.escape(t)}</b>" for _, _, t in labels],
            textfont={"size": 13, "color": "#222222"},
            name="Region labels",
            hoverinfo="skip",
            showlegend=False,
        )
    )
