"""Rate our recommendations: the visitor judges picks, the app scores two models on them.

Any pick can be marked "would watch" or "not for me" (:func:`judge_control`); the judgements live
in the session and in the link's ``j`` parameter, like the ratings, and never change the picks.
:func:`personal_precision` is the visitor's own precision@10 of a model: among that model's top
10 for the current profile, the share judged "would watch", over the ones judged at all.
:func:`precision_panel` shows it for the current model and one chosen beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

import recsys

from .artifacts import Ctx, load_named
from .text import escape_markdown
from .visitor import judgements, ratings, rerun_fragments, set_judgement, setting

TOP_N = 10  # precision@10
WOULD_WATCH, NOT_FOR_ME = "would watch", "not for me"
_LABELS = {
    WOULD_WATCH: ":material/thumb_up: would watch",
    NOT_FOR_ME: ":material/thumb_down: not for me",
}


@dataclass(frozen=True)
class Precision:
    """One model's score on the visitor's judgements: ``judged`` of its top ``n`` were judged,
    ``liked`` of those "would watch"; ``value`` = liked / judged (None when none is judged)."""

    liked: int
    judged: int
    n: int

    @property
    def value(self) -> float | None:
        return self.liked / self.judged if self.judged else None


def personal_precision(top_ids: Sequence[int], judged: Mapping[int, bool]) -> Precision:
    """Precision of a ranked list ``top_ids`` (movie ids, best first; its length is the cut-off)
    over the judged ones: ``{movieId: would_watch}``. Unjudged picks count for nothing."""
    marks = [judged[int(m)] for m in top_ids if int(m) in judged]
    return Precision(liked=sum(marks), judged=len(marks), n=len(top_ids))


def _on_judge(key: str, movie_id: int, rerun: tuple[str, ...]) -> None:
    value = st.session_state.get(key)
    set_judgement(movie_id, None if value is None else value == WOULD_WATCH)
    rerun_fragments(rerun)


def judge_control(movie_id: int, rerun: tuple[str, ...] = ()) -> None:
    """Two buttons under a pick: "would watch" / "not for me" (click again to clear); ``rerun``:
    the fragments a judgement re-runs (the picks with the precision, and the share link)."""
    key = f"judge_{int(movie_id)}"
    judged = judgements().get(int(movie_id))
    current = None if judged is None else (WOULD_WATCH if judged else NOT_FOR_ME)
    if st.session_state.get(key, "unset") != current:
        st.session_state[key] = current
    st.segmented_control(
        "Your verdict",
        options=[WOULD_WATCH, NOT_FOR_ME],
        format_func=_LABELS.get,
        key=key,
        on_change=_on_judge,
        args=(key, int(movie_id), tuple(rerun)),
        label_visibility="collapsed",
    )


def _top_ids(model: recsys.Artifact) -> list[int]:
    """The model's plain top 10 for the visitor (no filters, no popularity knob)."""
    rec = model.recommend(ratings(), k=TOP_N, explain=False)
    return [int(m) for m in rec.picks["movieId"]]


def _describe(name: str, p: Precision) -> str:
    if p.value is None:
        return f"**{escape_markdown(name)}**: none of its top {p.n} judged yet"
    return (
        f"**{escape_markdown(name)}**: precision@{TOP_N} **{p.value:.2f}** "
        f"({p.liked} would watch of {p.judged} judged; {p.judged} of its top {p.n} judged)"
    )


def precision_panel(ctx: Ctx) -> None:
    """The visitor's precision@10 for the current model and a second one, side by side."""
    judged = judgements()
    with st.expander("Rate our recommendations", icon=":material/fact_check:", expanded=False):
        st.caption(
            "Mark picks *would watch* or *not for me* (the buttons under each pick). Each "
            f"model's score is the share of *would watch* among its top {TOP_N} for your "
            "ratings (no filters), counting only the picks you judged. Judgements stay in this "
            "browser session and the link; they never change your picks."
        )
        others = [n for n in ctx.names if n != ctx.name]
        second = None
        if others:
            second = st.selectbox(
                "Compare with",
                others,
                **setting("compare", others[0], valid=lambda v: v if v in others else others[0]),
            )
        if not judged:
            st.caption("Nothing judged yet.")
            return
        cols = st.columns(2)
        cols[0].markdown(_describe(ctx.name, personal_precision(_top_ids(ctx.model), judged)))
        other = load_named(ctx, second) if second else None
        if other is not None:
            cols[1].markdown(_describe(second, personal_precision(_top_ids(other), judged)))
        elif second:
            cols[1].caption(f"{escape_markdown(second)} could not be loaded.")
        else:
            cols[1].caption("Only one model is available here.")
        st.caption(f"{len(judged)} pick(s) judged in all.")
