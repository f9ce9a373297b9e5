"""The pick list's knobs: popularity re-ranking and minimum-ratings options that follow the data.

Plain numpy, testable without Streamlit.

The popularity knob re-ranks the model's best :data:`POOL` candidates (after the filters), not the
whole catalogue: standardised over ten thousand movies, the top scores are outliers that no
popularity term can move (at -1, 9 of 10 picks stayed), while over the best 50 a knob of -1 or +1
changes most of the list. With :data:`KNOB_WEIGHT` 1.5 the two ends share at most 3 of their top
10 for the quick-start profiles of the committed models (a test checks at most half).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from recsys import Recommendations

__all__ = ["POOL", "KNOB_WEIGHT", "popularity_rerank", "recommend_with_knob", "min_ratings_options"]

POOL = 50  # candidates the knob re-ranks: the model's best, after the filters
KNOB_WEIGHT = 1.5  # popularity's weight at |knob| = 1, in standard deviations of the score


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def popularity_rerank(scores: np.ndarray, n_ratings: np.ndarray, knob: float) -> np.ndarray:
    """Order (positions, best first) of candidates under the popularity knob.

    ``rank = z(score) + KNOB_WEIGHT * knob * z(log(1 + n_ratings))``, ``z`` standardising over the
    given candidates (shape (n,) each); ``knob`` in [-1, 1]: positive favours mainstream movies,
    negative niche ones, 0 keeps the score order. Ties keep the given order.
    """
    scores = np.asarray(scores, np.float64)
    rank = _z(scores)
    if knob != 0 and len(scores) > 1:
        rank = rank + KNOB_WEIGHT * float(knob) * _z(np.log1p(np.asarray(n_ratings, np.float64)))
    return np.lexsort((np.arange(len(rank)), -rank))


def recommend_with_knob(
    model, ratings: Mapping[int, float], k: int = 10, knob: float = 0.0, **filters
) -> Recommendations:
    """Top-``k`` picks of ``model`` (a ``recsys.Artifact``) for ``ratings`` under ``filters``
    (``recommend``'s genres, years, min_ratings), re-ranked by the popularity ``knob``: by score
    when it is 0, else the best :data:`POOL` by score ordered by :func:`popularity_rerank`."""
    rec = model.recommend(ratings, k=max(k, POOL) if knob else k, **filters)
    df = rec.picks
    if not knob or df.empty:
        return rec
    order = popularity_rerank(df["score"].to_numpy(), df["n_ratings"].to_numpy(), knob)[:k]
    return dataclasses.replace(rec, picks=df.iloc[order].reset_index(drop=True))


def _nice_floor(x: float) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... not above ``x`` (0 below 1)."""
    if x < 1:
        return 0
    power = 10 ** int(np.floor(np.log10(x)))
    return int(max(m * power for m in (1, 2, 5) if m * power <= x))


def min_ratings_options(
    n_ratings: Sequence[int], quantiles: Sequence[float] = (0.5, 0.75, 0.9, 0.95, 0.99)
) -> list[int]:
    """Options of the "at least this many ratings" filter: 0, then the catalogue's ``quantiles``
    of ratings per movie rounded down to 1-2-5 steps (each option keeps roughly 50 %, 25 %,
    10 %, 5 % and 1 % of the movies); never above the most-rated movie's count, so no option
    empties the list."""
    counts = np.asarray(n_ratings, np.float64)
    if len(counts) == 0:
        return [0]
    top = counts.max()
    values = {_nice_floor(float(np.quantile(counts, q))) for q in quantiles}
    return [0] + sorted(v for v in values if 0 < v <= top)
