"""The embedding map: the Plotly figure, genres for colouring, and what a selection holds.

:func:`map_figure` draws the projection as WebGL scatter traces whose points carry their movieId;
:func:`selection_ids` maps a Plotly selection back to movies and :func:`summarize_selection`
lists them with their over-represented genres. Plotly is imported by :func:`map_figure` only.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .text import positive_int

__all__ = [
    "NO_GENRE",
    "genre_vocabulary",
    "primary_genres",
    "selection_ids",
    "SelectionSummary",
    "summarize_selection",
    "COLOUR_MODES",
    "hover_texts",
    "map_figure",
]


NO_GENRE = "(no genre)"


def genre_vocabulary(items: pd.DataFrame) -> list[str]:
    """All genres in the catalogue, most frequent first (ties alphabetical)."""
    counts = pd.Series([g for gs in items["genres"] for g in gs], dtype=object).value_counts()
    return sorted(counts.index, key=lambda g: (-counts[g], g))


def primary_genres(items: pd.DataFrame) -> np.ndarray:
    """Each movie's first listed genre (``"(no genre)"`` when it has none)."""
    return np.array([gs[0] if len(gs) else NO_GENRE for gs in items["genres"]], dtype=object)


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


COLOUR_MODES = ("first genre", "one genre", "year", "popularity", "mean rating")


# Qualitative palette with 24 colours (Plotly's Dark24 and Light24 would also do; kept explicit so
# the map's colours do not change with a Plotly upgrade).
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363", "#fd8d3c", "#74c476", "#9e9ac8", "#6baed6",
)  # fmt: skip


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


def map_figure(
    items: pd.DataFrame,
    projection: np.ndarray,
    colour_by: str = "first genre",
    genre: str | None = None,
    highlights: Mapping[str, Sequence[int]] | None = None,
    you: tuple[float, float] | None = None,
    height: int = 640,
    title: str | None = None,
    hover: Sequence[str] | None = None,
):
    """The embedding map as a Plotly figure of WebGL scatter traces (``go.Scattergl``).

    Every point carries its movieId in ``customdata`` (selections map back to movies) and a hover
    label "title, year, genres". ``colour_by`` is one of :data:`COLOUR_MODES`: one trace per
    first-listed genre (legend), two traces for ``"one genre"`` (that ``genre`` vs the rest), or a
    single trace on a continuous colour scale (year; popularity = log10(1 + number of ratings);
    mean rating). ``hover``: precomputed :func:`hover_texts` (optional). ``highlights`` maps a trace name ("Your ratings", "Your picks", "Search: ...")
    to item codes drawn on top with outlined markers; ``you`` adds a "You are here" star.
    """
    import plotly.graph_objects as go

    xy = np.asarray(projection, np.float32)
    hover = hover_texts(items) if hover is None else np.asarray(hover, dtype=object)
    ids = items["movieId"].to_numpy()
    n = len(items)
    size = 4 if n > 3000 else 6
    traces = []

    def base(codes, **kw):
        return go.Scattergl(
            x=xy[codes, 0],
            y=xy[codes, 1],
            mode="markers",
            customdata=ids[codes],
            hovertext=hover[codes],
            hovertemplate="%{hovertext}<extra></extra>",
            **kw,
        )

    if colour_by == "first genre":
        first = primary_genres(items)
        order = pd.Series(first).value_counts()
        names = sorted(order.index, key=lambda g: (g == NO_GENRE, -order[g], g))
        for i, g in enumerate(names):
            codes = np.flatnonzero(first == g)
            colour = "#bbbbbb" if g == NO_GENRE else _PALETTE[i % len(_PALETTE)]
            traces.append(
                base(
                    codes,
                    name=html.escape(g),
                    marker={"size": size, "color": colour, "opacity": 0.7},
                )
            )
    elif colour_by == "one genre":
        has = np.fromiter((genre in gs for gs in items["genres"]), bool, n)
        traces.append(
            base(
                np.flatnonzero(~has),
                name="other movies",
                marker={"size": size, "color": "#cccccc", "opacity": 0.5},
            )
        )
        traces.append(
            base(
                np.flatnonzero(has),
                name=html.escape(str(genre)),
                marker={"size": size + 1, "color": "#d62728", "opacity": 0.85},
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
        else:
            raise ValueError(f"unknown colour mode {colour_by!r}; choose from {COLOUR_MODES}")
        known = np.isfinite(values)
        if (~known).any():
            traces.append(
                base(
                    np.flatnonzero(~known),
                    name=f"no {label}",
                    marker={"size": size, "color": "#cccccc", "opacity": 0.5},
                )
            )
        codes = np.flatnonzero(known)
        traces.append(
            base(
                codes,
                name=f"coloured by {label}",
                marker={
                    "size": size,
                    "color": values[codes],
                    "colorscale": scale,
                    "opacity": 0.75,
                    "colorbar": {"title": {"text": label}, "thickness": 12},
                    "showscale": True,
                },
                showlegend=False,
            )
        )
    styles = {
        "Your ratings": {"color": "#111111", "symbol": "circle", "size": 11},
        "Your picks": {"color": "#ffbf00", "symbol": "diamond", "size": 12},
    }
    for name, codes in (highlights or {}).items():
        codes = np.asarray(list(codes), np.int64)
        if len(codes) == 0:
            continue
        style = styles.get(name, {"color": "#e7298a", "symbol": "circle-open", "size": 18})
        traces.append(
            base(
                codes,
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
    if you is not None:
        traces.append(
            go.Scattergl(
                x=[you[0]],
                y=[you[1]],
                mode="markers+text",
                name="You are here",
                text=["you"],
                textposition="top center",
                hovertemplate="You are here: the mean map position of the movies closest to "
                "your user vector<extra></extra>",
                marker={
                    "size": 22,
                    "color": "#e41a1c",
                    "symbol": "star",
                    "line": {"width": 2, "color": "white"},
                },
            )
        )
    fig = go.Figure(traces)
    x_range, y_range = _core_ranges(xy)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},  # room for the toolbar
        legend={"itemsizing": "constant", "font": {"size": 11}},
        dragmode="lasso",
        hovermode="closest",
        title={"text": html.escape(title)} if title else None,
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
