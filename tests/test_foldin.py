"""Fold-in of new users: hand-checkable cases and slow direct solves for every numpy method.

The ``neumf`` method is tested with its own module.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.errors import ConfigError
from recsys.foldin import METHODS, FoldIn, FoldInResult

POP = np.array([3.0, 0.0, 7.0], dtype=np.float32)


def _random_foldin(rng, method, n_items=40, d=5, params=None, bias=True, sparse_sim=True):
    factors = rng.normal(size=(n_items, d)).astype(np.float32)
    item_bias = rng.normal(scale=0.3, size=n_items).astype(np.float32) if bias else None
    sim = rng.normal(size=(n_items, n_items)).astype(np.float32)
    sim[rng.random(sim.shape) < 0.6] = 0.0
    popularity = rng.integers(0, 50, size=n_items).astype(np.float32)
    return FoldIn(
        method,
        popularity=popularity,
        item_factors=factors,
        item_bias=item_bias,
        similarity=sp.csr_matrix(sim) if sparse_sim else sim,
        params=dict(params or {}),
    )


def _random_profile(rng, n_items, n=None, scale=(0.5, 5.0)):
    n = int(rng.integers(1, n_items // 2)) if n is None else n
    codes = rng.choice(n_items, size=n, replace=False)
    ratings = rng.choice(np.arange(scale[0], scale[1] + 0.25, 0.5), size=n)
    return codes, ratings


# ------------------------------------------------------------------------------------------------
# Construction errors
# ------------------------------------------------------------------------------------------------


def test_methods_listed():
    assert set(METHODS) >= {"ridge", "confidence", "item_similarity", "popularity"}


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown fold-in method 'svd'"):
        FoldIn("svd", popularity=POP)


@pytest.mark.parametrize("method", ["ridge", "confidence"])
def test_missing_factors_is_a_config_error(method):
    with pytest.raises(ConfigError, match="item_factors"):
        FoldIn(method, popularity=POP)


def test_missing_similarity_is_a_config_error():
    with pytest.raises(ConfigError, match="similarity"):
        FoldIn("item_similarity", popularity=POP)


# ------------------------------------------------------------------------------------------------
# Hand-checkable tiny cases
# ------------------------------------------------------------------------------------------------

# Three items in 2-d: two orthogonal axes and their sum.
Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)


def test_ridge_hand():
    # One rating of 2 on item 0, mu = 0, no item bias, reg = 1. Unknowns (x0, x1, b_u):
    #   features of item 0: f = (1, 0, 1); A = f f^T + I = [[2,0,1],[0,1,0],[1,0,2]], rhs = 2 f
    #   -> x1 = 0 and 2 x0 + b_u = 2, x0 + 2 b_u = 2 -> x0 = b_u = 2/3.
    fold = FoldIn("ridge", popularity=POP, item_factors=Q, params={"reg": 1.0})
    res = fold.fold_in([0], [2.0])
    np.testing.assert_allclose(res.user_vector, [2 / 3, 0.0], atol=1e-6)
    assert res.user_bias == pytest.approx(2 / 3)
    # scores = x.q_i + b_u: item0 2/3 + 2/3, item1 0 + 2/3, item2 2/3 + 2/3
    np.testing.assert_allclose(res.scores, [4 / 3, 2 / 3, 4 / 3], atol=1e-6)
    assert res.fallback is None
    assert res.user_vector.dtype == np.float32 and res.scores.dtype == np.float32


def test_ridge_hand_with_biases():
    # Same profile with mu = 3 and item biases (0.5, -1, 0): the target becomes 2 - 3 - 0.5 =
    # -1.5, so x0 = b_u = -1.5/3 = -0.5, and scores are mu + b_i + b_u + x.q_i.
    bias = np.array([0.5, -1.0, 0.0], dtype=np.float32)
    fold = FoldIn(
        "ridge",
        popularity=POP,
        item_factors=Q,
        item_bias=bias,
        params={"reg": 1.0, "global_mean": 3.0},
    )
    res = fold.fold_in([0], [2.0])
    np.testing.assert_allclose(res.user_vector, [-0.5, 0.0], atol=1e-6)
    assert res.user_bias == pytest.approx(-0.5)
    expected = 3.0 + bias - 0.5 + np.array([-0.5, 0.0, -0.5])
    np.testing.assert_allclose(res.scores, expected, atol=1e-6)


def test_confidence_hand():
    # Items 0 and 1 orthogonal unit vectors: G = I. Item 0 rated 5 (positive), alpha = 2,
    # w0 = 0.5, reg = 0.5, reg_exponent = 0 -> lam = 0.5.
    #   A = 0.5 I + (2 - 0.5) e0 e0^T + 0.5 I = diag(2.5, 1), b = 2 e0 -> x = (0.8, 0).
    q = Q[:2]
    params = {"alpha": 2.0, "unobserved_weight": 0.5, "reg": 0.5, "reg_exponent": 0.0}
    fold = FoldIn("confidence", popularity=POP[:2], item_factors=q, params=params)
    res = fold.fold_in([0], [5.0])
    np.testing.assert_allclose(res.user_vector, [0.8, 0.0], atol=1e-6)
    np.testing.assert_allclose(res.scores, [0.8, 0.0], atol=1e-6)
    assert res.user_bias == 0.0 and res.fallback is None
    # reg_exponent = 1: lam = 0.5 * (1 rated + 0.5 * 2 items) = 1 -> A = diag(3, 1.5), x0 = 2/3.
    fold = FoldIn(
        "confidence", popularity=POP[:2], item_factors=q, params={**params, "reg_exponent": 1.0}
    )
    np.testing.assert_allclose(fold.fold_in([0], [5.0]).user_vector, [2 / 3, 0.0], atol=1e-6)


def test_confidence_negative_pulls_down():
    # Item 0 positive (5), item 2 = e0 + e1 rated 2 (a confident negative: target 0, weight alpha).
    # A = w0 G + (alpha - w0)(q0 q0^T + q2 q2^T) + lam I with alpha = 1, w0 = 0, lam = 1:
    #   q0 q0^T + q2 q2^T = [[2,1],[1,1]] -> A = [[3,1],[1,2]], b = (1, 0)
    #   x = A^-1 b = (2, -1) / 5 = (0.4, -0.2).
    params = {"alpha": 1.0, "unobserved_weight": 0.0, "reg": 1.0}
    fold = FoldIn("confidence", popularity=POP, item_factors=Q, params=params)
    res = fold.fold_in([0, 2], [5.0, 2.0])
    np.testing.assert_allclose(res.user_vector, [0.4, -0.2], atol=1e-6)
    np.testing.assert_allclose(res.scores, [0.4, -0.2, 0.2], atol=1e-6)


def test_item_similarity_hand():
    w = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 4.0], [5.0, 6.0, 0.0]], dtype=np.float32)
    for sim in (w, sp.csr_matrix(w)):
        fold = FoldIn("item_similarity", popularity=POP, similarity=sim)
        # Items 0 (5 stars) and 2 (4 stars) are positives; item 1 (2 stars) is not.
        res = fold.fold_in([0, 1, 2], [5.0, 2.0, 4.0])
        np.testing.assert_allclose(res.scores, w[0] + w[2])
        assert res.user_vector is None and res.fallback is None
        assert res.scores.dtype == np.float32 and res.scores.shape == (3,)


def test_popularity_hand():
    fold = FoldIn("popularity", popularity=POP)
    res = fold.fold_in([1], [5.0])
    np.testing.assert_allclose(res.scores, np.log1p(POP))
    assert res.fallback is None and res.user_vector is None
    # Every visitor gets the same list.
    np.testing.assert_array_equal(fold.fold_in([0, 2], [1.0, 2.0]).scores, res.scores)
    assert fold.n_items == 3


def test_threshold_param_decides_positives():
    w = np.eye(3, dtype=np.float32)
    fold = FoldIn("item_similarity", popularity=POP, similarity=w, params={"threshold": 3.0})
    np.testing.assert_allclose(fold.fold_in([0, 1], [3.0, 2.5]).scores, [1, 0, 0])


# ------------------------------------------------------------------------------------------------
# Fallbacks
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ridge", "confidence", "item_similarity", "popularity"])
def test_empty_profile_falls_back_to_popularity(rng, method):
    fold = _random_foldin(rng, method)
    res = fold.fold_in(np.array([], dtype=np.int64), np.array([]))
    np.testing.assert_allclose(res.scores, np.log1p(fold.popularity))
    assert res.scores.dtype == np.float32
    assert res.user_vector is None
    assert res.fallback == "no ratings yet"


@pytest.mark.parametrize("method", ["confidence", "item_similarity"])
def test_all_negative_profile_falls_back_to_popularity(rng, method):
    fold = _random_foldin(rng, method, params={"threshold": 3.5})
    res = fold.fold_in([1, 4, 7], [1.0, 3.0, 2.5])
    np.testing.assert_allclose(res.scores, np.log1p(fold.popularity))
    assert res.user_vector is None
    assert res.fallback is not None and "3.5" in res.fallback


def test_all_negative_profile_still_informs_ridge(rng):
    # Explicit ratings carry signal below the threshold too: ridge does not fall back.
    fold = _random_foldin(rng, "ridge", params={"global_mean": 3.5})
    res = fold.fold_in([1, 4, 7], [1.0, 1.5, 2.0])
    assert res.fallback is None and res.user_bias < 0


# ------------------------------------------------------------------------------------------------
# Slow references on random data
# ------------------------------------------------------------------------------------------------


def _ridge_reference(fold, codes, ratings):
    """lstsq on rows [q_i, 1] -> r_i - mu - b_i stacked over sqrt(reg) I -> 0."""
    mu, reg = fold._p("global_mean"), fold._p("reg")
    bias = fold.item_bias if fold.item_bias is not None else np.zeros(fold.n_items)
    q = fold.item_factors.astype(np.float64)
    d = q.shape[1]
    design = np.vstack(
        [np.hstack([q[codes], np.ones((len(codes), 1))]), np.sqrt(reg) * np.eye(d + 1)]
    )
    target = np.concatenate([ratings - mu - bias[codes].astype(np.float64), np.zeros(d + 1)])
    z = np.linalg.lstsq(design, target, rcond=None)[0]
    x, bu = z[:d], z[d]
    return x, bu, mu + bias + bu + q @ x


@pytest.mark.parametrize("trial", range(6))
def test_ridge_matches_lstsq(rng, trial):
    params = [{}, {"reg": 2.0, "global_mean": 3.6}, {"reg": 0.01, "global_mean": 3.0}][trial % 3]
    n_items = int(rng.integers(10, 60))
    fold = _random_foldin(
        rng, "ridge", n_items=n_items, d=int(rng.integers(1, 8)), params=params, bias=trial != 3
    )
    # include profiles smaller than d (the regulariser makes them well posed)
    codes, ratings = _random_profile(rng, n_items, n=int(rng.integers(1, n_items // 2)))
    res = fold.fold_in(codes, ratings)
    x, bu, scores = _ridge_reference(fold, codes, ratings)
    np.testing.assert_allclose(res.user_vector, x, rtol=1e-4, atol=1e-5)
    assert res.user_bias == pytest.approx(bu, rel=1e-6, abs=1e-8)
    np.testing.assert_allclose(res.scores, scores, rtol=1e-4, atol=1e-4)


def _confidence_reference(fold, codes, ratings):
    """The whole weighted least-squares problem over every item, built densely and solved."""
    alpha, w0 = fold._p("alpha"), fold._p("unobserved_weight")
    reg, expo, thr = fold._p("reg"), fold._p("reg_exponent"), fold._p("threshold")
    n_items = fold.n_items
    q = fold.item_factors.astype(np.float64)
    weight = np.full(n_items, w0)
    target = np.zeros(n_items)
    negative_weight = fold._p("negative_weight", alpha)
    for c, r in zip(codes, ratings, strict=True):
        weight[c] = alpha if r >= thr else negative_weight
        target[c] = 1.0 if r >= thr else 0.0
    lam = reg * (len(codes) + w0 * n_items) ** expo
    # min_x sum_i weight_i (target_i - x.q_i)^2 + lam |x|^2 as one stacked least-squares system.
    sw = np.sqrt(weight)
    design = np.vstack([sw[:, None] * q, np.sqrt(lam) * np.eye(q.shape[1])])
    rhs = np.concatenate([sw * target, np.zeros(q.shape[1])])
    x = np.linalg.lstsq(design, rhs, rcond=None)[0]
    bias = fold.item_bias if fold.item_bias is not None else np.zeros(n_items)
    return x, q @ x + bias


@pytest.mark.parametrize("trial", range(10))
def test_confidence_matches_dense_weighted_least_squares(rng, trial):
    params = [
        {},
        {"alpha": 10.0, "unobserved_weight": 0.05, "reg": 0.5, "reg_exponent": 1.0},
        {"alpha": 3.0, "unobserved_weight": 0.3, "reg": 0.1, "reg_exponent": 0.5, "threshold": 3.5},
        {"alpha": 1.0, "unobserved_weight": 1.0, "reg": 1.0},
        {"alpha": 4.0, "unobserved_weight": 0.2, "reg": 0.3, "negative_weight": 0.5},
    ][trial % 5]
    n_items = int(rng.integers(10, 60))
    fold = _random_foldin(
        rng,
        "confidence",
        n_items=n_items,
        d=int(rng.integers(1, 8)),
        params=params,
        bias=trial >= 5,
    )
    codes, ratings = _random_profile(rng, n_items)
    ratings[0] = 5.0  # at least one positive, so no fallback
    res = fold.fold_in(codes, ratings)
    x, scores = _confidence_reference(fold, codes, ratings)
    np.testing.assert_allclose(res.user_vector, x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.scores, scores, rtol=1e-4, atol=1e-4)
    assert res.fallback is None


def test_gramian_is_cached_and_exact(rng):
    fold = _random_foldin(rng, "confidence")
    q = fold.item_factors.astype(np.float64)
    np.testing.assert_allclose(fold.gramian, q.T @ q)
    assert fold.gramian is fold.gramian


@pytest.mark.parametrize("sparse_sim", [True, False])
def test_item_similarity_matches_loop(rng, sparse_sim):
    fold = _random_foldin(rng, "item_similarity", n_items=30, sparse_sim=sparse_sim)
    dense = fold.similarity.toarray() if sparse_sim else fold.similarity
    thr = fold._p("threshold")
    for _ in range(10):
        codes, ratings = _random_profile(rng, 30)
        ratings[0] = 4.5
        res = fold.fold_in(codes, ratings)
        expected = np.zeros(30)
        for c, r in zip(codes, ratings, strict=True):
            if r >= thr:
                for t in range(30):
                    expected[t] += dense[c, t]
        np.testing.assert_allclose(res.scores, expected, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# contributions
# ------------------------------------------------------------------------------------------------


def test_contributions_ridge_sum_to_score_minus_biases(rng):
    fold = _random_foldin(rng, "ridge", params={"reg": 0.3, "global_mean": 3.5})
    codes, ratings = _random_profile(rng, fold.n_items, n=12)
    targets = np.array([0, 3, 3, 17, 39, int(codes[0])])
    res = fold.fold_in(codes, ratings)
    contrib = fold.contributions(codes, ratings, targets)
    assert contrib.shape == (len(targets), len(codes)) and contrib.dtype == np.float32
    unexplained = fold._p("global_mean") + fold.item_bias[targets] + res.user_bias
    np.testing.assert_allclose(contrib.sum(axis=1), res.scores[targets] - unexplained, atol=1e-4)


@pytest.mark.parametrize("reg_exponent", [0.0, 1.0])
def test_contributions_confidence_sum_to_score(rng, reg_exponent):
    params = {"alpha": 4.0, "unobserved_weight": 0.2, "reg": 0.2, "reg_exponent": reg_exponent}
    fold = _random_foldin(rng, "confidence", params=params, bias=False)
    codes, ratings = _random_profile(rng, fold.n_items, n=10)
    ratings[:2] = 5.0
    ratings[2] = 1.0
    targets = np.arange(fold.n_items)
    contrib = fold.contributions(codes, ratings, targets)
    np.testing.assert_allclose(contrib.sum(axis=1), fold.fold_in(codes, ratings).scores, atol=1e-5)
    # Negatives shape x through A but are credited nothing.
    np.testing.assert_array_equal(contrib[:, ratings < fold._p("threshold")], 0.0)


@pytest.mark.parametrize("sparse_sim", [True, False])
def test_contributions_item_similarity(rng, sparse_sim):
    fold = _random_foldin(rng, "item_similarity", sparse_sim=sparse_sim)
    codes, ratings = _random_profile(rng, fold.n_items, n=8)
    ratings[:3] = [5.0, 4.0, 1.0]
    targets = np.array([5, 0, 22])
    contrib = fold.contributions(codes, ratings, targets)
    dense = fold.similarity.toarray() if sparse_sim else fold.similarity
    positive = ratings >= 4.0
    for a, t in enumerate(targets):
        for b, c in enumerate(codes):
            assert contrib[a, b] == pytest.approx(dense[c, t] if positive[b] else 0.0)
    np.testing.assert_allclose(
        contrib.sum(axis=1), fold.fold_in(codes, ratings).scores[targets], atol=1e-5
    )


@pytest.mark.parametrize("method", ["ridge", "confidence", "item_similarity", "popularity"])
def test_contributions_empty_and_popularity_are_zero(rng, method):
    fold = _random_foldin(rng, method)
    out = fold.contributions(np.array([], dtype=np.int64), np.array([]), np.array([1, 2]))
    assert out.shape == (2, 0)
    if method == "popularity":
        out = fold.contributions([1, 2], [5.0, 4.0], [0, 3, 4])
        np.testing.assert_array_equal(out, np.zeros((3, 2)))


# ------------------------------------------------------------------------------------------------
# Purity
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ridge", "confidence", "item_similarity", "popularity"])
def test_fold_in_does_not_mutate_state(rng, method):
    fold = _random_foldin(rng, method, params={"global_mean": 3.0})
    snapshot = {
        "popularity": fold.popularity.copy(),
        "item_factors": fold.item_factors.copy(),
        "item_bias": fold.item_bias.copy(),
        "similarity": fold.similarity.toarray(),
    }
    params = dict(fold.params)
    codes, ratings = _random_profile(rng, fold.n_items, n=6)
    ratings[0] = 5.0
    first = fold.fold_in(codes, ratings)
    first_scores = first.scores.copy()
    fold.contributions(codes, ratings, np.arange(5))
    fallback = fold.fold_in(np.array([], dtype=np.int64), np.array([]))
    # The results own their memory: scribbling on them touches nothing in the state...
    for res in (first, fallback):
        for arr in (fold.popularity, fold.item_factors, fold.item_bias):
            assert not np.shares_memory(res.scores, arr)
        res.scores[:] = 1e6
    np.testing.assert_array_equal(fold.popularity, snapshot["popularity"])
    np.testing.assert_array_equal(fold.item_factors, snapshot["item_factors"])
    np.testing.assert_array_equal(fold.item_bias, snapshot["item_bias"])
    np.testing.assert_array_equal(fold.similarity.toarray(), snapshot["similarity"])
    assert fold.params == params
    # ...and folding in again gives the same answer.
    np.testing.assert_array_equal(fold.fold_in(codes, ratings).scores, first_scores)


def test_inputs_are_not_mutated(rng):
    fold = _random_foldin(rng, "ridge")
    codes, ratings = _random_profile(rng, fold.n_items, n=5)
    codes_before, ratings_before = codes.copy(), ratings.copy()
    fold.fold_in(codes, ratings)
    fold.contributions(codes, ratings, np.arange(3))
    np.testing.assert_array_equal(codes, codes_before)
    np.testing.assert_array_equal(ratings, ratings_before)


def test_result_is_frozen():
    res = FoldInResult(None, np.zeros(2, np.float32))
    with pytest.raises(AttributeError):
        res.fallback = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
# attribute / leave_one_out: hand-computed 2-item examples
# ------------------------------------------------------------------------------------------------


def _two_items(method, params, bias=(0.0, 0.0)):
    # q_0 = (1, 0), q_1 = (1, 1): two items in two dimensions, the system small enough to solve
    # by hand below.
    return FoldIn(
        method,
        popularity=np.array([3.0, 7.0], np.float32),
        item_factors=np.array([[1.0, 0.0], [1.0, 1.0]], np.float32),
        item_bias=np.array(bias, np.float32),
        params=params,
    )


def test_attribute_confidence_by_hand():
    # Rate item 0 five stars. alpha = 2, w0 = 0 (so G drops out), reg = 1, exponent 0:
    # A = (alpha - w0) q0 q0^T + I = [[3, 0], [0, 1]], b = alpha q0 = (2, 0), x = (2/3, 0).
    # Score of item 1: q1 . x + b_1 = 2/3 + 0.5; the term of item 0 is alpha q1^T A^-1 q0 = 2/3.
    fold = _two_items(
        "confidence", {"alpha": 2.0, "unobserved_weight": 0.0, "reg": 1.0}, bias=(0.0, 0.5)
    )
    att = fold.attribute([0], [5.0], [1])
    assert att.exact
    np.testing.assert_allclose(att.contributions, [[2 / 3]], rtol=1e-6)
    np.testing.assert_allclose(att.extras["item bias"], [0.5])
    np.testing.assert_allclose(att.scores, [2 / 3 + 0.5], rtol=1e-6)


def test_attribute_confidence_low_rating_acts_through_a_by_hand():
    # Item 0 five stars, item 1 one star (a negative with weight alpha = 2), w0 = 0, reg = 1:
    # A = 2 q0 q0^T + 2 q1 q1^T + I = [[5, 2], [2, 3]], det 11, A^-1 = [[3, -2], [-2, 5]] / 11,
    # b = 2 q0 = (2, 0), x = A^-1 b = (6, -4) / 11. Score of item 0: q0 . x = 6/11, all of it
    # item 0's term; item 1's term is 0. Without the low rating, x = (2/3, 0) (the example
    # above) and item 0 scores 2/3: leaving the low rating out raises item 0 by 2/3 - 6/11.
    fold = _two_items("confidence", {"alpha": 2.0, "unobserved_weight": 0.0, "reg": 1.0})
    att = fold.attribute([0, 1], [5.0, 1.0], [0])
    np.testing.assert_allclose(att.contributions, [[6 / 11, 0.0]], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(att.scores, [6 / 11], rtol=1e-6)
    loo = fold.leave_one_out([0, 1], [5.0, 1.0])
    assert loo.shape == (2, 2)
    np.testing.assert_allclose(loo[1, 0], 2 / 3, rtol=1e-6)  # without the low rating
    assert loo[0, 0] == pytest.approx(np.log1p(3.0))  # without the positive: popularity fallback


def test_attribute_ridge_by_hand():
    # Ridge with mu = 3, item biases (0.5, -0.5), reg = 1, one rating: item 0 rated 4.5.
    # f_0 = (1, 0, 1), y_0 = 4.5 - 3 - 0.5 = 1. A = f f^T + I = [[2,0,1],[0,1,0],[1,0,2]],
    # A^-1 f_0 = (1, 0, 1) / 3, so x = (1/3, 0) and b_u = 1/3. Score of item 1:
    # mu + b_1 + b_u + q1 . x = 3 - 0.5 + 1/3 + 1/3; item 0's term is q1 . x = 1/3.
    fold = _two_items("ridge", {"reg": 1.0, "global_mean": 3.0}, bias=(0.5, -0.5))
    att = fold.attribute([0], [4.5], [1])
    np.testing.assert_allclose(att.contributions, [[1 / 3]], rtol=1e-6)
    assert att.extras["global mean"][0] == pytest.approx(3.0)
    assert att.extras["item bias"][0] == pytest.approx(-0.5)
    assert att.extras["your bias"][0] == pytest.approx(1 / 3, rel=1e-6)
    np.testing.assert_allclose(att.scores, [3 - 0.5 + 2 / 3], rtol=1e-6)


@pytest.mark.parametrize("method", ["ridge", "confidence", "item_similarity", "popularity"])
def test_attribute_sums_to_the_score(rng, method):
    fold = _random_foldin(rng, method, params={"global_mean": 3.0, "reg": 0.3, "alpha": 3.0})
    codes, ratings = _random_profile(rng, fold.n_items, n=9)
    ratings[:3] = [5.0, 1.0, 4.0]
    targets = np.arange(fold.n_items)
    att = fold.attribute(codes, ratings, targets)
    total = att.contributions.sum(axis=1) + sum(att.extras.values())
    scores = fold.fold_in(codes, ratings).scores
    np.testing.assert_allclose(att.scores, scores, rtol=1e-6)
    np.testing.assert_allclose(total, scores, rtol=1e-5, atol=1e-5 * np.abs(scores).max())
    # Given the profile's fold-in result (as the serving path passes it): the same attribution.
    given = fold.attribute(codes, ratings, targets, fold.fold_in(codes, ratings))
    np.testing.assert_array_equal(given.contributions, att.contributions)
    np.testing.assert_array_equal(given.scores, att.scores)
    assert given.extras.keys() == att.extras.keys()


def test_leave_one_out_equals_refolding(rng):
    fold = _random_foldin(rng, "confidence", params={"alpha": 3.0})
    codes, ratings = _random_profile(rng, fold.n_items, n=6)
    ratings[:2] = [5.0, 1.0]
    loo = fold.leave_one_out(codes, ratings)
    for j in range(len(codes)):
        rest = np.delete(np.arange(len(codes)), j)
        np.testing.assert_array_equal(loo[j], fold.fold_in(codes[rest], ratings[rest]).scores)


@pytest.mark.parametrize("method", ["ridge", "confidence"])
def test_system_is_what_fold_in_solves(rng, method):
    fold = _random_foldin(rng, method, params={"global_mean": 3.0, "reg": 0.4})
    codes, ratings = _random_profile(rng, fold.n_items, n=7)
    ratings[0] = 5.0
    a, b = fold.system(codes, ratings)
    z = np.linalg.solve(a, b)
    res = fold.fold_in(codes, ratings)
    np.testing.assert_allclose(z[: len(res.user_vector)], res.user_vector, rtol=1e-5, atol=1e-6)
    if method == "ridge":
        assert z[-1] == pytest.approx(res.user_bias, rel=1e-6)


def test_system_refuses_methods_without_one(rng):
    with pytest.raises(ConfigError, match="solves no linear system"):
        _random_foldin(rng, "item_similarity").system([1], [5.0])
