"""EASE: a shallow linear item-item autoencoder with a closed-form solution (Steck 2019).

With the binary user-item matrix ``X`` (n_users, n_items), EASE solves
``min_B |X - X B|_F^2 + reg |B|_F^2`` subject to ``diag(B) = 0``. The answer is::

    P = (X^T X + reg I)^-1,      B_ij = -P_ij / P_jj  (i != j),      B_jj = 0

and a user's scores are ``X_u B``. ``B`` is dense, so memory grows as n_items^2: fine for
ml-latest-small or ml-1m, impossible for the 59k items of ml-25m (use itemknn or ials there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from ..search_space import FloatParam
from .base import FitContext, Recommender

__all__ = ["EASE", "EASEConfig", "ease_weights"]

log = logging.getLogger(__name__)

# Columns of the Gram matrix computed per sparse product: bounds the sparse intermediate.
_GRAM_BLOCK = 2048


@dataclass
class EASEConfig:
    """Hyper-parameters of :class:`EASE` (``reg`` to be tuned on ml-latest-small)."""

    # L2 penalty on B; tuned on ml-latest-small (users protocol validation NDCG@10 0.285 at 100;
    # Steck reports a few hundred on ML-20M, which has 20x more users per item).
    reg: float = 100.0
    # Refuse more items than this: 25k items need a 4.7 GiB float64 inverse plus 2.3 GiB for B.
    max_items: int = 25000


def _dense_gib(n_items: int) -> float:
    """GiB of one dense (n_items, n_items) float64 matrix."""
    return n_items * n_items * 8 / 2**30


def _mirror_upper(a: np.ndarray, block: int = _GRAM_BLOCK) -> None:
    """Copy the upper triangle of square ``a`` onto its lower one, in place, block by block.

    (Index arrays for the whole triangle would cost more memory than the matrix itself.)
    """
    n = a.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        a[start:stop, :start] = a[:start, start:stop].T
        diag = a[start:stop, start:stop]
        a[start:stop, start:stop] = np.triu(diag) + np.triu(diag, 1).T


def ease_weights(x: sp.csr_matrix, reg: float) -> np.ndarray:
    """The EASE item-item weights of a binary user-item matrix.

    Args:
        x: (n_users, n_items) sparse 0/1 matrix.
        reg: L2 penalty, > 0 (it also makes ``X^T X + reg I`` positive definite).

    Returns:
        (n_items, n_items) float32 ``B`` with zero diagonal; ``x_u @ B`` scores every item.
    """
    x = sp.csr_matrix(x, dtype=np.float64)
    n_items = x.shape[1]
    xt = x.T.tocsr()
    x_csc = x.tocsc()  # cheap column blocks
    gram = np.empty((n_items, n_items), dtype=np.float64, order="F")
    for start in range(0, n_items, _GRAM_BLOCK):
        stop = min(start + _GRAM_BLOCK, n_items)
        # X^T X is symmetric, so a block of rows is the transposed block of columns; Fortran
        # order makes each column block contiguous for the write.
        gram[:, start:stop] = (xt @ x_csc[:, start:stop]).toarray()
    gram[np.diag_indices(n_items)] += reg
    # Cholesky inverse in place: about half the work and none of the extra n^2 copies of inv().
    chol, info = scipy.linalg.lapack.dpotrf(gram, lower=False, overwrite_a=True)
    if info != 0:
        raise ConfigError(f"ease: X^T X + reg I is not positive definite (reg={reg}); raise reg")
    p, info = scipy.linalg.lapack.dpotri(chol, lower=False, overwrite_c=True)
    if info != 0:
        raise ConfigError(f"ease: inverting X^T X + reg I failed (LAPACK info {info})")
    _mirror_upper(p)
    diag = np.diag(p).copy()
    p /= -diag[None, :]  # column j divided by -P_jj
    p[np.diag_indices(n_items)] = 0.0
    return np.ascontiguousarray(p, dtype=np.float32)


class EASE(Recommender):
    """Embarrassingly Shallow AutoEncoder: closed-form item-item regression with zero diagonal."""

    name = "ease"
    Config = EASEConfig
    search_space = {"reg": FloatParam(1.0, 1e5)}

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        cfg = self.config
        if cfg.reg <= 0:
            raise ConfigError(f"ease: reg must be > 0, got {cfg.reg}")
        if self.n_items > cfg.max_items:
            raise ConfigError(
                f"ease needs a dense n_items x n_items matrix: {self.n_items} items would take "
                f"{_dense_gib(self.n_items):.1f} GiB per float64 copy (max_items="
                f"{cfg.max_items}); use itemknn or ials for this dataset, or raise max_items if "
                "the machine has the memory"
            )
        self._train = train.to_csr()
        self._train.data[:] = 1.0  # an interaction is a positive, once
        self.item_counts = np.asarray(self._train.sum(axis=0)).ravel().astype(np.float32)
        self.weights = ease_weights(self._train, cfg.reg)
        log.info("ease: fitted %d x %d weights (reg=%g)", self.n_items, self.n_items, cfg.reg)

    def score(self, users: np.ndarray) -> np.ndarray:
        """(len(users), n_items) float32: each user's 0/1 training row times ``B``."""
        self._check_fitted()
        rows = self._train[np.asarray(users, dtype=np.int64)]
        return np.asarray(rows @ self.weights, dtype=np.float32)

    def fold_in_state(self) -> FoldIn:
        """``B`` (n_items, n_items) dense float32 as the item-similarity fold-in."""
        self._check_fitted()
        return FoldIn(
            "item_similarity",
            popularity=self.item_counts,
            similarity=self.weights,
            params={"threshold": self.threshold},
        )
