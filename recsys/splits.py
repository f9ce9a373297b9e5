"""Evaluation protocols: how ratings are divided into what a model learns from and what it is
tested on. Every split is seeded: the same seed gives the same split.

- ``random``: positives (rating >= threshold) split at random into train/test; rank all items
  minus the user's train positives. The protocol of the widely read BPR-MF tutorial.
- ``temporal``: one global time cut; the last ``test_frac`` of interactions (by timestamp) are the
  test period, and only users with training history before the cut are tested. Leakage-safe.
- ``leave-last-n``: per user, the latest ``n`` positives are test. Labelled as such because the
  model trains on other users' later interactions (it sees the future).
- ``users`` (strong generalisation): a seeded fraction of users is held out entirely; for each, a
  seeded ``fold_in_frac`` of their ratings is the profile folded in (as the app does for a
  visitor) and the rest is test.
- ``ratings``: seeded 80/20 split of all ratings, for rating prediction (RMSE, MAE).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import Interactions
from .errors import ConfigError

__all__ = [
    "Split",
    "PROTOCOLS",
    "random_split",
    "temporal_split",
    "leave_last_n_split",
    "users_split",
    "ratings_split",
    "make_split",
    "validation_split",
    "check_learnable",
]

PROTOCOLS = ("random", "temporal", "leave-last-n", "users", "ratings")


@dataclass(frozen=True)
class Split:
    """One protocol's division of the data.

    Attributes:
        protocol: name from :data:`PROTOCOLS`.
        train: every rating a model may learn from (implicit models keep the positives).
        test: the test interactions with their ratings (relevant = rating >= threshold, except
            for ``ratings``, where every test rating is predicted).
        exclude: interactions removed from each tested user's ranking (their known items).
        profiles: ``users`` only: the held-out users' folded-in ratings.
        params: the protocol's parameters, for result files.
    """

    protocol: str
    train: Interactions
    test: Interactions
    exclude: Interactions
    threshold: float
    profiles: Interactions | None = None
    params: dict = field(default_factory=dict)

    def train_for(self, kind: str) -> Interactions:
        """What a model of ``kind`` ("implicit" or "explicit") fits on."""
        return self.train if kind == "explicit" else self.train.positives(self.threshold)

    def relevant(self) -> Interactions:
        """Test interactions that count as hits for ranking metrics."""
        return self.test.positives(self.threshold)


def _check_frac(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{name} must be between 0 and 1 (exclusive), got {value}")


def _seeded_mask(n: int, frac: float, seed: int) -> np.ndarray:
    """Exactly round(frac * n) entries True, chosen by a seeded permutation."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: int(round(frac * n))]] = True
    return mask


def random_split(
    data: Interactions, threshold: float = 4.0, test_frac: float = 0.2, seed: int = 42
) -> Split:
    """Seeded random split of the positive interactions into train/test.

    Non-positive ratings are dropped, so train and exclude are the train positives and every
    model (including rating models) learns from positives only, as in the tutorial protocol.
    """
    _check_frac("test_frac", test_frac)
    pos = data.positives(threshold)
    is_test = _seeded_mask(len(pos), test_frac, seed)
    train, test = pos.subset(~is_test), pos.subset(is_test)
    params = {"threshold": threshold, "test_frac": test_frac, "seed": seed}
    return Split("random", train, test, train, threshold, params=params)


def temporal_split(data: Interactions, threshold: float = 4.0, test_frac: float = 0.2) -> Split:
    """One global time cut: the latest ``test_frac`` of interactions are the test period.

    Test users must have at least one training interaction before the cut; interactions at the
    cut's exact timestamp go to train, so no training row is later than any test row.
    """
    _check_frac("test_frac", test_frac)
    if data.timestamp is None:
        raise ConfigError("the temporal protocol needs timestamps")
    cut = np.quantile(data.timestamp, 1.0 - test_frac, method="lower")
    is_test = data.timestamp > cut
    train = data.subset(~is_test)
    has_history = np.zeros(data.n_users, dtype=bool)
    has_history[train.user] = True
    test = data.subset(is_test & has_history[data.user])
    params = {"threshold": threshold, "test_frac": test_frac, "cut_timestamp": int(cut)}
    return Split("temporal", train, test, train, threshold, params=params)


def leave_last_n_split(data: Interactions, threshold: float = 4.0, n: int = 1) -> Split:
    """Per user, the latest ``n`` positives are test (ties broken by item code).

    Training still sees other users' later interactions: not leakage-safe, labelled as such.
    """
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    if data.timestamp is None:
        raise ConfigError("the leave-last-n protocol needs timestamps")
    positive = data.rating >= threshold
    idx = np.flatnonzero(positive)
    # Sort positives by user, then newest first; the first n per user are test.
    order = idx[np.lexsort((data.item[idx], -data.timestamp[idx], data.user[idx]))]
    users = data.user[order]
    starts = np.searchsorted(users, users, side="left")
    rank = np.arange(len(order)) - starts
    counts = np.bincount(users, minlength=data.n_users)[users]
    # Keep at least one positive in train so the user is not cold.
    chosen = order[(rank < n) & (counts > n)]
    is_test = np.zeros(len(data), dtype=bool)
    is_test[chosen] = True
    train = data.subset(~is_test)
    params = {"threshold": threshold, "n": n, "note": "sees the future: not leakage-safe"}
    return Split("leave-last-n", train, data.subset(is_test), train, threshold, params=params)


def users_split(
    data: Interactions,
    threshold: float = 4.0,
    user_frac: float = 0.2,
    fold_in_frac: float = 0.8,
    seed: int = 42,
) -> Split:
    """Strong generalisation: hold out a seeded ``user_frac`` of users entirely.

    Each held-out user's ratings are split (seeded) into a folded-in profile (``fold_in_frac``,
    all ratings, low ones included: the fold-in treats them as negatives) and test.
    """
    _check_frac("user_frac", user_frac)
    _check_frac("fold_in_frac", fold_in_frac)
    users = data.users_present()
    held = users[_seeded_mask(len(users), user_frac, seed)]
    is_held = np.zeros(data.n_users, dtype=bool)
    is_held[held] = True
    row_held = is_held[data.user]
    train = data.subset(~row_held)
    held_idx = np.flatnonzero(row_held)
    # Per held-out user, a seeded fold_in_frac of their rows is the profile.
    rng = np.random.default_rng(seed + 1)
    keys = rng.random(len(held_idx))
    order = held_idx[np.lexsort((keys, data.user[held_idx]))]
    u = data.user[order]
    starts = np.searchsorted(u, u, side="left")
    counts = np.bincount(u, minlength=data.n_users)[u]
    rank = np.arange(len(order)) - starts
    in_profile = rank < np.maximum(1, np.round(fold_in_frac * counts))
    profiles = data.subset(np.sort(order[in_profile]))
    test = data.subset(np.sort(order[~in_profile]))
    params = {
        "threshold": threshold,
        "user_frac": user_frac,
        "fold_in_frac": fold_in_frac,
        "seed": seed,
        "n_held_out_users": int(len(held)),
    }
    return Split("users", train, test, profiles, threshold, profiles=profiles, params=params)


def ratings_split(data: Interactions, test_frac: float = 0.2, seed: int = 42) -> Split:
    """Seeded random split of all ratings, for rating prediction."""
    _check_frac("test_frac", test_frac)
    is_test = _seeded_mask(len(data), test_frac, seed)
    train = data.subset(~is_test)
    params = {"test_frac": test_frac, "seed": seed}
    return Split("ratings", train, data.subset(is_test), train, 0.0, params=params)


def check_learnable(data: Interactions, threshold: float | None) -> None:
    """Refuse data no model can learn from: fewer than two users, or (for models that learn from
    positives, ``threshold`` not None) no rating at or above ``threshold``."""
    # O(n): "fewer than two users" is "no rating, or every rating by the first rater".
    n_users = 0 if len(data.user) == 0 else 1 if (data.user == data.user[0]).all() else 2
    if n_users < 2:
        raise ConfigError(
            f"the data has {n_users} user(s) with ratings; collaborative filtering learns what "
            "a user likes from other users, so it needs at least two (and evaluation holds "
            "some of them out)"
        )
    if threshold is not None and not (data.rating >= threshold).any():
        raise ConfigError(
            f"no rating is at or above the positive threshold {threshold:g}; the models learn "
            "from positives, so lower --threshold or check the rating scale"
        )


def _check_testable(split: Split) -> None:
    """A split must leave something to test on, or every metric would be NaN."""
    if split.protocol == "ratings":
        if len(split.test) == 0 or len(split.train) == 0:
            raise ConfigError(
                "the ratings split left no test or no training ratings; the ratings protocol "
                "needs at least a few ratings on each side (more data or another --test-frac)"
            )
        return
    # Same as len(split.relevant()) == 0 or len(split.train_for("implicit")) == 0, no copies.
    threshold = split.threshold
    if not (split.test.rating >= threshold).any() or not (split.train.rating >= threshold).any():
        raise ConfigError(
            f"the {split.protocol} split left no test user with a rating at or above "
            f"{split.threshold:g} (or nothing to train on); the protocol needs held-out positives "
            "for some users and training positives for others: use more data, another "
            "--test-frac/--user-frac, or a lower --threshold"
        )


def make_split(
    protocol: str,
    data: Interactions,
    *,
    threshold: float = 4.0,
    test_frac: float = 0.2,
    seed: int = 42,
    user_frac: float = 0.2,
    fold_in_frac: float = 0.8,
    last_n: int = 1,
) -> Split:
    """The split of ``protocol`` with its parameters (the CLI's single entry point).

    Degenerate data is refused with a ConfigError saying what the protocol needs (see
    :func:`check_learnable`), as is a split that leaves nothing to test on.
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    check_learnable(data, None if protocol == "ratings" else threshold)
    if protocol == "random":
        split = random_split(data, threshold, test_frac, seed)
    elif protocol == "temporal":
        split = temporal_split(data, threshold, test_frac)
    elif protocol == "leave-last-n":
        split = leave_last_n_split(data, threshold, last_n)
    elif protocol == "users":
        split = users_split(data, threshold, user_frac, fold_in_frac, seed)
    else:
        split = ratings_split(data, test_frac, seed)
    _check_testable(split)
    return split


def validation_split(split: Split, seed: int = 7) -> Split:
    """A validation split carved out of ``split.train`` with the same protocol.

    Hyper-parameters and early stopping use this, never the test set. ``users`` holds out other
    users of the training part; ``temporal`` cuts the training period again; the others take a
    seeded random part of train.
    """
    p = dict(split.params)
    if split.protocol == "users":
        return users_split(
            split.train, split.threshold, p["user_frac"], p["fold_in_frac"], seed=seed
        )
    if split.protocol == "temporal":
        return temporal_split(split.train, split.threshold, p["test_frac"])
    if split.protocol == "leave-last-n":
        return leave_last_n_split(split.train, split.threshold, p["n"])
    if split.protocol == "ratings":
        return ratings_split(split.train, p["test_frac"], seed)
    return random_split(split.train, split.threshold, p["test_frac"], seed)
