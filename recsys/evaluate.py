"""Evaluation: fit models on a protocol's train part and measure them on its test part.

Rankings are always against the full catalogue (no sampled negatives). For the ``users``
protocol, held-out users are scored through ``model.fold_in_state().fold_in`` — the code the app
runs for a visitor. Results are plain dicts in the JSON layout of ``python -m recsys evaluate``::

    {"dataset": {...}, "protocol": {...},
     "results": [{"model", "params", "metrics": {"recall@10": ..., "ndcg@10": ...,
                                                 "sparse_items": {...}, ...},
                  "train_seconds", "epochs_chosen", "history"}]}

Every model is measured after training on the same training part (see :func:`fit_on_split`):
an iterative model first finds its number of epochs by early stopping on a validation split
carved out of that part, then a fresh model is refit on the whole part for that many epochs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import features
from . import metrics as M
from .data import Dataset, Interactions
from .elicitation import elicitation_curves, elicitation_order, profile_scorers
from .models import make_model, model_class
from .models.base import EpochCallback, Recommender
from .splits import Split, make_split, random_split, validation_split

__all__ = [
    "evaluate_ranking",
    "evaluate_ratings",
    "evaluate_models",
    "fit_on_split",
    "SplitFit",
    "best_epoch",
    "quality_by_profile_size",
    "elicitation_quality",
    "sparse_item_ndcg",
]

log = logging.getLogger(__name__)

DEFAULT_KS = (10, 20)
# Test items with fewer training ratings than this are "sparse" (metrics["sparse_items"]).
SPARSE_MAX_TRAIN_RATINGS = 10


def _ranking_metrics(
    ranked: np.ndarray,
    relevant: sp.csr_matrix,
    ks: Sequence[int],
    item_counts: np.ndarray,
    n_train_users: int,
) -> dict[str, float]:
    n_rel = np.diff(relevant.indptr)
    hits = M.hits_at(ranked, relevant)
    out: dict[str, float] = {}
    for k in ks:
        for name, fn in M.RANKING_METRICS.items():
            out[f"{name}@{k}"] = float(np.mean(fn(hits, n_rel, k)))
        out[f"coverage@{k}"] = M.coverage_at_k(ranked, relevant.shape[1], k)
        out[f"novelty@{k}"] = M.novelty_at_k(ranked, item_counts, n_train_users, k)
    out["n_users"] = int(len(n_rel))
    return out


def _fold_in_scorer(
    model: Recommender,
    split: Split,
    max_ratings: int | None = None,
    rng: np.random.Generator | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """``score_fn`` for held-out users through the app's fold-in (one profile at a time).

    With ``max_ratings``, a user with more profile ratings folds in only a random ``max_ratings``
    of them, drawn from ``rng`` in the order users are scored.
    """

    def at_most(rows: np.ndarray) -> np.ndarray:
        if len(rows) <= max_ratings:
            return rows
        return rng.choice(rows, size=max_ratings, replace=False)

    scorer = profile_scorers(model.fold_in_state(), split.profiles)
    return scorer(at_most if max_ratings is not None else None)


def evaluate_ranking(
    model: Recommender,
    split: Split,
    ks: Sequence[int] = DEFAULT_KS,
    batch: int = 1024,
    score_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    sparse_max: int | None = SPARSE_MAX_TRAIN_RATINGS,
) -> dict[str, Any]:
    """Ranking metrics of a fitted model on ``split`` (mean over users with a relevant item).

    Each tested user's known items (``split.exclude``) are removed from their ranking.
    ``"sparse_items"`` holds :func:`sparse_item_ndcg` for test items with fewer than
    ``sparse_max`` training ratings (mean over users with such a relevant item); with
    ``sparse_max=None`` it is neither computed nor returned (callers that read one metric).
    """
    relevant_all = split.relevant().to_csr()
    users = np.flatnonzero(np.diff(relevant_all.indptr) > 0)
    exclude_all = split.exclude.to_csr()
    train_pos = split.train.positives(split.threshold)
    item_counts = np.bincount(train_pos.item, minlength=split.train.n_items)
    n_train_users = len(train_pos.users_present())
    if score_fn is None:
        score_fn = _fold_in_scorer(model, split) if split.protocol == "users" else model.score
    # Items with few training ratings (of any value), whose vectors rest on little data.
    sparse = None
    if sparse_max is not None:
        sparse = np.bincount(split.train.item, minlength=split.train.n_items) < sparse_max
    kmax = max(ks)
    ranked = np.empty((len(users), kmax), np.int64)
    sparse_ndcg = []
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        scores = score_fn(chunk)
        ranked[start : start + len(chunk)] = M.top_k(scores, kmax, exclude_all[chunk])
        if sparse is not None:
            sparse_ndcg.append(
                sparse_item_ndcg(scores, exclude_all[chunk], relevant_all[chunk], sparse, 10)
            )
    out = _ranking_metrics(ranked, relevant_all[users], ks, item_counts, n_train_users)
    if sparse is None:
        return out
    per_user = np.concatenate(sparse_ndcg) if sparse_ndcg else np.zeros(0)
    per_user = per_user[~np.isnan(per_user)]
    out["sparse_items"] = {
        "max_train_ratings": int(sparse_max),
        "ndcg@10": float(per_user.mean()) if len(per_user) else float("nan"),
        "n_users": int(len(per_user)),
        "n_items": int(sparse.sum()),
    }
    return out


def sparse_item_ndcg(
    scores: np.ndarray,
    exclude: sp.csr_matrix,
    relevant: sp.csr_matrix,
    keep: np.ndarray,
    k: int = 10,
) -> np.ndarray:
    """Per-user NDCG@k when only the items in ``keep`` are ranked and can be relevant.

    Measures how well a model orders the movies it knows little about among themselves (used
    with ``keep`` = items with few training ratings): popular items neither count as hits nor
    take places in the top k.

    Args:
        scores: (n_users, n_items) scores, higher is better.
        exclude: (n_users, n_items) CSR of items never ranked for the user (their known items).
        relevant: (n_users, n_items) CSR of the user's relevant (test) items.
        keep: (n_items,) bool, the items ranked.
        k: cut-off.

    Returns:
        (n_users,) float64 NDCG@k; NaN for a user with no relevant item in ``keep``.
    """
    masked = np.where(keep[None, :], scores, -np.inf)
    ranked = M.top_k(masked, k, exclude)
    rel = (relevant.multiply(keep[None, :].astype(np.float64))).tocsr()
    rel.eliminate_zeros()
    n_rel = np.diff(rel.indptr)
    # A place whose score is -inf holds a dropped item: never a hit.
    picked = np.take_along_axis(masked, ranked, axis=1)
    hits = M.hits_at(ranked, rel) & np.isfinite(picked)
    out = M.ndcg_at_k(hits, n_rel, k).astype(np.float64)
    out[n_rel == 0] = np.nan
    return out


def quality_by_profile_size(
    model: Recommender,
    split: Split,
    sizes: Sequence[int] = (1, 2, 5, 10, 20),
    k: int = 10,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``users`` protocol only: NDCG@k and Recall@k when each held-out user folds in only ``n``
    of their profile ratings (a seeded random choice), for each ``n`` in ``sizes``.

    Answers "how many movies must I rate?". Users with fewer than ``n`` profile ratings use all
    of them. Relevant items and exclusions are the same as in :func:`evaluate_ranking`.
    """
    out = {}
    for n in sizes:
        scorer = _fold_in_scorer(model, split, n, np.random.default_rng(seed + n))
        metrics = evaluate_ranking(model, split, ks=(k,), score_fn=scorer, sparse_max=None)
        out[str(n)] = {f"ndcg@{k}": metrics[f"ndcg@{k}"], f"recall@{k}": metrics[f"recall@{k}"]}
    return out


def elicitation_quality(
    model: Recommender,
    split: Split,
    items: pd.DataFrame,
    sizes: Sequence[int] = (1, 2, 3, 5, 10),
    k: int = 10,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``users`` protocol only: NDCG@k after each held-out user rated the first ``n`` movies they
    know in the order of each elicitation strategy (:mod:`recsys.elicitation`): ``random``,
    ``popular``, ``pop_entropy`` and ``groups`` (the app's quick-start taste groups,
    :func:`recsys.onboarding.onboarding_groups`, built from the training part's rating counts
    and the model's item embeddings). Returns ``{strategy: {str(n): ndcg}}``.
    """
    from .onboarding import onboarding_groups

    train_items = items.copy()
    train_items["n_ratings"] = np.bincount(split.train.item, minlength=split.train.n_items)
    groups = onboarding_groups(train_items, model.item_embeddings)
    given = [c for g in groups for c in g.codes]
    orders = {
        name: elicitation_order(name, split.train, seed=seed, given=given)
        for name in ("random", "popular", "pop_entropy")
    }
    orders["groups"] = elicitation_order("given", split.train, given=given)

    def ndcg(score_fn: Callable[[np.ndarray], np.ndarray]) -> float:
        metrics = evaluate_ranking(model, split, ks=(k,), score_fn=score_fn, sparse_max=None)
        return metrics[f"ndcg@{k}"]

    return elicitation_curves(model.fold_in_state(), split.profiles, ndcg, orders, sizes)


def evaluate_ratings(model: Recommender, split: Split) -> dict[str, float]:
    """RMSE and MAE of a rating model (needs ``predict(users, items)``) on ``split.test``."""
    pred = model.predict(split.test.user, split.test.item)
    return {
        "rmse": M.rmse(pred, split.test.rating),
        "mae": M.mae(pred, split.test.rating),
        "n_ratings": int(len(split.test)),
    }


@dataclass
class SplitFit:
    """What :func:`fit_on_split` returns.

    ``model``: the fitted model; ``seconds``: training time of every fit it took;
    ``epochs_chosen``: epochs of the final fit chosen by early stopping (None for models that do
    not train in epochs, or without early stopping); ``valid_history``: the early-stopping run's
    per-epoch history (loss and validation metric), empty when there was none.
    """

    model: Recommender
    seconds: float
    epochs_chosen: int | None = None
    valid_history: list[dict[str, float]] = field(default_factory=list)


def best_epoch(history: Sequence[dict[str, float]]) -> int | None:
    """The epoch (1-based) that early stopping kept: the first best validation value.

    The same rule as :func:`recsys.training.run_epochs` (a later epoch must be strictly better):
    the highest ``valid_*`` value, or the lowest for an error (a key ending in ``rmse``/``mae``).
    None when no epoch has a validation value.
    """
    best, best_value = None, None
    for record in history:
        keys = [k for k in record if k.startswith("valid_")]
        if not keys:
            continue
        value = float(record[keys[0]])
        sign = -1.0 if keys[0].endswith(("rmse", "mae")) else 1.0
        if best_value is None or sign * value > sign * best_value:
            best, best_value = int(record["epoch"]), value
    return best


def fit_on_split(
    name: str,
    split: Split,
    params: dict | None = None,
    *,
    seed: int = 0,
    device: str = "auto",
    show_progress: bool = False,
    early_stopping: bool = True,
    refit: bool = True,
    callback: EpochCallback | None = None,
    item_features: Any = None,
) -> SplitFit:
    """Fit model ``name`` on ``split``'s train part (never its test part).

    Models that do not train in epochs fit the whole train part once. An iterative model
    (``iterative`` class attribute) with ``early_stopping`` trains on the train part minus a
    validation split carved from it with the same protocol, stopping early on it; with
    ``refit`` a fresh model then trains on the whole train part for exactly the epochs chosen
    (no validation), so every model is measured after seeing the same training data. Tuning
    passes ``refit=False`` to score a trial on the early-stopped model alone. ``callback``
    (epoch, record) sees the early-stopping run's epochs (validation in the record).
    """
    params = dict(params or {})
    cls = model_class(name)
    model = make_model(name, **params)
    model.threshold = split.threshold
    fit_kw = {"seed": seed, "device": device, "show_progress": show_progress}
    if item_features is not None:
        fit_kw["item_features"] = item_features
    if not (early_stopping and cls.iterative):
        start = time.perf_counter()
        model.fit(_train_for(model, split, split.train), callback=callback, **fit_kw)
        return SplitFit(model, time.perf_counter() - start)
    # Early stopping watches known-user scores, so the users protocol validates on a random
    # holdout of the training users' positives; tuning (recsys.tune) scores fold-in on top.
    if split.protocol == "users":
        vsplit = random_split(split.train, split.threshold, 0.1, seed + 101)
        vsplit = replace(vsplit, train=_rest(split.train, vsplit.test))
    else:
        vsplit = validation_split(split, seed=seed + 101)
    valid = vsplit.test if model.kind == "explicit" else vsplit.relevant()
    start = time.perf_counter()
    model.fit(_train_for(model, split, vsplit.train), valid=valid, callback=callback, **fit_kw)
    valid_history = list(model.history)
    epochs = best_epoch(valid_history) or len(valid_history)
    if refit:
        final = make_model(name, **{**params, cls.epochs_field: max(epochs, 1)})
        final.threshold = split.threshold
        final.fit(_train_for(final, split, split.train), **fit_kw)
        model = final
    return SplitFit(model, time.perf_counter() - start, epochs, valid_history)


def _rest(data: Interactions, removed: Interactions) -> Interactions:
    """``data`` without the (user, item) pairs of ``removed``."""
    key = data.user.astype(np.int64) * data.n_items + data.item
    gone = removed.user.astype(np.int64) * removed.n_items + removed.item
    return data.subset(~np.isin(key, gone))


def _train_for(model: Recommender, split: Split, train: Interactions) -> Interactions:
    if model.kind == "explicit" or split.protocol == "ratings":
        return train
    return train.positives(split.threshold)


def evaluate_models(
    dataset: Dataset,
    protocol: str,
    models: Sequence[str],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    threshold: float = 4.0,
    test_frac: float = 0.2,
    seed: int = 42,
    user_frac: float = 0.2,
    fold_in_frac: float = 0.8,
    last_n: int = 1,
    params: dict[str, dict] | None = None,
    device: str = "auto",
    show_progress: bool = False,
    profile_sizes: Sequence[int] | None = (1, 2, 5, 10, 20),
    on_result: Callable[[dict], None] | None = None,
    item_features: Any = None,
) -> dict:
    """Split ``dataset`` by ``protocol``, fit and measure each model; returns the results dict.

    Each model trains by :func:`fit_on_split` (iterative ones: epochs chosen on a validation
    split, then refit on the whole training part). ``item_features`` (n_items, n_features)
    reaches ``fit`` of the models with ``uses_item_features``; when None and such a model is
    asked for, they are built from ``dataset`` (:func:`recsys.features.item_features`).
    """
    split = make_split(
        protocol,
        dataset.interactions(),
        threshold=threshold,
        test_frac=test_frac,
        seed=seed,
        user_frac=user_frac,
        fold_in_frac=fold_in_frac,
        last_n=last_n,
    )
    shared_features = item_features
    if shared_features is None and any(model_class(m).uses_item_features for m in models):
        shared_features = features.item_features(dataset)  # once, for every model that needs it
    results = []
    for name in models:
        fitted = fit_on_split(
            name,
            split,
            (params or {}).get(name),
            seed=seed,
            device=device,
            show_progress=show_progress,
            item_features=shared_features if model_class(name).uses_item_features else None,
        )
        model = fitted.model
        if protocol == "ratings":
            metrics = evaluate_ratings(model, split)
        else:
            metrics = evaluate_ranking(model, split, ks)
            if protocol == "users" and profile_sizes:
                metrics["by_profile_size"] = quality_by_profile_size(model, split, profile_sizes)
                metrics["elicitation"] = elicitation_quality(model, split, dataset.items)
        entry = {
            "model": name,
            "params": model.params(),
            "metrics": metrics,
            "train_seconds": round(fitted.seconds, 3),
            "epochs_chosen": fitted.epochs_chosen,
            # The early-stopping run (with its validation metric) for iterative models.
            "history": fitted.valid_history or model.history,
        }
        log.info("%s/%s: %s", protocol, name, {k: v for k, v in metrics.items() if "@10" in k})
        if on_result is not None:
            on_result(entry)
        results.append(entry)
    return {
        "dataset": dataset.summary(),
        "protocol": {"name": protocol, **split.params, "ks": list(ks)},
        "results": results,
    }
