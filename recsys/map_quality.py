"""How faithful the 2-D map is to the embedding space: measured at export, shown in the report.

Two numbers, both on a chosen subset of items (movies with enough ratings, whose vectors mean
something):

- **Trustworthiness@k** (Venna & Kaski 2001): are the map's k nearest neighbours of a movie also
  near it in the full space? 1 means every map neighbour is a true neighbour; a random map of
  many points scores about 0.5. Neighbours in the full space are by cosine, as the app's
  "similar movies" are.
- **k-NN genre agreement**: the share of a movie's k nearest neighbours that have at least one
  genre in common with it, measured on the map, in the full space, and for random pairs (the
  level a structureless map would reach). A map that keeps the space's genre structure scores
  close to the full space.

Everything is numpy; sizes here are a few thousand items, so (n, n) matrices are fine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .errors import ConfigError
from .index import normalize_rows

__all__ = [
    "trustworthiness",
    "knn_genre_agreement",
    "random_pair_genre_agreement",
    "map_quality",
    "map_qualities",
]


def _knn(distances: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k smallest distances, itself excluded, nearest first."""
    d = distances.astype(np.float64, copy=True)
    np.fill_diagonal(d, np.inf)
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _cosine_distances(x: np.ndarray) -> np.ndarray:
    unit = normalize_rows(np.asarray(x, dtype=np.float32)).astype(np.float64)
    return 1.0 - unit @ unit.T


def _euclidean_distances(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=np.float64)
    sq = (xy**2).sum(axis=1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * xy @ xy.T, 0.0))


def _check(n: int, k: int) -> None:
    if n < 2 * k + 2:
        raise ConfigError(f"map quality needs at least {2 * k + 2} items for k={k}, got {n}")


def trustworthiness(embeddings: np.ndarray, coords: np.ndarray, k: int = 10) -> float:
    """Trustworthiness@k of ``coords`` (n, 2) as a map of ``embeddings`` (n, d), cosine in the
    full space and Euclidean on the map.

    T = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i} (r(i, j) - k), where U_i are the map's
    k nearest neighbours of i that are not among its k nearest in the full space and r(i, j) is
    j's rank (1 = nearest) among i's neighbours in the full space.
    """
    _check(len(embeddings), k)
    return _trustworthiness(_full_space_ranks(_cosine_distances(embeddings)), coords, k)


def _full_space_ranks(full: np.ndarray) -> np.ndarray:
    """(n, n) rank[i, j]: position of j in row i's order by the distances ``full`` (0 = i
    itself, 1 = nearest). Overwrites ``full``'s diagonal."""
    n = len(full)
    np.fill_diagonal(full, -np.inf)  # i itself has rank 0
    order = np.argsort(full, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(n)[None, :]
    return rank


def _trustworthiness(rank: np.ndarray, coords: np.ndarray, k: int) -> float:
    """Trustworthiness@k of ``coords`` given the full space's :func:`_full_space_ranks`."""
    n = len(rank)
    map_nn = _knn(_euclidean_distances(coords), k)
    penalty = np.maximum(np.take_along_axis(rank, map_nn, axis=1) - k, 0)
    return float(1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty.sum())


def _genre_matrix(genres: Sequence[Sequence[str]]) -> np.ndarray:
    """(n, n_genres) 0/1 matrix of each item's genres."""
    vocab = sorted({g for gs in genres for g in gs})
    index = {g: i for i, g in enumerate(vocab)}
    m = np.zeros((len(genres), max(len(vocab), 1)), np.float32)
    for row, gs in enumerate(genres):
        for g in gs:
            m[row, index[g]] = 1.0
    return m


def knn_genre_agreement(distances: np.ndarray, genres: Sequence[Sequence[str]], k: int = 10) -> float:
    """Mean over items of the share of their k nearest neighbours (by ``distances``, (n, n))
    that share at least one genre with them."""
    g = _genre_matrix(genres)
    nn = _knn(distances, k)
    shared = np.einsum("ig,ikg->ik", g, g[nn]) > 0
    return float(shared.mean())


def random_pair_genre_agreement(genres: Sequence[Sequence[str]]) -> float:
    """The share of all pairs of distinct items that share at least one genre: what k-NN genre
    agreement would be on a map without structure."""
    g = _genre_matrix(genres)
    shared = (g @ g.T) > 0
    n = len(g)
    return float((shared.sum() - np.trace(shared)) / (n * (n - 1)))


def map_quality(
    embeddings: np.ndarray,
    coords: np.ndarray,
    genres: Sequence[Sequence[str]],
    counts: np.ndarray,
    *,
    min_count: int = 20,
    k: int = 10,
) -> dict:
    """The manifest's ``map_quality`` block, on the items with at least ``min_count`` ratings and
    a non-zero vector.

    Returns ``{"on": {...}, "trustworthiness@k": t, "genre_agreement@k": {"map", "full_space",
    "random_pairs"}}``.
    """
    maps = {"map": coords}
    return map_qualities(embeddings, maps, genres, counts, min_count=min_count, k=k)["map"]


def map_qualities(
    embeddings: np.ndarray,
    maps: Mapping[str, np.ndarray],
    genres: Sequence[Sequence[str]],
    counts: np.ndarray,
    *,
    min_count: int = 20,
    k: int = 10,
) -> dict[str, dict]:
    """:func:`map_quality` of several maps (name -> (n_items, 2) coords) of the same embeddings:
    the full-space part (neighbour ranks, genre agreement, random pairs) is computed once.

    Returns ``{name: map_quality block}`` in the order of ``maps``.
    """
    keep = (np.asarray(counts) >= min_count) & (np.linalg.norm(embeddings, axis=1) > 0)
    idx = np.flatnonzero(keep)
    _check(len(idx), k)
    emb = np.asarray(embeddings)[idx]
    sub_genres = [list(genres[i]) for i in idx]
    full = _cosine_distances(emb)
    full_space = round(knn_genre_agreement(full, sub_genres, k), 4)
    random_pairs = round(random_pair_genre_agreement(sub_genres), 4)
    rank = _full_space_ranks(full)  # overwrites full's diagonal: after its genre agreement
    out = {}
    for name, coords in maps.items():
        xy = np.asarray(coords)[idx]
        out[name] = {
            "on": {"min_ratings": int(min_count), "n_items": int(len(idx)), "k": int(k)},
            f"trustworthiness@{k}": round(_trustworthiness(rank, xy, k), 4),
            f"genre_agreement@{k}": {
                "map": round(knn_genre_agreement(_euclidean_distances(xy), sub_genres, k), 4),
                "full_space": full_space,
                "random_pairs": random_pairs,
            },
        }
    return out
