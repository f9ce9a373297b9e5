"""The dataset type every other module works on, and its id vocabularies.

A :class:`Dataset` holds one MovieLens release after parsing (see :mod:`recsys.loaders` for the file
formats). Users and movies get dense 0-based codes: ``ratings.user`` indexes ``users`` and
``ratings.item`` indexes ``items`` (row ``i`` of ``items`` is item code ``i``). Only movies with at
least one rating get a code: a movie nobody rated has no signal to learn an embedding from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .datasets import LAYOUTS
from .errors import DataFormatError

__all__ = ["Dataset", "Interactions", "parse_year"]

log = logging.getLogger(__name__)

_YEAR_AT_END = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


def parse_year(title: str) -> int | None:
    """The release year from a MovieLens title such as ``"Toy Story (1995)"``; None if absent.

    Series titles like ``"Cosmos (1980-1981)"`` give the first year.
    """
    if not isinstance(title, str):
        return None
    match = _YEAR_AT_END.search(title)
    return int(match.group(1)) if match else None


# Ids up to this use a dense lookup table (at most 4 bytes each: 200 MB); larger ids, which real
# MovieLens releases do not have, fall back to sorting.
_LUT_MAX_ID = 50_000_000


def _unique_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct non-negative ids."""
    if len(ids) and ids.max() <= _LUT_MAX_ID:
        return np.flatnonzero(np.bincount(ids))
    return np.unique(ids)


def _codes(ids: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Dense 0-based codes of ``ids`` given their sorted distinct values (int32)."""
    if distinct[-1] <= _LUT_MAX_ID:
        # One gather through a lookup table: much faster than searchsorted on 25M rows.
        lut = np.zeros(distinct[-1] + 1, np.int32)
        lut[distinct] = np.arange(len(distinct), dtype=np.int32)
        return lut[ids]
    return np.searchsorted(distinct, ids).astype(np.int32)


@dataclass(frozen=True)
class Interactions:
    """User-item interactions in coordinate form: what models train and are evaluated on.

    Arrays have one entry per interaction: ``user`` and ``item`` are dense codes (int32),
    ``rating`` the explicit rating (float32, on the dataset's scale) and ``timestamp`` unix seconds.
    ``n_users``/``n_items`` give the full code ranges, so matrices line up across splits.
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    n_users: int
    n_items: int
    timestamp: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.user)
        if len(self.item) != n or len(self.rating) != n:
            raise ValueError("user, item and rating must have the same length")

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """The interactions selected by a boolean mask or an index array (codes unchanged)."""
        ts = self.timestamp[mask_or_index] if self.timestamp is not None else None
        return Interactions(
            self.user[mask_or_index],
            self.item[mask_or_index],
            self.rating[mask_or_index],
            self.n_users,
            self.n_items,
            ts,
        )

    def positives(self, threshold: float) -> Interactions:
        """Only the interactions whose rating is at least ``threshold``."""
        return self.subset(self.rating >= threshold)

    def to_csr(self, values: str = "ones") -> sp.csr_matrix:
        """Sparse (n_users, n_items) matrix of ``"ones"`` or ``"rating"`` values (float32)."""
        data = (
            np.ones(len(self), np.float32) if values == "ones" else self.rating.astype(np.float32)
        )
        m = sp.csr_matrix(
            (data, (self.user, self.item)), shape=(self.n_users, self.n_items), dtype=np.float32
        )
        m.sum_duplicates()
        return m

    def users_present(self) -> np.ndarray:
        """Sorted codes of the users with at least one interaction."""
        return np.unique(self.user)


@dataclass(frozen=True)
class Dataset:
    """One parsed MovieLens release.

    Attributes:
        name: release name, e.g. ``"ml-latest-small"`` (the directory name by default).
        format: the file layout detected: ``"ml-100k"``, ``"ml-1m"``, ``"ml-10m"`` or ``"ml-latest"``.
        ratings: one row per rating, columns ``user``, ``item`` (int32 codes), ``userId``,
            ``movieId`` (original ids, int64), ``rating`` (float32), ``timestamp`` (int64 unix s).
        items: one row per item code: ``movieId``, ``title``, ``year`` (nullable Int64),
            ``genres`` (list of str), ``n_ratings``, ``mean_rating``, and ``imdbId``/``tmdbId``
            (nullable Int64) where the release has links.
        users: one row per user code: ``userId``.
        rating_scale: (lowest, highest, step) of the star scale.
        source_files: file name -> sha256 of every file read, for the artifact manifest.
        skipped_lines: file name -> line numbers skipped as malformed (``skip_bad_lines``).
        tags: one row per tag application on a rated movie (releases with a tags file only, else
            None): ``item`` (int32 code), ``userId`` (int64; taggers need not have rated),
            ``tag`` (str, as written).
    """

    name: str
    format: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    rating_scale: tuple[float, float, float]
    source_files: dict[str, str] = field(default_factory=dict)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)
    tags: pd.DataFrame | None = None

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def interactions(self) -> Interactions:
        """All ratings as :class:`Interactions`."""
        r = self.ratings
        return Interactions(
            r["user"].to_numpy(np.int32),
            r["item"].to_numpy(np.int32),
            r["rating"].to_numpy(np.float32),
            self.n_users,
            self.n_items,
            r["timestamp"].to_numpy(np.int64),
        )

    def summary(self) -> dict:
        """Plain-data description for manifests and result files."""
        return {
            "name": self.name,
            "format": self.format,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_ratings": len(self.ratings),
            "rating_scale": list(self.rating_scale),
            "source_files": dict(self.source_files),
            "skipped_lines": {k: list(v) for k, v in self.skipped_lines.items()},
        }

    @classmethod
    def from_frames(
        cls,
        *,
        name: str,
        format: str,
        ratings: pd.DataFrame,
        movies: pd.DataFrame,
        links: pd.DataFrame | None = None,
        rating_scale: tuple[float, float, float] | None = None,
        source_files: Mapping[str, str] | None = None,
        ratings_file: str = "ratings",
        movies_file: str = "movies",
        skipped_lines: Mapping[str, list[int]] | None = None,
        tags: pd.DataFrame | None = None,
    ) -> Dataset:
        """Build a dataset from parsed tables (the loaders' common last step).

        ``ratings`` needs columns userId, movieId, rating, timestamp (already validated per line);
        Ids must be non-negative integers (the loaders check this per line).
        ``movies`` needs movieId, title, genres (list of str); ``links`` movieId, imdbId, tmdbId.
        Duplicate (userId, movieId) rows keep the latest by timestamp (then by file order) and
        are reported in the log. A rated movie missing from ``movies`` is an error naming
        ``movies_file``. ``tags`` (userId, movieId, tag) keeps the rows of rated movies.
        """
        if len(ratings) == 0:
            raise DataFormatError(
                "no ratings found; expected at least one rating row", ratings_file
            )
        layout = LAYOUTS.get(format)
        scale = rating_scale or (layout.rating_scale if layout else (0.5, 5.0, 0.5))
        ratings = ratings[["userId", "movieId", "rating", "timestamp"]]

        # Keep the latest of duplicate (user, movie) rows; a stable sort keeps file order on ties.
        # The cheap check (one packed int64 key, sorted) runs first: 25M rows rarely have any.
        uid = ratings["userId"].to_numpy(np.int64)
        mid = ratings["movieId"].to_numpy(np.int64)
        keys = np.sort((uid << 32) | mid)
        if (keys[1:] == keys[:-1]).any():
            dup = ratings.duplicated(["userId", "movieId"], keep=False)
            n_dup = int(dup.sum())
            ratings = ratings.sort_values("timestamp", kind="stable")
            ratings = ratings.drop_duplicates(["userId", "movieId"], keep="last").sort_index()
            log.warning(
                "%s: %d rows share a (user, movie) pair with another row; kept the latest of each "
                "pair (%d rows remain)",
                ratings_file,
                n_dup,
                len(ratings),
            )
            uid = ratings["userId"].to_numpy(np.int64)
            mid = ratings["movieId"].to_numpy(np.int64)
        del keys

        movies = movies.drop_duplicates("movieId", keep="first").set_index("movieId")
        rated_ids = _unique_ids(mid)
        missing = np.setdiff1d(rated_ids, movies.index.to_numpy())
        if len(missing):
            shown = ", ".join(str(m) for m in missing[:5])
            raise DataFormatError(
                f"{len(missing)} rated movie id(s) are not listed in the movies file "
                f"(first: {shown}); expected every rated movieId to have a row there",
                movies_file,
            )
        unrated = len(movies) - len(rated_ids)
        if unrated:
            log.info("%d movies have no ratings and get no item code", unrated)

        item_ids = rated_ids  # sorted, so item codes follow movieId order
        user_ids = _unique_ids(uid)
        user_code = _codes(uid, user_ids)
        item_code = _codes(mid, item_ids)
        rating = ratings["rating"].to_numpy(np.float32)
        table = pd.DataFrame(
            {
                "user": user_code,
                "item": item_code,
                "userId": uid,
                "movieId": mid,
                "rating": rating,
                "timestamp": ratings["timestamp"].to_numpy(np.int64),
            },
            copy=False,
        )

        counts = np.bincount(item_code, minlength=len(item_ids))
        sums = np.bincount(item_code, weights=rating, minlength=len(item_ids))
        meta = movies.loc[item_ids]
        items = pd.DataFrame(
            {
                "movieId": item_ids.astype(np.int64),
                "title": meta["title"].astype(str).to_numpy(),
                "year": pd.array([parse_year(t) for t in meta["title"]], dtype="Int64"),
                "genres": list(meta["genres"]),
                "n_ratings": counts.astype(np.int64),
                "mean_rating": (sums / np.maximum(counts, 1)).astype(np.float32),
            }
        )
        if links is not None and len(links):
            lk = links.drop_duplicates("movieId").set_index("movieId").reindex(item_ids)
            for col in ("imdbId", "tmdbId"):
                if col in lk:
                    items[col] = pd.array(lk[col].to_numpy(), dtype="Int64")
        users = pd.DataFrame({"userId": user_ids.astype(np.int64)})
        if tags is not None:
            # Tags of movies without a code (nobody rated them) have nothing to attach to.
            code = pd.Index(item_ids).get_indexer(tags["movieId"].to_numpy(np.int64))
            tags = pd.DataFrame(
                {
                    "item": code[code >= 0].astype(np.int32),
                    "userId": tags["userId"].to_numpy(np.int64)[code >= 0],
                    "tag": tags["tag"].to_numpy(object)[code >= 0],
                }
            )
        return cls(
            name=name,
            format=format,
            ratings=table,
            items=items,
            users=users,
            rating_scale=tuple(float(x) for x in scale),
            source_files=dict(source_files or {}),
            skipped_lines=dict(skipped_lines or {}),
            tags=tags,
        )
