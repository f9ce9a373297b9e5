"""ItemIndex: the backends it offers, which one a search uses, and exact numpy retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from recsys import index as index_module
from recsys.errors import ConfigError
from recsys.index import BACKENDS, ItemIndex, normalize_rows, numpy_top_k


def test_backends_are_exact_only():
    assert BACKENDS == ("auto", "numpy", "faiss")
    with pytest.raises(ConfigError, match="unknown retrieval backend 'hnsw'"):
        ItemIndex(np.eye(3), backend="hnsw")


def test_which_backend_a_search_uses(monkeypatch):
    vecs = np.eye(4, dtype=np.float32)
    assert ItemIndex(vecs, backend="numpy").uses_numpy
    assert not ItemIndex(vecs, backend="faiss").uses_numpy
    monkeypatch.setattr(index_module, "_faiss_available", lambda: False)
    assert ItemIndex(vecs, backend="auto").uses_numpy  # auto without FAISS installed
    monkeypatch.setattr(index_module, "_faiss_available", lambda: True)
    assert not ItemIndex(vecs, backend="auto").uses_numpy
    # An index handed in (read from an artifact) is used whatever is installed.
    monkeypatch.setattr(index_module, "_faiss_available", lambda: False)
    assert not ItemIndex(vecs, backend="auto", faiss_index=object()).uses_numpy


def test_numpy_search_is_the_brute_force_top_k(rng):
    vecs = rng.normal(size=(300, 8)).astype(np.float32)
    vecs[7] = vecs[3]  # an exact tie: the lower id comes first
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    queries[0] = vecs[3]
    ids, scores = ItemIndex(vecs, backend="numpy").search(queries, 12)
    assert ids.shape == scores.shape == (5, 12) and ids.dtype == np.int64
    brute = queries @ vecs.T
    for row in range(5):
        order = np.lexsort((np.arange(300), -brute[row]))[:12]
        np.testing.assert_array_equal(ids[row], order)
        np.testing.assert_allclose(scores[row], brute[row, order], rtol=1e-6)
    assert list(ids[0, :2]) == [3, 7]
    # k beyond the catalogue returns every item.
    assert ItemIndex(vecs[:4], backend="numpy").search(queries[0], 10)[0].shape == (1, 4)
    np.testing.assert_array_equal(numpy_top_k(brute, 12)[0], ids)


def test_normalize_rows_keeps_zero_rows():
    out = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32
