"""The pieces of the "Similar movies" page (pages/similar.py puts them in place): the choice of
movie, its header, and one model's neighbour table (two side by side on request)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import recsys

from .artifacts import Ctx, load_named
from .mapview import norm_figure, norm_popularity
from .search import MAX_QUERY_CHARS
from .text import escape_markdown
from .visitor import setting
from .widgets import (
    codes_of,
    movie_facts,
    rated_by_column,
    rating_widget,
    similarity_column,
    title_of,
)

NONE = "(none)"
METRICS = {"cosine": "Cosine (direction only)", "dot": "Dot product (direction × lengths)"}


@dataclass(frozen=True)
class Choice:
    """The movie, number of neighbours and model to compare with that the visitor chose."""

    movie_id: int
    k: int
    compare: str
    metric: str = "cosine"  # "cosine" or "dot" (recsys.Artifact.similar)


def choose(ctx: Ctx) -> Choice:
    """A title search narrowing a movie selector (the 200 most-rated when empty), the number of
    neighbours and another model to compare with."""
    model, d, items = ctx.model, ctx.derived(), ctx.model.items
    top = st.columns([2, 2, 1, 2], vertical_alignment="bottom")
    query = top[0].text_input(
        "Find a movie",
        key="sim_q",
        max_chars=MAX_QUERY_CHARS,
        placeholder="e.g. toy story, amelie, alien",
        help="Case, accents and punctuation are ignored; 'the matrix' finds 'Matrix, The (1999)'.",
    )
    if query:
        codes = d.search.search(query, limit=30)
        if len(codes) == 0:
            st.info(f"No title matches “{escape_markdown(query[:80])}”; showing popular movies.")
    else:
        codes = np.array([], np.int64)
    if len(codes) == 0:
        counts = items["n_ratings"].to_numpy()
        codes = np.lexsort((np.arange(len(counts)), -counts))[:200]
    options = [int(m) for m in model.vocab.ids_of(codes)]
    titles = dict(zip(options, items["title"].to_numpy()[codes]))

    def _title(movie_id: int) -> str:
        return str(titles.get(movie_id) or title_of(model, movie_id))

    movie_id = top[1].selectbox(
        "Movie",
        options,
        format_func=_title,
        **setting("sim_movie", options[0], valid=lambda v: v if v in options else options[0]),
    )
    k = top[2].number_input("Neighbours", 1, 50, step=1, **setting("sim_k", 10))
    others = [n for n in ctx.names if n != ctx.name]
    compare = top[3].selectbox(
        "Compare with another model",
        [NONE, *others],
        **setting("sim_compare", NONE, valid=lambda v: v if v in others else NONE),
    )
    metric = st.radio(
        "Similarity",
        list(METRICS),
        format_func=METRICS.get,
        horizontal=True,
        help="Cosine compares directions only; the dot product also multiplies by the "
        "vectors' lengths, which grow with popularity (see the scatter below).",
        **setting("sim_metric", "cosine", valid=lambda v: v if v in METRICS else "cosine"),
    )
    return Choice(int(movie_id), int(k), compare, metric)


def movie_header(model: recsys.Artifact, movie_id: int) -> None:
    """The chosen movie: title, genres, how many rated it, links out, and its rating slider."""
    row = model.items.iloc[model.code(movie_id)]
    info = st.columns([3, 2], vertical_alignment="center")
    with info[0]:
        st.markdown(f"### {escape_markdown(row['title'])}\n{movie_facts(row)}")
    with info[1]:
        rating_widget(movie_id, "sim", "Your rating", model.rating_scale)


def _go_to(table_key: str, ids: list[int]) -> None:
    """Callback: a row clicked in a neighbour table becomes the chosen movie."""
    state = st.session_state.get(table_key)
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    if rows and 0 <= rows[0] < len(ids):
        st.session_state["sim_q"] = ""
        st.session_state["w_sim_movie"] = ids[rows[0]]
        st.session_state.setdefault("_settings", {})["sim_movie"] = ids[rows[0]]


def neighbour_list(
    m: recsys.Artifact, movie_id: int, k: int, metric: str = "cosine"
) -> pd.DataFrame | None:
    """``m.similar(movie_id, k, metric=...)``, or None when ``m``'s catalogue lacks the movie
    (every loaded artifact has item vectors, so both metrics are always available)."""
    if m.code(movie_id) is None:
        return None
    return m.similar(movie_id, int(k), metric=metric)


def neighbour_table(
    m: recsys.Artifact,
    name: str,
    nb: pd.DataFrame | None,
    other_ids: set[int] | None,
    metric: str = "cosine",
) -> list[int]:
    """Draw one model's neighbour list ``nb`` (:func:`neighbour_list`, by ``metric``; None: the
    model does not know the movie); returns its movie ids."""
    st.markdown(f"**{escape_markdown(name)}** · {escape_markdown(m.model_name)}")
    if nb is None:
        st.info("This model's catalogue does not contain this movie.")
        return []
    codes = codes_of(m, nb["movieId"])
    table = pd.DataFrame(
        {
            # Most telling first: on a phone the columns to the right are off screen.
            "title": nb["title"].astype(str),
            "similarity": nb["similarity"].astype(float),
            "rated by": m.items["n_ratings"].to_numpy()[codes],
            "genres": [", ".join(g) for g in m.items["genres"].to_numpy()[codes]],
        }
    )
    table.index = np.arange(1, len(table) + 1)
    if other_ids is not None:
        table["in both"] = [int(x) in other_ids for x in nb["movieId"]]
    ids = [int(x) for x in nb["movieId"]]
    key = f"sim_table_{name}"
    st.dataframe(
        table,
        key=key,
        on_select=lambda: _go_to(key, ids),
        selection_mode="single-row",
        column_config={
            # Narrow columns: on a phone the title, similarity and count fit the screen.
            "title": st.column_config.TextColumn("Title", width="medium"),
            "genres": st.column_config.TextColumn("Genres", width="small"),
            "similarity": similarity_column()
            if metric == "cosine"
            else st.column_config.NumberColumn(
                "Dot product",
                format="%.2f",
                width="small",
                help="Inner product of the two movies' raw embeddings (not bounded).",
            ),
            "rated by": rated_by_column(),
            "in both": st.column_config.CheckboxColumn("In both lists"),
        },
    )
    return ids


def neighbours(ctx: Ctx, choice: Choice) -> None:
    """The chosen movie's neighbours in the current model, or in two models side by side with
    the ones they share marked."""
    model, movie_id, k, compare = ctx.model, choice.movie_id, choice.k, choice.compare
    metric = choice.metric
    nb_a = neighbour_list(model, movie_id, k, metric)
    if compare == NONE:
        neighbour_table(model, ctx.name, nb_a, None, metric)
    else:
        other = load_named(ctx, compare)
        if other is None:
            st.warning(escape_markdown(f"Model {compare} could not be loaded."))
            neighbour_table(model, ctx.name, nb_a, None, metric)
        else:
            nb_b = neighbour_list(other, movie_id, k, metric)
            ids_a = set() if nb_a is None else set(nb_a["movieId"])
            ids_b = set() if nb_b is None else set(nb_b["movieId"])
            cols = st.columns(2)
            with cols[0]:
                neighbour_table(model, ctx.name, nb_a, {int(x) for x in ids_b}, metric)
            with cols[1]:
                neighbour_table(other, compare, nb_b, {int(x) for x in ids_a}, metric)
            overlap = len(ids_a & ids_b)
            st.caption(
                f"{overlap} of {int(k)} neighbours are shared: two models trained on the same data "
                "can still arrange the space differently."
            )


def dot_vs_cosine(m: recsys.Artifact, movie_id: int, k: int) -> None:
    """Vector length against number of ratings, with the chosen movie's ``k`` neighbours by dot
    product and by cosine marked, and one sentence saying what it shows."""
    if m.code(movie_id) is None:
        return
    norms, rho = norm_popularity(m.item_embeddings, m.items["n_ratings"].to_numpy())
    # Cosine first, dot product drawn on top of it (where both lists hold a movie).
    lists = {
        f"{k} nearest by cosine": codes_of(m, m.similar(movie_id, k)["movieId"]),
        f"{k} nearest by dot product": codes_of(m, m.similar(movie_id, k, metric="dot")["movieId"]),
    }
    st.markdown("**Why dot products favour popular movies**")
    st.plotly_chart(norm_figure(m.items, norms, lists), key="norm_scatter")
    counts = m.items["n_ratings"].to_numpy()
    med = {name: float(np.median(counts[codes])) for name, codes in lists.items()}
    cos_med, dot_med = med.values()
    st.caption(
        f"Each grey dot is a movie: its vector length against how many people rated it. "
        f"Length rises with the number of ratings here (Spearman ρ = {rho:.2f}), and a dot "
        "product multiplies by both lengths, so long popular vectors come out near everything: "
        f"the dot-product neighbours were rated by a median {dot_med:.0f} people, the cosine "
        f"ones by {cos_med:.0f}."
    )
