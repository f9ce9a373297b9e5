"""Ranking and rating metrics: hand-computed cases, a slow reference, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsys import metrics
from recsys.metrics import (
    RANKING_METRICS,
    coverage_at_k,
    hit_rate_at_k,
    hits_at,
    mae,
    mrr_at_k,
    ndcg_at_k,
    novelty_at_k,
    precision_at_k,
    recall_at_k,
    rmse,
    top_k,
)

LOG2_3 = math.log2(3)  # 1.5849625...

# ------------------------------------------------------------------------------------------------
# Hand-computed cases
# ------------------------------------------------------------------------------------------------

# Four users, lists of length 5.
HITS = np.array(
    [
        [1, 0, 1, 0, 0],  # user 0: hits at ranks 0 and 2, 2 relevant items
        [0, 0, 1, 0, 0],  # user 1: one hit at rank 2, 3 relevant items
        [0, 0, 0, 0, 0],  # user 2: no hit, 1 relevant item
        [1, 1, 1, 0, 1],  # user 3: 10 relevant items (more than k)
    ],
    dtype=bool,
)
N_REL = np.array([2, 3, 1, 10])


def test_recall_hand():
    # k=5: user0 2/2, user1 1/3, user2 0/1, user3 4/10
    np.testing.assert_allclose(recall_at_k(HITS, N_REL, 5), [1.0, 1 / 3, 0.0, 0.4])
    # k=2: user0 1/2 (rank 2 is cut), user1 0/3, user2 0, user3 2/10
    np.testing.assert_allclose(recall_at_k(HITS, N_REL, 2), [0.5, 0.0, 0.0, 0.2])


def test_precision_hand():
    # k=5: 2/5, 1/5, 0/5, 4/5
    np.testing.assert_allclose(precision_at_k(HITS, N_REL, 5), [0.4, 0.2, 0.0, 0.8])
    # k=3: 2/3, 1/3, 0, 3/3
    np.testing.assert_allclose(precision_at_k(HITS, N_REL, 3), [2 / 3, 1 / 3, 0.0, 1.0])


def test_hit_rate_hand():
    np.testing.assert_allclose(hit_rate_at_k(HITS, N_REL, 5), [1, 1, 0, 1])
    # k=2: user 1's only hit is at rank 2
    np.testing.assert_allclose(hit_rate_at_k(HITS, N_REL, 2), [1, 0, 0, 1])


def test_mrr_hand():
    # first hits at ranks 0, 2, none, 0 -> 1/1, 1/3, 0, 1
    np.testing.assert_allclose(mrr_at_k(HITS, N_REL, 5), [1.0, 1 / 3, 0.0, 1.0])
    # k=2 cuts user 1's hit at rank 2 -> 0
    np.testing.assert_allclose(mrr_at_k(HITS, N_REL, 2), [1.0, 0.0, 0.0, 1.0])


def test_ndcg_hand():
    # user0, k=5, hits at ranks 0 and 2, 2 relevant:
    #   dcg = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5 ; idcg = 1/log2(2) + 1/log2(3) = 1 + 1/log2(3)
    u0 = 1.5 / (1 + 1 / LOG2_3)
    # user1, k=5, hit at rank 2, 3 relevant:
    #   dcg = 1/log2(4) = 0.5 ; idcg = 1 + 1/log2(3) + 1/log2(4) = 1.5 + 1/log2(3)
    u1 = 0.5 / (1.5 + 1 / LOG2_3)
    # user3, k=5, hits at ranks 0,1,2,4, 10 relevant -> idcg over min(5, 10) = 5 ranks:
    #   dcg = 1 + 1/log2(3) + 1/2 + 1/log2(6) ; idcg = dcg + 1/log2(5)
    dcg3 = 1 + 1 / LOG2_3 + 0.5 + 1 / math.log2(6)
    u3 = dcg3 / (dcg3 + 1 / math.log2(5))
    np.testing.assert_allclose(ndcg_at_k(HITS, N_REL, 5), [u0, u1, 0.0, u3])
    assert u0 == pytest.approx(0.919720, abs=1e-6)
    # k=2: user0 dcg = 1, idcg = 1 + 1/log2(3); user3 hits at 0 and 1 with 10 relevant -> 1
    np.testing.assert_allclose(ndcg_at_k(HITS, N_REL, 2), [1 / (1 + 1 / LOG2_3), 0.0, 0.0, 1.0])


def test_ndcg_perfect_and_zero_relevant():
    hits = np.array([[1, 1, 0], [0, 0, 0]], dtype=bool)
    # user0: both relevant items at the top -> 1; user1 has no relevant item -> 0 (not NaN)
    np.testing.assert_allclose(ndcg_at_k(hits, np.array([2, 0]), 3), [1.0, 0.0])
    np.testing.assert_allclose(recall_at_k(hits, np.array([2, 0]), 3), [1.0, 0.0])


def test_ndcg_does_not_depend_on_the_rest_of_the_batch(rng):
    # The same user must get bit-identical values whether scored alone or inside a batch, and a
    # perfect list exactly 1.0 (a matrix product rounds rows differently by their position).
    row = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]], dtype=bool)
    others = rng.random((37, 12)) < 0.5
    for position in (0, 5, 17, 36):
        batch = np.insert(others, position, row[0], axis=0)
        n_rel = np.full(38, 15)
        alone = ndcg_at_k(row, np.array([15]), 12)[0]
        assert ndcg_at_k(batch, n_rel, 12)[position] == alone
    perfect = np.ones((40, 12), dtype=bool)
    np.testing.assert_array_equal(ndcg_at_k(perfect, np.full(40, 12), 12), 1.0)
    np.testing.assert_array_equal(ndcg_at_k(perfect, np.full(40, 30), 10), 1.0)


def test_k_beyond_list_length():
    # A list of 2 with k=4: precision divides by k, ndcg's ideal uses min(k, n_rel) = 3 ranks.
    hits = np.array([[1, 1]], dtype=bool)
    np.testing.assert_allclose(precision_at_k(hits, np.array([3]), 4), [0.5])
    ideal = 1 + 1 / LOG2_3 + 0.5
    np.testing.assert_allclose(ndcg_at_k(hits, np.array([3]), 4), [(1 + 1 / LOG2_3) / ideal])


def test_ranking_metrics_registry():
    assert RANKING_METRICS == {
        "recall": recall_at_k,
        "precision": precision_at_k,
        "ndcg": ndcg_at_k,
        "mrr": mrr_at_k,
        "hr": hit_rate_at_k,
    }


def test_coverage_hand():
    ranked = np.array([[0, 1, 4], [1, 2, 4]])
    # k=2: {0, 1, 2} of 5 items; k=1: {0, 1}; k=3: {0, 1, 2, 4}
    assert coverage_at_k(ranked, 5, 2) == pytest.approx(3 / 5)
    assert coverage_at_k(ranked, 5, 1) == pytest.approx(2 / 5)
    assert coverage_at_k(ranked, 5, 3) == pytest.approx(4 / 5)


def test_novelty_hand():
    # 4 users; counts 4, 2, 0 (never seen -> 1) -> p = 1, 1/2, 1/4 -> -log2 p = 0, 1, 2
    counts = np.array([4, 2, 0])
    ranked = np.array([[0, 1, 2], [2, 0, 1]])
    # k=2: items 0, 1, 2, 0 -> (0 + 1 + 2 + 0) / 4
    assert novelty_at_k(ranked, counts, 4, 2) == pytest.approx(0.75)
    # k=1: items 0, 2 -> (0 + 2) / 2
    assert novelty_at_k(ranked, counts, 4, 1) == pytest.approx(1.0)
    assert isinstance(novelty_at_k(ranked, counts, 4, 2), float)


def test_rmse_mae_hand():
    pred, actual = [1.0, 2.0, 3.0], [1.0, 1.0, 5.0]
    # errors 0, 1, -2: rmse = sqrt(5/3), mae = 3/3
    assert rmse(pred, actual) == pytest.approx(math.sqrt(5 / 3))
    assert mae(pred, actual) == pytest.approx(1.0)
    assert rmse(np.ones(4), np.ones(4)) == 0.0
    assert isinstance(rmse(pred, actual), float) and isinstance(mae(pred, actual), float)


# ------------------------------------------------------------------------------------------------
# top_k and hits_at
# ------------------------------------------------------------------------------------------------


def _top_k_ref(scores, k, exclude=None):
    """Sort every row by (score descending, item code ascending); excluded and NaN last."""
    scores = np.asarray(scores, dtype=np.float64)
    ex = exclude.toarray() != 0 if exclude is not None else np.zeros(scores.shape, bool)
    out = []
    for u in range(scores.shape[0]):

        def key(i, u=u):
            s = scores[u, i]
            bad = ex[u, i] or np.isnan(s)
            return (1 if bad else 0, 0.0 if bad else -s, i)

        out.append(sorted(range(scores.shape[1]), key=key)[: min(k, scores.shape[1])])
    return np.array(out, dtype=np.int64).reshape(scores.shape[0], min(k, scores.shape[1]))


def test_top_k_order_and_dtype():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, 4.0]], dtype=np.float32)
    out = top_k(scores, 2)
    assert out.dtype == np.int64 and out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[1, 3], [3, 0]])
    np.testing.assert_array_equal(top_k(scores, 4), [[1, 3, 2, 0], [3, 0, 2, 1]])


def test_top_k_ties_go_to_lower_item_code():
    # All equal: the k lowest codes, in order, whatever k and the row length.
    np.testing.assert_array_equal(top_k(np.zeros((3, 50)), 3), np.tile([0, 1, 2], (3, 1)))
    # Ties straddling the k boundary: items 1, 4, 6 and 7 tie at 2.0 behind item 5 (3.0)
    scores = np.array([[0.0, 2.0, 1.0, 0.0, 2.0, 3.0, 2.0, 2.0]])
    np.testing.assert_array_equal(top_k(scores, 3), [[5, 1, 4]])
    np.testing.assert_array_equal(top_k(scores, 5), [[5, 1, 4, 6, 7]])
    np.testing.assert_array_equal(top_k(scores, 6), [[5, 1, 4, 6, 7, 2]])


def test_top_k_ties_with_many_rows(rng):
    # Few distinct values -> many ties across the boundary; argpartition alone gets this wrong.
    scores = rng.integers(0, 3, size=(60, 40)).astype(np.float32)
    for k in (1, 5, 17, 39, 40):
        np.testing.assert_array_equal(top_k(scores, k), _top_k_ref(scores, k))


def test_top_k_keeps_float64_precision():
    # 1 + 1e-9 rounds to 1.0 in float32; the better item must still come first.
    np.testing.assert_array_equal(top_k(np.array([[1.0, 1.0 + 1e-9]]), 1), [[1]])


def test_top_k_exclude_is_honoured():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    exclude = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]]))
    np.testing.assert_array_equal(top_k(scores, 2, exclude=exclude), [[1, 3], [2, 1]])
    # Excluded items rank after every other item (here k covers the whole row).
    np.testing.assert_array_equal(top_k(scores, 4, exclude=exclude), [[1, 3, 0, 2], [2, 1, 0, 3]])
    # The caller's scores are not modified.
    np.testing.assert_array_equal(scores, [[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    # An empty exclude matrix changes nothing.
    empty = sp.csr_matrix((2, 4))
    np.testing.assert_array_equal(top_k(scores, 2, exclude=empty), top_k(scores, 2))


def test_top_k_k_at_least_n_items():
    scores = np.array([[0.2, 0.8, 0.5], [0.0, 0.0, 1.0]])
    for k in (3, 4, 100):
        out = top_k(scores, k)
        assert out.shape == (2, 3)
        np.testing.assert_array_equal(out, [[1, 2, 0], [2, 0, 1]])


def test_top_k_random_against_reference(rng):
    for _ in range(30):
        n_users, n_items = rng.integers(1, 20), rng.integers(1, 30)
        scores = rng.normal(size=(n_users, n_items))
        scores[rng.random(scores.shape) < 0.2] = 0.5  # ties
        exclude = sp.csr_matrix(rng.random(scores.shape) < 0.3)
        k = int(rng.integers(1, n_items + 3))
        np.testing.assert_array_equal(
            top_k(scores, k, exclude=exclude), _top_k_ref(scores, k, exclude)
        )


def test_hits_at_hand():
    ranked = np.array([[3, 0, 2], [1, 2, 0], [0, 1, 2]])
    relevant = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 1, 1]]))
    np.testing.assert_array_equal(
        hits_at(ranked, relevant),
        [[True, True, False], [False, False, False], [False, False, True]],
    )
    assert hits_at(ranked, relevant).dtype == bool


def test_hits_at_random_against_loop(rng):
    n_users, n_items, k = 40, 25, 7
    ranked = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = sp.random(n_users, n_items, density=0.2, format="csr", random_state=1)
    dense = relevant.toarray() != 0
    expected = np.array([[dense[u, i] for i in ranked[u]] for u in range(n_users)])
    np.testing.assert_array_equal(hits_at(ranked, relevant), expected)


# ------------------------------------------------------------------------------------------------
# Slow reference against the vectorised functions
# ------------------------------------------------------------------------------------------------


def _reference(hits, n_relevant, k):
    """Plain loops over users and ranks, straight from the module docstring."""
    out = {name: [] for name in ("recall", "precision", "hr", "mrr", "ndcg")}
    for u in range(hits.shape[0]):
        row = [bool(hits[u, r]) for r in range(min(k, hits.shape[1]))]
        n_hits = sum(row)
        n_rel = int(n_relevant[u])
        out["recall"].append(n_hits / n_rel if n_rel else 0.0)
        out["precision"].append(n_hits / k)
        out["hr"].append(1.0 if n_hits else 0.0)
        first = next((r for r, h in enumerate(row) if h), None)
        out["mrr"].append(0.0 if first is None else 1.0 / (1 + first))
        dcg = sum(1.0 / math.log2(r + 2) for r, h in enumerate(row) if h)
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, n_rel)))
        out["ndcg"].append(dcg / idcg if idcg > 0 else 0.0)
    return out


def _random_case(rng, n_users, list_len, n_items=60):
    """Ranked lists of distinct items and random relevant sets (some larger than the list)."""
    ranked = np.stack([rng.permutation(n_items)[:list_len] for _ in range(n_users)])
    rows = []
    for _ in range(n_users):
        n_rel = int(rng.choice([0, 1, 2, 3, list_len, list_len + 5, rng.integers(0, n_items)]))
        rows.append(np.sort(rng.choice(n_items, size=min(n_rel, n_items), replace=False)))
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    relevant = sp.csr_matrix(
        (np.ones(indptr[-1]), np.concatenate(rows).astype(np.int64), indptr),
        shape=(n_users, n_items),
    )
    return ranked, relevant


def test_vectorised_metrics_match_reference(rng):
    n_more_relevant_than_k = 0
    for _ in range(25):
        n_users, list_len = int(rng.integers(1, 80)), int(rng.integers(1, 20))
        ranked, relevant = _random_case(rng, n_users, list_len)
        hits = hits_at(ranked, relevant)
        n_rel = np.diff(relevant.indptr)
        for k in {1, int(rng.integers(1, list_len + 1)), list_len, list_len + 3}:
            n_more_relevant_than_k += int((n_rel > k).sum())
            ref = _reference(hits, n_rel, k)
            for name, fn in RANKING_METRICS.items():
                np.testing.assert_allclose(fn(hits, n_rel, k), ref[name], rtol=1e-12, err_msg=name)
    assert n_more_relevant_than_k > 100  # the case the ideal-DCG cut-off exists for


def test_metrics_on_top_k_pipeline(rng):
    # End to end on random scores: top_k -> hits_at -> metrics, against loops on sorted lists.
    scores = rng.normal(size=(50, 30))
    relevant = sp.csr_matrix(rng.random((50, 30)) < 0.15)
    ranked = top_k(scores, 10)
    hits = hits_at(ranked, relevant)
    n_rel = np.diff(relevant.indptr)
    dense = relevant.toarray()
    for u in range(50):
        order = sorted(range(30), key=lambda i, u=u: (-scores[u, i], i))[:10]
        assert list(ranked[u]) == order
        assert list(hits[u]) == [bool(dense[u, i]) for i in order]
    ref = _reference(hits, n_rel, 10)
    np.testing.assert_allclose(ndcg_at_k(hits, n_rel, 10), ref["ndcg"])


# ------------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------------


@st.composite
def hits_and_relevant(draw):
    n_users = draw(st.integers(1, 8))
    list_len = draw(st.integers(1, 12))
    hits = draw(hnp.arrays(bool, (n_users, list_len)))
    # A user has at least as many relevant items as hits in the list, possibly many more.
    extra = draw(hnp.arrays(np.int64, n_users, elements=st.integers(0, 15)))
    n_rel = hits.sum(axis=1) + extra
    k = draw(st.integers(1, list_len + 3))
    return hits, n_rel, k


@settings(max_examples=150, deadline=None)
@given(hits_and_relevant())
def test_ranking_metrics_within_unit_interval(case):
    hits, n_rel, k = case
    for name, fn in RANKING_METRICS.items():
        v = fn(hits, n_rel, k)
        assert v.shape == (hits.shape[0],), name
        assert np.all(np.isfinite(v)) and np.all(v >= 0) and np.all(v <= 1 + 1e-12), name


@settings(max_examples=100, deadline=None)
@given(hits_and_relevant())
def test_recall_monotone_in_k(case):
    hits, n_rel, _ = case
    values = [recall_at_k(hits, n_rel, k) for k in range(1, hits.shape[1] + 3)]
    for a, b in zip(values, values[1:], strict=False):
        assert np.all(b >= a)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 20), st.integers(0, 30), st.integers(0, 5))
def test_ndcg_one_when_relevant_fill_the_top(k, n_rel, extra_len, trailing):
    # The top min(k, n_rel) are exactly relevant; any relevant left over sits after rank k.
    top = min(k, n_rel)
    list_len = k + extra_len
    hits = np.zeros((1, list_len), dtype=bool)
    hits[0, :top] = True
    leftover = n_rel - top
    hits[0, k : k + min(leftover, trailing)] = True
    assert ndcg_at_k(hits, np.array([n_rel]), k)[0] == 1.0  # exactly


@settings(max_examples=100, deadline=None)
@given(hits_and_relevant(), st.randoms(use_true_random=False))
def test_user_permutation_permutes_outputs(case, random):
    hits, n_rel, k = case
    perm = np.array(random.sample(range(hits.shape[0]), hits.shape[0]))
    for name, fn in RANKING_METRICS.items():
        np.testing.assert_array_equal(
            fn(hits[perm], n_rel[perm], k), fn(hits, n_rel, k)[perm], err_msg=name
        )


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.5, np.inf, -np.inf]),
    ),
    st.integers(0, 15),
)
def test_top_k_matches_sort_property(scores, k):
    out = top_k(scores, k)
    assert out.shape == (scores.shape[0], min(k, scores.shape[1]))
    # Each row is distinct items, and agrees with a full (score desc, code asc) sort.
    ref = np.array(
        [
            sorted(range(scores.shape[1]), key=lambda i, u=u: (-scores[u, i], i))
            for u in range(len(scores))
        ]
    )[:, : out.shape[1]]
    np.testing.assert_array_equal(out, ref)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=10), elements=st.integers(0, 19)
    ),
    st.integers(1, 12),
)
def test_coverage_within_unit_interval(ranked, k):
    assert 0.0 <= coverage_at_k(ranked, 20, k) <= 1.0


def test_module_exports():
    for name in metrics.__all__:
        assert hasattr(metrics, name)
