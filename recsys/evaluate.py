"""Evaluation: fit models on a protocol's train part and measure them on its test part.

Rankings are always against the full catalogue (no sampled negatives). For the ``users``
protocol, held-out users are scored through ``model.fold_in_state().fold_in`` — the code the app
runs for a visitor. Results are plain dicts in the JSON layout of ``python -m recsys evaluate``::

    {"dataset": {...}, "protocol": {...},
     "results": [{"model", "params", "metrics": {"recall@10": ..., "ndcg@10": ..., ...},
                  "train_seconds", "history"}]}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from . import features
from . import metrics as M
from .data import Dataset, Interactions
from .models import make_model, model_class
from .models.base import Recommender
from .splits import Split, make_split, random_split, validation_split

__all__ = [
    "evaluate_ranking",
    "evaluate_ratings",
    "evaluate_models",
    "fit_on_split",
    "quality_by_profile_size",
]

log = logging.getLogger(__name__)

DEFAULT_KS = (10, 20)


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
    state = model.fold_in_state()
    prof = split.profiles
    order = np.argsort(prof.user, kind="stable")
    u_sorted = prof.user[order]

    def score(users: np.ndarray) -> np.ndarray:
        out = np.empty((len(users), model.n_items), np.float32)
        for row, u in enumerate(users):
            lo, hi = np.searchsorted(u_sorted, [u, u + 1])
            idx = order[lo:hi]
            if max_ratings is not None and len(idx) > max_ratings:
                idx = rng.choice(idx, size=max_ratings, replace=False)
            out[row] = state.fold_in(prof.item[idx], prof.rating[idx]).scores
        return out

    return score


def evaluate_ranking(
    model: Recommender,
    split: Split,
    ks: Sequence[int] = DEFAULT_KS,
    batch: int = 1024,
    score_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """Ranking metrics of a fitted model on ``split`` (mean over users with a relevant item).

    Each tested user's known items (``split.exclude``) are removed from their ranking.
    """
    relevant_all = split.relevant().to_csr()
    users = np.flatnonzero(np.diff(relevant_all.indptr) > 0)
    exclude_all = split.exclude.to_csr()
    train_pos = split.train.positives(split.threshold)
    item_counts = np.bincount(train_pos.item, minlength=split.train.n_items)
    n_train_users = len(train_pos.users_present())
    if score_fn is None:
        score_fn = _fold_in_scorer(model, split) if split.protocol == "users" else model.score
    kmax = max(ks)
    ranked = np.empty((len(users), kmax), np.int64)
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        ranked[start : start + len(chunk)] = M.top_k(score_fn(chunk), kmax, exclude_all[chunk])
    return _ranking_metrics(ranked, relevant_all[users], ks, item_counts, n_train_users)


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
        metrics = evaluate_ranking(model, split, ks=(k,), score_fn=scorer)
        out[str(n)] = {f"ndcg@{k}": metrics[f"ndcg@{k}"], f"recall@{k}": metrics[f"recall@{k}"]}
    return out


def evaluate_ratings(model: Recommender, split: Split) -> dict[str, float]:
    """RMSE and MAE of a rating model (needs ``predict(users, items)``) on ``split.test``."""
    pred = model.predict(split.test.user, split.test.item)
    return {
        "rmse": M.rmse(pred, split.test.rating),
        "mae": M.mae(pred, split.test.rating),
        "n_ratings": int(len(split.test)),
    }


def fit_on_split(
    name: str,
    split: Split,
    params: dict | None = None,
    *,
    seed: int = 0,
    device: str = "auto",
    show_progress: bool = False,
    early_stopping: bool = True,
    item_features=None,
) -> tuple[Recommender, float]:
    """Fit model ``name`` on ``split``'s train part; returns (model, seconds).

    With ``early_stopping``, iterative models stop on a validation split carved out of the
    training part with the same protocol (never the test set) and train on the remainder.
    """
    model = make_model(name, **(params or {}))
    model.threshold = split.threshold
    train = split.train
    valid = None
    if early_stopping and _is_iterative(model):
        # Early stopping watches known-user scores, so the users protocol validates on a random
        # holdout of the training users' positives; tuning (recsys.tune) uses fold-in instead.
        if split.protocol == "users":
            vsplit = random_split(train, split.threshold, 0.1, seed + 101)
            vsplit = replace(vsplit, train=_rest(train, vsplit.test))
        else:
            vsplit = validation_split(split, seed=seed + 101)
        train = vsplit.train
        valid = vsplit.test if model.kind == "explicit" else vsplit.relevant()
    start = time.perf_counter()
    model.fit(
        _train_for(model, split, train),
        valid=valid,
        seed=seed,
        device=device,
        show_progress=show_progress,
        item_features=item_features,
    )
    return model, time.perf_counter() - start


def _rest(data: Interactions, removed: Interactions) -> Interactions:
    """``data`` without the (user, item) pairs of ``removed``."""
    key = data.user.astype(np.int64) * data.n_items + data.item
    gone = removed.user.astype(np.int64) * removed.n_items + removed.item
    return data.subset(~np.isin(key, gone))


def _train_for(model: Recommender, split: Split, train: Interactions) -> Interactions:
    if model.kind == "explicit" or split.protocol == "ratings":
        return train
    return train.positives(split.threshold)


def _is_iterative(model: Recommender) -> bool:
    return model.name in ("ials", "bpr", "mf", "ncf")


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
) -> dict:
    """Split ``dataset`` by ``protocol``, fit and measure each model; returns the results dict."""
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
    results = []
    for name in models:
        model, seconds = fit_on_split(
            name,
            split,
            (params or {}).get(name),
            seed=seed,
            device=device,
            show_progress=show_progress,
            item_features=features.item_features(dataset)
            if model_class(name).uses_item_features
            else None,
        )
        if protocol == "ratings":
            metrics = evaluate_ratings(model, split)
        else:
            metrics = evaluate_ranking(model, split, ks)
            if protocol == "users" and profile_sizes:
                metrics["by_profile_size"] = quality_by_profile_size(model, split, profile_sizes)
        entry = {
            "model": name,
            "params": model.params(),
            "metrics": metrics,
            "train_seconds": round(seconds, 3),
            "history": model.history,
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
