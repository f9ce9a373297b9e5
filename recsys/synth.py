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
    """Ratings per user: log-normal, >= min_per_user, <= n_items, summing to ~n_ratings."""
    if cfg.n_users * cfg.min_per_user > cfg.n_ratings:
        raise ConfigError("n_ratings must be at least n_users * min_per_user")
    if cfg.min_per_user > cfg.n_items:
        raise ConfigError("min_per_user cannot exceed n_items")
    raw = rng.lognormal(mean=0.0, sigma=1.2, size=cfg.n_users)
    extra = cfg.n_ratings - cfg.n_users * cfg.min_per_user
    counts = cfg.min_per_user + np.floor(raw / raw.sum() * extra).astype(np.int64)
    return np.minimum(counts, cfg.n_items)


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

    user = np.repeat(np.arange(cfg.n_users), counts)
    # Oversample by 60%, then keep each user's first `count` distinct items.
    draws = (counts * 1.6).astype(np.int64) + 5
    du = np.repeat(np.arange(cfg.n_users), draws)
    own = rng.random(len(du)) < cfg.in_cluster
    item = np.searchsorted(cum_all, rng.random(len(du)))
    for c, m in enumerate(members):
        if len(m) == 0:
            continue
        sel = own & (user_cluster[du] == c)
        item[sel] = m[np.minimum(np.searchsorted(cum_in[c], rng.random(sel.sum())), len(m) - 1)]
    item = np.minimum(item, cfg.n_items - 1)
    key = du.astype(np.int64) * cfg.n_items + item
    _, first = np.unique(key, return_index=True)
    first.sort()
    du, item = du[first], item[first]
    starts = np.searchsorted(du, np.arange(cfg.n_users))
    rank = np.arange(len(du)) - starts[du]
    keep = rank < counts[du]
    du, item = du[keep], item[keep]
    # Top up users whose distinct draws fell short with their most popular unseen items.
    short = counts - np.bincount(du, minlength=cfg.n_users)
    if short.any():
        extra_u, extra_i = [], []
        order = np.argsort(-popularity)
        for u in np.flatnonzero(short > 0):
            seen = set(item[du == u].tolist())
            fill = [i for i in order if i not in seen][: short[u]]
            extra_u += [u] * len(fill)
            extra_i += fill
        du = np.concatenate([du, np.array(extra_u, np.int64)])
        item = np.concatenate([item, np.array(extra_i, np.int64)])
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


def write_movielens_csv(out_dir: str | Path, cfg: SynthConfig) -> Path:
    """Generate data for ``cfg`` and write it in the ML-25M CSV layout; returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ratings = generate_interactions(cfg)
    ratings.to_csv(out / "ratings.csv", index=False, float_format="%.1f")
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
    log.info("wrote %d ratings to %s", len(ratings), out)
    return out
