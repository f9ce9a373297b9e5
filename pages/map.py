"""Embedding map: every movie on the model's 2-D projection, your ratings, picks and position on
top; click a dot for its neighbours (computed in the full embedding space), draw a lasso or box
to list a region and its dominant genres. Two models side by side on request."""

from __future__ import annotations

import streamlit as st

from pages.ui import mapping
from pages.ui.artifacts import load_named
from pages.ui.frame import page_context
from pages.ui.teaching import explain_map
from pages.ui.text import escape_markdown
from pages.ui.visitor import ratings
from pages.ui.widgets import how_this_works

ctx = page_context()

st.title("The embedding map")
st.write(
    "Each dot is a movie, placed so that movies with similar embeddings tend to sit together. "
    "Hover for titles, **click a dot** for its nearest neighbours and to colour every movie by "
    "its similarity to it in the full space, **draw a lasso or a box** (toolbar, top right of "
    "the chart) to list a region."
)
c = mapping.controls(ctx)
found = mapping.search_codes(ctx, c)
if c.query and len(found) == 0:
    st.info(f"No title matches “{escape_markdown(c.query[:80])}”.")

if c.compare == mapping.NONE:
    mapping.draw(ctx, ctx.model, ctx.name, c, 640, found)
else:
    other = load_named(ctx, c.compare)
    left, right = st.columns(2)
    with left:
        mapping.draw(ctx, ctx.model, ctx.name, c, 560, found)
    with right:
        if other is None:
            st.warning(escape_markdown(f"Model {c.compare} could not be loaded."))
        else:
            mapping.draw(ctx, other, c.compare, c, 560, found)
if not ratings():
    st.caption("Rate a few movies on the first page to see yourself and your picks on the map.")

mapping.selection_panel(ctx)
how_this_works(explain_map(ctx.model.manifest))
