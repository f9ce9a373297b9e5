"""Small pieces of UI and model look-ups that several pages draw the same way."""

from __future__ import annotations

import numpy as np
import streamlit as st

import recsys

from .profile import scale_values
from .text import escape_markdown, imdb_url, tmdb_url
from .visitor import ratings, rerun_fragments, set_rating


def _on_rating_widget(key: str, movie_id: int, rerun: tuple[str, ...]) -> None:
    value = st.session_state.get(key)
    set_rating(movie_id, None if value is None else float(value))
    rerun_fragments(rerun)


def short_rating(value: float) -> str:
    """A rating as a compact button label: ``4.5`` -> ``"4½"``, ``0.5`` -> ``"½"``, ``3`` ->
    ``"3"`` (other fractions as decimals), so ten half-star values fit one row."""
    whole, frac = divmod(round(float(value), 6), 1.0)
    if frac == 0:
        return f"{int(whole)}"
    if abs(frac - 0.5) < 1e-6:
        return f"{int(whole) or ''}½"
    return f"{float(value):g}"


def rating_widget(
    movie_id: int,
    prefix: str,
    label: str,
    scale,
    label_visibility: str = "visible",
    rerun: tuple[str, ...] = (),
) -> None:
    """A rating for one movie: one ``st.segmented_control`` button per value of the dataset's
    scale (½ 1 1½ … 5 on MovieLens), which sends on click (a slider sends on release, about a
    third of a second later). Clicking the chosen value again clears the rating.

    The chosen value is stored as-is, so no mapping is involved. The widget is synced from the
    ratings dict before it is drawn, so the same movie shown in two places (the grid and "Your
    ratings") always agrees. ``label`` must already be Markdown-safe. ``rerun``: keys of the
    fragments a rating re-runs (:func:`pages.ui.visitor.rerun_fragments`; () = Streamlit's
    default, the enclosing fragment or the whole page).
    """
    values = scale_values(scale)
    key = f"{prefix}_{movie_id}"
    current = ratings().get(int(movie_id))
    if current is not None and current not in values:  # e.g. a model with another scale
        current = min(values, key=lambda v: abs(v - current))
    if st.session_state.get(key, "unset") != current:
        st.session_state[key] = current
    st.segmented_control(
        label,
        options=values,
        format_func=short_rating,
        selection_mode="single",
        key=key,
        on_change=_on_rating_widget,
        args=(key, int(movie_id), tuple(rerun)),
        label_visibility=label_visibility,
        width="stretch",
    )


def similarity_column():
    """The "Similarity" column of a neighbours table: cosine similarity as a 0..1 bar."""
    return st.column_config.ProgressColumn(
        "Similarity",
        format="%.2f",
        min_value=0.0,
        max_value=1.0,
        width="small",
        help="Cosine similarity of the two movies' embeddings.",
    )


def rated_by_column():
    """The "Rated by" column every list shows beside a movie (its support in the dataset)."""
    return st.column_config.NumberColumn(
        "Rated by", width="small", help="People who rated the movie in the dataset."
    )


def how_this_works(markdown: str, *then) -> None:
    """The collapsible "How this works" box every page has; ``then`` are functions of no
    arguments that draw more inside it, after the text (e.g. the landing page's live solve)."""
    with st.expander("How this works", icon=":material/school:"):
        st.markdown(markdown)
        for draw in then:
            draw()


def links_markdown(row) -> str:
    """IMDb / TMDB links for a row with imdbId/tmdbId (where present)."""
    out = []
    imdb = imdb_url(row.get("imdbId")) if hasattr(row, "get") else None
    tmdb = tmdb_url(row.get("tmdbId")) if hasattr(row, "get") else None
    if imdb:
        out.append(f"[IMDb]({imdb})")
    if tmdb:
        out.append(f"[TMDB]({tmdb})")
    return " · ".join(out)


def movie_facts(row) -> str:
    """One movie's facts line (Markdown-safe): ``"Comedy, Drama · rated by 120 people, mean
    3.85 ★ · [IMDb](...) · [TMDB](...)"`` for a row of ``items`` (links where present)."""
    links = links_markdown(row)
    return (
        f"{escape_markdown(', '.join(row['genres']) or 'no genre')} · rated by "
        f"{int(row['n_ratings'])} people, mean {float(row['mean_rating']):.2f} ★"
        + (f" · {links}" if links else "")
    )


def codes_of(model: recsys.Artifact, movie_ids) -> np.ndarray:
    """Item codes of the ids the model knows (unknown ids are left out), in the given order."""
    codes = model.codes(movie_ids)
    return codes[codes >= 0]


def embedding_dim(model: recsys.Artifact | None) -> int | None:
    """Size of the model's item vectors (None without a model, e.g. one that failed to load)."""
    if model is None:
        return None
    return int(model.item_embeddings.shape[1])


def title_of(model: recsys.Artifact, movie_id: int) -> str:
    """The movie's title in ``model``'s catalogue (``"movie <id>"`` when it is not there)."""
    code = model.code(int(movie_id))
    return str(model.items["title"].iat[code]) if code is not None else f"movie {movie_id}"
