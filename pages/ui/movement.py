"""'Watch your vector move': after each rating, how far the visitor's vector turned and which
picks entered and left the top 10.

Pure helpers (:func:`angle_degrees`, :func:`entered_left`, :func:`movement_line`) do the work;
:func:`vector_moved` keeps the previous state in the session and draws one line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

import recsys

from .artifacts import Ctx
from .text import escape_markdown
from .visitor import ratings
from .widgets import title_of

__all__ = ["TOP", "angle_degrees", "entered_left", "movement_line", "vector_moved"]

TOP = 10  # picks compared before and after a rating
STATE = "_movement::"  # session key prefix, per model: the last profile, vector and top picks


def angle_degrees(before: np.ndarray | None, after: np.ndarray | None) -> float | None:
    """Angle between two user vectors (d,) in degrees, 0 to 180; None when either is missing
    (no vector yet, a model without user vectors) or has zero length."""
    if before is None or after is None:
        return None
    a, b = np.asarray(before, np.float64), np.asarray(after, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return None
    # 2 atan2(|u - v|, |u + v|) for unit u, v: the same angle as arccos(u . v), but accurate
    # near 0 and 180 degrees, where arccos loses half the digits.
    u, v = a / na, b / nb
    return float(np.degrees(2 * np.arctan2(np.linalg.norm(u - v), np.linalg.norm(u + v))))


def entered_left(before: Sequence[int], after: Sequence[int]) -> tuple[list[int], list[int]]:
    """Ids in ``after`` but not ``before`` (entered, in ``after``'s order) and in ``before`` but
    not ``after`` (left, in ``before``'s order)."""
    old, new = set(before), set(after)
    return [m for m in after if m not in old], [m for m in before if m not in new]


def movement_line(
    angle: float | None,
    entered: Sequence[int],
    left: Sequence[int],
    titles: Mapping[int, str],
    top: int = TOP,
) -> str:
    """One Markdown line: ``"Your vector turned **12.3°**. Entered your top 10: A, B. Left: C."``
    (titles escaped; at most three of each named, then "and N more")."""

    def names(ids: Sequence[int]) -> str:
        shown = ", ".join(f"*{escape_markdown(titles.get(m, f'movie {m}'))}*" for m in ids[:3])
        return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")

    if angle is None:
        head = "Your picks changed." if entered else "Your picks did not change."
    elif angle < 0.05:
        head = "Your vector did not turn (its direction is the same)."
    else:
        head = f"Your vector turned **{angle:.1f}°**."
    parts = [head]
    if entered:
        parts.append(f"Entered your top {top}: {names(entered)}.")
        parts.append(f"Left: {names(left)}." if left else "")
    elif angle is not None:
        parts.append(f"Same top {top}.")
    return " ".join(p for p in parts if p)


def vector_moved(ctx: Ctx, rec: recsys.Recommendations) -> None:
    """After a rating changed, say how the user vector turned and how the top picks changed.

    The session keeps, per model, the profile, vector and top picks the last line was computed
    from; a run whose profile differs from it computes a new line (and keeps it until the next
    change), so the line answers "what did my last rating do"."""
    key = STATE + str(ctx.name)
    now = dict(ratings())
    vector = ctx.model.fold_in(now) if now else None
    top = [int(m) for m in rec.picks["movieId"].head(TOP)]
    last = st.session_state.get(key)
    if last is None or last["ratings"] != now:
        line = None
        if last is not None:
            entered, left = entered_left(last["top"], top)
            titles = dict(zip(rec.picks["movieId"].astype(int), rec.picks["title"]))
            for m in left:  # titles of picks that left are not in this run's picks
                titles[m] = title_of(ctx.model, m)
            line = movement_line(angle_degrees(last["vector"], vector), entered, left, titles)
    else:
        line = last["line"]
    # Always the list on screen now, so a filter change between two ratings is not counted.
    st.session_state[key] = {"ratings": now, "vector": vector, "top": top, "line": line}
    if line:
        st.markdown(line)
