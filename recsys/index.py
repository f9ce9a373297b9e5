"""Retrieval: the k best items for a query vector, behind one class.

:class:`ItemIndex` wraps an item matrix and answers ``search(queries, k)`` with exact inner
products, through FAISS (``IndexFlatIP``) or a plain numpy matmul + argpartition that returns the
same ranking. ``backend="auto"`` uses FAISS, run single-threaded for a single query: one OpenMP
team for one scan of a few MB costs more in wake-ups than it saves, and on a busy machine a team
waiting for a descheduled thread turns milliseconds into tens of them (bench/serving_bench.py: at
59,047 x 64, one-thread FAISS was ~10x faster at the median than numpy's matmul + partition and
~25x faster than two-thread FAISS). Batches use every thread. Without FAISS installed, ``auto``
falls back to numpy. Any other FAISS index (an approximate HNSW one, say) can be passed in as
``faiss_index``; bench/serving_bench.py measures one that way.

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

BACKENDS = ("auto", "numpy", "faiss")
# Queries per search at or below which FAISS runs on one OpenMP thread (the flat index's small-batch
# path parallelises over queries, so a team brings nothing to a single query but its wake-up).
_SINGLE_THREAD_MAX_QUERIES = 1


def _faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


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
    """Exact maximum-inner-product search over the rows of ``vectors`` (n_items, d).

    ``faiss_index``: a FAISS index already holding ``vectors`` (read from an artifact, or any
    index type to compare against); searched instead of a new ``IndexFlatIP``.
    """

    def __init__(self, vectors: np.ndarray, backend: str = "auto", faiss_index=None):
        if backend not in BACKENDS:
            raise ConfigError(f"unknown retrieval backend {backend!r}; choose from {BACKENDS}")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.backend = backend
        self._faiss = faiss_index
        self._has_faiss: bool | None = None  # auto: checked on first search

    @property
    def n_items(self) -> int:
        return self.vectors.shape[0]

    def _faiss_index(self):
        if self._faiss is None:
            import faiss

            index = faiss.IndexFlatIP(self.vectors.shape[1])
            index.add(self.vectors)
            self._faiss = index
        return self._faiss

    @property
    def uses_numpy(self) -> bool:
        """Whether searches run in numpy (``"numpy"``, or ``"auto"`` without FAISS installed).

        The same for every batch size: only FAISS's thread count depends on it.
        """
        if self.backend == "numpy":
            return True
        if self.backend == "auto" and self._faiss is None:
            if self._has_faiss is None:
                self._has_faiss = _faiss_available()
            return not self._has_faiss
        return False

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items per query: (ids int64 (n, k), scores float32 (n, k))."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self.n_items)
        if self.uses_numpy:
            return numpy_top_k(q @ self.vectors.T, k)
        index = self._faiss_index()
        if len(q) <= _SINGLE_THREAD_MAX_QUERIES:
            import faiss

            # The OpenMP thread count is per calling thread (libgomp ICV), so concurrent app
            # sessions do not see each other's setting; restored for later batch searches.
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                scores, ids = index.search(q, k)
            finally:
                faiss.omp_set_num_threads(threads)
        else:
            scores, ids = index.search(q, k)
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
