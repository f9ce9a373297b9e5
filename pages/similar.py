"""Similar movies: a movie's nearest neighbours by cosine similarity (or dot product) of item
embeddings, optionally for two models side by side (same movie, different embedding spaces), and
why dot products favour popular movies."""

from __future__ import annotations

import streamlit as st

from pages.ui import neighbours
from pages.ui.frame import page_context
from pages.ui.teaching import explain_dot_vs_cosine, explain_similarity
from pages.ui.widgets import embedding_dim, how_this_works

ctx = page_context()

st.title("Similar movies")
st.write(
    "Choose a movie and see the movies whose embeddings point the most the same way. "
    "Click a row to jump to that movie."
)
choice = neighbours.choose(ctx)
neighbours.movie_header(ctx.model, choice.movie_id)
neighbours.neighbours(ctx, choice)
neighbours.dot_vs_cosine(ctx.model, choice.movie_id, choice.k)
how_this_works(
    explain_similarity(ctx.model.manifest, embedding_dim(ctx.model))
    + "\n\n"
    + explain_dot_vs_cosine()
)
