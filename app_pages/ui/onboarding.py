"""Onboarding that asks little: one-click groups of movies and a grid of well-known movies.

:func:`onboarding_groups` (seeded k-means on the normalised embeddings of the most-rated movies,
each group labelled by its over-represented genres) and :func:`map_grid` (well-known movies
spread over the 2-D map).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["kmeans", "Group", "onboarding_groups", "map_grid"]


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


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _most_rated(items: pd.DataFrame, n: int) -> np.ndarray:
    """Codes of the ``n`` most-rated movies (ties by lower code)."""
    counts = items["n_ratings"].to_numpy(np.float64)
    order = np.lexsort((np.arange(len(counts)), -counts))
    return order[: min(n, len(counts))]


# Tags that describe a format, not a taste: never used to name an onboarding group.
_NOT_GENRES = {"IMAX", "(no genres listed)"}


def _dominant_genres(items: pd.DataFrame, codes: np.ndarray, reference: np.ndarray, top: int = 2):
    """Genres over-represented in ``codes`` relative to ``reference`` (by count x lift)."""
    genres = items["genres"].to_numpy()
    inside = pd.Series(
        [g for c in codes for g in genres[c] if g not in _NOT_GENRES], dtype=object
    ).value_counts()
    base = pd.Series([g for c in reference for g in genres[c]], dtype=object).value_counts()
    if inside.empty:
        return []
    share = inside / max(len(codes), 1)
    lift = share / (base.reindex(inside.index).fillna(0) / max(len(reference), 1)).clip(lower=1e-9)
    score = share * lift
    keep = score[share >= 0.25] if (share >= 0.25).any() else score
    order = sorted(keep.index, key=lambda g: (-keep[g], g))
    return list(order[:top])


@dataclass(frozen=True)
class Group:
    """One onboarding group: a region of the embedding space shown by its best-known titles.

    ``codes``/``movie_ids``/``titles``: the shown movies, most-rated first (what one click rates);
    ``label``: its dominant genres; ``size``: how many pool movies fell in the group.
    """

    codes: tuple[int, ...]
    movie_ids: tuple[int, ...]
    titles: tuple[str, ...]
    label: str
    size: int


def onboarding_groups(
    items: pd.DataFrame,
    embeddings: np.ndarray,
    n_groups: int = 6,
    pool: int = 500,
    per_group: int = 5,
    seed: int = 0,
) -> list[Group]:
    """Groups of well-known movies from different regions of the embedding space.

    k-means (seeded) on the L2-normalised embeddings of the ``pool`` most-rated movies, so groups
    differ in *direction* (what cosine similarity sees); each group shows its ``per_group``
    most-rated members and is labelled by its over-represented genres. Groups come ordered by the
    popularity of their best-known movie.
    """
    pool_codes = _most_rated(items, pool)
    if len(pool_codes) == 0:
        return []
    x = _normalize_rows(np.asarray(embeddings)[pool_codes])
    labels, _ = kmeans(x, n_groups, seed=seed)
    counts = items["n_ratings"].to_numpy()
    titles = items["title"].to_numpy()
    ids = items["movieId"].to_numpy()
    groups = []
    used: set[str] = set()
    for j in np.unique(labels):
        members = pool_codes[labels == j]
        members = members[np.lexsort((members, -counts[members]))]
        shown = members[:per_group]
        ranked = _dominant_genres(items, members, pool_codes, top=4)
        label = " · ".join(ranked[:2]) or "Mixed"
        if label in used and len(ranked) > 2:  # two groups named alike: say how they differ
            label = " · ".join(ranked[:3])
        used.add(label)
        groups.append(
            Group(
                codes=tuple(int(c) for c in shown),
                movie_ids=tuple(int(ids[c]) for c in shown),
                titles=tuple(str(titles[c]) for c in shown),
                label=label,
                size=int(len(members)),
            )
        )
    groups.sort(key=lambda g: (-counts[g.codes[0]], g.codes[0]))
    return groups


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
