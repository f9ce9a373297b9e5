"""The frame app.py draws once per run, around whichever page is chosen.

:func:`load` finds the artifacts and loads the chosen model; :func:`frame` draws the setup page
(instead of any page) when none loads, else reads the profile from the link once, writes it back,
and draws the shared sidebar (model selector, share link) and warnings. Pages then read this
run's context with :func:`pages.ui.artifacts.context`.
"""

from __future__ import annotations

import streamlit as st

from .artifacts import ARTIFACTS_ENV, Ctx, build_context, default_name
from .text import escape_markdown
from .visitor import profile_summary, read_url_once, sync_url

APP_TITLE = "Seeing recommendation embeddings"
# Set by run_app when it has drawn the frame around the page it is about to run.
_FRAMED = "_frame_drawn"
_RERUN_FROM_LEGACY = "_rerun_from_legacy"  # page_context reran a page started alone


def page_list() -> list:
    """The app's pages, in menu order (the one list of them)."""
    return [
        st.Page("pages/rate.py", title="Rate & recommend", icon=":material/star:", default=True),
        st.Page("pages/similar.py", title="Similar movies", icon=":material/hub:"),
        st.Page("pages/map.py", title="Embedding map", icon=":material/map:"),
        st.Page("pages/report.py", title="Model report", icon=":material/analytics:"),
    ]


def _navigation_and_config(ctx: Ctx):
    # Streamlit's own page list in the sidebar (it closes the sidebar after a tap on a phone);
    # hidden when no model loads, since every page would show the setup page.
    page = st.navigation(page_list(), position="sidebar" if ctx.model is not None else "hidden")
    st.set_page_config(
        page_title=f"{page.title} · {APP_TITLE}",
        page_icon=":material/movie:",
        layout="wide",
        menu_items={"About": "Rate movies, watch the picks change, explore the embedding space."},
    )
    return page


def run_app() -> None:
    """What app.py runs: load the model, set up navigation, draw the frame, run the page."""
    ctx = load()
    page = _navigation_and_config(ctx)
    if frame(ctx):
        st.session_state[_FRAMED] = True
        page.run()


def page_context() -> Ctx:
    """This run's context, for a page script (its first line).

    Normally app.py has drawn the frame just before running the page. Streamlit runs a page
    script on its own in one case: a ``pages/`` folder beside the entrypoint puts a server
    process in the legacy multipage mode until ``st.navigation`` first runs, so the very first
    request of a fresh server for ``/map`` (and every run under ``AppTest``) starts the page
    directly. Then the navigation call here ends the legacy mode for the rest of the process and
    the page reruns once (through app.py on a server); where it runs alone again (AppTest), the
    frame is drawn here. The page stops after the setup page when no model loads.
    """
    if st.session_state.pop(_FRAMED, False):
        return st.session_state["_ctx"]
    ctx = load()
    _navigation_and_config(ctx)
    if not st.session_state.get(_RERUN_FROM_LEGACY):
        # The navigation call has ended the legacy mode; the next run goes through app.py and
        # names this page's widgets differently, so a first click here would find every widget
        # back at its default (Neighbours 10 -> 1 after "+"). Rerun now, once per session,
        # before anything can be clicked.
        st.session_state[_RERUN_FROM_LEGACY] = True
        st.rerun()
    if not frame(ctx):
        st.stop()
    return ctx


SETUP_COMMANDS = (
    "python -m recsys download ml-latest-small\n"
    "python -m recsys train --data ml-latest-small --model ials --out artifacts/ials --default"
)


def load() -> Ctx:
    """This run's context: the artifacts found and the model chosen and loaded (None when none
    loads). Kept in the session for the page and for callbacks."""
    ctx = build_context()
    st.session_state["_ctx"] = ctx
    return ctx


def frame(ctx: Ctx) -> bool:
    """Everything around the page; False after drawing the setup page instead, when no
    artifact can be loaded (the page must not run then)."""
    if ctx.model is None:
        setup_needed_page(ctx)
        return False
    read_url_once(ctx)
    sync_url(ctx)
    sidebar(ctx)
    if ctx.problems:
        with st.sidebar:
            for problem in ctx.problems:
                st.warning(escape_markdown(problem), icon=":material/warning:")
    show_url_warnings()
    return True


def sidebar(ctx: Ctx) -> None:
    """Model selector, profile summary, share link and data attribution (below Streamlit's page
    list). A page switch keeps the profile: it lives in the session, and every run writes it
    back into the address bar."""
    with st.sidebar:
        manifests = ctx.manifests
        default = default_name(str(ctx.root))

        def label(name: str) -> str:
            m = manifests.get(name, {})
            model = (m.get("model") or {}).get("name", "?")
            tag = " (default)" if name == default else ""
            return f"{name} · {model}{tag}"

        st.selectbox(
            "Model",
            ctx.names,
            format_func=label,
            key="model_name",
            help="Every trained artifact found in the artifacts directory. Your ratings are kept "
            "when you switch.",
        )
        profile_summary(ctx)
        st.divider()
        st.caption(
            "Data: [MovieLens](https://grouplens.org/datasets/movielens/) by GroupLens "
            "(F. M. Harper and J. A. Konstan, 2015), used under its licence for research and "
            "education."
        )


def show_url_warnings() -> None:
    """Problems found in the link this session was opened with, until dismissed."""
    warnings = st.session_state.get("_url_warnings") or []
    if not warnings:
        return
    with st.container():
        for w in warnings:
            st.warning(escape_markdown(w), icon=":material/warning:")
        if st.button("Dismiss", key="dismiss_url_warnings"):
            st.session_state["_url_warnings"] = []
            st.rerun()


def setup_needed_page(ctx: Ctx) -> None:
    """Shown instead of every page when no artifact can be loaded: what is wrong and the commands
    that make one. Never a traceback."""
    st.title("This app needs a trained model")
    st.write(
        "The app shows models that were trained offline and exported as *artifacts* "
        "(a directory with the item embeddings, the 2-D map and a manifest). "
        f"It looked in `{ctx.root}` (set the `{ARTIFACTS_ENV}` environment variable to look "
        "elsewhere)."
    )
    if ctx.problems:
        st.subheader("What is wrong")
        for p in ctx.problems:
            st.error(escape_markdown(p))
    else:
        st.error(escape_markdown(f"No artifact directories were found under {ctx.root}."))
    st.subheader("How to fix it")
    st.write(
        "From the project directory, download MovieLens latest-small (1 MB) from GroupLens, then "
        "train a model and export it (a few minutes on a CPU):"
    )
    st.code(SETUP_COMMANDS, language="bash")
    st.write("Then reload this page.")
