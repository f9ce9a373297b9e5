"""Content features of movies: genres, a year band and user tags, as one sparse matrix.

What the ``hybrid`` and ``content`` models know about a movie besides who rated it. Three blocks
of columns, each written so that a movie's row within a block has unit L2 norm (or is empty when
the movie has nothing in that block), so no block outweighs another by its number of columns:

- **genres**: one column per genre, weighted by its inverse document frequency
  ``log(n_items / n_items_with_genre)`` (a common "Drama" says less than "Film-Noir");
  MovieLens' "(no genres listed)" is no genre (the loaders already drop it).
- **year band**: one column per ``year_band``-year bin (``"year:1990-1999"``), weight 1; a movie
  without a year in its title has none.
- **tags** (releases with ``tags.csv``/``tags.dat``; ML-100K and ML-1M have none): each tag is
  normalised (lower case, surrounding space stripped, inner runs of white space collapsed to
  one); a tag is kept when at least ``min_tag_users`` distinct users applied it (to any movie),
  and of those the ``max_tags`` applied to the most movies. Weight of tag ``t`` on movie ``i``:
  ``log(1 + n_it) * log(n_items / n_t)`` (TF-IDF with log counts), where ``n_it`` is the number of
  distinct users who applied ``t`` to ``i`` and ``n_t`` the number of movies carrying ``t``.

Tags come from all users of the release, including users a protocol holds out: a tag says the
movie was watched by someone, not by whom, so the leak into evaluation is small but not zero.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .data import Dataset
from .errors import ConfigError

__all__ = ["ItemFeatures", "item_features", "feature_matrix", "normalize_tag"]

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ItemFeatures:
    """Content of every item: ``matrix`` (n_items, n_features) float32 CSR, rows in the dataset's
    item-code order; ``names`` (n_features,) like ``"genre:Drama"``, ``"year:1990-1999"``,
    ``"tag:noir"``; ``blocks`` maps ``"genre"``, ``"year"``, ``"tag"`` to their column slices."""

    matrix: sp.csr_matrix
    names: list[str]
    blocks: dict[str, slice]

    @property
    def n_features(self) -> int:
        return self.matrix.shape[1]


def feature_matrix(features, n_items: int, model: str) -> sp.csr_matrix:
    """``features`` (an :class:`ItemFeatures` or a bare (n_items, n_features) matrix) as float64
    CSR, checked to have one row per item; the error names ``model`` and the fix."""
    matrix = sp.csr_matrix(getattr(features, "matrix", features), dtype=np.float64)
    if matrix.shape[0] != n_items:
        raise ConfigError(
            f"{model}: item_features has {matrix.shape[0]} rows but the data has {n_items} "
            "items; build it from the same dataset (recsys.features)"
        )
    return matrix


def normalize_tag(tag: str) -> str:
    """``"  Slow   Burn "`` -> ``"slow burn"``: lower case, stripped, inner white space collapsed."""
    return _SPACES.sub(" ", str(tag)).strip().lower()


def item_features(
    dataset: Dataset,
    *,
    min_tag_users: int = 2,
    max_tags: int = 2000,
    year_band: int = 10,
) -> ItemFeatures:
    """The content matrix of ``dataset`` (see the module docstring for the three blocks).

    Args:
        min_tag_users: a tag is kept when at least this many distinct users applied it; 2 drops
            one person's private labels, which describe no movie to anyone else.
        max_tags: at most this many tags (those on the most movies) become columns, which bounds
            the hybrid model's (n_features, n_features) solve on large releases.
        year_band: width of the year bins in years (10: decades).
    """
    if min_tag_users < 1 or max_tags < 0 or year_band < 1:
        raise ConfigError(
            f"item_features: need min_tag_users >= 1, max_tags >= 0 and year_band >= 1; got "
            f"{min_tag_users}, {max_tags}, {year_band}"
        )
    n_items = dataset.n_items
    blocks = [
        ("genre", *_genre_block(dataset.items["genres"], n_items)),
        ("year", *_year_block(dataset.items["year"], year_band)),
        ("tag", *_tag_block(dataset.tags, n_items, min_tag_users, max_tags)),
    ]
    names: list[str] = []
    slices: dict[str, slice] = {}
    for block, _, block_names in blocks:
        slices[block] = slice(len(names), len(names) + len(block_names))
        names += [f"{block}:{name}" for name in block_names]
    matrix = sp.hstack([_unit_rows(m) for _, m, _ in blocks], format="csr", dtype=np.float32)
    log.info(
        "item features: %d genres, %d year bands, %d tags for %d items",
        *(len(b[2]) for b in blocks),
        n_items,
    )
    return ItemFeatures(matrix, names, slices)


def _genre_block(genres: pd.Series, n_items: int) -> tuple[sp.csr_matrix, list[str]]:
    names = sorted({g for row in genres for g in row})
    col = {g: j for j, g in enumerate(names)}
    rows = np.repeat(np.arange(n_items), [len(g) for g in genres])
    cols = np.fromiter((col[g] for row in genres for g in row), np.int64, len(rows))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_items, len(names)))
    m.data[:] = 1.0  # a genre listed twice is still one genre
    df = np.bincount(m.indices, minlength=len(names))
    return m @ sp.diags(np.log(n_items / np.maximum(df, 1))), names


def _year_block(years: pd.Series, band: int) -> tuple[sp.csr_matrix, list[str]]:
    year = years.to_numpy(dtype=np.float64, na_value=np.nan)
    known = np.flatnonzero(~np.isnan(year))
    bins = (year[known] // band).astype(np.int64)
    present, cols = np.unique(bins, return_inverse=True)
    names = [f"{b * band}-{b * band + band - 1}" for b in present]
    m = sp.csr_matrix((np.ones(len(known)), (known, cols.ravel())), shape=(len(year), len(present)))
    return m, names


def _tag_block(
    tags: pd.DataFrame | None, n_items: int, min_users: int, max_tags: int
) -> tuple[sp.csr_matrix, list[str]]:
    if tags is None or len(tags) == 0 or max_tags == 0:
        return sp.csr_matrix((n_items, 0)), []
    t = pd.DataFrame(
        {
            "item": tags["item"].to_numpy(np.int64),
            "userId": tags["userId"].to_numpy(np.int64),
            "tag": [normalize_tag(x) for x in tags["tag"]],
        }
    )
    t = t[t["tag"] != ""].drop_duplicates()  # one user applying a tag twice counts once
    users_per_tag = t.groupby("tag")["userId"].nunique()
    kept = users_per_tag.index[users_per_tag >= min_users]
    t = t[t["tag"].isin(kept)]
    # n_it: distinct users who applied tag t to item i.
    counts = t.groupby(["tag", "item"]).size().rename("n").reset_index()
    items_per_tag = counts.groupby("tag").size()
    # The most widely used tags first; ties by name, so the choice is deterministic.
    order = sorted(items_per_tag.index, key=lambda x: (-items_per_tag[x], x))[:max_tags]
    names = sorted(order)
    col = pd.Series(np.arange(len(names)), index=names)
    counts = counts[counts["tag"].isin(col.index)]
    idf = np.log(n_items / items_per_tag[names].to_numpy(np.float64))
    j = col[counts["tag"]].to_numpy()
    weight = np.log1p(counts["n"].to_numpy(np.float64)) * idf[j]
    m = sp.csr_matrix((weight, (counts["item"].to_numpy(), j)), shape=(n_items, len(names)))
    return m, names


def _unit_rows(m: sp.spmatrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm; empty (all-zero) rows stay zero."""
    m = sp.csr_matrix(m, dtype=np.float64)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ m)
