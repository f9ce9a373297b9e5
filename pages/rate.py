"""Rate & recommend: a few ratings in, live picks out."""

from __future__ import annotations

import streamlit as st

from pages.ui import explain, live_solve, movement, rating
from pages.ui.frame import page_context
from pages.ui.teaching import explain_fold_in
from pages.ui.text import escape_markdown
from pages.ui.widgets import how_this_works

ctx = page_context()
low, high, _ = ctx.model.rating_scale

st.title("Rate movies, get picks")
st.write(
    "Rate a few movies you know and watch the picks change. "
    f"Model **{escape_markdown(ctx.name)}**; slide a rating from {low:g} to {high:g}."
)
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
    movement.vector_moved(ctx, picks)
    rating.filters(ctx)
    rating.pick_list(ctx, picks)
    explain.why_this_pick(ctx, picks)

how_this_works(
    explain_fold_in(ctx.model.manifest, ctx.model.rating_scale),
    lambda: live_solve.live_solve(ctx),
)
