"""The pick list's minimum-ratings options, which follow the data. Plain numpy, testable
without Streamlit. (The popularity knob is the library's: ``recsys.Artifact.recommend``'s
``popularity`` and :func:`recsys.artifacts.popularity_rerank`.)"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["min_ratings_options"]


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
