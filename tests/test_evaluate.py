"""The fair protocol (every model sees the same training part), the sparse-items metric, and the
model attributes that evaluate, tune and the CLI read instead of lists of names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import recsys
from recsys import evaluate as E
from recsys.models import MODEL_NAMES, model_class
from recsys.splits import make_split

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split(synthetic_dir):
    data = recsys.load_movielens(synthetic_dir).interactions()
    return make_split("random", data, threshold=4.0, seed=7)


def test_sparse_item_ndcg_on_a_hand_example():
    #            item:  0    1    2    3    4
    scores = np.array([[0.9, 1.0, 0.1, 0.5, 0.8], [0.9, 1.0, 0.1, 0.5, 0.8]], np.float32)
    keep = np.array([True, False, True, True, False])  # items 1 and 4 are well known
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]))  # user 0 knows item 3
    relevant = sp.csr_matrix(np.array([[0, 1, 1, 0, 0], [0, 1, 0, 0, 0]]))
    got = E.sparse_item_ndcg(scores, exclude, relevant, keep, k=10)
    # User 0: the ranking of kept, unknown items is [0, 2]; the one kept relevant item (2) is
    # second: DCG = 1/log2(3), ideal DCG = 1. User 1 has no kept relevant item: NaN.
    assert got[0] == pytest.approx(1 / np.log2(3))
    assert np.isnan(got[1])
    # With k = 1 the hit falls outside the list.
    assert E.sparse_item_ndcg(scores, exclude, relevant, keep, k=1)[0] == 0.0


def test_ranking_results_report_sparse_items(split):
    fitted = E.fit_on_split("itemknn", split)
    metrics = E.evaluate_ranking(fitted.model, split, ks=(10,))
    sparse = metrics["sparse_items"]
    assert sparse["max_train_ratings"] == 10
    counts = np.bincount(split.train.item, minlength=split.train.n_items)
    assert sparse["n_items"] == int((counts < 10).sum())
    assert 0 < sparse["n_users"] <= metrics["n_users"]
    assert 0.0 <= sparse["ndcg@10"] <= 1.0


def test_sparse_max_none_skips_only_the_sparse_items_block(split):
    fitted = E.fit_on_split("itemknn", split)
    full = E.evaluate_ranking(fitted.model, split, ks=(10, 20))
    lean = E.evaluate_ranking(fitted.model, split, ks=(10, 20), sparse_max=None)
    assert "sparse_items" not in lean
    assert lean == {k: v for k, v in full.items() if k != "sparse_items"}


def test_best_epoch_follows_run_epochs_rule():
    hist = [
        {"epoch": 1, "valid_ndcg@10": 0.1},
        {"epoch": 2, "valid_ndcg@10": 0.3},
        {"epoch": 3, "valid_ndcg@10": 0.3},  # a tie is not an improvement
        {"epoch": 4, "valid_ndcg@10": 0.2},
    ]
    assert E.best_epoch(hist) == 2
    assert E.best_epoch([{"epoch": 1, "valid_rmse": 1.0}, {"epoch": 2, "valid_rmse": 0.9}]) == 2
    assert E.best_epoch([{"epoch": 1, "loss": 1.0}]) is None


def _spy_fits(monkeypatch, cls):
    calls = []
    original = cls.fit

    def fit(self, train, **kw):
        calls.append(
            {
                "n": len(train),
                "valid": kw.get("valid") is not None,
                "epochs": getattr(self.config, self.epochs_field) if self.epochs_field else None,
            }
        )
        return original(self, train, **kw)

    monkeypatch.setattr(cls, "fit", fit)
    return calls


def test_iterative_model_is_refit_on_the_whole_train_part_for_the_chosen_epochs(split, monkeypatch):
    cls = model_class("ials")
    calls = _spy_fits(monkeypatch, cls)
    fitted = E.fit_on_split("ials", split, {"iterations": 6, "factors": 8, "patience": 2})
    n_train = len(split.train.positives(split.threshold))
    assert len(calls) == 2
    first, final = calls
    assert first["valid"] and first["n"] < n_train  # early stopping on a carved holdout
    assert not final["valid"] and final["n"] == n_train  # refit on all of it
    assert fitted.epochs_chosen == E.best_epoch(fitted.valid_history)
    assert final["epochs"] == fitted.epochs_chosen
    assert len(fitted.model.history) == fitted.epochs_chosen
    assert all("valid_ndcg@10" in r for r in fitted.valid_history)


def test_non_iterative_models_fit_the_same_whole_train_part_once(split, monkeypatch):
    calls = _spy_fits(monkeypatch, model_class("ease"))
    fitted = E.fit_on_split("ease", split)
    assert calls == [{"n": len(split.train.positives(split.threshold)), "valid": False,
                      "epochs": None}]  # fmt: skip
    assert fitted.epochs_chosen is None and fitted.valid_history == []


def test_the_iterative_attribute_alone_decides_early_stopping(split, monkeypatch):
    cls = model_class("ials")
    monkeypatch.setattr(cls, "iterative", False)
    calls = _spy_fits(monkeypatch, cls)
    E.fit_on_split("ials", split, {"iterations": 2, "factors": 8})
    assert len(calls) == 1 and not calls[0]["valid"]


def test_results_record_epochs_chosen_and_the_validation_curve(synthetic_dir):
    ds = recsys.load_movielens(synthetic_dir)
    out = E.evaluate_models(
        ds,
        "random",
        ["pop", "ials"],
        ks=(10,),
        params={"ials": {"iterations": 3, "factors": 8}},
    )
    pop, ials = out["results"]
    assert pop["epochs_chosen"] is None
    assert 1 <= ials["epochs_chosen"] <= 3
    assert ials["history"] and all("valid_ndcg@10" in r for r in ials["history"])


def test_no_model_name_lists_outside_the_registry():
    """evaluate, tune and the CLI read class attributes; only models/__init__ names models."""
    names = "|".join(MODEL_NAMES)
    # A list, tuple or comparison of names (help texts may still show '{"ials": {...}}').
    pattern = re.compile(rf"""(?:["']({names})["']\s*[,)\]])|(?:(?:==|in)\s*["']({names})["'])""")
    for rel in ("recsys/evaluate.py", "recsys/tune.py", "recsys/cli.py"):
        found = pattern.findall((ROOT / rel).read_text())
        assert not found, f"{rel} names models {found}: read a class attribute instead"


def test_export_refusal_names_the_exportable_models_from_the_registry():
    from recsys.artifacts.export import export_model
    from recsys.errors import ConfigError
    from recsys.models import exportable_models, make_model

    exportable = exportable_models()
    assert exportable == tuple(m for m in MODEL_NAMES if model_class(m).has_item_embeddings)
    assert {"hybrid", "content"} <= set(exportable) and "bias" not in exportable
    message = (
        "model 'pop' has no item embeddings to export; export one of ials, bpr, mf, ncf, hybrid, "
        "content (pop, itemknn, ease, bias are evaluated but not exported)"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        export_model(make_model("pop"), None, "unused")
