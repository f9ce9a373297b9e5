"""Content-only baseline: item vectors from genres, year band and tags alone, no ratings.

Each movie's content row ``f_i`` (:mod:`recsys.features`) is reduced to ``factors`` dimensions by
a truncated SVD of the (n_items, n_features) content matrix ``F = U S V^T``: the item vectors are
``Q = U_k S_k``, the best rank-k approximation's coordinates, so cosine neighbours are movies of
like content and the map shows the content space. The SVD is seeded (ARPACK's start vector comes
from ``seed``), so one seed gives one result.

Users, known or new, are placed by the iALS user step on those fixed vectors (the
``"confidence"`` fold-in): the only use of ratings. What this model scores is therefore "more
movies whose content resembles what you liked": the CF-vs-content comparison's content side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..data import Interactions
from ..errors import ConfigError
from ..features import feature_matrix
from ..foldin import FoldIn
from ..search_space import FloatParam, IntParam
from .base import FitContext
from .ials import IALS

__all__ = ["ContentModel", "ContentConfig", "ContentFoldInConfig"]

log = logging.getLogger(__name__)


@dataclass
class ContentFoldInConfig:
    """Fold-in choices that training does not see."""

    # Weight of a visitor's low rating (a confident negative, target 0); 0 as in iALS: a movie
    # watched and disliked still says something about taste.
    negative_weight: float = 0.0


@dataclass
class ContentConfig:
    """Hyper-parameters of :class:`ContentModel`; the user-step weights mean what they mean in
    iALS (see :class:`~recsys.models.ials.IALSConfig`)."""

    # SVD dimensions (capped at n_features - 1): ml-latest-small has ~330 content columns, 64
    # keeps most of their variance while the fold-in solve stays as cheap as iALS's.
    factors: int = 64
    # Ridge of the user step: content vectors have norm <= sqrt(3), so a small value suffices.
    reg: float = 0.01
    # Weight of a positive (target 1) against w0 = unobserved_weight on every other movie.
    alpha: float = 5.0
    unobserved_weight: float = 1.0
    # lam = reg * (n_rated + w0 n_items) ** reg_exponent; 0: a plain ridge.
    reg_exponent: float = 0.0
    fold_in: ContentFoldInConfig = field(default_factory=ContentFoldInConfig)


class ContentModel(IALS):
    """Truncated-SVD content vectors, users placed by the iALS user step (no CF training)."""

    name = "content"
    Config = ContentConfig
    iterative = False
    epochs_field = None
    has_item_embeddings = True
    uses_item_features = True
    search_space = {
        "factors": IntParam(8, 256, log=True),
        "reg": FloatParam(1e-4, 10.0),
        "alpha": FloatParam(0.5, 50.0),
        "unobserved_weight": FloatParam(0.05, 5.0),
        "fold_in.negative_weight": FloatParam(0.0, 10.0, log=False),
    }

    def _validate(self) -> None:
        cfg = self.config
        if cfg.factors < 1 or cfg.alpha <= 0 or cfg.unobserved_weight < 0 or cfg.reg < 0:
            raise ConfigError(
                "content: need factors >= 1, alpha > 0, unobserved_weight >= 0 and reg >= 0; got "
                f"factors={cfg.factors}, alpha={cfg.alpha}, "
                f"unobserved_weight={cfg.unobserved_weight}, reg={cfg.reg}"
            )

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        self._validate()
        features = feature_matrix(ctx.item_features, train.n_items, "content")
        self.item_factors = _svd_vectors(features, self.config.factors, ctx.seed)
        x = train.to_csr()
        x.data[:] = 1.0
        self._train = x
        self._device = "cpu"  # one user step on small dense factors: torch on CPU is enough
        self.w0 = float(self.config.unobserved_weight)  # absolute here (no relative form)
        self.item_counts = np.bincount(train.item, minlength=self.n_items).astype(np.float32)
        self.user_factors = self.user_step(np.arange(self.n_users))

    def fold_in_state(self) -> FoldIn:
        """The content vectors, popularity and the ``"confidence"`` fold-in weights."""
        self._check_fitted()
        cfg = self.config
        return FoldIn(
            "confidence",
            popularity=self.item_counts,
            item_factors=self.item_factors,
            params={
                "reg": cfg.reg,
                "alpha": cfg.alpha,
                "unobserved_weight": cfg.unobserved_weight,
                "reg_exponent": cfg.reg_exponent,
                "negative_weight": cfg.fold_in.negative_weight,
                "threshold": self.threshold,
            },
        )


def _svd_vectors(features: sp.csr_matrix, k: int, seed: int) -> np.ndarray:
    """Rows of ``U_k S_k`` of the truncated SVD of ``features`` (n_items, n_features): (n_items,
    k') float32 with k' = min(k, min(shape) - 1) (ARPACK needs k' < min(shape))."""
    n, m = features.shape
    k = min(k, min(n, m) - 1)
    if k < 1:
        raise ConfigError(
            f"content: the item features have {m} column(s); need at least 2 for an SVD"
        )
    v0 = np.random.default_rng(seed).standard_normal(min(n, m))
    u, s, vt = spla.svds(features, k=k, v0=v0, solver="arpack")
    order = np.argsort(-s, kind="stable")  # ARPACK returns ascending singular values
    u, s, vt = u[:, order], s[order], vt[order]
    # Fix each component's sign (the largest loading positive) so equal inputs give equal output.
    signs = np.sign(vt[np.arange(k), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    return (u * (s * signs)).astype(np.float32)
