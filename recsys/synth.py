"""Synthetic interaction data shaped like a MovieLens release, written in its file format.

Used by the tests (small, learnable data with a known structure) and by the scale benchmarks
(ML-25M-sized data, which cannot be redistributed). The generator is seeded and vectorised:

- item popularity follows a Zipf-like law (``p_i ~ 1 / rank^zipf_exponent``);
- user activity is log-normal, at least ``min_per_user`` ratings each (as in MovieLens);
- users and items belong to ``n_clusters`` taste clusters; a user draws ``in_cluster`` of their
  items from their own cluster, and rates in-cluster items higher, so models have signal to learn;
- timestamps increase with a per-user start time; ratings are on the half-star scale.

The output directory holds ``ratings.csv``, ``movies.csv`` and ``links.csv`` in the ML-25M CSV
layout, so the real loader reads it end to end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["SynthConfig", "generate_interactions", "write_movielens_csv", "ML25M_SHAPE"]

log = logging.getLogger(__name__)

# users, items, ratings of MovieLens 25M (GroupLens README).
ML25M_SHAPE = (162_541, 59_047, 25_000_095)
_GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "Animation"]


@dataclass(frozen=True)
class SynthConfig:
    """Shape of the generated data (defaults: a small, quickly learnable set)."""

    n_users: int = 300
    n_items: int = 200
    n_ratings: int = 15_000
    min_per_user: int = 20  # MovieLens keeps users with at least 20 ratings
    n_clusters: int = 4
    in_cluster: float = 0.8  # share of a user's items drawn from their own taste cluster
    zipf_exponent: float = 1.0
    seed: int = 0


def _activity(cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: log-normal, >= min_per_user, <= n_items, summing to n_ratings.

    The share of each user beyond ``min_per_user`` is proportional to a log-normal draw; it is
    rounded by largest remainders, and what the ``n_items`` cap cuts off is handed on to the
    users below the cap, so the total is exactly ``n_ratings`` whenever it is reachable.
    """
    if cfg.n_users * cfg.min_per_user > cfg.n_ratings:
        raise ConfigError("n_ratings must be at least n_users * min_per_user")
    if cfg.min_per_user > cfg.n_items:
        raise ConfigError("min_per_user cannot exceed n_items")
    raw = rng.lognormal(mean=0.0, sigma=1.2, size=cfg.n_users)
    cap = cfg.n_items - cfg.min_per_user  # most extra ratings one user can take
    extra = min(cfg.n_ratings - cfg.n_users * cfg.min_per_user, cap * cfg.n_users)
    share = np.zeros(cfg.n_users, dtype=np.int64)
    open_ = np.ones(cfg.n_users, dtype=bool)
    left = extra
    # Each round hands out what is left in proportion to `raw` among users below the cap; the
    # cap binds for few users, so this ends in a handful of rounds.
    while left > 0 and open_.any():
        weight = np.where(open_, raw, 0.0)
        want = weight / weight.sum() * left
        add = np.floor(want).astype(np.int64)
        rest = left - int(add.sum())
        if rest > 0:  # largest remainders get one more each
            frac = np.where(open_, want - add, -1.0)
            add[np.argpartition(-frac, rest - 1)[:rest]] += 1
        add = np.minimum(add, cap - share)
        share += add
        left -= int(add.sum())
        open_ = share < cap
    return cfg.min_per_user + share


def _top_up(
    du: np.ndarray, item: np.ndarray, short: np.ndarray, order: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """(users, items) filling each user ``u`` with their ``short[u]`` most popular unseen items.

    ``du`` is sorted; ``order`` lists the items most popular first. A user who has ``h`` items
    finds their ``short`` picks among the ``h + short`` most popular, so each user needs only
    that prefix of ``order``: users are taken in order of that width, in blocks of a bounded
    (users x width) seen-mask, instead of a Python loop per user.
    """
    users = np.flatnonzero(short > 0)
    starts = np.searchsorted(du, users)
    ends = np.searchsorted(du, users, side="right")
    width_of = (ends - starts) + short[users]
    by_width = np.argsort(width_of, kind="stable")
    users, starts, ends, width_of = (a[by_width] for a in (users, starts, ends, width_of))
    rank = np.empty(n_items, dtype=np.int64)
    rank[order] = np.arange(n_items)
    budget = 1 << 24  # mask entries per block (16 MiB)
    out_u, out_i = [], []
    b = 0
    while b < len(users):
        # Widths ascend, so the block's last user has its widest row.
        take = max(1, int(np.searchsorted(width_of[b:] * np.arange(1, len(users) - b + 1), budget)))
        us, st, en = users[b : b + take], starts[b : b + take], ends[b : b + take]
        width = int(min(width_of[b + take - 1], n_items))
        lens = en - st
        rows = np.repeat(np.arange(len(us)), lens)
        cols = rank[item[np.repeat(st - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())]]
        inside = cols < width
        seen = np.zeros((len(us), width), dtype=bool)
        seen[rows[inside], cols[inside]] = True
        unseen = ~seen
        pick = unseen & (np.cumsum(unseen, axis=1) <= short[us][:, None])
        r, c = np.nonzero(pick)
        out_u.append(us[r])
        out_i.append(order[c])
        b += take
    if not out_u:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    u, i = np.concatenate(out_u).astype(np.int64), np.concatenate(out_i).astype(np.int64)
    # Back to user order (each user's picks stay most popular first), as a per-user loop gives.
    keep = np.argsort(u, kind="stable")
    return u[keep], i[keep]


def _first_occurrences(key: np.ndarray) -> np.ndarray:
    """Boolean mask of the first occurrence of each value of ``key`` (int64, >= 0).

    Packs (key, position) into one int64 and sorts the values (numpy's fast unstable sort):
    equal keys then come out in position order. Several times faster on tens of millions of
    rows than the stable argsort behind ``np.unique(return_index=True)``.
    """
    n = len(key)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    pos_bits = max(int(n - 1).bit_length(), 1)
    if int(key.max()).bit_length() + pos_bits > 62:
        _, first = np.unique(key, return_index=True)
        mask[first] = True
        return mask
    packed = key << pos_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    keys = packed >> pos_bits
    head = np.ones(n, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=head[1:])
    del keys
    mask[packed[head] & ((1 << pos_bits) - 1)] = True
    return mask


def generate_interactions(cfg: SynthConfig) -> pd.DataFrame:
    """Columns userId, movieId (1-based), rating (half stars), timestamp; one row per pair."""
    rng = np.random.default_rng(cfg.seed)
    counts = _activity(cfg, rng)
    item_cluster = rng.integers(0, cfg.n_clusters, size=cfg.n_items)
    user_cluster = rng.integers(0, cfg.n_clusters, size=cfg.n_users)
    popularity = 1.0 / np.arange(1, cfg.n_items + 1) ** cfg.zipf_exponent
    popularity = popularity[rng.permutation(cfg.n_items)]
    # Per-cluster sampling tables (cumulative popularity) for in-cluster and any-cluster draws.
    members = [np.flatnonzero(item_cluster == c) for c in range(cfg.n_clusters)]
    cum_all = np.cumsum(popularity) / popularity.sum()
    cum_in = [np.cumsum(popularity[m]) / popularity[m].sum() for m in members]

    # Oversample by 60%, then keep each user's first `count` distinct items.
    draws = (counts * 1.6).astype(np.int64) + 5
    du = np.repeat(np.arange(cfg.n_users, dtype=np.int32), draws)
    own = rng.random(len(du)) < cfg.in_cluster
    item = np.searchsorted(cum_all, rng.random(len(du)))
    du_cluster = user_cluster[du]
    for c, m in enumerate(members):
        if len(m) == 0:
            continue
        sel = own & (du_cluster == c)
        item[sel] = m[np.minimum(np.searchsorted(cum_in[c], rng.random(sel.sum())), len(m) - 1)]
    del own, du_cluster
    item = np.minimum(item, cfg.n_items - 1)
    # First occurrence of each (user, item) pair, in draw order.
    first_mask = _first_occurrences(du.astype(np.int64) * cfg.n_items + item)
    du, item = du[first_mask], item[first_mask]
    del first_mask
    starts = np.searchsorted(du, np.arange(cfg.n_users))
    rank = np.arange(len(du)) - starts[du]
    keep = rank < counts[du]
    del rank
    du, item = du[keep].astype(np.int64), item[keep]
    # Top up users whose distinct draws fell short with their most popular unseen items.
    short = counts - np.bincount(du, minlength=cfg.n_users)
    if short.any():
        extra_u, extra_i = _top_up(du, item, short, np.argsort(-popularity), cfg.n_items)
        du = np.concatenate([du, extra_u])
        item = np.concatenate([item, extra_i])
    user = du
    in_taste = item_cluster[item] == user_cluster[user]
    mean = np.where(in_taste, 4.2, 2.6) + rng.normal(0, 0.3, size=cfg.n_users)[user]
    stars = np.clip(np.round((mean + rng.normal(0, 0.7, size=len(user))) * 2) / 2, 0.5, 5.0)
    start = rng.integers(1_000_000_000, 1_500_000_000, size=cfg.n_users)
    ts = start[user] + rng.integers(0, 200_000_000, size=len(user))
    return pd.DataFrame(
        {
            "userId": (user + 1).astype(np.int32),
            "movieId": (item + 1).astype(np.int32),
            "rating": stars.astype(np.float32),
            "timestamp": ts.astype(np.int64),
        }
    )


def _write_ratings_csv(path: Path, ratings: pd.DataFrame) -> None:
    """ratings.csv as MovieLens writes it (header, ratings with one decimal), through pyarrow's
    multi-threaded CSV writer: ~10x faster than ``DataFrame.to_csv`` on 25M rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Half stars 0.5..5.0 as a dictionary of their "%.1f" spellings: no float formatting at all.
    codes = np.clip(np.rint(ratings["rating"].to_numpy() * 2) - 1, 0, 9).astype(np.int8)
    labels = pa.array([f"{(i + 1) / 2:.1f}" for i in range(10)])
    table = pa.table(
        {
            "userId": ratings["userId"].to_numpy(),
            "movieId": ratings["movieId"].to_numpy(),
            "rating": pa.DictionaryArray.from_arrays(pa.array(codes), labels),
            "timestamp": ratings["timestamp"].to_numpy(),
        }
    )
    with open(path, "wb") as f:
        f.write(b"userId,movieId,rating,timestamp\n")
        options = pacsv.WriteOptions(include_header=False, batch_size=1 << 16, quoting_style="none")
        pacsv.write_csv(table, f, options)


def _write_movies_links(out: Path, cfg: SynthConfig) -> None:
    """movies.csv and links.csv for ``cfg``'s items."""
    rng = np.random.default_rng(cfg.seed + 1)
    ids = np.arange(1, cfg.n_items + 1)
    years = rng.integers(1920, 2020, size=cfg.n_items)
    genre_idx = rng.integers(0, len(_GENRES), size=(cfg.n_items, 2))
    movies = pd.DataFrame(
        {
            "movieId": ids,
            "title": [f"Synthetic Movie {i} ({y})" for i, y in zip(ids, years)],
            "genres": ["|".join(sorted({_GENRES[a], _GENRES[b]})) for a, b in genre_idx],
        }
    )
    movies.to_csv(out / "movies.csv", index=False)
    links = pd.DataFrame({"movieId": ids, "imdbId": ids + 100000, "tmdbId": ids + 500})
    links.to_csv(out / "links.csv", index=False)


def write_movielens_csv(out_dir: str | Path, cfg: SynthConfig) -> Path:
    """Generate data for ``cfg`` and write it in the ML-25M CSV layout; returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ratings = generate_interactions(cfg)
    _write_ratings_csv(out / "ratings.csv", ratings)
    n_written = len(ratings)
    del ratings
    _write_movies_links(out, cfg)
    log.info("wrote %d ratings to %s", n_written, out)
    return out
