"""The pieces of the "Rate & recommend" page (pages/rate.py puts them in place).

Three ways to rate (one-click groups of movies from different regions of the embedding space; a
grid of well-known movies spread over the map; a title search), the list of what was rated, the
pick filters and the picks with "because you liked ...".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import streamlit as st

import recsys

from .artifacts import Ctx
from .feedback import judge_control
from .onboarding import map_grid
from .profile import group_rating
from .search import MAX_QUERY_CHARS
from .text import escape_markdown
from .visitor import (
    CHANGED,
    PROFILE,
    clear_ratings,
    pick_settings,
    picks,
    rate_many,
    ratings,
    remove_rating,
    setting,
)
from .widgets import links_markdown, rating_widget, title_of

# Keys of the landing page's fragments (pages/rate.py) and which of them a rating re-runs: a
# click in the grid, the search or the "rate these first" list re-runs "Your ratings" and the
# picks, not the tabs it came from (its own control already shows the new value); a group, an
# edit or a removal in "Your ratings" re-runs all three, since the tabs show the same movies.
TABS, RATED, PICKS = "rate_tabs", "your_ratings", "picks"
AFTER_RATING = (PICKS, RATED, PROFILE)
AFTER_MANY = (PICKS, TABS, RATED, PROFILE)

GRID_SIZE = 15  # five rows of three: columns wide enough for whole words at 1400 px
# Below this many ratings the most popular movies are about as good as any model's picks (the
# users protocol's quality-by-profile-size curve): the picks say so.
SHORT_PROFILE = 5


# How the users protocol's elicitation strategies read on the page (recsys.elicitation).
STRATEGY_TEXT = {
    "groups": "asking about the taste groups first",
    "random": "asking about random movies",
    "popular": "asking about the most-rated movies first",
    "pop_entropy": "asking about popular and divisive movies first",
}
ELICIT_AT = "5"  # compare strategies after 5 answers: about one quick-start group


def elicitation_curves(manifest: Mapping) -> dict[str, dict[str, float]]:
    """The artifact's measured cold-start curves per elicitation strategy
    (``{strategy: {"1": ndcg@10, "2": ...}}``), or {} when it was exported without them."""
    try:
        curves = manifest["metrics"]["users"]["metrics"]["elicitation"]
    except (KeyError, TypeError):
        return {}
    if not isinstance(curves, Mapping):
        return {}
    return {
        str(s): {str(n): float(v) for n, v in c.items() if isinstance(v, (int, float))}
        for s, c in curves.items()
        if isinstance(c, Mapping) and s in STRATEGY_TEXT
    }


def best_strategy(curves: Mapping[str, Mapping[str, float]], at: str = ELICIT_AT):
    """``(best, runner_up)`` strategies by NDCG@10 after ``at`` answers (the runner-up is random
    unless random is best); None when fewer than two strategies were measured at ``at``."""
    measured = {s: c[at] for s, c in curves.items() if at in c}
    if len(measured) < 2:
        return None
    best = max(sorted(measured), key=lambda s: measured[s])
    rest = [s for s in sorted(measured) if s != best]
    other = "random" if "random" in rest else max(rest, key=lambda s: measured[s])
    return best, other


def elicitation_sentence(manifest: Mapping, at: str = ELICIT_AT) -> str | None:
    """One sentence naming the best measured way to start and its numbers, or None without
    curves: "Measured on this model, asking about the taste groups first works best: NDCG@10
    0.160 after 5 ratings, vs 0.140 for asking about random movies."."""
    return _sentence(elicitation_curves(manifest), at)


def _sentence(curves: Mapping[str, Mapping[str, float]], at: str = ELICIT_AT) -> str | None:
    """:func:`elicitation_sentence` of curves already read (:func:`elicitation_curves`)."""
    found = best_strategy(curves, at)
    if found is None:
        return None
    best, other = found
    return (
        f"Measured on this model (held-out users, Model report), {STRATEGY_TEXT[best]} works "
        f"best: NDCG@10 **{curves[best][at]:.3f}** after {at} ratings, vs "
        f"{curves[other][at]:.3f} for {STRATEGY_TEXT[other]}."
    )


def ask_first_order(items: pd.DataFrame, strategy: str) -> tuple[np.ndarray, str]:
    """Item codes to ask about first for a measured-best ``strategy`` other than the groups, and
    a note on how they were ordered. ``pop_entropy`` needs each movie's rating entropy: used
    from an ``entropy`` column when the artifact has one, else the popular order is shown and
    the note says so."""
    counts = items["n_ratings"].to_numpy(np.float64)
    note = "most-rated first"
    key = counts
    if strategy == "pop_entropy":
        if "entropy" in items.columns:
            key = np.log1p(counts) * items["entropy"].to_numpy(np.float64)
            note = "log(1 + ratings) × rating entropy, highest first"
        else:
            note = (
                "most-rated first: this artifact has no per-movie rating entropy, so the "
                "divisive part of that strategy cannot be applied here"
            )
    elif strategy == "random":
        order = np.random.default_rng(0).permutation(np.flatnonzero(counts > 0))
        return order.astype(np.int64), "a fixed random draw"
    codes = np.arange(len(counts))
    return np.lexsort((codes, -key)).astype(np.int64), note


ASK_FIRST = 6  # movies offered by the measured-best strategy when it is not the groups


def _ask_first(ctx: Ctx, strategy: str) -> None:
    """The first unrated movies of the best measured order, each with its rating control."""
    model = ctx.model
    order, note = ask_first_order(model.items, strategy)
    rated = ratings()
    ids = model.vocab.ids_of(order[: ASK_FIRST + len(rated)])
    shown = [(int(m), int(c)) for m, c in zip(ids, order) if int(m) not in rated][:ASK_FIRST]
    st.markdown(f"**Rate these first** ({escape_markdown(note)})")
    cols = st.columns(3)
    for i, (movie_id, code) in enumerate(shown):
        with cols[i % 3].container(border=True):
            _movie_card(model, movie_id, code, "ask")


def quick_start(ctx: Ctx) -> None:
    """What to rate first: the measured-best strategy's movies when that is not the groups,
    and the one-click groups (each button rates its group's best-known movies)."""
    curves = elicitation_curves(ctx.model.manifest)  # read once for the sentence and the order
    sentence = _sentence(curves)
    if sentence:
        st.info(sentence, icon=":material/science:")
        best, _ = best_strategy(curves)
        if best != "groups":
            _ask_first(ctx, best)
            st.markdown("**Or pick a kind of film**")
    scale = ctx.model.rating_scale
    value = group_rating(scale)
    st.caption(
        "Pick a kind of film you like: one click rates its five movies "
        f"**{value:g}** (the top of the scale minus one step). Each group is a kind of film "
        "(by genre, era, or an original title in another language), shown by five well-known "
        "movies the model places closest to the group's centre, and named by what those five "
        "share. Movies you already rated keep your rating; change or remove any rating below."
    )
    groups = ctx.derived().groups
    rated = ratings()
    for start in range(0, len(groups), 3):
        cols = st.columns(3)
        for i, group in enumerate(groups[start : start + 3], start=start):
            with cols[i - start].container(border=True, height="stretch", key=f"card_{i}"):
                st.markdown(f"**{escape_markdown(group.label)}**")
                st.caption("  \n".join(escape_markdown(t) for t in group.titles))
                done = all(rated.get(m) is not None for m in group.movie_ids)
                st.button(
                    "Rated" if done else "I like this kind",
                    icon=":material/check:" if done else ":material/thumb_up:",
                    key=f"group_{i}",
                    on_click=rate_many,
                    args=(group.movie_ids, value, AFTER_MANY),
                    disabled=done,
                    width="stretch",
                )


def _refresh_grid(key: str) -> None:
    """Callback of "Other movies": a new seed, so the grid is drawn again from other movies."""
    st.session_state["grid_seed"] = st.session_state.get("grid_seed", 0) + 1
    st.session_state.pop(key, None)


def _grid_ids(ctx: Ctx) -> list[int]:
    """This visitor's grid of well-known movies for this model (kept until "Other movies")."""
    model = ctx.model
    grid_key = f"grid_ids::{ctx.name}"
    if grid_key not in st.session_state:
        st.session_state["grid_seed"] = st.session_state.get("grid_seed", 0)
        codes = map_grid(
            model.items, model.projection, n=GRID_SIZE, seed=st.session_state["grid_seed"]
        )
        st.session_state[grid_key] = [int(m) for m in model.vocab.ids_of(codes)]
    return st.session_state[grid_key]


def well_known_grid(ctx: Ctx) -> None:
    """A grid of well-known movies from all over the map, each with its rating slider."""
    model = ctx.model
    grid_ids = _grid_ids(ctx)
    top = st.columns([2, 1])
    top[0].caption(
        f"Well-known movies from all over the embedding map: {GRID_SIZE} regions, one of "
        "the most-rated movies of each. Click a number of stars to rate (click it again to "
        "clear); skip what you have not seen."
    )
    top[1].button(
        "Other movies",
        icon=":material/shuffle:",
        key="grid_refresh",
        on_click=_refresh_grid,
        args=(f"grid_ids::{ctx.name}",),
        width="stretch",
    )
    known = [(m, int(c)) for m, c in zip(grid_ids, model.codes(grid_ids)) if c >= 0]
    cols = st.columns(3)
    for i, (movie_id, code) in enumerate(known):
        with cols[i % 3].container(border=True):
            _movie_card(model, movie_id, code, "grid")


def _movie_card(model: recsys.Artifact, movie_id: int, code: int, prefix: str) -> None:
    """A movie's rating slider (its title as label) and its genres."""
    items = model.items
    title = escape_markdown(items["title"].iat[code])
    rating_widget(movie_id, prefix, title, model.rating_scale, rerun=AFTER_RATING)
    st.caption(escape_markdown(", ".join(items["genres"].iat[code])))


def search_titles(ctx: Ctx) -> None:
    """A title search whose results can be rated in place."""
    query = st.text_input(
        "Search a title",
        key="search_q",
        max_chars=MAX_QUERY_CHARS,
        placeholder="e.g. the matrix, amelie, star wars",
        help="Case, accents and punctuation are ignored; 'the matrix' finds "
        "'Matrix, The (1999)'. Plain text, no patterns.",
    )
    if not query:
        return
    found = ctx.derived().search.search(query, limit=8)
    if len(found) == 0:
        st.info(f"No title matches {escape_markdown(query[:80])!s}.")
    for code in found:
        movie_id = int(ctx.model.vocab.ids[code])
        with st.container(border=True):
            _movie_card(ctx.model, movie_id, int(code), "search")


def your_ratings(ctx: Ctx) -> None:
    """What the visitor rated, each editable and removable."""
    rated = ratings()
    st.subheader(f"Your ratings ({len(rated)})")
    if not rated:
        st.caption("Nothing rated yet: the picks on the right are simply the most popular movies.")
    for movie_id in list(rated):
        row = st.columns([4, 1.3], vertical_alignment="bottom")
        with row[0]:
            label = escape_markdown(title_of(ctx.model, movie_id))
            rating_widget(movie_id, "rated", label, ctx.model.rating_scale, rerun=AFTER_MANY)
        row[1].button(
            "Remove",
            key=f"remove_{movie_id}",
            on_click=remove_rating,
            args=(movie_id, AFTER_MANY),
            width="stretch",
        )
    if rated:
        st.button(
            "Clear all ratings",
            key="clear_all",
            on_click=clear_ratings,
            args=(AFTER_MANY,),
            type="secondary",
        )


def filters(ctx: Ctx) -> None:
    """The pick filters (number, genres, years, minimum ratings, popularity knob)."""
    d = ctx.derived()
    with st.expander("Filters", icon=":material/tune:", expanded=False):
        st.slider("Number of picks", 5, 50, step=1, **setting("k", 10))
        st.multiselect(
            "Genres (any of)",
            d.genres,
            placeholder="All genres",
            **setting("genres", [], valid=lambda v: [g for g in v if g in d.genres]),
        )
        if d.years is not None and d.years[0] < d.years[1]:
            lo, hi = d.years
            st.slider(
                "Years",
                lo,
                hi,
                **setting(
                    "years",
                    (lo, hi),
                    valid=lambda v: (max(lo, min(int(v[0]), hi)), min(hi, max(int(v[1]), lo))),
                ),
            )
        options = d.min_ratings_options
        st.select_slider(
            "At least this many ratings in the dataset",
            options=options,
            help="The steps are the 50th, 75th, 90th, 95th and 99th percentiles of how many "
            "ratings a movie has in this catalogue (so the last keeps about 1 % of the movies).",
            **setting("min_ratings", 0, valid=lambda v: max(o for o in options if o <= int(v))),
        )
        st.slider(
            "Popularity: ← more niche · more mainstream →",
            -1.0,
            1.0,
            step=0.25,
            help="0 ranks by the model's score alone; otherwise the model's best 50 candidates are "
            "re-ranked; see 'How this works' below for the formula.",
            **setting("popularity", 0.0),
        )


def pick_markdown(rank: int, row: Mapping, n_ratings: int, fallback: bool) -> str:
    """One pick as two Markdown lines: ``**rank. Title** · year`` then genres, "rated by N
    people", the score (not for popular fallback picks), "because you liked ..." and links out.
    Dataset strings are escaped."""
    title = str(row["title"])
    year = "" if pd.isna(row["year"]) else str(int(row["year"]))
    # MovieLens titles usually end with "(year)"; say the year only when they do not.
    year = f" · {year}" if year and f"({year})" not in title else ""
    line2 = [escape_markdown(", ".join(row["genres"]) or "no genre")]
    line2.append(f"rated by {int(n_ratings)} {'person' if int(n_ratings) == 1 else 'people'}")
    if not fallback:
        line2.append(f"score {float(row['score']):.3f}")
    if row.get("because"):
        line2.append(f"because you liked *{escape_markdown(row['because'])}*")
    links = links_markdown(row)
    if links:
        line2.append(links)
    return f"**{rank}. {escape_markdown(title)}**{year}  \n" + " · ".join(line2)


def short_profile_hint(n_rated: int) -> str:
    """The one-line hint shown while a profile has fewer than :data:`SHORT_PROFILE` ratings."""
    more = SHORT_PROFILE - n_rated
    return (
        f"With {n_rated} rating{'s' if n_rated != 1 else ''}, these picks are about as good as the "
        f"most popular movies (Model report: quality by number of ratings); rate {more} more "
        f"movie{'s' if more != 1 else ''} for picks that are really yours."
    )


def current_picks(ctx: Ctx) -> recsys.Recommendations:
    """This run's picks for the visitor (drawn twice: the summary on top, the list)."""
    return picks(ctx.model, pick_settings(ctx))


def top_picks_line(rec: recsys.Recommendations, n: int = 3) -> str:
    """``"Top picks for you now: **1. A** · 2. B · 3. C"`` (Markdown-safe); "Most popular now"
    while the picks are the popular fallback."""
    titles = [escape_markdown(t) for t in rec.picks["title"].head(n)]
    if not titles:
        return "No movie passes your filters."
    rest = "".join(f" · {i}. {t}" for i, t in enumerate(titles[1:], start=2))
    head = "Most popular now" if rec.fallback else "Top picks for you now"
    return f"{head}: **1. {titles[0]}**{rest}"


# The summary line stays at the top of the window while the page scrolls (position: sticky on
# the wrapper of its container, whose parent is the page's main block): on a phone the pick list sits far below the rating
# controls, and this line is the feedback a visitor sees right after a rating. Static CSS, no
# dataset text in it.
_STICKY_CSS = """<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-top_picks) {position: sticky; top: 3.75rem;
  z-index: 99; background-color: rgb(255 255 255 / 0.96);}
</style>"""


def sticky_summary_style() -> None:
    """The CSS that keeps the summary line in view (draw once per full run, outside fragments)."""
    st.html(_STICKY_CSS)


def top_picks_summary(rec: recsys.Recommendations) -> None:
    """One line with the first picks (drawn into the page's ``st.container(key="top_picks")``,
    which stays in view as the page scrolls: :func:`sticky_summary_style`), and a toast
    naming the first pick right after a rating changed it. The line is always drawn, so the
    widgets below it (the rating tabs) keep their state when the first rating arrives."""
    st.markdown(top_picks_line(rec))
    df = rec.picks
    if st.session_state.pop(CHANGED, False) and len(df):
        st.toast(f"Top pick now: **{escape_markdown(df['title'].iat[0])}**", icon=":material/star:")


def pick_list(ctx: Ctx, rec: recsys.Recommendations) -> None:
    """The visitor's picks ``rec`` (:func:`current_picks`), with why the list is what it is."""
    model = ctx.model
    df, fallback = rec.picks, rec.fallback
    if fallback:
        st.info(
            f"**Popular picks for now** ({escape_markdown(fallback)}). Rate a movie "
            f"you liked {model.threshold:g} ★ or more and the list becomes yours."
        )
    unknown = rec.unknown_ids
    if unknown:
        st.caption(
            f"{len(unknown)} of your ratings are for movies this model does not know; they are "
            "ignored here."
        )
    n_rated = len(ratings())
    if not fallback and 0 < n_rated < SHORT_PROFILE:
        st.caption(short_profile_hint(n_rated))
    if df.empty:
        st.warning("No movie passes these filters. Loosen them in Filters above.")
    with st.container(key="pick_list"):
        for rank, (row, n) in enumerate(zip(df.to_dict("records"), df["n_ratings"]), start=1):
            st.markdown(pick_markdown(rank, row, int(n), bool(fallback)))
            judge_control(int(row["movieId"]), rerun=(PICKS, PROFILE))
