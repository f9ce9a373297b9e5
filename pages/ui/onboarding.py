"""Onboarding that asks little: a grid of well-known movies spread over the map.

:func:`map_grid` (well-known movies spread over the 2-D map, by seeded k-means). The one-click
taste groups are the library's (:mod:`recsys.onboarding`), since the evaluation measures them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["kmeans", "map_grid"]


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means (k-means++ start, Lloyd iterations) on the rows of ``x``.

    Returns ``(labels (n,), centres (k, d))``; ``k`` is capped at the number of rows. The same
    ``x``, ``k`` and ``seed`` always give the same result.
    """
    x = np.asarray(x, np.float64)
    n = len(x)
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    first = int(rng.integers(n))
    centres = [x[first]]
    d2 = ((x - x[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = d2.sum()
        i = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres.append(x[i])
        d2 = np.minimum(d2, ((x - x[i]) ** 2).sum(axis=1))
    c = np.array(centres)
    sq = (x**2).sum(axis=1)[:, None]
    labels = np.zeros(n, np.int64)
    for _ in range(n_iter):
        dist = sq - 2.0 * x @ c.T + (c**2).sum(axis=1)[None, :]
        labels = dist.argmin(axis=1)
        new = c.copy()
        for j in range(k):
            members = labels == j
            if members.any():
                new[j] = x[members].mean(axis=0)
        if np.allclose(new, c):
            break
        c = new
    return labels, c


def _most_rated(items: pd.DataFrame, n: int) -> np.ndarray:
    """Codes of the ``n`` most-rated movies (ties by lower code)."""
    counts = items["n_ratings"].to_numpy(np.float64)
    order = np.lexsort((np.arange(len(counts)), -counts))
    return order[: min(n, len(counts))]


def map_grid(
    items: pd.DataFrame,
    projection: np.ndarray,
    n: int = 20,
    pool: int = 1000,
    seed: int = 0,
    exclude: Iterable[int] = (),
) -> np.ndarray:
    """Codes of ``n`` well-known movies that cover the 2-D map (not just the top ``n``).

    The ``pool`` most-rated movies (minus the codes in ``exclude``) are split into ``n`` regions
    by k-means on their map coordinates (seeded); each region contributes its most-rated movie
    with ``seed == 0``, or one of its three most-rated (drawn by popularity) with any other seed,
    so a refresh shows other titles from all over the map. Most-rated first.
    """
    excluded = {int(c) for c in exclude}
    pool_codes = np.array(
        [c for c in _most_rated(items, pool + len(excluded)) if c not in excluded]
    )
    pool_codes = pool_codes[:pool].astype(np.int64)
    if len(pool_codes) == 0:
        return pool_codes
    labels, _ = kmeans(np.asarray(projection, np.float64)[pool_codes], n, seed=seed)
    counts = items["n_ratings"].to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    chosen = []
    for j in np.unique(labels):
        members = pool_codes[labels == j]
        members = members[np.lexsort((members, -counts[members]))]
        if seed == 0 or len(members) == 1:
            chosen.append(members[0])
        else:
            top = members[:3]
            w = np.log1p(counts[top]) + 1e-9
            chosen.append(top[rng.choice(len(top), p=w / w.sum())])
    out = np.array(chosen, np.int64)
    return out[np.lexsort((out, -counts[out]))]
