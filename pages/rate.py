"""Rate & recommend: a few ratings in, live picks out.

Everything a rating changes (the summary line, the rating controls, the picks, the judgements
and the sidebar's profile summary) is one ``st.fragment``: a rating re-runs it alone, not the
frame and the rest of the page. Hooks for more views of the picks go in :func:`rate_and_pick`
(they re-run with every rating); views that do not change with a rating go after it.
"""

from __future__ import annotations

import streamlit as st

from pages.ui import feedback, rating
from pages.ui.frame import page_context
from pages.ui.teaching import explain_fold_in
from pages.ui.text import escape_markdown
from pages.ui.visitor import profile_summary, sync_url
from pages.ui.widgets import how_this_works

ctx = page_context()
low, high, _ = ctx.model.rating_scale

st.title("Rate movies, get picks")
st.write(
    "Rate a few movies you know and watch the picks change. "
    f"Model **{escape_markdown(ctx.name)}**; click a rating from {low:g} to {high:g} stars."
)


@st.fragment
def rate_and_pick() -> None:
    """The part of the page a rating changes (re-run alone after a rating, filter or judgement).

    A fragment rerun skips the frame, so it writes the link and the sidebar's profile summary
    itself (the summary into the sidebar slot the frame made in the last full run).
    """
    picks = rating.current_picks(ctx)
    rating.top_picks_summary(picks)
    left, right = st.columns([1.5, 1], gap="medium")
    with left:
        groups, grid, search = st.tabs(["Quick start", "Well-known movies", "Search a title"])
        with groups:
            rating.quick_start(ctx)
        with grid:
            rating.well_known_grid(ctx)
        with search:
            rating.search_titles(ctx)
        rating.your_ratings(ctx)
    with right:
        st.subheader("Your picks")
        rating.filters(ctx)
        rating.pick_list(ctx, picks)
        feedback.precision_panel(ctx)
    sync_url(ctx)
    profile_summary(ctx, in_fragment=True)


rate_and_pick()
how_this_works(explain_fold_in(ctx.model.manifest, ctx.model.rating_scale))
