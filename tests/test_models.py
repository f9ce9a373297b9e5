"""Behavioural tests every registered model must pass, then model-specific reference checks.

The shared suite runs on a "checkerboard": four user groups, each liking its own block of ten
items, so the right answer is known (a user's held-out items are the rest of their block). Every
model in the registry runs it; none is skipped.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data import Interactions
from recsys.errors import ConfigError
from recsys.models import MODEL_NAMES, make_model, model_class
from recsys.training import validation_ndcg

THRESHOLD = 4.0
N_GROUPS, USERS_PER_GROUP, BLOCK = 4, 15, 10
N_USERS, N_ITEMS = N_GROUPS * USERS_PER_GROUP, N_GROUPS * BLOCK
HELD_OUT = 2  # in-block items per user kept out of training: the known answer
DISLIKED = 3  # out-of-block items per user rated 1-2 (seen only by explicit models)

# Small, fast settings per model, checked against each Config (test_fast_config_is_known): the
# suite must stay quick, and a renamed hyper-parameter must not silently fall back to defaults.
FAST: dict[str, dict] = {
    "pop": {},
    "bias": {},
    "itemknn": {"neighbors": 20},
    "ease": {"reg": 10.0},
    # The toy matrix is 20% dense (MovieLens: under 5%): the shipped relative unobserved weight
    # would weigh each zero 6x a positive here.
    "ials": {"factors": 8, "iterations": 6, "unobserved_weight": 1.0},
    "hybrid": {"factors": 8, "iterations": 6, "unobserved_weight": 1.0},
    "content": {"factors": 8},
    # Gradient models: the data has ~500 positives, so small batches and a large step size.
    "bpr": {"factors": 8, "epochs": 30, "batch_size": 32, "lr": 0.05},
    "mf": {"factors": 8, "epochs": 30, "batch_size": 64, "lr": 0.05},
    "ncf": {
        "gmf_dim": 8,
        "mlp_dim": 8,
        "mlp_layers": (16, 8),
        "epochs": 20,
        "batch_size": 64,
        "lr": 0.01,
    },
}
# Models that rank every user alike; the known-answer test does not apply to them.
NOT_PERSONALISED = {"pop", "bias"}  # the same ranking for every user


def _group(user: int) -> int:
    return user // USERS_PER_GROUP


def _block(group: int) -> np.ndarray:
    return np.arange(group * BLOCK, (group + 1) * BLOCK)


@dataclasses.dataclass(frozen=True)
class Checkerboard:
    """All ratings, and the held-out in-block positives of every user."""

    ratings: Interactions  # 5s in-block (minus held-out), 1-2s on a few out-of-block items
    held_out: Interactions  # HELD_OUT in-block items per user, rating 5

    def train_for(self, kind: str) -> Interactions:
        """What the protocol hands a model: positives only for implicit models."""
        return self.ratings if kind == "explicit" else self.ratings.positives(THRESHOLD)


def _checkerboard(seed: int = 7) -> Checkerboard:
    rng = np.random.default_rng(seed)
    users, items, ratings, hu, hi = [], [], [], [], []
    for u in range(N_USERS):
        block = rng.permutation(_block(_group(u)))
        hu += [u] * HELD_OUT
        hi += list(block[:HELD_OUT])
        liked = block[HELD_OUT:]
        others = np.setdiff1d(np.arange(N_ITEMS), _block(_group(u)))
        disliked = rng.choice(others, DISLIKED, replace=False)
        users += [u] * (len(liked) + DISLIKED)
        items += list(liked) + list(disliked)
        ratings += [5.0] * len(liked) + list(rng.choice([1.0, 2.0], DISLIKED))

    def inter(u, i, r) -> Interactions:
        return Interactions(
            np.array(u, np.int32), np.array(i, np.int32), np.array(r, np.float32), N_USERS, N_ITEMS
        )

    return Checkerboard(inter(users, items, ratings), inter(hu, hi, [5.0] * len(hu)))


DATA = _checkerboard()
_FITTED: dict[str, object] = {}


def _checkerboard_features(seed: int = 11) -> np.ndarray:
    """Content for the checkerboard's items, (N_ITEMS, N_GROUPS + 6): a one-hot "genre" per
    block, which carries the known answer, plus six random sparse "tags", which carry none."""
    rng = np.random.default_rng(seed)
    genre = np.repeat(np.eye(N_GROUPS), BLOCK, axis=0)
    tags = rng.random((N_ITEMS, 6)) * (rng.random((N_ITEMS, 6)) < 0.3)
    return np.hstack([genre, tags]).astype(np.float32)


FEATURES = sp.csr_matrix(_checkerboard_features())


def _content_kwargs(model) -> dict:
    """``item_features=...`` for models that need content, nothing for the others."""
    return {"item_features": FEATURES} if model.uses_item_features else {}


def _new(name: str, **extra):
    return model_class(name)(**{**FAST.get(name, {}), **extra})


def _fit(name: str, seed: int = 0, **fit_kwargs):
    model = _new(name)
    model.threshold = THRESHOLD
    fit_kwargs = {**_content_kwargs(model), **fit_kwargs}
    return model.fit(DATA.train_for(model.kind), seed=seed, device="cpu", **fit_kwargs)


def _fitted(name: str):
    """One fitted model per name, shared by the read-only tests."""
    if name not in _FITTED:
        _FITTED[name] = _fit(name)
    return _FITTED[name]


def _user_profile(model, user: int) -> tuple[np.ndarray, np.ndarray]:
    """The (items, ratings) a model was trained on for ``user``."""
    train = DATA.train_for(model.kind)
    mask = train.user == user
    return train.item[mask], train.rating[mask]


# -- the shared behavioural suite ---------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fast_config_is_known(name):
    fields = {f.name for f in dataclasses.fields(model_class(name).Config)}
    unknown = set(FAST.get(name, {})) - fields
    assert not unknown, f"update FAST[{name!r}] in this file: {sorted(unknown)} not in {fields}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fit_returns_self_and_scores_have_the_right_shape(name):
    model = _new(name)
    train = DATA.train_for(model.kind)
    assert model.fit(train, seed=0, device="cpu", **_content_kwargs(model)) is model
    scores = model.score(np.arange(5))
    assert scores.shape == (5, N_ITEMS)
    assert scores.dtype == np.float32
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_batch_scoring_equals_one_by_one(name):
    model = _fitted(name)
    users = np.array([0, 17, 31, 59, 3])
    batch = model.score(users)
    single = np.vstack([model.score(np.array([u])) for u in users])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [m for m in MODEL_NAMES if m not in NOT_PERSONALISED])
def test_held_out_block_items_rank_above_other_blocks(name):
    model = _fitted(name)
    scores = model.score(np.arange(N_USERS))
    train = DATA.train_for(model.kind)
    auc, perfect = [], 0
    for u in range(N_USERS):
        seen = train.item[train.user == u]
        held = scores[u, DATA.held_out.item[DATA.held_out.user == u]]
        outside = np.setdiff1d(np.setdiff1d(np.arange(N_ITEMS), _block(_group(u))), seen)
        outside = scores[u, outside]
        # Share of (held-out, other-block) pairs ordered right, and whether all of them are.
        auc.append((held[:, None] > outside[None, :]).mean())
        perfect += held.min() > outside.max()
    assert np.mean(auc) >= 0.95, f"{name}: mean AUC {np.mean(auc):.3f}"
    assert perfect >= 2 / 3 * N_USERS, f"{name}: only {perfect}/{N_USERS} users rank all right"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_gives_identical_scores(name):
    a = _fit(name, seed=3).score(np.arange(N_USERS))
    b = _fit(name, seed=3).score(np.arange(N_USERS))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fold_in_of_a_training_user_recovers_their_top_items(name):
    model = _fitted(name)
    state = model.fold_in_state()
    assert state.n_items == N_ITEMS
    overlaps = []
    for u in (1, 20, 33, 50):  # one user per group
        items, ratings = _user_profile(model, u)
        folded = state.fold_in(items, ratings)
        assert folded.fallback is None
        assert folded.scores.shape == (N_ITEMS,) and folded.scores.dtype == np.float32
        top_fold = set(np.argsort(-folded.scores, kind="stable")[:BLOCK])
        top_model = set(np.argsort(-model.score(np.array([u]))[0], kind="stable")[:BLOCK])
        overlaps.append(len(top_fold & top_model))
    assert min(overlaps) >= 0.7 * BLOCK, f"{name}: top-{BLOCK} overlaps {overlaps}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_item_embeddings_are_none_or_float32_rows(name):
    emb = _fitted(name).item_embeddings
    if emb is not None:
        assert emb.ndim == 2 and emb.shape[0] == N_ITEMS
        assert emb.dtype == np.float32


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_params_are_plain_data(name):
    model = _new(name)
    params = model.params()
    json.dumps(params, allow_nan=False)  # raises on anything but plain data
    assert set(params) == {f.name for f in dataclasses.fields(model.Config)}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_unknown_hyper_parameter_is_refused(name):
    with pytest.raises(ConfigError, match="no_such_knob"):
        make_model(name, no_such_knob=1)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_scoring_before_fit_is_refused(name):
    model = _new(name)
    with pytest.raises(ConfigError, match="fit"):
        model.score(np.array([0]))
    with pytest.raises(ConfigError, match="fit"):
        model.fold_in_state()


# -- shared helpers for the model-specific tests ------------------------------------------------
def _random_binary(rng: np.random.Generator, n_users: int, n_items: int, density: float):
    dense = rng.random((n_users, n_items)) < density
    u, i = np.nonzero(dense)
    inter = Interactions(
        u.astype(np.int32), i.astype(np.int32), np.full(len(u), 5.0, np.float32), n_users, n_items
    )
    return dense.astype(np.float64), inter


# -- EASE ---------------------------------------------------------------------------------------
def test_ease_matches_the_closed_form(rng):
    x, inter = _random_binary(rng, 40, 15, 0.3)
    reg = 3.0
    p = np.linalg.inv(x.T @ x + reg * np.eye(15))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    model = make_model("ease", reg=reg).fit(inter)
    assert model.weights.dtype == np.float32
    np.testing.assert_array_equal(np.diag(model.weights), 0.0)
    np.testing.assert_allclose(model.weights, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(np.arange(40)), x @ expected, rtol=1e-4, atol=1e-5)
    assert isinstance(model.fold_in_state().similarity, np.ndarray)


def test_ease_mirror_handles_several_blocks(rng, monkeypatch):
    import recsys.models.ease as ease

    x, inter = _random_binary(rng, 50, 23, 0.3)
    whole = make_model("ease", reg=2.0).fit(inter).weights
    monkeypatch.setattr(ease, "_GRAM_BLOCK", 5)
    np.testing.assert_allclose(make_model("ease", reg=2.0).fit(inter).weights, whole, rtol=1e-6)


def test_ease_refuses_too_many_items_and_says_what_to_use():
    model = make_model("ease", max_items=30)
    with pytest.raises(ConfigError, match=r"dense .* GiB .*itemknn or ials"):
        model.fit(DATA.ratings)


def test_ease_refuses_non_positive_reg():
    with pytest.raises(ConfigError, match="reg must be > 0"):
        make_model("ease", reg=0.0).fit(DATA.ratings)


# -- ItemKNN ------------------------------------------------------------------------------------
def _knn_reference(x: np.ndarray, k: int, shrink: float) -> np.ndarray:
    """Double loop: shrunk cosine, then each row's k best positive entries (ties: lower column)."""
    n = x.shape[1]
    norms = np.sqrt(x.sum(axis=0))
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                denom = norms[i] * norms[j] + shrink
                sim[i, j] = (x[:, i] @ x[:, j]) / denom if denom > 0 else 0.0
    w = np.zeros((n, n))
    for i in range(n):
        order = sorted((j for j in range(n) if sim[i, j] > 0), key=lambda j: (-sim[i, j], j))
        w[i, order[:k]] = sim[i, order[:k]]
    return w


@pytest.mark.parametrize(("k", "shrink"), [(5, 2.0), (3, 0.0), (100, 10.0)])
def test_itemknn_matches_a_slow_reference(rng, k, shrink):
    x, inter = _random_binary(rng, 40, 25, 0.2)
    x[:, 7] = 0  # an item nobody has: no neighbours, never a neighbour
    inter = inter.subset(inter.item != 7)
    expected = _knn_reference(x, k, shrink)
    got = make_model("itemknn", neighbors=k, shrink=shrink).fit(inter).similarity
    assert got.dtype == np.float32
    got = got.toarray()
    # Values agree everywhere; with binary data exact ties are common, and both sides break them
    # towards the lower item code, so the kept positions agree too.
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert ((got != 0) == (expected != 0)).all()
    np.testing.assert_allclose(inter.to_csr()[:5] @ got, x[:5] @ expected, rtol=1e-5, atol=1e-6)


def test_itemknn_blocks_give_the_same_matrix(rng, monkeypatch):
    import recsys.models.itemknn as itemknn

    _, inter = _random_binary(rng, 60, 30, 0.2)
    whole = make_model("itemknn", neighbors=4).fit(inter).similarity.toarray()
    monkeypatch.setattr(itemknn, "_BLOCK_ELEMENTS", 70)  # two rows per block
    blocked = make_model("itemknn", neighbors=4).fit(inter).similarity.toarray()
    np.testing.assert_array_equal(blocked, whole)


def test_itemknn_fold_in_is_the_row_product():
    model = _fitted("itemknn")
    items, ratings = _user_profile(model, 12)
    folded = model.fold_in_state().fold_in(items, ratings)
    np.testing.assert_allclose(folded.scores, model.score(np.array([12]))[0], rtol=1e-6)


# -- iALS ---------------------------------------------------------------------------------------
def test_ials_fold_in_equals_the_training_user_step():
    model = _fitted("ials")
    state = model.fold_in_state()
    assert state.method == "confidence"
    users = np.array([0, 14, 29, 44, 59])
    step = model.user_step(users)
    assert step.shape == (len(users), model.config.factors) and step.dtype == np.float32
    for row, u in enumerate(users):
        items, ratings = _user_profile(model, u)
        assert (ratings >= THRESHOLD).all()
        folded = state.fold_in(items, ratings)
        np.testing.assert_allclose(folded.user_vector, step[row], rtol=1e-4, atol=1e-5)


def test_ials_loss_is_the_objective():
    model = _fit("ials")
    cfg = model.config
    u, q = model.user_factors.astype(np.float64), model.item_factors.astype(np.float64)
    x = DATA.train_for("implicit").to_csr().toarray()
    pred = u @ q.T
    w0 = model.w0  # the absolute weight of an unobserved pair
    weight = np.where(x > 0, cfg.alpha, w0)

    def lam(n, n_other):
        return cfg.reg * (n + w0 * n_other) ** cfg.reg_exponent

    objective = (weight * (x - pred) ** 2).sum()
    objective += (lam(x.sum(1), N_ITEMS) * (u**2).sum(1)).sum()
    objective += (lam(x.sum(0), N_USERS) * (q**2).sum(1)).sum()
    assert model.history[-1]["loss"] == pytest.approx(objective / x.sum(), rel=1e-4)
    losses = [h["loss"] for h in model.history]
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:])), losses  # ALS never goes up


def test_ials_relative_unobserved_weight_balances_seen_and_unseen():
    """rho = total unobserved weight / total observed weight, whatever the data's shape."""
    train = DATA.train_for("implicit")
    model = _new("ials", unobserved_weight=2.0).fit(train, seed=0)
    nnz = train.to_csr().nnz
    unobserved = N_USERS * N_ITEMS - nnz
    assert model.w0 * unobserved / (model.config.alpha * nnz) == pytest.approx(2.0)
    assert model.fold_in_state().params["unobserved_weight"] == model.w0
    absolute = _new("ials", unobserved_weight=0.3, unobserved_relative=False).fit(train, seed=0)
    assert absolute.w0 == 0.3


def test_ials_chunking_and_threads_do_not_change_the_result(monkeypatch):
    import recsys.models.ials as ials

    whole = _fit("ials", seed=5).item_factors
    monkeypatch.setattr(ials, "_CHUNK_ELEMENTS", {"cholesky": 8 * 12})  # 12 entries per chunk
    chunked = _fit("ials", seed=5).item_factors
    np.testing.assert_allclose(chunked, whole, rtol=1e-4, atol=1e-5)


def test_ials_cg_converges_to_the_exact_solve():
    exact = _fit("ials", seed=2)
    # CG on a d-dimensional system is exact after d steps (up to rounding).
    cg = _new("ials", solver="cg", cg_steps=12).fit(DATA.train_for("implicit"), seed=2)
    np.testing.assert_allclose(cg.item_factors, exact.item_factors, rtol=1e-3, atol=1e-4)


def test_ials_resume_equals_an_uninterrupted_run(tmp_path):
    straight = _fit("ials", seed=4)

    class Stop(Exception):
        pass

    def stop_at_3(epoch, record):
        if epoch == 3:
            raise Stop

    with pytest.raises(Stop):  # killed during epoch 3: the checkpoint holds epochs 1-2
        _fit("ials", seed=4, checkpoint_dir=str(tmp_path), callback=stop_at_3)
    resumed = _fit("ials", seed=4, checkpoint_dir=str(tmp_path), resume=True)
    assert [h["epoch"] for h in resumed.history] == list(range(1, FAST["ials"]["iterations"] + 1))
    np.testing.assert_array_equal(resumed.user_factors, straight.user_factors)
    np.testing.assert_array_equal(resumed.item_factors, straight.item_factors)
    assert resumed.history == straight.history


def test_ials_early_stopping_keeps_the_best_epoch():
    train = DATA.train_for("implicit")
    # Over-parameterised and barely regularised, it peaks on validation before the last epoch.
    model = _new("ials", iterations=12, factors=32, reg=1e-4, unobserved_weight=0.01)
    model.fit(train, valid=DATA.held_out, seed=0)
    curve = [h["valid_ndcg@10"] for h in model.history]
    assert np.argmax(curve) < len(curve) - 1, f"the set-up should not peak last: {curve}"
    assert validation_ndcg(model.score, train, DATA.held_out) == pytest.approx(max(curve))


def test_ials_rejects_bad_settings():
    with pytest.raises(ConfigError, match="solver"):
        _new("ials", solver="magic").fit(DATA.train_for("implicit"))
    with pytest.raises(ConfigError, match="alpha"):
        _new("ials", alpha=0.0).fit(DATA.train_for("implicit"))


def test_ials_on_cuda_matches_cpu(cuda_device):
    cpu = _fit("ials", seed=6)
    gpu = _new("ials").fit(DATA.train_for("implicit"), seed=6, device=cuda_device)
    np.testing.assert_allclose(gpu.item_factors, cpu.item_factors, rtol=1e-3, atol=1e-4)
