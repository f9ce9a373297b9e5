"""BPR, biased MF and NeuMF on small synthetic data with a known block structure.

Users fall into groups; each group likes one block of items. The models must recover that
structure, be reproducible on CPU, resume from checkpoints exactly and stop early; the NeuMF
numpy fold-in must match the torch network it was exported from.
"""

from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from recsys._neumf_numpy import fold_in_neumf, neumf_logits, neumf_loss_grad  # noqa: E402
from recsys.data import Interactions  # noqa: E402
from recsys.errors import ConfigError  # noqa: E402
from recsys.models import make_model  # noqa: E402
from recsys.models.ncf import NeuMFNet, export_network  # noqa: E402
from recsys.torch_training import NegativeSampler, shard_batches  # noqa: E402
from recsys.training import validation_ndcg  # noqa: E402

N_GROUPS, USERS_PER_GROUP, ITEMS_PER_BLOCK = 3, 16, 12
N_USERS, N_ITEMS = N_GROUPS * USERS_PER_GROUP, N_GROUPS * ITEMS_PER_BLOCK

# Tiny configurations: a few hundred interactions, so every fit takes well under a second.
TINY = {
    "bpr": dict(factors=8, epochs=25, lr=0.02, batch_size=64, reg=0.01),
    "mf": dict(factors=8, epochs=30, lr=0.03, batch_size=64, reg=0.01),
    "ncf": dict(
        gmf_dim=8, mlp_dim=8, mlp_layers=(16, 8), epochs=25, lr=0.01, batch_size=64, negatives=2
    ),
}


def group_of_user(u: np.ndarray) -> np.ndarray:
    return np.asarray(u) // USERS_PER_GROUP


def block_of_item(i: np.ndarray) -> np.ndarray:
    return np.asarray(i) // ITEMS_PER_BLOCK


def implicit_blocks(seed: int = 0) -> tuple[Interactions, Interactions, Interactions]:
    """(train, valid, test) positives: each user has 7 in-block train items, 1 valid, 2 test."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[int, int]]] = {"train": [], "valid": [], "test": []}
    for u in range(N_USERS):
        block = group_of_user(u) * ITEMS_PER_BLOCK + rng.permutation(ITEMS_PER_BLOCK)
        parts["train"] += [(u, i) for i in block[:7]]
        parts["valid"] += [(u, block[7])]
        parts["test"] += [(u, i) for i in block[8:10]]

    def make(pairs: list[tuple[int, int]]) -> Interactions:
        a = np.array(pairs, np.int32)
        return Interactions(a[:, 0], a[:, 1], np.full(len(a), 5.0, np.float32), N_USERS, N_ITEMS)

    return make(parts["train"]), make(parts["valid"]), make(parts["test"])


def explicit_blocks(seed: int = 0) -> tuple[Interactions, Interactions, Interactions]:
    """(train, valid, test) ratings of rank-3 structure: ~4.5 stars in-block, ~1.5 elsewhere.

    Rating = 3 + 1.5 (+1 in the user's block, -1 outside) + user and item biases + noise, on a
    half-star grid in [0.5, 5]; 60% of all pairs train, 10% valid, 30% test.
    """
    rng = np.random.default_rng(seed)
    u, i = np.meshgrid(np.arange(N_USERS), np.arange(N_ITEMS), indexing="ij")
    u, i = u.ravel().astype(np.int32), i.ravel().astype(np.int32)
    sign = np.where(group_of_user(u) == block_of_item(i), 1.0, -1.0)
    bu, bi = rng.normal(0, 0.2, N_USERS), rng.normal(0, 0.2, N_ITEMS)
    r = 3.0 + 1.5 * sign + bu[u] + bi[i] + rng.normal(0, 0.25, len(u))
    r = np.clip(np.round(r * 2) / 2, 0.5, 5.0).astype(np.float32)
    data = Interactions(u, i, r, N_USERS, N_ITEMS)
    part = rng.random(len(u))
    return (
        data.subset(part < 0.6),
        data.subset((part >= 0.6) & (part < 0.7)),
        data.subset(part >= 0.7),
    )


def data_for(name: str, seed: int = 0) -> tuple[Interactions, Interactions, Interactions]:
    return explicit_blocks(seed) if name == "mf" else implicit_blocks(seed)


def block_auc(scores: np.ndarray, users: np.ndarray, test: Interactions) -> float:
    """Mean over users of P(held-out in-block item scores above an out-of-block item)."""
    aucs = []
    for row, u in enumerate(users):
        held = test.item[test.user == u]
        if len(held) == 0:
            continue
        out = np.flatnonzero(block_of_item(np.arange(N_ITEMS)) != group_of_user(u))
        aucs.append(np.mean(scores[row, held][:, None] > scores[row, out][None, :]))
    return float(np.mean(aucs))


def factors_of(model) -> dict[str, np.ndarray]:
    names = ["user_factors", "item_factors", "item_bias", "user_bias"]
    return {n: getattr(model, n) for n in names if hasattr(model, n)}


@pytest.fixture(scope="module")
def fitted() -> dict:
    """One fit per model on its synthetic data (seed 0), shared by the read-only tests."""
    out = {}
    for name in TINY:
        train, valid, test = data_for(name)
        out[name] = (make_model(name, **TINY[name]).fit(train, seed=0, device="cpu"), test)
    return out


# -- learning the structure ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bpr", "ncf"])
def test_implicit_models_rank_held_out_block_items_first(fitted, name):
    model, test = fitted[name]
    users = np.arange(N_USERS)
    scores = model.score(users)
    assert scores.shape == (N_USERS, N_ITEMS) and scores.dtype == np.float32
    assert block_auc(scores, users, test) > 0.9
    emb = model.item_embeddings
    assert emb.dtype == np.float32 and emb.shape[0] == N_ITEMS
    assert model.history[-1]["loss"] < model.history[0]["loss"]
    if name == "ncf":  # memory-bounded chunks give the same numbers as one pass
        chunked = copy.copy(model)
        chunked.config = dataclasses.replace(model.config, score_pairs=2 * N_ITEMS)
        # float32 scores of magnitude 1-10: compare relative to their size, not absolutely.
        np.testing.assert_allclose(chunked.score(users), scores, rtol=1e-5, atol=1e-5)


def test_mf_rmse_well_below_global_mean_and_ranks_blocks(fitted):
    model, test = fitted["mf"]
    train, _, _ = explicit_blocks()
    pred = model.predict(test.user, test.item)
    assert pred.dtype == np.float32 and pred.shape == (len(test),)
    assert pred.min() >= train.rating.min() and pred.max() <= train.rating.max()
    rmse = np.sqrt(np.mean((pred - test.rating) ** 2))
    baseline = np.sqrt(np.mean((train.rating.mean() - test.rating) ** 2))
    assert rmse < 0.4 * baseline, (rmse, baseline)
    users = np.arange(N_USERS)
    scores = model.score(users)
    assert scores.shape == (N_USERS, N_ITEMS) and scores.dtype == np.float32
    # score() is the unclipped predict().
    assert np.allclose(np.clip(scores[test.user, test.item], 0.5, 5.0), pred, atol=1e-5)
    in_block = test.subset(group_of_user(test.user) == block_of_item(test.item))
    assert block_auc(scores, users, in_block) > 0.95


@pytest.mark.parametrize(
    "name, bad",
    [
        ("bpr", {"negative_sampling": "hardest"}),
        ("bpr", {"batch_size": 0}),
        ("mf", {"reg": -1.0}),
        ("ncf", {"mlp_layers": ()}),
        ("ncf", {"negatives": 0}),
    ],
)
def test_bad_hyper_parameters_are_refused(name, bad):
    train, _, _ = data_for(name)
    with pytest.raises(ConfigError):
        make_model(name, **{**TINY[name], **bad}).fit(train, device="cpu")


# -- reproducibility ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(TINY))
def test_same_seed_identical_different_seed_differs(name):
    train, _, _ = data_for(name)
    cfg = {**TINY[name], "epochs": 3}
    a = factors_of(make_model(name, **cfg).fit(train, seed=7, device="cpu"))
    b = factors_of(make_model(name, **cfg).fit(train, seed=7, device="cpu"))
    c = factors_of(make_model(name, **cfg).fit(train, seed=8, device="cpu"))
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert not np.allclose(a["item_factors"], c["item_factors"])


class Killed(Exception):
    pass


@pytest.mark.parametrize("name", list(TINY))
def test_resume_after_kill_matches_uninterrupted_run(name, tmp_path):
    train, valid, _ = data_for(name)
    # Patience above the epoch count: the runs must not stop early, only be interrupted.
    cfg = {**TINY[name], "epochs": 6, "patience": 10}
    full = make_model(name, **cfg).fit(
        train, valid=valid, seed=3, device="cpu", checkpoint_dir=str(tmp_path / "full")
    )

    def kill_at_4(epoch, record):
        if epoch == 4:
            raise Killed  # before epoch 4's checkpoint: the directory holds epoch 3

    ckpt = str(tmp_path / "killed")
    with pytest.raises(Killed):
        make_model(name, **cfg).fit(
            train, valid=valid, seed=3, device="cpu", checkpoint_dir=ckpt, callback=kill_at_4
        )
    seen = []
    resumed = make_model(name, **cfg).fit(
        train,
        valid=valid,
        seed=3,
        device="cpu",
        checkpoint_dir=ckpt,
        resume=True,
        callback=lambda e, r: seen.append(e),
    )
    assert seen == [4, 5, 6]
    for key, value in factors_of(full).items():
        assert np.array_equal(value, getattr(resumed, key)), key
    assert resumed.history == full.history


def test_resume_with_more_epochs_extends_the_run(tmp_path):
    train, _, _ = implicit_blocks()
    cfg = {**TINY["bpr"], "epochs": 5}
    full = make_model("bpr", **cfg).fit(train, seed=1, device="cpu")
    ckpt = str(tmp_path / "ckpt")
    make_model("bpr", **{**cfg, "epochs": 2}).fit(train, seed=1, device="cpu", checkpoint_dir=ckpt)
    longer = make_model("bpr", **cfg).fit(
        train, seed=1, device="cpu", checkpoint_dir=ckpt, resume=True
    )
    assert len(longer.history) == 5
    for key, value in factors_of(full).items():
        assert np.array_equal(value, getattr(longer, key)), key


# -- early stopping -------------------------------------------------------------------------------
def test_mf_early_stopping_keeps_best_valid_rmse():
    train, valid, _ = explicit_blocks()
    # No regularisation, many factors, a large step: it overfits within a few epochs.
    cfg = dict(factors=32, epochs=60, lr=0.05, batch_size=32, reg=0.0, patience=2)
    seen: list[dict] = []
    model = make_model("mf", **cfg).fit(
        train, valid=valid, seed=0, device="cpu", callback=lambda e, r: seen.append(r)
    )
    assert len(model.history) < 60
    rmses = [r["valid_rmse"] for r in model.history]
    assert all(r > 0 for r in rmses) and "valid_neg_rmse" not in model.history[0]
    assert seen == model.history  # callbacks see the positive RMSE too
    best = int(np.argmin(rmses))
    assert best == len(rmses) - 1 - 2  # stopped `patience` epochs after the best
    pred = model.predict(valid.user, valid.item)
    kept = np.sqrt(np.mean((pred - valid.rating.astype(np.float64)) ** 2))
    assert kept == pytest.approx(rmses[best], abs=1e-6)


@pytest.mark.parametrize("name", ["bpr", "ncf"])
def test_implicit_early_stopping_keeps_best_ndcg(name):
    train, valid, _ = implicit_blocks()
    # Validation items from the wrong blocks: NDCG falls as the model learns, so it stops.
    rng = np.random.default_rng(0)
    wrong = (group_of_user(valid.user) + 1) % N_GROUPS * ITEMS_PER_BLOCK
    wrong = wrong + rng.integers(0, ITEMS_PER_BLOCK, len(valid))
    bad_valid = Interactions(valid.user, wrong.astype(np.int32), valid.rating, N_USERS, N_ITEMS)
    cfg = {**TINY[name], "epochs": 40, "patience": 2}
    model = make_model(name, **cfg).fit(train, valid=bad_valid, seed=0, device="cpu")
    ndcgs = [r["valid_ndcg@10"] for r in model.history]
    assert len(ndcgs) < 40
    best = int(np.argmax(ndcgs))
    assert best == len(ndcgs) - 1 - 2
    assert validation_ndcg(model.score, train, bad_valid) == pytest.approx(ndcgs[best], abs=1e-9)


# -- negative sampling ----------------------------------------------------------------------------
def chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum()), len(counts) - 1


def assert_fits(counts: np.ndarray, probs: np.ndarray) -> None:
    stat, dof = chi_square(counts, probs)
    # About 6 standard deviations of the chi-square distribution above its mean.
    assert stat < dof + 6 * np.sqrt(2 * dof), (stat, dof)


def test_uniform_negatives_are_uniform():
    sampler = NegativeSampler(50)
    gen = torch.Generator().manual_seed(0)
    draws = sampler.sample(torch.zeros(200_000, dtype=torch.int64), gen).numpy()
    assert_fits(np.bincount(draws, minlength=50), np.full(50, 1 / 50))


def test_popularity_negatives_follow_count_power():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 200, 40).astype(np.float64)
    counts[3] = 0  # never-seen items are never drawn
    weights = counts**0.75
    sampler = NegativeSampler(40, weights)
    gen = torch.Generator().manual_seed(1)
    draws = sampler.sample(torch.zeros(200_000, dtype=torch.int64), gen).numpy()
    freq = np.bincount(draws, minlength=40)
    assert freq[3] == 0
    keep = counts > 0
    assert_fits(freq[keep], weights[keep] / weights.sum())


def test_negatives_skip_the_users_positives_vectorised():
    train, _, _ = implicit_blocks()
    sampler = NegativeSampler(N_ITEMS, None, train.user, train.item)
    users = torch.from_numpy(np.repeat(np.arange(N_USERS), 5000))
    gen = torch.Generator().manual_seed(2)
    start = time.perf_counter()
    neg = sampler.sample(users, gen)
    elapsed = time.perf_counter() - start
    assert not sampler.is_positive(users, neg).any()
    assert sampler.is_positive(
        torch.from_numpy(train.user.astype(np.int64)), torch.from_numpy(train.item.astype(np.int64))
    ).all()
    # 240k draws with collision checks: vectorised, so far below a second even on a busy CPU.
    assert elapsed < 2.0
    # Apart from the excluded positives, the draws are still uniform over each user's items.
    u0 = neg[users == 0].numpy()
    allowed = np.setdiff1d(np.arange(N_ITEMS), train.item[train.user == 0])
    freq = np.bincount(u0, minlength=N_ITEMS)
    assert set(np.flatnonzero(freq)) <= set(allowed)
    assert_fits(freq[allowed], np.full(len(allowed), 1 / len(allowed)))


def test_shard_batches_split_each_global_batch_across_ranks():
    def run(rank: int, world: int) -> list[tuple[np.ndarray, np.ndarray]]:
        gen = torch.Generator().manual_seed(5)
        return [
            (b.numpy(), b[part].numpy()) for b, part in shard_batches(103, 10, gen, rank, world)
        ]

    single = run(0, 1)
    assert np.array_equal(np.sort(np.concatenate([p for _, p in single])), np.arange(103))
    shards = [run(r, 3) for r in range(3)]
    # Every rank sees the same global batches (the final batch of 3 is still >= world size).
    assert len(shards[0]) == len(single) == 11
    for step, (batch, _) in enumerate(single):
        parts = [shards[r][step][1] for r in range(3)]
        assert np.array_equal(np.concatenate(parts), batch)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


# -- fold-in --------------------------------------------------------------------------------------
def test_mf_ridge_fold_in_predicts_a_training_users_ratings(fitted):
    model, _ = fitted["mf"]
    train, _, _ = explicit_blocks()
    state = model.fold_in_state()
    assert state.method == "ridge" and state.params["global_mean"] == pytest.approx(
        train.rating.mean(), abs=1e-5
    )
    positives = np.bincount(train.item[train.rating >= 4.0], minlength=N_ITEMS)
    assert np.array_equal(state.popularity, positives)
    for u in (0, N_USERS - 1):
        mine = train.user == u
        result = state.fold_in(train.item[mine], train.rating[mine])
        err = result.scores[train.item[mine]] - train.rating[mine]
        assert np.sqrt(np.mean(err**2)) < 0.6
        assert result.user_vector.shape == (8,)
    # The threshold in force when the state is made decides the popularity counts.
    lower = copy.copy(model)
    lower.threshold = 3.0
    assert np.array_equal(
        lower.fold_in_state().popularity,
        np.bincount(train.item[train.rating >= 3.0], minlength=N_ITEMS),
    )


def new_user_profile() -> tuple[np.ndarray, np.ndarray]:
    """A visitor who loves five items of block 0 and dislikes two of block 1."""
    return np.array([0, 1, 2, 3, 4, 12, 13]), np.array([5.0, 5, 4, 5, 4.5, 1, 2])


@pytest.mark.parametrize("name", ["bpr", "ncf"])
def test_fold_in_ranks_the_users_block_first(fitted, name):
    model, _ = fitted[name]
    state = model.fold_in_state()
    assert state.method == {"bpr": "confidence", "ncf": "neumf"}[name]
    codes, ratings = new_user_profile()
    result = state.fold_in(codes, ratings)
    assert result.fallback is None and result.scores.shape == (N_ITEMS,)
    scores = result.scores.copy()
    scores[codes] = -np.inf
    top = np.argsort(-scores, kind="stable")[:5]
    assert (block_of_item(top) == 0).all(), top
    again = state.fold_in(codes, ratings)
    assert np.array_equal(again.scores, result.scores)  # deterministic for a profile
    train, _, _ = implicit_blocks()
    assert np.array_equal(state.popularity, np.bincount(train.item, minlength=N_ITEMS))
    if name == "bpr":
        assert set(state.params) == {
            "reg", "alpha", "unobserved_weight", "reg_exponent", "negative_weight", "threshold"
        }  # fmt: skip
        assert np.array_equal(state.item_factors, model.item_factors)
        assert np.array_equal(state.item_bias, model.item_bias)
    else:
        assert all(a.dtype == np.float32 for a in state.network.values())
        assert state.network["gmf_item"].shape == (N_ITEMS, 8)
        assert result.user_vector.shape == (16,)


def random_net(seed: int = 0) -> tuple[NeuMFNet, dict[str, np.ndarray]]:
    gen = torch.Generator().manual_seed(seed)
    net = NeuMFNet(5, 30, gmf_dim=6, mlp_dim=5, layers=(12, 7, 4), init_std=0.5, gen=gen)
    with torch.no_grad():  # non-zero biases, so every term of the forward is exercised
        for p in net.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.3, generator=gen)
    return net, export_network(net)


def test_neumf_numpy_forward_matches_torch():
    net, network = random_net()
    items = torch.arange(30)
    for u in range(5):
        users = torch.full((30,), u)
        expected = net(users, items)[0].detach().numpy()
        g = net.gmf_user.weight[u].detach().numpy()
        m = net.mlp_user.weight[u].detach().numpy()
        np.testing.assert_allclose(neumf_logits(network, g, m), expected, atol=1e-5)
        np.testing.assert_allclose(
            neumf_logits(network, g, m, np.array([3, 7])), expected[[3, 7]], atol=1e-5
        )
    # score_all (the split first layer) is the same network.
    np.testing.assert_allclose(
        net.score_all(torch.arange(5)).numpy(),
        np.stack([net(torch.full((30,), u), items)[0].detach().numpy() for u in range(5)]),
        atol=1e-5,
    )


def test_neumf_numpy_gradient_matches_autograd():
    net, network = random_net(1)
    rng = np.random.default_rng(0)
    items = rng.integers(0, 30, 17)
    targets = (rng.random(17) < 0.4).astype(np.float64)
    g = torch.tensor(rng.normal(0, 0.5, 6), dtype=torch.float64, requires_grad=True)
    m = torch.tensor(rng.normal(0, 0.5, 5), dtype=torch.float64, requires_grad=True)
    net = net.double()
    it = torch.from_numpy(items)
    h = torch.cat([m.expand(17, 5), net.mlp_item(it)], dim=1)
    for lin in net.mlp:
        h = torch.relu(lin(h))
    logits = net.out(torch.cat([g * net.gmf_item(it), h], dim=1)).squeeze(-1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(targets))
    loss.backward()
    value, grad_g, grad_m = neumf_loss_grad(
        network, g.detach().numpy(), m.detach().numpy(), items, targets
    )
    assert value == pytest.approx(loss.item(), abs=1e-5)
    np.testing.assert_allclose(grad_g, g.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(grad_m, m.grad.numpy(), atol=1e-6)


def test_neumf_fold_in_is_fast_on_10k_items():
    gen = torch.Generator().manual_seed(0)
    net = NeuMFNet(10, 10_000, 32, 32, (64, 32, 16), 0.1, gen)
    network = export_network(net)
    params = {"threshold": 4.0, "fold_in_steps": 40, "seed": 0}
    codes = np.arange(0, 600, 20)
    ratings = np.full(len(codes), 5.0)
    fold_in_neumf(network, params, codes, ratings)  # warm-up
    start = time.perf_counter()
    user, scores = fold_in_neumf(network, params, codes, ratings)
    elapsed = time.perf_counter() - start
    assert user.shape == (64,) and scores.shape == (10_000,) and scores.dtype == np.float32
    assert elapsed < 0.5  # tens of ms when the CPU is free; generous for a busy test machine
