"""Item-kNN: cosine item-item similarity with shrinkage, pruned to each item's nearest neighbours.

On the binary user-item matrix ``X`` (n_users, n_items) with item columns ``x_i``::

    sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrink)        (i != j; sim(i, i) is not kept)

Row ``i`` of the weight matrix ``W`` keeps item ``i``'s ``neighbors`` largest positive similarities
(the classic item-based top-N model of Deshpande & Karypis 2004), and a user's scores are their
0/1 row times ``W``: every liked item votes for its own neighbours. ``W`` is sparse, and it is built
in blocks of rows from sparse products, so 59k items never need a dense n_items^2 matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from .base import FitContext, Recommender

__all__ = ["ItemKNN", "ItemKNNConfig", "cosine_topk"]

log = logging.getLogger(__name__)

# Dense scratch per block of rows, in matrix elements: 2^24 float32 is 64 MiB (plus a mask and an
# int32 cumulative count of the same shape), small enough for a laptop, big enough to amortise.
_BLOCK_ELEMENTS = 1 << 24


@dataclass
class ItemKNNConfig:
    """Hyper-parameters of :class:`ItemKNN` (defaults to be tuned on ml-latest-small)."""

    # Neighbours kept per item: 100 is the usual sweet spot between coverage and noise.
    neighbors: int = 100
    # Added to the cosine denominator so pairs seen together by few users count less.
    shrink: float = 10.0


def _binary_csr(train: Interactions) -> sp.csr_matrix:
    """(n_users, n_items) float32 CSR with a 1 for every (user, item) pair present."""
    x = train.to_csr()
    x.data[:] = 1.0  # duplicates were summed by to_csr; an interaction is a positive, once
    return x


def _topk_rows(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each row's ``k`` largest strictly positive entries of a dense block.

    Ties at the k-th value go to the lower column, so the result does not depend on the
    partition algorithm. Returns (row, col) indices of the kept entries.

    Args:
        block: (b, n) float32 similarities (not modified).
        k: neighbours per row, >= 1.
    """
    b, n = block.shape
    if k >= n:
        keep = block > 0
        return np.nonzero(keep)
    # The k-th largest value of each row: everything above it is kept, and from the entries equal
    # to it only as many as are still needed, lowest column first.
    kth = -np.partition(-block, k - 1, axis=1)[:, k - 1 : k]  # (b, 1)
    above = block > kth
    need = k - above.sum(axis=1, keepdims=True)  # (b, 1), >= 1
    equal = block == kth
    rank_among_equal = np.cumsum(equal, axis=1, dtype=np.int32)
    keep = above | (equal & (rank_among_equal <= need))
    keep &= block > 0
    return np.nonzero(keep)


def cosine_topk(x: sp.csr_matrix, neighbors: int, shrink: float) -> sp.csr_matrix:
    """The pruned shrunk-cosine item-item matrix of a binary user-item matrix.

    Args:
        x: (n_users, n_items) sparse matrix of 0/1 values.
        neighbors: similarities kept per row (item), the item itself excluded.
        shrink: non-negative constant added to the denominator ``|x_i| |x_j|``.

    Returns:
        (n_items, n_items) float32 CSR ``W``; row ``i`` holds item ``i``'s top ``neighbors``
        strictly positive similarities, so ``user_row @ W`` scores every item.
    """
    x = sp.csr_matrix(x, dtype=np.float32)
    n_items = x.shape[1]
    norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()).astype(np.float32)  # (n_items,)
    xt = x.T.tocsr()  # (n_items, n_users): item columns as rows, for cheap row blocks
    block_rows = max(1, min(n_items, _BLOCK_ELEMENTS // max(n_items, 1)))
    rows, cols, vals = [], [], []
    for start in range(0, n_items, block_rows):
        stop = min(start + block_rows, n_items)
        # Co-occurrence counts of this block of items with every item, (b, n_items): a sparse
        # product, then dense for the top-k (the block is bounded by _BLOCK_ELEMENTS).
        sim = (xt[start:stop] @ x).toarray()
        denom = np.outer(norms[start:stop], norms)
        denom += shrink
        denom[denom == 0] = 1.0  # only items nobody has (count 0) with shrink 0: 0 / 1 = 0
        sim /= denom
        del denom
        local = np.arange(stop - start)
        sim[local, start + local] = 0.0  # an item is not its own neighbour
        r, c = _topk_rows(sim, neighbors)
        rows.append(r + start)
        cols.append(c)
        vals.append(sim[r, c])
    w = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    w.sort_indices()
    return w


class ItemKNN(Recommender):
    """Item-based k-nearest-neighbours with shrunk cosine similarity (binary input)."""

    name = "itemknn"
    Config = ItemKNNConfig

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        cfg = self.config
        if cfg.neighbors < 1:
            raise ConfigError(f"itemknn: neighbors must be >= 1, got {cfg.neighbors}")
        if cfg.shrink < 0:
            raise ConfigError(f"itemknn: shrink must be >= 0, got {cfg.shrink}")
        self._train = _binary_csr(train)
        self.item_counts = np.asarray(self._train.sum(axis=0)).ravel().astype(np.float32)
        self.similarity = cosine_topk(self._train, cfg.neighbors, cfg.shrink)
        log.info(
            "itemknn: %d items, %d similarities kept (%.1f per item)",
            self.n_items,
            self.similarity.nnz,
            self.similarity.nnz / max(self.n_items, 1),
        )

    def score(self, users: np.ndarray) -> np.ndarray:
        """(len(users), n_items) float32: each user's 0/1 training row times ``W``."""
        self._check_fitted()
        rows = self._train[np.asarray(users, dtype=np.int64)]
        return np.asarray((rows @ self.similarity).toarray(), dtype=np.float32)

    def fold_in_state(self) -> FoldIn:
        """``W`` (n_items, n_items) CSR as the item-similarity fold-in, with popularity."""
        self._check_fitted()
        return FoldIn(
            "item_similarity",
            popularity=self.item_counts,
            similarity=self.similarity,
            params={"threshold": self.threshold},
        )
