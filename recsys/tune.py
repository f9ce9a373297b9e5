"""Hyper-parameter search on a validation split carved out of train (never the test set).

A plain seeded random search over a small grid per model (``SEARCH_SPACES``): ``n_trials``
configurations are drawn without replacement, each is fitted on the validation split's train part
and scored on its test part with the protocol's own scoring (fold-in for ``users``), and the best
is returned. NDCG@10 is maximised for ranking protocols, RMSE minimised for ``ratings``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Sequence

import numpy as np

from .data import Dataset
from .evaluate import evaluate_ranking, evaluate_ratings, fit_on_split
from .models import model_class
from .splits import make_split, validation_split

__all__ = ["SEARCH_SPACES", "tune_model", "tune_models"]

log = logging.getLogger(__name__)

# Grids for ml-latest-small-sized data; values outside a model's Config are ignored.
SEARCH_SPACES: dict[str, dict[str, list]] = {
    "pop": {},
    "itemknn": {"neighbors": [20, 50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0, 100.0]},
    "ease": {"reg": [50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]},
    "ials": {
        "reg": [0.003, 0.01, 0.03, 0.1],
        "alpha": [1.0, 2.0, 5.0],
        "unobserved_weight": [0.1, 0.3, 1.0],
        "reg_exponent": [0.0, 1.0],
        "fold_in_negative_weight": [0.0, 0.1, 0.3, 1.0, 3.0],
    },
    "bpr": {
        "lr": [0.001, 0.003, 0.01],
        "reg": [1e-5, 1e-4, 1e-3],
        "negative_sampling": ["uniform", "popularity"],
        "fold_in_reg": [0.01, 0.1, 1.0, 10.0],
        "fold_in_alpha": [1.0, 5.0, 20.0],
        "fold_in_unobserved_weight": [0.01, 0.1, 1.0],
        "fold_in_negative_weight": [0.0, 0.1, 1.0],
    },
    "mf": {
        "lr": [0.001, 0.003, 0.01],
        "reg": [0.005, 0.02, 0.05, 0.1],
        "fold_in_reg": [0.3, 1.0, 3.0, 10.0],
    },
    "ncf": {"lr": [0.0005, 0.001, 0.003], "negatives": [2, 4, 8]},
}


def _space(name: str, fixed: dict) -> dict[str, list]:
    known = {f.name for f in dataclasses.fields(model_class(name).Config)}
    return {k: v for k, v in SEARCH_SPACES.get(name, {}).items() if k in known and k not in fixed}


def _grid(space: dict[str, list]) -> list[dict]:
    keys = sorted(space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(space[k] for k in keys))]


def tune_model(
    name: str,
    dataset: Dataset,
    protocol: str,
    *,
    n_trials: int = 20,
    threshold: float = 4.0,
    seed: int = 42,
    device: str = "auto",
    fixed: dict | None = None,
) -> dict:
    """Random search for model ``name``; returns {"best_params", "best_score", "metric", "trials"}.

    The validation split is carved from the protocol's train part with the same protocol, so the
    test part of ``make_split(protocol, ..., seed=seed)`` is never seen. Two stages: ``n_trials``
    random draws of the training hyper-parameters (each a fit), then, for the ``users`` protocol,
    the whole grid of ``fold_in_*`` parameters on the best fit (fold-in needs no refit).
    """
    fixed = dict(fixed or {})
    split = make_split(protocol, dataset.interactions(), threshold=threshold, seed=seed)
    vsplit = validation_split(split, seed=seed + 1)
    metric = "rmse" if protocol == "ratings" else "ndcg@10"
    sign = -1.0 if metric == "rmse" else 1.0

    def measure(model) -> float:
        if protocol == "ratings":
            return evaluate_ratings(model, vsplit)[metric]
        return evaluate_ranking(model, vsplit, ks=(10,))[metric]

    space = _space(name, fixed)
    train_space = {k: v for k, v in space.items() if not k.startswith("fold_in")}
    fold_space = {k: v for k, v in space.items() if k.startswith("fold_in")}
    grid = _grid(train_space)
    rng = np.random.default_rng(seed)
    trials, best, best_model = [], None, None
    for i in rng.permutation(len(grid))[:n_trials]:
        params = {**fixed, **grid[i]}
        start = time.perf_counter()
        model, _ = fit_on_split(name, vsplit, params, seed=seed, device=device)
        value = measure(model)
        trials.append({"params": params, metric: value, "seconds": time.perf_counter() - start})
        log.info("tune %s %s: %s=%.4f", name, params, metric, value)
        if best is None or sign * value > sign * best[metric]:
            best, best_model = trials[-1], model
    if fold_space and protocol == "users":
        base_config = best_model.config
        for fold_params in _grid(fold_space):
            best_model.config = dataclasses.replace(base_config, **fold_params)
            params = {**best["params"], **fold_params}
            value = measure(best_model)
            trials.append({"params": params, metric: value, "seconds": 0.0, "stage": "fold-in"})
            log.info("tune %s fold-in %s: %s=%.4f", name, fold_params, metric, value)
            if sign * value > sign * best[metric]:
                best = trials[-1]
    return {
        "best_params": best["params"],
        "best_score": best[metric],
        "metric": f"validation {metric} ({protocol} protocol)",
        "trials": trials,
    }


def tune_models(
    dataset: Dataset, protocol: str, models: Sequence[str], *, fixed: dict | None = None, **kw
) -> dict[str, dict]:
    """:func:`tune_model` for each model; ``fixed`` maps model -> parameters kept constant."""
    fixed = fixed or {}
    return {m: tune_model(m, dataset, protocol, fixed=fixed.get(m), **kw) for m in models}
