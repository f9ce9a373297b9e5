"""Which movies to ask a newcomer to rate: strategies and their cold-start curves.

Rashid et al. (2002, "Getting to know you") showed that the movies a new MovieLens user is
shown first change both how many they can rate and how good the first recommendations are. A
strategy here is an *order* of the catalogue: the newcomer walks down it and rates the movies
they know. On the ``users`` protocol that is simulated exactly: a held-out user "knows" the
movies in their profile, so after ``n`` answers they have rated the first ``n`` profile movies
in the strategy's order (with their real ratings), are folded in by the app's own code, and are
scored on their test movies. Users who know fewer than ``n`` of the ordered movies rate what
they know.

Strategies (:func:`elicitation_order`):

- ``random``: a seeded shuffle of the movies with at least one training rating;
- ``popular``: most training ratings first;
- ``pop_entropy``: log(1 + number of ratings) times the entropy of the movie's rating
  distribution (Rashid et al.'s "log popularity x entropy": well known *and* divisive movies
  tell more about a taste than ones everybody loves);
- ``given``: an explicit list first (e.g. the app's quick-start groups), then ``popular``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .data import Interactions
from .errors import ConfigError
from .foldin import FoldIn

__all__ = [
    "STRATEGIES",
    "elicitation_order",
    "first_known",
    "elicitation_curves",
    "profile_scorers",
]

STRATEGIES = ("random", "popular", "pop_entropy", "given")


def _rating_entropy(train: Interactions) -> np.ndarray:
    """(n_items,) Shannon entropy (bits) of each item's distribution over rating values."""
    values, value_code = np.unique(train.rating, return_inverse=True)
    counts = np.zeros((train.n_items, len(values)), np.float64)
    np.add.at(counts, (train.item, value_code.ravel()), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=1)


def elicitation_order(
    strategy: str,
    train: Interactions,
    *,
    seed: int = 0,
    given: Sequence[int] = (),
) -> np.ndarray:
    """Item codes in the order a newcomer is asked about them (rated items only), (m,) int64.

    ``train`` holds every training rating (not only positives): popularity and entropy count
    all ratings, as the movies a person has *seen* is what matters when asking.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown elicitation strategy {strategy!r}; choose from {STRATEGIES}")
    counts = np.bincount(train.item, minlength=train.n_items).astype(np.float64)
    rated = np.flatnonzero(counts > 0)
    if strategy == "random":
        return np.random.default_rng(seed).permutation(rated).astype(np.int64)
    if strategy == "pop_entropy":
        key = np.log1p(counts) * _rating_entropy(train)
    else:
        key = counts
    # Descending key; ties broken by item code so the order is deterministic.
    popular = rated[np.lexsort((rated, -key[rated]))].astype(np.int64)
    if strategy != "given":
        return popular
    first = np.asarray(list(dict.fromkeys(int(c) for c in given)), dtype=np.int64)
    if len(first) and (first.min() < 0 or first.max() >= train.n_items):
        raise ConfigError(f"given item codes must lie in 0..{train.n_items - 1}")
    return np.concatenate([first, popular[~np.isin(popular, first)]])


def first_known(order: np.ndarray, profile_items: np.ndarray, n: int) -> np.ndarray:
    """Indices into ``profile_items`` of the first ``n`` of them in ``order``'s sequence.

    Items of the profile that ``order`` never asks about are never chosen.
    """
    position = np.full(int(max(order.max(initial=0), profile_items.max(initial=0))) + 1, -1)
    position[order] = np.arange(len(order))
    pos = position[profile_items]
    asked = np.flatnonzero(pos >= 0)
    return asked[np.argsort(pos[asked], kind="stable")[:n]]


def profile_scorers(
    state: FoldIn, profiles: Interactions
) -> Callable[[Callable[[np.ndarray], np.ndarray] | None], Callable[[np.ndarray], np.ndarray]]:
    """Scorers of held-out users folded in from their ``profiles`` ratings by the app's code.

    Returns ``scorer(choose=None)``, which gives ``score_fn(users) -> (len(users), n_items)``
    float32 scores, one user at a time. ``choose(rows)`` gets the indices into ``profiles`` of
    one user's ratings (in ``profiles`` order) and returns those to fold in (all of them when
    None); it is called once per user, in the order users are scored. ``profiles`` are sorted
    by user once, for every scorer made.
    """
    by_user = np.argsort(profiles.user, kind="stable")
    user_sorted = profiles.user[by_user]

    def scorer(
        choose: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Callable[[np.ndarray], np.ndarray]:
        def score(users: np.ndarray) -> np.ndarray:
            out = np.empty((len(users), state.n_items), np.float32)
            for row, u in enumerate(users):
                lo, hi = np.searchsorted(user_sorted, [u, u + 1])
                rows = by_user[lo:hi]
                if choose is not None:
                    rows = choose(rows)
                out[row] = state.fold_in(profiles.item[rows], profiles.rating[rows]).scores
            return out

        return score

    return scorer


def elicitation_curves(
    state: FoldIn,
    profiles: Interactions,
    evaluate: Callable[[Callable[[np.ndarray], np.ndarray]], float],
    orders: Mapping[str, np.ndarray],
    sizes: Sequence[int] = (1, 2, 3, 5, 10),
) -> dict[str, dict[str, float]]:
    """``{strategy: {str(n): metric}}``: the metric after each held-out user rated ``n`` movies.

    ``profiles`` are the held-out users' ratings (the ``users`` split's ``profiles``);
    ``evaluate(score_fn)`` returns the metric of a scorer (``score_fn(users) -> (len(users),
    n_items)`` scores), e.g. ``lambda f: evaluate_ranking(None, split, (10,), score_fn=f)
    ["ndcg@10"]``, so relevance and exclusions are those of the protocol itself.
    """
    scorer = profile_scorers(state, profiles)

    def first_n(order: np.ndarray, n: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda rows: rows[first_known(order, profiles.item[rows], n)]

    return {
        name: {str(n): float(evaluate(scorer(first_n(order, n)))) for n in sizes}
        for name, order in orders.items()
    }
