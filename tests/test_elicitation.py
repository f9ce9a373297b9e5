"""Elicitation strategies: orders by hand, first_known against a loop, curves through fold-in."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data import Interactions
from recsys.elicitation import elicitation_curves, elicitation_order, first_known
from recsys.errors import ConfigError
from recsys.foldin import FoldIn


def interactions(rows, n_users=4, n_items=5) -> Interactions:
    u, i, r = (np.array(c) for c in zip(*rows))
    return Interactions(u.astype(np.int32), i.astype(np.int32), r.astype(np.float32), n_users, n_items)


TRAIN = interactions(
    [
        # item 0: 3 ratings, all 5 (entropy 0); item 1: 3 ratings 1, 3, 5 (log2(3) bits);
        # item 2: 2 ratings 4, 2 (1 bit); item 3: 1 rating; item 4: never rated.
        (0, 0, 5), (1, 0, 5), (2, 0, 5),
        (0, 1, 1), (1, 1, 3), (2, 1, 5),
        (0, 2, 4), (3, 2, 2),
        (3, 3, 4),
    ]
)


def test_orders_by_hand():
    assert elicitation_order("popular", TRAIN).tolist() == [0, 1, 2, 3]  # tie 0/1 by code
    # log(1+n) * entropy: item 1 = log 4 * 1.585, item 2 = log 3 * 1, items 0 and 3 zero.
    assert elicitation_order("pop_entropy", TRAIN).tolist() == [1, 2, 0, 3]
    assert elicitation_order("given", TRAIN, given=[3, 2, 3]).tolist() == [3, 2, 0, 1]
    shuffled = elicitation_order("random", TRAIN, seed=5)
    assert sorted(shuffled.tolist()) == [0, 1, 2, 3]
    assert shuffled.tolist() == elicitation_order("random", TRAIN, seed=5).tolist()
    with pytest.raises(ConfigError, match="unknown elicitation strategy"):
        elicitation_order("cleverest", TRAIN)
    with pytest.raises(ConfigError, match="given item codes"):
        elicitation_order("given", TRAIN, given=[9])


def test_first_known_matches_a_loop(rng):
    for _ in range(50):
        order = rng.permutation(30)[: rng.integers(1, 30)]
        profile = rng.choice(30, size=rng.integers(1, 12), replace=False)
        n = int(rng.integers(1, 8))
        expected = [j for item in order for j, p in enumerate(profile) if p == item][:n]
        assert first_known(order, profile, n).tolist() == expected


def test_curves_fold_in_the_first_known_movies():
    rng = np.random.default_rng(0)
    n_items = 6
    state = FoldIn(
        "confidence",
        popularity=np.arange(n_items, dtype=np.float32),
        item_factors=rng.normal(size=(n_items, 3)).astype(np.float32),
        params={"reg": 0.1, "alpha": 2.0, "unobserved_weight": 0.1},
    )
    # One held-out user (code 0) who knows items 4, 1 and 2 (rated 5, 4, 2).
    profiles = interactions([(0, 4, 5), (0, 1, 4), (0, 2, 2)], n_users=1, n_items=n_items)
    seen = []

    def evaluate(score_fn):
        scores = score_fn(np.array([0]))
        seen.append(scores[0])
        return float(scores[0, 0])  # any number derived from the scores

    orders = {"a": np.array([1, 0, 2, 3, 4, 5]), "b": np.array([5, 4, 3, 2, 1, 0])}
    curves = elicitation_curves(state, profiles, evaluate, orders, sizes=(1, 2, 5))
    assert set(curves) == {"a", "b"} and set(curves["a"]) == {"1", "2", "5"}
    # Order "a" asks 1 first (known, rated 4), then 2 (rated 2); "b" asks 4 (5), then 2 (2).
    expect = {
        ("a", 1): ([1], [4.0]), ("a", 2): ([1, 2], [4.0, 2.0]), ("a", 5): ([1, 2, 4], [4.0, 2.0, 5.0]),
        ("b", 1): ([4], [5.0]), ("b", 2): ([4, 2], [5.0, 2.0]), ("b", 5): ([4, 2, 1], [5.0, 2.0, 4.0]),
    }
    for (name, n), (codes, ratings) in expect.items():
        want = state.fold_in(np.array(codes), np.array(ratings)).scores
        assert curves[name][str(n)] == pytest.approx(float(want[0]), rel=1e-6)
    assert len(seen) == 6


def test_users_protocol_reports_elicitation_curves(synthetic_dir):
    import recsys
    from recsys.evaluate import elicitation_quality, fit_on_split
    from recsys.splits import make_split

    ds = recsys.load_movielens(synthetic_dir)
    split = make_split("users", ds.interactions(), seed=3)
    model = fit_on_split("ials", split, {"factors": 8, "iterations": 3}, early_stopping=False).model
    curves = elicitation_quality(model, split, ds.items, sizes=(1, 5))
    assert set(curves) == {"random", "popular", "pop_entropy", "groups"}
    for curve in curves.values():
        assert set(curve) == {"1", "5"} and all(0.0 <= v <= 1.0 for v in curve.values())
    assert curves == elicitation_quality(model, split, ds.items, sizes=(1, 5))  # seeded
