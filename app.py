"""See how recommendation embeddings work: rate movies, get live picks, explore neighbours and the
embedding map of MovieLens models.

    streamlit run app.py            # artifacts from ./artifacts, or $RECSYS_ARTIFACTS

The entrypoint of a Streamlit multipage app (``st.navigation``): it draws the frame every page
shares once (``app_pages/ui/frame.py``: the models, the setup page when none loads, the profile in
the link, the sidebar), then runs the chosen page script from ``app_pages/``. The app's own
helpers are the package ``app_pages/ui``; the ``recsys`` library knows nothing of Streamlit.

Why not ``pages/``: Streamlit treats a ``pages/`` folder beside the entrypoint as the legacy
multipage mode until ``st.navigation`` has run once in the server process, so the first request
of a fresh server for another page would run that page's script without this frame (and
``AppTest`` re-detects the folder on every run).
"""

from __future__ import annotations

import streamlit as st

from app_pages.ui import frame

PAGES = [
    st.Page("app_pages/rate.py", title="Rate & recommend", icon=":material/star:", default=True),
    st.Page("app_pages/similar.py", title="Similar movies", icon=":material/hub:"),
    st.Page("app_pages/map.py", title="Embedding map", icon=":material/map:"),
    st.Page("app_pages/report.py", title="Model report", icon=":material/analytics:"),
]

ctx = frame.load()
# Streamlit's own page list in the sidebar (it closes the sidebar after a tap on a phone); hidden
# when no model loads, since every page would show the setup page.
page = st.navigation(PAGES, position="sidebar" if ctx.model is not None else "hidden")
st.set_page_config(
    page_title=f"{page.title} · {frame.APP_TITLE}",
    page_icon=":material/movie:",
    layout="wide",
    menu_items={"About": "Rate movies, watch the picks change, explore the embedding space."},
)
if frame.frame(ctx):
    page.run()
