"""The 2-D map: PCA preview, the fitted core and the placement of the rest."""

from __future__ import annotations

import numpy as np

from recsys.projection import pca_2d, place_rest, project_items, spread_duplicates


def test_pca_is_deterministic_and_sign_stable(rng):
    x = rng.normal(size=(200, 8)).astype(np.float32)
    a, b = pca_2d(x), pca_2d(x.copy())
    np.testing.assert_array_equal(a, b)
    assert a.shape == (200, 2) and a.dtype == np.float32


def test_place_rest_uses_nearest_core_items_and_group_centres():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 0.01], [0, 0]], np.float32)
    core = np.array([True, True, True, True, False, False])
    core_xy = np.array([[0, 0], [1, 0], [10, 10], [11, 10]], np.float32)
    groups = np.array(["a", "a", "b", "b", "a", "b"], dtype=object)
    xy = place_rest(emb, core, core_xy, groups, k=2)
    np.testing.assert_allclose(xy[:4], core_xy)
    # Its two nearest core items are 0 and 1, weighted by cosine similarity.
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    s0, s1 = cos(emb[4], emb[0]) + 1e-6, cos(emb[4], emb[1]) + 1e-6
    np.testing.assert_allclose(xy[4], [s1 / (s0 + s1), 0.0], rtol=1e-5)
    np.testing.assert_allclose(xy[5], [10.5, 10.0])  # zero vector: centre of group "b"


def test_spread_duplicates_gives_every_point_its_own_place():
    xy = np.array([[0, 0], [5, 5], [0, 0], [0, 0], [10, 10], [5, 5]], np.float32)
    out = spread_duplicates(xy, radius=0.01)
    assert len(np.unique(out, axis=0)) == len(xy)
    np.testing.assert_array_equal(out[[0, 1, 4]], xy[[0, 1, 4]])  # each stack's first stays
    moved = np.linalg.norm(out - xy, axis=1)
    step = 0.01 * 10  # radius times the map's larger side
    np.testing.assert_allclose(moved[[2, 3, 5]], step * np.sqrt([1, 2, 1]), rtol=1e-5)
    np.testing.assert_array_equal(spread_duplicates(xy, radius=0.01), out)  # deterministic


def test_spread_duplicates_takes_an_absolute_spacing():
    xy = np.array([[0, 0], [5, 5], [0, 0], [0, 0], [10, 10], [5, 5]], np.float32)
    out = spread_duplicates(xy, radius=0.5, spacing=0.2)  # spacing wins over radius
    np.testing.assert_array_equal(out[[0, 1, 4]], xy[[0, 1, 4]])
    moved = np.linalg.norm(out - xy, axis=1)
    np.testing.assert_allclose(moved[[2, 3, 5]], 0.2 * np.sqrt([1, 2, 1]), rtol=1e-5)


def test_project_items_fits_on_well_rated_items_only(rng):
    emb = rng.normal(size=(120, 6)).astype(np.float32)
    emb[100:] = 0.0  # never-positive items have zero vectors
    counts = np.r_[np.full(80, 50), np.full(40, 1)]
    xy, info = project_items(emb, "pca", counts=counts, min_count=5)
    assert xy.shape == (120, 2) and np.isfinite(xy).all()
    assert info["fitted_on"] == 80 and info["placed_by_nearest_fitted"] == 40
    np.testing.assert_allclose(xy[:80], pca_2d(emb[:80]), atol=1e-6)
