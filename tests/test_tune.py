"""Tuning: searches the declared grid on validation data only, and picks the best trial."""

from __future__ import annotations

import pytest

import recsys
from recsys import tune as T
from recsys.evaluate import evaluate_ranking


@pytest.fixture(scope="module")
def dataset(synthetic_dir):
    return recsys.load_movielens(synthetic_dir)


def test_tune_itemknn_picks_the_best_trial(dataset):
    result = T.tune_model("itemknn", dataset, "random", n_trials=4, seed=1)
    trials = result["trials"]
    assert len(trials) == 4
    assert result["best_score"] == max(t["ndcg@10"] for t in trials)
    for t in trials:
        assert t["params"]["neighbors"] in T.SEARCH_SPACES["itemknn"]["neighbors"]
    assert "validation ndcg@10 (random protocol)" == result["metric"]


def test_tune_never_sees_the_test_split(dataset, monkeypatch):
    """Every evaluation inside tuning runs on a split whose test part is disjoint from the
    protocol's test part."""
    from recsys.splits import make_split

    test_pairs = set()
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
    # Stage two tried every fold-in weight on the best fit without refitting.
    stage2 = [t for t in result["trials"] if t.get("stage") == "fold-in"]
    assert len(stage2) == len(T.SEARCH_SPACES["ials"]["fold_in_negative_weight"])
    assert result["best_params"]["iterations"] == 2
