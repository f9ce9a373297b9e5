"""Rate & recommend: a few ratings in, live picks out.

The page is three ``st.fragment``s, so a rating re-runs only what it changes: the rating tabs
(quick start, grid, search; key ``rating.TABS``), "Your ratings" (``rating.RATED``) and the picks
(``rating.PICKS``: summary line, how far the visitor's vector turned, filters, pick list, why a
pick, judgements, the link). A click in the grid re-runs "Your ratings", the picks and the
sidebar's profile summary only (``rating.AFTER_RATING``). Views of the picks that must follow every rating go into
:func:`picks`; views that do not change with a rating go after the fragments.
"""

from __future__ import annotations

import streamlit as st

from pages.ui import explain, feedback, live_solve, movement, rating
from pages.ui.frame import page_context
from pages.ui.teaching import explain_fold_in
from pages.ui.text import escape_markdown
from pages.ui.visitor import sync_url
from pages.ui.widgets import how_this_works

ctx = page_context()
low, high, _ = ctx.model.rating_scale

st.title("Rate movies, get picks")
st.write(
    "Rate a few movies you know and watch the picks change. "
    f"Model **{escape_markdown(ctx.name)}**; click a rating from {low:g} to {high:g} stars."
)


@st.fragment(key=rating.TABS)
def rating_tabs() -> None:
    """Three ways to rate: one-click groups, a grid of well-known movies, a title search."""
    groups, grid, search = st.tabs(["Quick start", "Well-known movies", "Search a title"])
    with groups:
        rating.quick_start(ctx)
    with grid:
        rating.well_known_grid(ctx)
    with search:
        rating.search_titles(ctx)


@st.fragment(key=rating.RATED)
def your_ratings() -> None:
    rating.your_ratings(ctx)


@st.fragment(key=rating.PICKS)
def picks(summary) -> None:
    """The picks and everything drawn from them. A fragment rerun skips the frame, so this also
    writes the link, and the summary line at the top of the page (``summary``, a slot of the
    full run). The sidebar's profile summary is a fragment of its own, re-run with this one."""
    rec = rating.current_picks(ctx)
    with summary:
        rating.top_picks_summary(rec)
    st.subheader("Your picks")
    movement.vector_moved(ctx, rec)
    rating.filters(ctx)
    rating.pick_list(ctx, rec)
    explain.why_this_pick(ctx, rec)
    feedback.precision_panel(ctx)
    sync_url(ctx)


rating.sticky_summary_style()
summary = st.container(key="top_picks")  # sticky: stays in view on a phone
left, right = st.columns([1.5, 1], gap="medium")
with left:
    rating_tabs()
    your_ratings()
with right:
    picks(summary)

how_this_works(
    explain_fold_in(ctx.model.manifest, ctx.model.rating_scale),
    lambda: live_solve.live_solve(ctx),
)
