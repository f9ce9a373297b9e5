"""'Why this pick?': the exact split of a pick's score over the visitor's ratings, and what the
pick's rank would be without any one rating (``recsys.Artifact.explain``).

The pure helpers (:func:`bar_table`, :func:`what_if_line`) build what is drawn; :func:`why_this_pick`
draws it on the landing page. Nothing here changes the visitor's profile.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import recsys

from .artifacts import Ctx, load_model
from .text import escape_markdown
from .visitor import pick_settings, ratings

__all__ = ["bar_table", "what_if_line", "why_this_pick", "PICK_KEY", "WHAT_IF_KEY"]

PICK_KEY = "explain_pick"  # session key of the selectbox: which pick is explained
WHAT_IF_KEY = "explain_remove"  # which rating "what if I remove this rating" leaves out
MAX_LABEL = 26  # characters of a title on the bar chart's axis: the bars need the width


def _short(title: str) -> str:
    return title if len(title) <= MAX_LABEL else title[: MAX_LABEL - 1] + "…"


def bar_table(ex: recsys.Explanation) -> pd.DataFrame:
    """One row per bar: label, value, kind ("raises" / "lowers" / "no term" for rated movies,
    "other term" for non-zero extras such as the item bias), largest absolute value first; the
    values sum to the score when ``ex.exact``."""

    def kind(value: float) -> str:
        return "raises" if value > 0 else "lowers" if value < 0 else "no term"

    rows = [
        {
            "label": f"{_short(str(r.title))} ({r.rating:g}★)",
            "value": float(r.contribution),
            "kind": kind(r.contribution),
        }
        for r in ex.terms.itertuples()
    ]
    rows += [
        {"label": name, "value": float(v), "kind": "other term"}
        for name, v in ex.extras.items()
        if v != 0  # e.g. iALS's item bias: a zero bar says nothing
    ]
    df = pd.DataFrame(rows, columns=["label", "value", "kind"])
    return df.reindex(df["value"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def what_if_line(ex: recsys.Explanation, movie_id: int) -> str:
    """``"Without your rating of X: rank 3 → 7 (score 0.812 → 0.455)."`` (Markdown-safe)."""
    row = ex.terms.loc[ex.terms["movieId"] == int(movie_id)].iloc[0]
    title = escape_markdown(str(row["title"]))
    now = f"rank {ex.rank}" if ex.rank is not None else "not rankable"
    new_rank = row["rank_without"]
    after = "not rankable" if pd.isna(new_rank) else f"rank {int(new_rank)}"
    move = ""
    if ex.rank is not None and not pd.isna(new_rank):
        delta = int(new_rank) - ex.rank
        move = " (no change)" if delta == 0 else f" ({'down' if delta > 0 else 'up'} {abs(delta)})"
    return (
        f"Without your rating of *{title}* ({row['rating']:g}★): **{now} → {after}**{move}, "
        f"score {ex.score:.3f} → {float(row['score_without']):.3f}."
    )


@st.cache_data(max_entries=64, show_spinner=False)
def explanation(
    path: str,
    stamp: str,
    profile: tuple[tuple[int, float], ...],
    movie_id: int,
    genres: tuple[str, ...],
    years: tuple[int, int] | None,
    min_ratings: int,
) -> recsys.Explanation:
    """``Artifact.explain`` for one pick, cached: it re-solves the vector once per rating (a
    quarter of a second for 50 ratings on iALS), and every rerun of the page would repeat it."""
    return load_model(path, stamp).explain(
        dict(profile), movie_id, genres=list(genres) or None, years=years, min_ratings=min_ratings
    )


def _figure(table: pd.DataFrame, score: float):
    import plotly.graph_objects as go

    colours = {
        "raises": "#2e7d32",
        "lowers": "#c62828",
        "no term": "#9e9e9e",
        "other term": "#607d8b",
    }
    fig = go.Figure(
        go.Bar(
            x=table["value"],
            y=table["label"],
            orientation="h",
            marker_color=[colours[k] for k in table["kind"]],
            text=[f"{v:+.3f}" for v in table["value"]],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
            name="term",
        )
    )
    fig.update_layout(
        height=max(160, 28 * len(table) + 60),
        margin={"l": 0, "r": 10, "t": 10, "b": 0},
        yaxis={"autorange": "reversed"},
        xaxis_title=f"share of the score {score:.3f}",
        showlegend=False,
    )
    return fig


def why_this_pick(ctx: Ctx, rec: recsys.Recommendations) -> None:
    """The "Why this pick?" expander under the picks: choose a pick, see one bar per rated movie
    (its exact term of the score) and the pick's rank without any one rating."""
    df = rec.picks
    rated = ratings()
    if df.empty or not rated or rec.fallback:
        return
    ids = [int(m) for m in df["movieId"]]
    labels = {m: f"{i}. {t}" for i, (m, t) in enumerate(zip(ids, df["title"]), start=1)}
    with (
        st.container(key="why_this_pick"),
        st.expander("Why this pick?", icon=":material/bar_chart:"),
    ):
        if st.session_state.get(PICK_KEY) not in ids:
            st.session_state[PICK_KEY] = ids[0]
        movie_id = st.selectbox("Pick", ids, format_func=labels.get, key=PICK_KEY)
        s = pick_settings(ctx)
        years = tuple(int(y) for y in s.years) if s.years else None
        ex = explanation(
            ctx.path, ctx.stamp, tuple(rated.items()), int(movie_id), s.genres, years, s.min_ratings
        )
        if ex.exact:
            st.caption(
                f"Score **{ex.score:.3f}** = the sum of these bars: one per movie you rated "
                "(green raises it, red lowers it, grey: no term) and the terms that belong to no "
                "rating. A rating below the threshold moves your vector through the matrix $A$, "
                "not as a term: its effect shows in the what-if below."
            )
        else:
            st.caption(
                f"Score **{ex.score:.3f}**. This model's score is not a sum over your ratings, so "
                "each bar is an approximation: how much the score drops when that one rating is "
                "left out (they need not add up to the score)."
            )
        st.plotly_chart(
            _figure(bar_table(ex), ex.score),
            key="explain_chart",
            config={"displayModeBar": False},
        )
        rated_ids = [int(m) for m in ex.terms["movieId"]]
        if st.session_state.get(WHAT_IF_KEY) not in rated_ids:
            st.session_state[WHAT_IF_KEY] = rated_ids[0]
        titles = dict(zip(rated_ids, ex.terms["title"]))
        gone = st.selectbox(
            "What if I remove this rating?",
            rated_ids,
            format_func=lambda m: str(titles[m]),
            key=WHAT_IF_KEY,
            help="Re-solves your vector without that one rating; your ratings stay as they are.",
        )
        st.markdown(what_if_line(ex, gone))
        if s.popularity:
            st.caption("Ranks are by score; the popularity knob is not applied to them.")
