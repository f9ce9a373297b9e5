"""Embedding map: every movie on the model's 2-D projection, your ratings, picks and position on
top; click a dot for its neighbours (computed in the full embedding space), draw a lasso or box
to list a region and its dominant genres. Two models side by side on request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_pages.ui.artifacts import base_map, context, files_stamp, load_named, map_data
from app_pages.ui.mapview import COLOUR_MODES, add_highlights, selection_ids, summarize_selection
from app_pages.ui.search import MAX_QUERY_CHARS
from app_pages.ui.teaching import explain_map
from app_pages.ui.text import escape_markdown
from app_pages.ui.visitor import pick_settings, picks, ratings, setting
from app_pages.ui.widgets import codes_of, how_this_works, links_markdown, rating_widget, title_of

NONE = "(none)"
LAYERS = ["Your ratings", "Your picks", "You are here"]
FOCUS = "map_focus"  # {"ids": [movieId, ...], "kind": "movie" | "region"}

ctx = context()
model = ctx.model
d = ctx.derived()

st.title("The embedding map")
st.write(
    "Each dot is a movie, placed so that movies with similar embeddings tend to sit together. "
    "Hover for titles, **click a dot** for its nearest neighbours, **draw a lasso or a box** "
    "(toolbar, top right of the chart) to list a region."
)


def _search_focus() -> None:
    """Callback: typing a title highlights it and selects it."""
    query = st.session_state.get("map_q", "")
    found = context().derived().search.search(query, limit=1) if query else []
    if len(found):
        movie_id = int(context().model.items["movieId"].iat[int(found[0])])
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


others = [n for n in ctx.names if n != ctx.name]
controls = st.columns([1.2, 1.2, 2, 1.5])
colour = controls[0].selectbox(
    "Colour by",
    COLOUR_MODES,
    help="distinctive genre: each movie's genre that is rarest in the whole catalogue (its most "
    "over-represented one), e.g. Animation rather than Adventure for Toy Story.",
    **setting("map_colour", COLOUR_MODES[0], valid=lambda v: v if v in COLOUR_MODES else None),
)
genre = controls[1].selectbox(
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
query = controls[2].text_input(
    "Highlight a title",
    key="map_q",
    max_chars=MAX_QUERY_CHARS,
    placeholder="e.g. the matrix",
    on_change=_search_focus,
)
compare = controls[3].selectbox(
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

rated = ratings()
settings = pick_settings(ctx)
focus = st.session_state.get(FOCUS) or {}
focus_ids = [int(m) for m in focus.get("ids", [])]
search_codes = d.search.search(query, limit=1) if query else np.array([], np.int64)
if query and len(search_codes) == 0:
    st.info(f"No title matches “{escape_markdown(query[:80])}”.")


def highlights_for(m) -> tuple[dict[str, np.ndarray], tuple[float, float] | None]:
    """Named highlight traces and the visitor's position for model ``m``."""
    out: dict[str, np.ndarray] = {}
    you = None
    if "Your ratings" in layers and rated:
        out["Your ratings"] = codes_of(m, rated)
    if "Your picks" in layers:
        out["Your picks"] = codes_of(m, picks(m, settings)["movieId"])
    if len(search_codes):
        movie_id = int(model.items["movieId"].iat[int(search_codes[0])])
        out[f"Search: {title_of(model, movie_id)}"] = codes_of(m, [movie_id])
    if focus.get("kind") == "movie" and focus_ids and m.code(focus_ids[0]) is not None:
        nb = m.similar(focus_ids[0], 10)
        out[f"Neighbours of {title_of(m, focus_ids[0])}"] = codes_of(m, nb["movieId"])
        out[f"Selected: {title_of(m, focus_ids[0])}"] = codes_of(m, focus_ids[:1])
    if "You are here" in layers and rated:
        prof = m.profile(rated)
        if prof.result.fallback is None and len(prof.codes):
            you, _ = m.map_position(prof.result.user_vector, prof.result.scores)
    return out, you


def draw(m, name: str, height: int) -> None:
    """One model's map: the cached base figure, copied, with this visitor's layers on top."""
    path = ctx.path if m is model else ctx.manifests[name]["path"]
    stamp = ctx.stamp if m is model else files_stamp(path)
    data = map_data(path, stamp)
    base = base_map(path, stamp, colour, genre if colour == "one genre" else None, height)
    fig = go.Figure(base)
    hl, you = highlights_for(m)
    title = f"{name} · {m.model_name}" if compare != NONE else None
    add_highlights(fig, data.xy, m.items["movieId"].to_numpy(), data.hover, hl, you, title)
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
    if data.fitted is not None:
        n_fit = int(data.fitted.sum())
        st.caption(
            f"Bright dots: the {n_fit} movies the map was fitted on; faint dots: the "
            f"{len(data.fitted) - n_fit} others (too few ratings or no vector), placed beside "
            "their nearest fitted movies. Movies that would sit on one spot are spread on a tiny "
            "spiral, so every dot is one movie and a box counts exactly the dots inside it."
        )


if compare == NONE:
    draw(model, ctx.name, 640)
else:
    other = load_named(ctx, compare)
    cols = st.columns(2)
    with cols[0]:
        draw(model, ctx.name, 560)
    with cols[1]:
        if other is None:
            st.warning(escape_markdown(f"Model {compare} could not be loaded."))
        else:
            draw(other, compare, 560)

if not rated:
    st.caption("Rate a few movies on the first page to see yourself and your picks on the map.")

# -- what is selected ---------------------------------------------------------------------------
if focus_ids:
    head = st.columns([4, 1], vertical_alignment="bottom")
    head[1].button(
        "Clear selection",
        key="map_clear",
        on_click=lambda: st.session_state.pop(FOCUS, None),
        width="stretch",
    )
    if focus.get("kind") == "movie":
        movie_id = focus_ids[0]
        code = model.code(movie_id)
        if code is None:
            head[0].info("This model does not know the selected movie.")
        else:
            head[0].subheader(f"Selected: {escape_markdown(title_of(model, movie_id))}")
            row = model.items.iloc[code]
            cols = st.columns([2, 3])
            with cols[0]:
                st.markdown(
                    f"{escape_markdown(', '.join(row['genres']) or 'no genre')} · rated by "
                    f"{int(row['n_ratings'])} people, mean {float(row['mean_rating']):.2f} ★"
                    + (f" · {links_markdown(row)}" if links_markdown(row) else "")
                )
                rating_widget(movie_id, "map", "Your rating", model.rating_scale)
            with cols[1]:
                nb = model.similar(movie_id, 10)
                table = pd.DataFrame(
                    {
                        "title": nb["title"].astype(str),
                        "similarity": nb["similarity"].astype(float),
                        "rated by": model.items["n_ratings"].to_numpy()[
                            codes_of(model, nb["movieId"])
                        ],
                    }
                )
                table.index = np.arange(1, len(table) + 1)
                st.dataframe(
                    table,
                    column_config={
                        "title": st.column_config.TextColumn("Nearest neighbours", width="large"),
                        "similarity": st.column_config.ProgressColumn(
                            "Cosine similarity", format="%.3f", min_value=0.0, max_value=1.0
                        ),
                        "rated by": st.column_config.NumberColumn(
                            "Rated by", help="People who rated the movie in the dataset."
                        ),
                    },
                )
                st.caption(
                    "Neighbours come from the full embedding space (cosine similarity), not from "
                    "the map; they are ringed on the map, and some may sit far from the movie."
                )
    else:
        summary = summarize_selection(model.items, focus_ids)
        head[0].subheader(f"{summary.n} movies in the selected region")
        cols = st.columns([2, 3])
        with cols[0]:
            st.markdown("**Dominant genres**")
            genres = summary.genres.assign(share=lambda t: 100 * t["share"])
            st.dataframe(
                genres,
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
                    "title": st.column_config.TextColumn("Title", width="large"),
                    "year": st.column_config.NumberColumn("Year", format="%d"),
                    "genres": st.column_config.TextColumn("Genres"),
                    "n_ratings": st.column_config.NumberColumn("Ratings"),
                    "mean_rating": st.column_config.NumberColumn("Mean ★", format="%.2f"),
                },
            )

how_this_works(explain_map(model.manifest))
