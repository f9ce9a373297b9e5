"""Tuning on Optuna: seeded, budgeted, pruned, edge-flagged, and blind to the test split."""

from __future__ import annotations

import pytest

import recsys
from recsys import tune as T
from recsys.evaluate import evaluate_ranking
from recsys.models import model_class
from recsys.search_space import Choice, FloatParam, IntParam, range_position

optuna = pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def dataset(synthetic_dir):
    return recsys.load_movielens(synthetic_dir)


def test_tune_itemknn_picks_the_best_trial_within_the_declared_space(dataset):
    result = T.tune_model("itemknn", dataset, "random", n_trials=4, seed=1)
    trials = result["trials"]
    assert len(trials) == 4 and all(t["state"] == "complete" for t in trials)
    assert result["best_score"] == max(t["value"] for t in trials)
    space = model_class("itemknn").search_space
    for t in trials:
        assert space["neighbors"].low <= t["params"]["neighbors"] <= space["neighbors"].high
    # The first trial is the shipped defaults.
    assert trials[0]["params"] == {"neighbors": 20, "shrink": 10.0}
    assert result["metric"] == "validation ndcg@10 (random protocol)"
    assert result["sampler"] == {"name": "TPE", "seed": 1}


def test_same_seed_gives_the_same_trials(dataset):
    # ItemKNN: a seconds-fast model whose score changes with its sampled parameters.
    a = T.tune_model("itemknn", dataset, "random", n_trials=5, seed=3)
    b = T.tune_model("itemknn", dataset, "random", n_trials=5, seed=3)
    c = T.tune_model("itemknn", dataset, "random", n_trials=5, seed=4)
    assert [t["params"] for t in a["trials"]] == [t["params"] for t in b["trials"]]
    assert [t["value"] for t in a["trials"]] == [t["value"] for t in b["trials"]]
    assert [t["params"] for t in a["trials"]] != [t["params"] for t in c["trials"]]


def test_a_time_budget_stops_after_the_defaults_trial(dataset):
    """A budget spent before the second trial leaves exactly the defaults trial."""
    result = T.tune_model("ease", dataset, "random", n_trials=50, timeout=1e-9, seed=0)
    assert len(result["trials"]) == 1
    assert result["budget"] == {"n_trials": 50, "timeout": 1e-9}


def test_a_budget_is_required(dataset):
    with pytest.raises(recsys.ConfigError, match="budget"):
        T.tune_model("ease", dataset, "random", n_trials=None, timeout=None)


class _PruneLaterTrials(optuna.pruners.BasePruner):
    """Prunes every trial but the first at its second reported epoch."""

    def prune(self, study, trial) -> bool:
        return trial.number > 0 and trial.last_step is not None and trial.last_step >= 2


def test_pruning_stops_iterative_trials_early(dataset):
    fixed = {"iterations": 5, "patience": 5, "factors": 8}
    result = T.tune_model(
        "ials", dataset, "random", n_trials=3, seed=0, fixed=fixed, pruner=_PruneLaterTrials()
    )
    states = [t["state"] for t in result["trials"]]
    assert states == ["complete", "pruned", "pruned"]
    assert [t["epochs"] for t in result["trials"][1:]] == [2, 2]
    assert result["trials"][1]["value"] is None
    # Only the complete trial can be best; its epochs come from early stopping.
    assert result["best_score"] == result["trials"][0]["value"]
    assert 1 <= result["epochs_chosen"] <= 5
    assert result["best_params"]["iterations"] == 5


def test_tune_never_sees_the_test_split(dataset, monkeypatch):
    """Every evaluation inside tuning runs on a split whose test part is disjoint from the
    protocol's test part."""
    from recsys.splits import make_split

    split = make_split("users", dataset.interactions(), seed=42)
    test_pairs = set(zip(split.test.user.tolist(), split.test.item.tolist()))
    seen = []

    def spy(model, s, *a, **k):
        seen.append(set(zip(s.test.user.tolist(), s.test.item.tolist())))
        return evaluate_ranking(model, s, *a, **k)

    monkeypatch.setattr(T, "evaluate_ranking", spy)
    fixed = {"iterations": 2, "factors": 8}
    result = T.tune_model("ials", dataset, "users", n_trials=2, seed=42, fixed=fixed)
    assert seen and all(not (pairs & test_pairs) for pairs in seen)
    # Stage two tried fold-in weights on the best fit without refitting.
    stage2 = [t for t in result["trials"] if t["stage"] == "fold-in"]
    assert len(stage2) == 2 and all(set(t["params"]) == {"fold_in.negative_weight"} for t in stage2)
    assert stage2[0]["params"]["fold_in.negative_weight"] == 0.0  # the best fit's own value
    assert len(seen) == 4  # 2 trained trials + 2 fold-in trials
    assert result["best_params"]["iterations"] == 2
    assert set(result["best_params"]["fold_in"]) == {"negative_weight"}
    assert recsys.models.make_model("ials", **result["best_params"]).config.fold_in


def test_fold_in_is_not_tuned_where_nothing_folds_in(dataset):
    fixed = {"iterations": 2, "factors": 8}
    result = T.tune_model("ials", dataset, "random", n_trials=2, seed=0, fixed=fixed)
    assert all(t["stage"] == "train" for t in result["trials"])
    assert all(not k.startswith("fold_in") for t in result["trials"] for k in t["params"])


def test_edge_params_are_flagged_on_log_and_linear_ranges():
    space = {
        "reg": FloatParam(1e-4, 1.0),  # log: 1e-4 .. 1, 5% of 4 decades is 0.2 decades
        "w": FloatParam(0.0, 10.0, log=False),
        "k": IntParam(10, 1000, log=True),
        "how": Choice(("a", "b")),
    }
    params = {"reg": 1.5e-4, "w": 9.6, "k": 100, "how": "a"}
    edges = T.edge_params(space, params)
    assert set(edges) == {"reg", "w"}
    assert edges["reg"]["side"] == "low" and edges["w"]["side"] == "high"
    # 3e-4 is 0.48 decades above 1e-4: inside on a log scale (though near it in linear terms).
    assert T.edge_params(space, {"reg": 3e-4}) == {}
    assert range_position(space["k"], 100) == pytest.approx(0.5)
    assert range_position(space["how"], "a") is None
    # A linear range from 0 (a weight) is not flagged at 0: nothing lies below; a range from 2 is.
    assert T.edge_params(space, {"w": 0.0}) == {}
    shifted = {"w": FloatParam(2.0, 10.0, log=False)}
    assert T.edge_params(shifted, {"w": 2.0})["w"]["side"] == "low"


def test_every_declared_space_fits_its_config():
    """Space names are Config fields (dotted for nested ones) and the defaults lie in range."""
    from recsys.models import MODEL_NAMES, make_model
    from recsys.search_space import flatten

    for name in MODEL_NAMES:
        cls = model_class(name)
        defaults = flatten(make_model(name).params())
        for key, param in cls.search_space.items():
            assert key in defaults, f"{name}: {key} is not a Config field"
            pos = range_position(param, defaults[key])
            assert pos is None or 0.0 <= pos <= 1.0, f"{name}: default {key} outside its range"
            if isinstance(param, Choice):
                assert defaults[key] in param.values
        if cls.iterative:
            assert cls.epochs_field in defaults and cls.epochs_field not in cls.search_space
