"""Protocols: sizes, disjointness, seeding, and the leakage rules each one promises."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data import Interactions
from recsys.errors import ConfigError
from recsys.splits import (
    check_learnable,
    leave_last_n_split,
    make_split,
    random_split,
    ratings_split,
    temporal_split,
    users_split,
    validation_split,
)


def _data(rng, n_users=50, n_items=40, per_user=12) -> Interactions:
    users, items = [], []
    for u in range(n_users):
        chosen = rng.choice(n_items, size=per_user, replace=False)
        users += [u] * per_user
        items += list(chosen)
    n = len(users)
    rating = rng.choice([1.0, 2.0, 3.0, 4.0, 4.5, 5.0], size=n).astype(np.float32)
    ts = rng.integers(1_000_000, 2_000_000, size=n)
    return Interactions(
        np.array(users, np.int32), np.array(items, np.int32), rating, n_users, n_items, ts
    )


def _pairs(x: Interactions) -> set[tuple[int, int]]:
    return set(zip(x.user.tolist(), x.item.tolist()))


def test_random_split_is_a_seeded_partition_of_positives(rng):
    data = _data(rng)
    s = random_split(data, threshold=4.0, test_frac=0.2, seed=1)
    n_pos = int((data.rating >= 4).sum())
    assert len(s.train) + len(s.test) == n_pos
    assert len(s.test) == round(0.2 * n_pos)
    assert not _pairs(s.train) & _pairs(s.test)
    assert (s.train.rating >= 4).all() and (s.test.rating >= 4).all()
    again = random_split(data, threshold=4.0, test_frac=0.2, seed=1)
    assert _pairs(again.test) == _pairs(s.test)
    other = random_split(data, threshold=4.0, test_frac=0.2, seed=2)
    assert _pairs(other.test) != _pairs(s.test)
    assert _pairs(s.exclude) == _pairs(s.train)


def test_temporal_split_never_trains_on_the_test_period(rng):
    data = _data(rng)
    s = temporal_split(data, threshold=4.0, test_frac=0.2)
    assert s.train.timestamp.max() <= s.test.timestamp.min()
    # Test users all have training history.
    assert set(s.test.user.tolist()) <= set(s.train.user.tolist())
    assert abs(len(s.test) - 0.2 * len(data)) <= 0.05 * len(data)


def test_leave_last_n_takes_each_users_latest_positives(rng):
    data = _data(rng)
    s = leave_last_n_split(data, threshold=4.0, n=2)
    for u in np.unique(s.test.user):
        mine = (data.user == u) & (data.rating >= 4)
        newest = np.sort(data.timestamp[mine])[::-1][:2]
        got = np.sort(s.test.timestamp[s.test.user == u])[::-1]
        np.testing.assert_array_equal(got, newest)
    assert "future" in s.params["note"]


def test_users_split_holds_out_whole_users(rng):
    data = _data(rng)
    s = users_split(data, threshold=4.0, user_frac=0.2, fold_in_frac=0.8, seed=3)
    held = set(s.profiles.user.tolist()) | set(s.test.user.tolist())
    assert len(held) == 10
    assert not held & set(s.train.user.tolist())
    # Each held-out user's rows are split ~80/20 between profile and test.
    for u in held:
        n_prof = int((s.profiles.user == u).sum())
        n_test = int((s.test.user == u).sum())
        assert n_prof + n_test == 12
        assert n_prof == round(0.8 * 12)
    assert not _pairs(s.profiles) & _pairs(s.test)
    # Profiles keep low ratings: the fold-in uses them as negatives.
    assert (s.profiles.rating < 4).any()


def test_ratings_split_covers_all_ratings(rng):
    data = _data(rng)
    s = ratings_split(data, test_frac=0.25, seed=0)
    assert len(s.train) + len(s.test) == len(data)
    assert not _pairs(s.train) & _pairs(s.test)


@pytest.mark.parametrize("protocol", ["random", "temporal", "leave-last-n", "users", "ratings"])
def test_validation_split_never_touches_test(rng, protocol):
    data = _data(rng)
    s = make_split(protocol, data, seed=5)
    v = validation_split(s, seed=6)
    test_pairs = _pairs(s.test)
    assert not _pairs(v.train) & test_pairs
    assert not _pairs(v.test) & test_pairs
    assert v.protocol == s.protocol


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_bad_fractions_are_refused(rng, bad):
    with pytest.raises(ConfigError, match="test_frac must be between 0 and 1"):
        random_split(_data(rng), test_frac=bad)


def test_unknown_protocol(rng):
    with pytest.raises(ConfigError, match="unknown protocol 'foo'"):
        make_split("foo", _data(rng))


@pytest.mark.parametrize("users", [[], [3], [3, 3, 3], [3, 3, 4], [0, 5, 0]])
def test_check_learnable_counts_users_as_np_unique_did(users):
    n = len(users)
    data = Interactions(
        np.array(users, np.int32), np.zeros(n, np.int32), np.full(n, 5.0, np.float32), 6, 1
    )
    n_users = len(np.unique(data.user))
    if n_users >= 2:
        check_learnable(data, 4.0)
    else:
        with pytest.raises(ConfigError, match=rf"the data has {n_users} user\(s\) with ratings"):
            check_learnable(data, 4.0)
