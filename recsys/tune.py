"""Hyper-parameter search with Optuna on a validation split carved out of train (never the test set).

Each model declares its ranges beside its Config (``search_space``, :mod:`recsys.search_space`).
:func:`tune_model` draws configurations with Optuna's seeded TPE sampler; each trial fits on the
validation split's train part (:func:`recsys.evaluate.fit_on_split`: iterative models stop early
on a holdout of it, and a pruner stops a trial whose per-epoch validation is in the bottom
quarter of the trials before it) and is scored on the validation split's test part with the protocol's own
scoring (fold-in for ``users``). NDCG@10 is maximised for ranking protocols, RMSE minimised for
``ratings``. The first trial is always the shipped defaults, so tuning never ends below them on
validation.

Fold-in settings (``"fold_in.<field>"``) do not change training, so they are tuned in a second,
fit-free stage on the best trial's model (``users`` protocol only; the other protocols never fold
in): as many trials again, within at most a fifth of the time budget more.

Budget: ``n_trials`` trials and/or ``timeout`` seconds (Optuna stops starting trials after it).
Optuna is imported here only, so the app and the models never need it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from .data import Dataset
from .errors import ConfigError
from .evaluate import evaluate_ranking, evaluate_ratings, fit_on_split
from .models import make_model, model_class
from .search_space import Choice, FloatParam, IntParam, Param, flatten, nest, range_position
from .splits import make_split, validation_split

__all__ = ["tune_model", "tune_models", "edge_params", "EDGE_MARGIN"]

log = logging.getLogger(__name__)

# A best value within this share of its range's ends (log scale for log ranges) is flagged: the
# optimum may lie outside the range.
EDGE_MARGIN = 0.05


def edge_params(
    space: dict[str, Param], params: dict[str, Any], margin: float = EDGE_MARGIN
) -> dict[str, dict]:
    """The numeric ``params`` (dotted names) within ``margin`` of an end of their range.

    Returns name -> {"value", "low", "high", "side": "low" | "high"}; Choices are never flagged,
    nor the low end of a linear range starting at 0 (a weight or penalty cannot go below it).
    """
    out = {}
    for name, param in space.items():
        if name not in params:
            continue
        pos = range_position(param, params[name])
        if pos is None or margin < pos < 1.0 - margin:
            continue
        side = "low" if pos <= margin else "high"
        if side == "low" and isinstance(param, FloatParam | IntParam) and not param.log:
            if param.low == 0:  # 0 bounds a weight or penalty by nature: nothing lies below it
                continue
        out[name] = {"value": params[name], "low": param.low, "high": param.high, "side": side}
    return out


def _suggest(trial, name: str, param: Param) -> Any:
    if isinstance(param, FloatParam):
        return trial.suggest_float(name, param.low, param.high, log=param.log)
    if isinstance(param, IntParam):
        return trial.suggest_int(name, param.low, param.high, log=param.log)
    if isinstance(param, Choice):
        return trial.suggest_categorical(name, list(param.values))
    raise ConfigError(f"search space entry {name!r} is not a FloatParam, IntParam or Choice")


def _defaults(name: str, space: dict[str, Param]) -> dict[str, Any]:
    """The shipped default of each searched parameter (dotted names)."""
    flat = flatten(make_model(name).params())
    return {k: flat[k] for k in space if k in flat}


def tune_model(
    name: str,
    dataset: Dataset,
    protocol: str,
    *,
    n_trials: int | None = 20,
    timeout: float | None = None,
    threshold: float = 4.0,
    seed: int = 42,
    device: str = "auto",
    fixed: dict | None = None,
    pruner: Any = None,
    item_features: Any = None,
) -> dict:
    """Optuna search for model ``name``; returns the tuning report (plain data).

    The validation split is carved from the protocol's train part with the same protocol, so the
    test part of ``make_split(protocol, ..., seed=seed)`` is never seen. ``fixed`` (nested or
    dotted names) is kept constant and left out of the search. ``pruner`` replaces the default
    ``PercentilePruner`` (tests pass one built to prune). At least one trial (the defaults) runs
    whatever the budget.

    Returns:
        {"best_params": nested params for ``make_model``, "best_score", "metric",
        "epochs_chosen": epochs of the best trial (iterative models), "edge_params":
        :func:`edge_params` of the best values, "trials": [{"number", "stage" ("train" or
        "fold-in"), "params" (dotted names), "value", "state" ("complete" | "pruned" | "failed"), "epochs",
        "seconds"}], "sampler": {"name": "TPE", "seed"}, "budget": {"n_trials", "timeout"}}.
    """
    import optuna

    if n_trials is None and timeout is None:
        raise ConfigError("tuning needs a budget: a number of trials, a time limit, or both")
    if n_trials is not None and n_trials < 1:
        raise ConfigError(f"tuning needs at least 1 trial, got {n_trials}")
    cls = model_class(name)
    if cls.uses_item_features and item_features is None:
        from .features import item_features as build_features

        item_features = build_features(dataset)
    fixed_flat = flatten(dict(fixed or {}))
    make_model(name, **fixed_flat)  # refuse unknown fixed parameters before any work
    split = make_split(protocol, dataset.interactions(), threshold=threshold, seed=seed)
    vsplit = validation_split(split, seed=seed + 1)
    metric = "rmse" if protocol == "ratings" else "ndcg@10"
    direction = "minimize" if metric == "rmse" else "maximize"

    def measure(model) -> float:
        if protocol == "ratings":
            return float(evaluate_ratings(model, vsplit)[metric])
        return float(evaluate_ranking(model, vsplit, ks=(10,), sparse_max=None)[metric])

    space = {k: v for k, v in cls.search_space.items() if k not in fixed_flat}
    train_space = {k: v for k, v in space.items() if not k.startswith("fold_in.")}
    fold_space = (
        {k: v for k, v in space.items() if k.startswith("fold_in.")} if protocol == "users" else {}
    )
    start_time = time.perf_counter()
    trials: list[dict] = []
    best: dict[str, Any] = {"model": None, "trial": None}

    def record(stage, params, value, state, epochs, seconds) -> None:
        trials.append(
            {
                "number": len(trials),  # in the order run, over both stages
                "stage": stage,
                "params": params,
                "value": value,
                "state": state,
                "epochs": epochs,
                "seconds": round(seconds, 3),
            }
        )

    def train_objective(trial) -> float:
        sampled = {k: _suggest(trial, k, p) for k, p in train_space.items()}
        params = {**fixed_flat, **sampled}
        epochs_seen: list[int] = []

        def on_epoch(epoch: int, rec: dict[str, float]) -> None:
            epochs_seen.append(epoch)
            values = [v for k, v in rec.items() if k.startswith("valid_")]
            if not values:
                return
            trial.report(float(values[0]), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: {values[0]:.4f}")

        t0 = time.perf_counter()
        try:
            fitted = fit_on_split(
                name,
                vsplit,
                nest(params),
                seed=seed,
                device=device,
                refit=False,
                callback=on_epoch,
                item_features=item_features,
            )
        except optuna.TrialPruned:
            epochs = epochs_seen[-1] if epochs_seen else 0
            record("train", sampled, None, "pruned", epochs, time.perf_counter() - t0)
            log.info("tune %s trial %d pruned after %d epochs", name, trial.number, epochs)
            raise
        except ConfigError as exc:  # e.g. an ill-conditioned corner of the space
            record("train", sampled, None, "failed", None, time.perf_counter() - t0)
            log.warning("tune %s trial %d %s failed: %s", name, trial.number, sampled, exc)
            return float("nan")  # Optuna records a NaN as a failed trial and goes on
        value = measure(fitted.model)
        epochs = fitted.epochs_chosen
        trial.set_user_attr("epochs", epochs)
        record("train", sampled, value, "complete", epochs, time.perf_counter() - t0)
        log.info("tune %s trial %d %s: %s=%.4f", name, trial.number, sampled, metric, value)
        if best["trial"] is None or _better(value, best["trial"]["value"], direction):
            best["model"], best["trial"] = fitted.model, trials[-1]
        return value

    optuna.logging.get_logger("optuna").setLevel(logging.WARNING)  # our log says the same
    n_startup = 10 if n_trials is None else max(3, min(10, n_trials // 3))
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup)
    if pruner is None:
        # Only the bottom quarter at the same epoch, after 4 epochs and 5 trials: early epochs of
        # a big or strongly regularised model lag and then overtake, so pruning stays cautious.
        pruner = optuna.pruners.PercentilePruner(25.0, n_startup_trials=5, n_warmup_steps=4)
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    study.enqueue_trial(_defaults(name, train_space), skip_if_exists=True)
    # The defaults first, whatever the time budget; then the rest of the budget.
    study.optimize(train_objective, n_trials=1)
    remaining = None if timeout is None else timeout - (time.perf_counter() - start_time)
    more = None if n_trials is None else n_trials - 1
    if (more is None or more > 0) and (remaining is None or remaining > 0):
        study.optimize(train_objective, n_trials=more, timeout=remaining)
    if best["trial"] is None:
        raise ConfigError(f"tuning {name}: every trial was pruned; give a larger budget")
    best_trial = best["trial"]
    best_params = {**fixed_flat, **best_trial["params"]}
    best_value = best_trial["value"]

    if fold_space:
        model = best["model"]
        base_config = model.config
        base_fold = flatten(model.params())

        def fold_objective(trial) -> float:
            sampled = {k: _suggest(trial, k, p) for k, p in fold_space.items()}
            t0 = time.perf_counter()
            model.config = make_model(name, **{**base_fold, **sampled}).config
            value = measure(model)
            record("fold-in", sampled, value, "complete", None, time.perf_counter() - t0)
            log.info("tune %s fold-in %d %s: %s=%.4f", name, trial.number, sampled, metric, value)
            return value

        fold_study = optuna.create_study(
            direction=direction,
            sampler=optuna.samplers.TPESampler(seed=seed + 1, n_startup_trials=n_startup),
        )
        fold_study.enqueue_trial({k: base_fold[k] for k in fold_space})
        fold_study.optimize(fold_objective, n_trials=1)
        fold_trials = None if n_trials is None else n_trials - 1
        fold_timeout = None if timeout is None else timeout / 5
        if fold_trials is None or fold_trials > 0:
            fold_study.optimize(fold_objective, n_trials=fold_trials, timeout=fold_timeout)
        model.config = base_config
        if _better(fold_study.best_value, best_value, direction):
            best_value = fold_study.best_value
            best_params.update(fold_study.best_params)
        else:  # keep the fold-in values the training stage used
            best_params.update({k: base_fold[k] for k in fold_space})

    n_pruned = sum(t["state"] == "pruned" for t in trials)
    log.info(
        "tune %s: best %s=%.4f after %d trials (%d pruned) in %.0f s",
        name,
        metric,
        best_value,
        len(trials),
        n_pruned,
        time.perf_counter() - start_time,
    )
    return {
        "best_params": nest(best_params),
        "best_score": best_value,
        "metric": f"validation {metric} ({protocol} protocol)",
        "epochs_chosen": best_trial["epochs"],
        "edge_params": edge_params(space, best_params),
        "trials": trials,
        "sampler": {"name": "TPE", "seed": seed},
        "budget": {"n_trials": n_trials, "timeout": timeout},
    }


def _better(a: float, b: float, direction: str) -> bool:
    if math.isnan(a):
        return False
    return a < b if direction == "minimize" else a > b


def tune_models(
    dataset: Dataset,
    protocol: str,
    models: Sequence[str],
    *,
    fixed: dict | None = None,
    item_features: Any = None,
    **kw,
) -> dict[str, dict]:
    """:func:`tune_model` for each model with the same budget; ``fixed`` maps model ->
    parameters kept constant. ``item_features`` (built once by the caller) reach the models
    with ``uses_item_features``; when None, :func:`tune_model` builds them."""
    fixed = fixed or {}
    return {
        m: tune_model(
            m,
            dataset,
            protocol,
            fixed=fixed.get(m),
            item_features=item_features if model_class(m).uses_item_features else None,
            **kw,
        )
        for m in models
    }
