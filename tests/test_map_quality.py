"""Map quality: trustworthiness and k-NN genre agreement, by hand and against a slow reference."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.errors import ConfigError
from recsys.map_quality import (
    knn_genre_agreement,
    map_qualities,
    map_quality,
    random_pair_genre_agreement,
    trustworthiness,
)


def slow_trustworthiness(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Venna & Kaski's definition written out loop by loop (cosine in x, Euclidean in y)."""
    n = len(x)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    total = 0.0
    for i in range(n):
        full = [j for j in np.argsort(-(unit @ unit[i]), kind="stable") if j != i]
        rank = {j: r + 1 for r, j in enumerate(full)}
        on_map = [j for j in np.argsort(np.linalg.norm(y - y[i], axis=1), kind="stable") if j != i]
        for j in on_map[:k]:
            if j not in full[:k]:
                total += rank[j] - k
    return 1.0 - 2.0 / (n * k * (2 * n - 3 * k - 1)) * total


def test_trustworthiness_matches_the_definition(rng):
    x = rng.normal(size=(40, 6))
    y = x[:, :2] + 0.5 * rng.normal(size=(40, 2))
    assert trustworthiness(x, y, 4) == pytest.approx(slow_trustworthiness(x, y, 4), rel=1e-9)


def test_a_faithful_map_scores_one_and_a_shuffled_map_less(rng):
    angles = np.sort(rng.uniform(0, 2 * np.pi, 60))
    x = np.c_[np.cos(angles), np.sin(angles)]  # points on a circle: cosine = angle distance
    assert trustworthiness(x, x, 5) == pytest.approx(1.0)
    assert trustworthiness(x, rng.permutation(x), 5) < 0.8


def test_genre_agreement_by_hand():
    # Items 0,1 are Comedy and close; 2,3 Drama and close; the pairs far apart.
    xy = np.array([[0, 0], [0, 1], [10, 0], [10, 1]], np.float64)
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    genres = [["Comedy"], ["Comedy", "Romance"], ["Drama"], ["Drama"]]
    assert knn_genre_agreement(d, genres, k=1) == 1.0
    assert knn_genre_agreement(d, genres, k=2) == pytest.approx(0.5)  # 2nd neighbour: other pair
    # Pairs sharing a genre: (0,1) and (2,3) of 6 unordered pairs.
    assert random_pair_genre_agreement(genres) == pytest.approx(2 / 6)


def test_map_quality_block_uses_well_rated_items_only(rng):
    emb = rng.normal(size=(80, 8)).astype(np.float32)
    coords = emb[:, :2].copy()
    genres = [["A"] if e[0] > 0 else ["B"] for e in emb]
    counts = np.r_[np.full(60, 30), np.full(20, 2)]
    q = map_quality(emb, coords, genres, counts, min_count=20, k=5)
    assert q["on"] == {"min_ratings": 20, "n_items": 60, "k": 5}
    agree = q["genre_agreement@5"]
    assert agree["map"] > agree["random_pairs"] and 0 < q["trustworthiness@5"] <= 1
    with pytest.raises(ConfigError, match="at least 12 items"):
        map_quality(emb, coords, genres, counts, min_count=1000, k=5)


def test_map_qualities_equal_one_map_quality_per_map(rng):
    emb = rng.normal(size=(80, 8)).astype(np.float32)
    maps = {"umap": emb[:, :2].copy(), "pca": rng.normal(size=(80, 2))}
    genres = [["A"] if e[0] > 0 else ["B", "C"] for e in emb]
    counts = np.r_[np.full(60, 30), np.full(20, 2)]
    got = map_qualities(emb, maps, genres, counts, min_count=20, k=5)
    assert list(got) == ["umap", "pca"]
    for name, xy in maps.items():
        assert got[name] == map_quality(emb, xy, genres, counts, min_count=20, k=5)
    assert got["umap"]["trustworthiness@5"] == round(trustworthiness(emb[:60], maps["umap"][:60], 5), 4)
