"""Fold-in: a user vector for someone who was not in training, from fixed item-side state.

Everything here is numpy only (no torch), pure, and shared by the app (one visitor) and by the
``users`` evaluation protocol (held-out users), so what is measured is what the app runs.

Methods (``FoldIn.method``):

- ``"ridge"`` (biased MF): with item factors ``q_i``, item biases ``b_i`` and global mean ``mu``,
  solve ``min_{x, b_u} sum_i (r_i - mu - b_i - b_u - x.q_i)^2 + reg (|x|^2 + b_u^2)`` in closed form.
  Scores are predicted ratings ``mu + b_i + b_u + x.q_i``.
- ``"confidence"`` (iALS, BPR): the iALS user step (Hu, Koren & Volinsky 2008; Rendle et al. 2022).
  A rated item with a rating of at least ``threshold`` is a positive (weight ``alpha``, target 1);
  a lower rating is a confident negative (weight ``negative_weight``, default ``alpha``, target 0);
  every other item has weight ``w0 = unobserved_weight`` and target 0. Solve
  ``(w0 G + sum_i (c_i - w0) q_i q_i^T + lam I) x = alpha sum_{i positive} q_i`` with ``c_i`` the
  item's weight, the Gramian ``G = Q^T Q`` and ``lam = reg * (n_rated + w0 n_items) ** reg_exponent``.
  Scores are ``x.q_i + b_i`` (``b_i`` is zero for iALS).
- ``"item_similarity"`` (item-kNN, EASE): the user's 0/1 positive vector times the item-item weight
  matrix; no user vector.
- ``"popularity"``: the item's number of positive ratings; every visitor gets the same list.
- ``"neumf"``: a few gradient steps on the user's GMF and MLP embeddings with the network frozen
  (numpy forward and backward in :mod:`recsys._neumf_numpy`); ``network`` holds the weights.

An empty profile, or one whose ratings carry no signal, falls back to popularity and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .errors import ConfigError

__all__ = ["Attribution", "FoldIn", "FoldInResult", "METHODS", "PARAM_DEFAULTS"]

METHODS = ("ridge", "confidence", "item_similarity", "popularity", "neumf")

# Largest |rating| a profile may hold; star scales are single digits.
MAX_ABS_RATING = 1e6

# Values of the scalars a FoldIn's ``params`` may leave out (``negative_weight`` defaults to alpha).
PARAM_DEFAULTS: dict[str, float] = {
    "reg": 0.1,
    "alpha": 1.0,
    "unobserved_weight": 0.1,
    "reg_exponent": 0.0,
    "threshold": 4.0,
    "global_mean": 0.0,
}


@dataclass(frozen=True)
class FoldInResult:
    """What folding in one profile gives.

    ``user_vector`` is (d,) float32 (None for methods without one), ``user_bias`` a float (ridge
    only), ``scores`` (n_items,) float32 over every item, and ``fallback`` a human-readable reason
    when popularity was used instead of the profile (None otherwise).
    """

    user_vector: np.ndarray | None
    scores: np.ndarray
    user_bias: float = 0.0
    fallback: str | None = None


@dataclass(frozen=True)
class Attribution:
    """A split of target items' scores (see :meth:`FoldIn.attribute`).

    ``contributions`` (n_targets, n_rated) float64: the term of each rated item; ``extras``: named
    terms (n_targets,) that belong to no rated item (item bias, global mean, ...); ``scores``
    (n_targets,) the fold-in's scores. When ``exact``, ``contributions.sum(1) + sum(extras)``
    equals ``scores`` up to float rounding.
    """

    contributions: np.ndarray
    extras: dict[str, np.ndarray]
    scores: np.ndarray
    exact: bool


@dataclass(frozen=True, eq=False)
class FoldIn:
    """Item-side state that folds in new users; what an artifact stores besides the items table.

    Arrays: ``item_factors`` (n_items, d) float32, ``item_bias`` (n_items,) float32,
    ``similarity`` (n_items, n_items) sparse or dense float32, ``popularity`` (n_items,) float32.
    ``params`` holds the method's scalars (reg, alpha, unobserved_weight, reg_exponent,
    threshold, global_mean); missing ones take the defaults below.
    """

    method: str
    popularity: np.ndarray
    item_factors: np.ndarray | None = None
    item_bias: np.ndarray | None = None
    similarity: sp.csr_matrix | np.ndarray | None = None
    network: dict[str, np.ndarray] | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"unknown fold-in method {self.method!r}; expected one of {METHODS}")
        needs_factors = self.method in ("ridge", "confidence")
        if needs_factors and self.item_factors is None:
            raise ConfigError(f"fold-in method {self.method!r} needs item_factors")
        if self.method == "item_similarity" and self.similarity is None:
            raise ConfigError("fold-in method 'item_similarity' needs a similarity matrix")
        if self.method == "neumf" and self.network is None:
            raise ConfigError("fold-in method 'neumf' needs the network weights")

    # -- scalars with their defaults ------------------------------------------------------------
    def _p(self, name: str, default: float | None = None) -> float:
        """Parameter ``name`` from ``params``, else ``default``, else the table below."""
        if name in self.params:
            return float(self.params[name])
        if default is not None:
            return float(default)
        return float(PARAM_DEFAULTS[name])

    @property
    def n_items(self) -> int:
        return len(self.popularity)

    @cached_property
    def gramian(self) -> np.ndarray:
        """``Q^T Q`` (d, d) in float64, computed once per FoldIn."""
        q = self.item_factors.astype(np.float64)
        return q.T @ q

    def _bias(self) -> np.ndarray:
        if self.item_bias is None:
            return np.zeros(self.n_items, np.float32)
        return self.item_bias

    def popularity_scores(self) -> np.ndarray:
        """log(1 + positive count) per item: the fallback ranking."""
        return np.log1p(self.popularity).astype(np.float32)

    # -- the solves -----------------------------------------------------------------------------
    def _ridge_system(
        self, codes: np.ndarray, ratings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows ``f_j = [q_j, 1]`` (n, d+1) (the last column learns the user bias), targets
        ``y_j = r_j - mu - b_j`` (n,) and ``A = F^T F + reg I`` (d+1, d+1)."""
        q = self.item_factors[codes].astype(np.float64)
        feats = np.hstack([q, np.ones((len(codes), 1))])
        y = ratings - self._p("global_mean") - self._bias()[codes]
        return feats, y, feats.T @ feats + self._p("reg") * np.eye(feats.shape[1])

    def _solve_ridge(self, codes: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, float]:
        feats, y, a = self._ridge_system(codes, ratings)
        z = np.linalg.solve(a, feats.T @ y)
        return z[:-1], float(z[-1])

    def _confidence_system(
        self, codes: np.ndarray, ratings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The (d, d) matrix and (d,) right-hand side of the iALS user step."""
        alpha, w0 = self._p("alpha"), self._p("unobserved_weight")
        q = self.item_factors[codes].astype(np.float64)
        positive = ratings >= self._p("threshold")
        # Positives weigh alpha; low ratings (target 0) weigh negative_weight (alpha by default).
        weight = np.where(positive, alpha, self._p("negative_weight", alpha))
        lam = self._p("reg") * (len(codes) + w0 * self.n_items) ** self._p("reg_exponent")
        a = w0 * self.gramian + (q.T * (weight - w0)) @ q + lam * np.eye(q.shape[1])
        b = alpha * q[positive].sum(axis=0)
        return a, b

    def system(self, item_codes: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The linear system ``A z = b`` that :meth:`fold_in` solves, for teaching.

        ``"confidence"``: ``A`` (d, d) and ``b`` (d,) of the iALS user step (``z = x``);
        ``"ridge"``: ``A = F^T F + reg I`` (d+1, d+1) and ``b = F^T y`` with rows
        ``f_j = [q_j, 1]`` and ``y_j = r_j - mu - b_j`` (``z = [x, b_u]``). Other methods solve no
        system: ConfigError.
        """
        codes = np.asarray(item_codes, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        self._check_profile(codes, ratings)
        if self.method == "confidence":
            return self._confidence_system(codes, ratings)
        if self.method == "ridge":
            feats, y, a = self._ridge_system(codes, ratings)
            return a, feats.T @ y
        raise ConfigError(f"fold-in method {self.method!r} solves no linear system")

    def _check_profile(self, codes: np.ndarray, ratings: np.ndarray) -> None:
        """Refuse a profile the solves would silently mis-read (ConfigError naming the field)."""
        if codes.ndim != 1 or ratings.ndim != 1 or len(codes) != len(ratings):
            raise ConfigError(
                f"item_codes {codes.shape} and ratings {ratings.shape} must be two aligned 1-D "
                "arrays"
            )
        if len(codes) and (codes.min() < 0 or codes.max() >= self.n_items):
            raise ConfigError(
                f"item_codes must lie in 0..{self.n_items - 1}, got {int(codes.min())}.."
                f"{int(codes.max())}; map unknown movie ids out before folding in"
            )
        if not np.isfinite(ratings).all():
            raise ConfigError("ratings must be finite numbers (found NaN or infinity)")
        if len(ratings) and np.abs(ratings).max() > MAX_ABS_RATING:
            # Ratings are targets of the ridge solve: values near float32's range overflow the
            # scores (found by fuzzing: 2.48e38 gave inf). No star scale comes near this bound.
            raise ConfigError(
                f"ratings must lie within +-{MAX_ABS_RATING:g} (got {np.abs(ratings).max():g})"
            )
        if len(np.unique(codes)) != len(codes):
            raise ConfigError("item_codes must be unique (one rating per item)")

    def fold_in(self, item_codes: np.ndarray, ratings: np.ndarray) -> FoldInResult:
        """Fold in one profile.

        Args:
            item_codes: (n,) int item codes the user rated (unique, all known).
            ratings: (n,) ratings on the dataset's scale, aligned with ``item_codes``.
        """
        codes = np.asarray(item_codes, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        self._check_profile(codes, ratings)
        if len(codes) == 0:
            return FoldInResult(None, self.popularity_scores(), fallback="no ratings yet")
        if self.method == "popularity":
            return FoldInResult(None, self.popularity_scores())
        positive = ratings >= self._p("threshold")
        if self.method == "ridge":
            x, bu = self._solve_ridge(codes, ratings)
            scores = self.item_factors @ x.astype(np.float32) + self._bias() + bu
            scores = scores + self._p("global_mean")
            return FoldInResult(x.astype(np.float32), scores.astype(np.float32), user_bias=bu)
        if not positive.any():
            return FoldInResult(
                None,
                self.popularity_scores(),
                fallback=f"no rating at or above {self._p('threshold'):g} stars yet",
            )
        if self.method == "neumf":
            from ._neumf_numpy import fold_in_neumf

            x, scores = fold_in_neumf(self.network, self.params, codes, ratings)
            return FoldInResult(x.astype(np.float32), scores.astype(np.float32))
        if self.method == "confidence":
            a, b = self._confidence_system(codes, ratings)
            x = np.linalg.solve(a, b).astype(np.float32)
            scores = self.item_factors @ x + self._bias()
            return FoldInResult(x, scores.astype(np.float32))
        # item_similarity: the positive row vector times the weight matrix.
        pos = codes[positive]
        sim = self.similarity
        rows = sim[pos]
        scores = np.asarray(rows.sum(axis=0)).ravel().astype(np.float32)
        return FoldInResult(None, scores)

    def attribute(
        self,
        item_codes: np.ndarray,
        ratings: np.ndarray,
        target_codes: np.ndarray,
        result: FoldInResult | None = None,
    ) -> Attribution:
        """Split each target item's score into one term per rated item plus named extra terms.

        Derivation, for the linear solves (``x = A^-1 b`` with ``b`` a sum over rated items):

        - ``"confidence"``: ``A = w0 G + sum_j (c_j - w0) q_j q_j^T + lam I`` and
          ``b = sum_j b_j`` with ``b_j = alpha q_j`` for a positive ``j`` and ``b_j = 0`` for a
          low rating. ``A`` does not depend on ``b``, so ``x = sum_j A^-1 b_j`` and the score
          ``s_t = q_t . x + b_t`` splits exactly into ``contribution_j = alpha q_t^T A^-1 q_j``
          (positives), 0 (low ratings) and the extra term ``"item bias"`` ``b_t``. A low rating
          still moves every score, through ``A`` (it pushes ``x`` away from ``q_j``): its effect
          is only visible by leaving it out (:meth:`leave_one_out`), not as a term.
        - ``"ridge"``: with ``f_j = [q_j, 1]`` and ``y_j = r_j - mu - b_j``,
          ``[x, b_u] = A^-1 sum_j f_j y_j`` where ``A = sum_j f_j f_j^T + reg I``; so
          ``q_t . x = sum_j [q_t, 0]^T A^-1 f_j y_j``, and the extra terms are ``"global mean"``
          ``mu``, ``"item bias"`` ``b_t`` and ``"your bias"`` ``b_u`` (itself linear in the
          ratings, kept apart because it shifts every score alike). A low rating has
          ``y_j < 0``: here it does act as a (negative) term.
        - ``"item_similarity"``: ``s_t = sum_{j positive} W[j, t]``, one term per positive.
        - ``"popularity"``, and any fold-in that fell back to popularity: no terms; the extra
          term ``"popularity"`` is the whole score.
        - ``"neumf"``: scores are not additive over rated items; terms are 0 and ``exact`` is
          False (:meth:`recsys.Artifact.explain` reports leave-one-out changes instead).

        Args:
            item_codes, ratings: the profile, as :meth:`fold_in` takes it ((n,) each).
            target_codes: (m,) item codes to explain.
            result: what :meth:`fold_in` returned for this same profile, when the caller has it
                (the serving path does): saves solving the profile a second time.
        """
        codes = np.asarray(item_codes, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        targets = np.asarray(target_codes, dtype=np.int64)
        self._check_profile(codes, ratings)
        if len(targets) and (targets.min() < 0 or targets.max() >= self.n_items):
            raise ConfigError(f"target_codes must lie in 0..{self.n_items - 1}")
        if result is None:
            result = self.fold_in(codes, ratings)
        scores = result.scores[targets].astype(np.float64)
        terms = np.zeros((len(targets), len(codes)))
        if result.fallback is not None or self.method == "popularity":
            return Attribution(terms, {"popularity": scores}, scores, True)
        if self.method == "neumf":
            return Attribution(terms, {}, scores, False)
        positive = ratings >= self._p("threshold")
        if self.method == "item_similarity":
            w = self.similarity[codes[positive]]
            w = w.toarray() if sp.issparse(w) else np.asarray(w)
            terms[:, positive] = w[:, targets].T
            return Attribution(terms, {}, scores, True)
        q = self.item_factors[codes].astype(np.float64)
        qt = self.item_factors[targets].astype(np.float64)
        bias = self._bias()[targets].astype(np.float64)
        if self.method == "ridge":
            feats, y, a = self._ridge_system(codes, ratings)
            a_inv_f = np.linalg.solve(a, feats.T)  # (d+1, n)
            qt0 = np.hstack([qt, np.zeros((len(targets), 1))])  # b_u is an extra term
            terms = qt0 @ a_inv_f * y[None, :]
            extras = {
                "global mean": np.full(len(targets), self._p("global_mean")),
                "item bias": bias,
                "your bias": np.full(len(targets), result.user_bias),
            }
            return Attribution(terms, extras, scores, True)
        a, _ = self._confidence_system(codes, ratings)
        a_inv_q = np.linalg.solve(a, q.T)  # (d, n)
        weights = np.where(positive, self._p("alpha"), 0.0)
        terms = qt @ a_inv_q * weights[None, :] + 0.0  # + 0.0: no "-0" terms for low ratings
        return Attribution(terms, {"item bias": bias}, scores, True)

    def contributions(
        self, item_codes: np.ndarray, ratings: np.ndarray, target_codes: np.ndarray
    ) -> np.ndarray:
        """The per-rated-item terms of :meth:`attribute`: (n_targets, n_rated) float32."""
        return self.attribute(item_codes, ratings, target_codes).contributions.astype(np.float32)

    def leave_one_out(self, item_codes: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Scores with each rating left out in turn: (n_rated, n_items) float32, row ``j`` being
        :meth:`fold_in` of the profile without its ``j``-th rating (popularity scores when what
        is left has no signal). One solve per rating; the model is never changed."""
        codes = np.asarray(item_codes, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        self._check_profile(codes, ratings)
        out = np.empty((len(codes), self.n_items), np.float32)
        keep = np.ones(len(codes), bool)
        for j in range(len(codes)):
            keep[j] = False
            out[j] = self.fold_in(codes[keep], ratings[keep]).scores
            keep[j] = True
        return out
