"""Ranking and rating metrics as small, pure, vectorised functions.

Ranking metrics take a boolean ``hits`` matrix (n_users, K): ``hits[u, r]`` says whether the item
at rank ``r`` (0-based) of user ``u``'s list is relevant, and ``n_relevant`` (n_users,) the number
of relevant items of each user. They return one value per user; average them yourself (users
with no relevant item should not be evaluated). Definitions, with ``h = hits[:, :k]``:

- recall@k    = sum(h) / n_relevant
- precision@k = sum(h) / k
- hr@k        = 1 if any(h) else 0
- mrr@k       = 1 / (1 + rank of the first hit), 0 if none in the top k
- ndcg@k      = sum_r h_r / log2(r + 2)  /  sum_{r < min(k, n_relevant)} 1 / log2(r + 2)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "top_k",
    "hits_at",
    "recall_at_k",
    "precision_at_k",
    "hit_rate_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "coverage_at_k",
    "novelty_at_k",
    "rmse",
    "mae",
    "RANKING_METRICS",
]


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Item codes of the ``k`` best scores of each row, best first: (n_users, k) int64.

    ``exclude`` (n_users, n_items, sparse) marks items that must not be ranked (a user's training
    items); they get -inf. Ties break towards the lower item code, so results are deterministic.
    """
    scores = np.asarray(scores)
    # Keep float64 input in float64: rounding to float32 could turn distinct scores into ties.
    neg = -np.array(scores, dtype=np.result_type(scores.dtype, np.float32), copy=True)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        neg[coo.row, coo.col] = np.inf
    neg[np.isnan(neg)] = np.inf  # a NaN score ranks with the excluded items, last
    n_users, n_items = neg.shape
    k = max(min(k, n_items), 0)
    if k == 0:
        return np.zeros((n_users, 0), np.int64)
    if k < n_items:
        # The k-th best value: everything strictly better is in, and the items tied with it fill
        # the remaining places by lowest item code (argpartition alone picks among ties at random).
        kth = np.partition(neg, k - 1, axis=1)[:, k - 1 : k]
        better = neg < kth
        tied = neg == kth
        need = k - better.sum(axis=1, keepdims=True)
        chosen = better | tied
        spill = np.flatnonzero(tied.sum(axis=1) > need[:, 0])  # rows with more ties than places
        if len(spill):
            t = tied[spill]
            chosen[spill] = better[spill] | (t & (np.cumsum(t, axis=1) <= need[spill]))
        part = np.nonzero(chosen)[1].reshape(n_users, k)
    else:
        part = np.broadcast_to(np.arange(n_items), neg.shape)
    part_neg = np.take_along_axis(neg, part, axis=1)
    # lexsort: last key is primary -> sort by score descending, then item code ascending.
    order = np.lexsort((part, part_neg), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def hits_at(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean (n_users, K): is ``ranked[u, r]`` among row ``u``'s nonzeros of ``relevant``."""
    relevant = sp.csr_matrix(relevant)
    hits = np.zeros(ranked.shape, dtype=bool)
    for u in range(ranked.shape[0]):
        cols = relevant.indices[relevant.indptr[u] : relevant.indptr[u + 1]]
        if len(cols):
            hits[u] = np.isin(ranked[u], cols)
    return hits


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / np.maximum(n_relevant, 1)


def precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / k


def hit_rate_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].any(axis=1).astype(np.float64)


def mrr_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    h = hits[:, :k]
    first = np.argmax(h, axis=1)
    return np.where(h.any(axis=1), 1.0 / (first + 1), 0.0)


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    # DCG and ideal DCG are summed the same way over rows of the same width k, so a perfect list
    # scores exactly 1.0 and a user's value never depends on the other rows of the batch (a
    # matrix product may round a row differently depending on where it sits).
    h = np.zeros((hits.shape[0], k), dtype=bool)
    width = min(k, hits.shape[1])
    h[:, :width] = hits[:, :width]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = np.where(h, discounts, 0.0).sum(axis=1)
    ideal = np.arange(k) < np.minimum(n_relevant, k)[:, None]
    idcg = np.where(ideal, discounts, 0.0).sum(axis=1)
    return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)


RANKING_METRICS = {
    "recall": recall_at_k,
    "precision": precision_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "hr": hit_rate_at_k,
}


def coverage_at_k(ranked: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top ``k``."""
    return len(np.unique(ranked[:, :k])) / n_items


def novelty_at_k(ranked: np.ndarray, item_counts: np.ndarray, n_users: int, k: int) -> float:
    """Mean self-information ``-log2(p_i)`` of recommended items, ``p_i`` = share of users who
    interacted with item ``i`` in training (items never seen count as one interaction)."""
    p = np.maximum(item_counts, 1) / max(n_users, 1)
    return float(np.mean(-np.log2(p[ranked[:, :k]])))


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(predicted) - np.asarray(actual))))
