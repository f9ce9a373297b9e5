"""Model-specific checks of the hybrid (content-regularised iALS) and the content-only model.

The shared behavioural suite in tests/test_models.py already runs both on the checkerboard; these
tests check the math each one claims in its docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from test_models import DATA, FEATURES, N_GROUPS, N_ITEMS, THRESHOLD

from recsys.data import Interactions
from recsys.errors import ConfigError
from recsys.models import make_model

# The toy matrix is 20% dense (MovieLens: under 5%): the shipped relative unobserved weight would
# weigh each zero 6x a positive here, so these tests of the hybrid's own mechanics fix iALS's
# weights in their absolute form (w0 = 1, plain ridge penalty).
FAST = {
    "factors": 8,
    "iterations": 6,
    "alpha": 5.0,
    "reg": 0.003,
    "unobserved_weight": 1.0,
    "unobserved_relative": False,
    "reg_exponent": 0.0,
}


def _train() -> Interactions:
    return DATA.train_for("implicit")


def test_hybrid_without_content_pull_is_ials():
    ials = make_model("ials", **FAST).fit(_train(), seed=4)
    hybrid = make_model("hybrid", **FAST, content_reg=0.0).fit(
        _train(), seed=4, item_features=FEATURES
    )
    np.testing.assert_allclose(hybrid.item_factors, ials.item_factors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hybrid.user_factors, ials.user_factors, rtol=1e-5, atol=1e-6)


def test_hybrid_loss_never_increases():
    # Each of the three steps solves its block exactly, so the objective cannot go up.
    model = make_model("hybrid", **{**FAST, "iterations": 10}, content_reg=2.0).fit(
        _train(), seed=1, item_features=FEATURES
    )
    losses = [h["loss"] for h in model.history]
    assert len(losses) == 10
    for before, after in zip(losses, losses[1:]):
        assert after <= before * (1 + 1e-5), losses


def test_hybrid_gives_an_item_without_positives_its_content_vector():
    # Item 0 (block 0) loses every training positive: iALS can only give it a zero vector; the
    # hybrid places it by its content, among its block.
    train = _train()
    train = train.subset(train.item != 0)
    ials = make_model("ials", **FAST).fit(train, seed=2)
    assert not ials.item_factors[0].any()
    hybrid = make_model("hybrid", **FAST).fit(train, seed=2, item_features=FEATURES)
    q = hybrid.item_factors
    assert np.linalg.norm(q[0]) > 0
    cos = q[1:] @ q[0] / (np.linalg.norm(q[1:], axis=1) * np.linalg.norm(q[0]))
    nearest = 1 + np.argsort(-cos)[:5]
    assert (nearest // (N_ITEMS // N_GROUPS) == 0).all(), nearest
    # Its vector points the way block-0 users' tastes do: they score it above the users of other
    # groups (AUC over user pairs; its score is small: nobody liked it in training, and the
    # unobserved zeros shrink it toward 0).
    scores = hybrid.score(np.arange(len(hybrid.user_factors)))[:, 0]
    group = np.arange(len(scores)) // (len(scores) // N_GROUPS)
    auc = (scores[group == 0][:, None] > scores[group != 0][None, :]).mean()
    assert auc > 0.9, auc


def test_hybrid_item_step_solves_the_stated_system():
    # After fit, re-running one item step against the final user factors and the content map of
    # the final Q (the fixed point) must leave Q nearly unchanged: the system in the docstring.
    model = make_model("hybrid", **{**FAST, "iterations": 40}, content_reg=3.0, feature_reg=0.5)
    model.fit(_train(), seed=0, item_features=FEATURES)
    cfg = model.config
    p, q = model.user_factors.astype(np.float64), model.item_factors.astype(np.float64)
    f = FEATURES.toarray().astype(np.float64)
    w = np.linalg.solve(f.T @ f + cfg.feature_reg * np.eye(f.shape[1]), f.T @ q)
    np.testing.assert_allclose(model.content_weights, w, rtol=1e-3, atol=1e-4)
    x = _train().to_csr().toarray() > 0
    gram = model.w0 * p.T @ p
    lam = cfg.reg * (x.sum(0) + model.w0 * len(p)) ** cfg.reg_exponent
    for i in (0, 13, 27):
        users = np.flatnonzero(x[:, i])
        a = gram + (cfg.alpha - model.w0) * p[users].T @ p[users]
        a += (lam[i] + cfg.content_reg) * np.eye(8)
        b = cfg.alpha * p[users].sum(0) + cfg.content_reg * (f[i] @ w)
        np.testing.assert_allclose(np.linalg.solve(a, b), q[i], rtol=2e-2, atol=2e-3)


def test_hybrid_cg_converges_to_the_exact_solve():
    # The content pull enters CG's matrix-vector product too; 12 steps on 8 dims are exact.
    kwargs = {"seed": 2, "item_features": FEATURES}
    exact = make_model("hybrid", **FAST).fit(_train(), **kwargs)
    cg = make_model("hybrid", **FAST, solver="cg", cg_steps=12).fit(_train(), **kwargs)
    np.testing.assert_allclose(cg.item_factors, exact.item_factors, rtol=1e-3, atol=1e-4)


def test_hybrid_on_cuda_matches_cpu(cuda_device):
    kwargs = {"seed": 6, "item_features": FEATURES}
    cpu = make_model("hybrid", **FAST).fit(_train(), device="cpu", **kwargs)
    gpu = make_model("hybrid", **FAST).fit(_train(), device=cuda_device, **kwargs)
    np.testing.assert_allclose(gpu.item_factors, cpu.item_factors, rtol=1e-3, atol=1e-4)


def test_hybrid_needs_matching_item_features():
    with pytest.raises(ConfigError, match="item_features"):
        make_model("hybrid", **FAST).fit(_train())
    with pytest.raises(ConfigError, match="rows"):
        make_model("hybrid", **FAST).fit(_train(), item_features=FEATURES[:5])
    with pytest.raises(ConfigError, match="feature_reg"):
        make_model("hybrid", **FAST, feature_reg=0.0).fit(_train(), item_features=FEATURES)


def test_content_vectors_are_the_truncated_svd():
    model = make_model("content", factors=4).fit(_train(), seed=0, item_features=FEATURES)
    u, s, _ = np.linalg.svd(FEATURES.toarray().astype(np.float64), full_matrices=False)
    expected = u[:, :4] * s[:4]
    got = model.item_embeddings.astype(np.float64)
    assert got.shape == (N_ITEMS, 4)
    # Equal up to the sign of each component.
    for j in range(4):
        sign = np.sign(got[:, j] @ expected[:, j])
        np.testing.assert_allclose(got[:, j], sign * expected[:, j], rtol=1e-4, atol=1e-5)


def test_content_ignores_ratings_for_items_and_folds_in_like_its_scores():
    train = _train()
    a = make_model("content", factors=6).fit(train, seed=0, item_features=FEATURES)
    b = make_model("content", factors=6).fit(train.subset(train.user < 20), item_features=FEATURES)
    np.testing.assert_array_equal(a.item_embeddings, b.item_embeddings)
    a.threshold = THRESHOLD
    state = a.fold_in_state()
    mask = train.user == 33
    folded = state.fold_in(train.item[mask], train.rating[mask])
    np.testing.assert_allclose(folded.scores, a.score(np.array([33]))[0], rtol=1e-4, atol=1e-5)


def test_content_caps_factors_at_the_feature_count():
    model = make_model("content", factors=64).fit(_train(), item_features=FEATURES)
    assert model.item_embeddings.shape == (N_ITEMS, FEATURES.shape[1] - 1)
    with pytest.raises(ConfigError, match="column"):
        make_model("content").fit(_train(), item_features=sp.csr_matrix(np.ones((N_ITEMS, 1))))


# -- end to end through the command line ---------------------------------------------------------
def test_evaluate_and_train_build_item_features_themselves(synthetic_dir, tmp_path):
    import json

    import recsys
    from recsys.cli import main

    params = {"hybrid": FAST, "content": {"factors": 8}}
    out = tmp_path / "users.json"
    args = ["-q", "evaluate", "--data", str(synthetic_dir), "--protocol", "users"]
    args += ["--models", "hybrid,content", "--params", json.dumps(params), "--json", str(out)]
    assert main(args) == 0
    results = {r["model"]: r["metrics"] for r in json.loads(out.read_text())["results"]}
    assert set(results) == {"hybrid", "content"}
    assert all(0.0 < m["ndcg@10"] <= 1.0 for m in results.values())
    for name in ("hybrid", "content"):
        art_dir = tmp_path / "artifacts" / name
        args = ["-q", "train", "--data", str(synthetic_dir), "--model", name]
        args += ["--params", json.dumps(params[name]), "--out", str(art_dir), "--projection", "pca"]
        assert main(args) == 0
        art = recsys.load(art_dir)
        assert art.manifest["model"]["name"] == name
        assert art.fold_in({1: 5.0, 2: 4.5, 3: 5.0}).shape == (art.item_embeddings.shape[1],)
        assert len(art.similar(1, k=3)) == 3
