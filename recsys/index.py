"""Retrieval: the k best items for a query vector, behind one class.

:class:`ItemIndex` wraps an item matrix and answers ``search(queries, k)`` with exact inner
products, through FAISS (``IndexFlatIP``) or a plain numpy matmul + argpartition that returns the
same ranking. ``backend="auto"`` picks numpy for single queries on catalogues whose matrix fits in
cache (FAISS's thread start-up costs more than the scan there) and FAISS for batches. An
approximate HNSW index is available for large catalogues (``backend="hnsw"``).

Cosine neighbours ("similar movies") are inner products of L2-normalised rows:
:func:`normalize_rows`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import ArtifactError, ConfigError
from .metrics import top_k

__all__ = ["ItemIndex", "normalize_rows", "numpy_top_k", "BACKENDS"]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "numpy", "faiss", "hnsw")
# Below this many float32 values (n_items * d) a single query goes through numpy: the matrix stays
# in cache and a matmul beats FAISS's per-call thread start-up (bench/serving.py measures both).
_NUMPY_MAX_VALUES = 8_000_000


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def numpy_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of each row of ``scores`` (n_queries, n_items), best first; ties by lower id.

    Returns (ids int64 (n, k), scores float32 (n, k)).
    """
    scores = np.atleast_2d(scores)
    ids = top_k(scores, k)
    return ids, np.take_along_axis(scores, ids, axis=1).astype(np.float32)


class ItemIndex:
    """Exact (or HNSW) maximum-inner-product search over the rows of ``vectors`` (n_items, d)."""

    def __init__(self, vectors: np.ndarray, backend: str = "auto", faiss_index=None):
        if backend not in BACKENDS:
            raise ConfigError(f"unknown retrieval backend {backend!r}; choose from {BACKENDS}")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.backend = backend
        self._faiss = faiss_index

    @property
    def n_items(self) -> int:
        return self.vectors.shape[0]

    def _faiss_index(self):
        if self._faiss is None:
            import faiss

            d = self.vectors.shape[1]
            if self.backend == "hnsw":
                index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efSearch = 128
            else:
                index = faiss.IndexFlatIP(d)
            index.add(self.vectors)
            self._faiss = index
        return self._faiss

    def _use_numpy(self, n_queries: int) -> bool:
        if self.backend == "numpy":
            return True
        if self.backend == "auto":
            return n_queries == 1 and self.vectors.size <= _NUMPY_MAX_VALUES
        return False

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items per query: (ids int64 (n, k), scores float32 (n, k))."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self.n_items)
        if self._use_numpy(len(q)):
            return numpy_top_k(q @ self.vectors.T, k)
        scores, ids = self._faiss_index().search(q, k)
        return ids.astype(np.int64), scores.astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the FAISS index (``faiss.write_index``)."""
        import faiss

        faiss.write_index(self._faiss_index(), str(path))

    @classmethod
    def load(cls, path: str | Path, vectors: np.ndarray, backend: str = "auto") -> ItemIndex:
        """Read a FAISS index written by :meth:`save`; call only on a verified artifact file."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise ArtifactError(f"{path}: not a readable FAISS index ({exc})") from exc
        if index.ntotal != len(vectors) or index.d != vectors.shape[1]:
            raise ArtifactError(
                f"{path}: index holds {index.ntotal} vectors of dimension {index.d}, expected "
                f"{len(vectors)} of dimension {vectors.shape[1]}"
            )
        return cls(vectors, backend=backend, faiss_index=index)
