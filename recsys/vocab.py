"""One vocabulary maps MovieLens movie ids to item codes (rows of the items table) and back.

Policy for unknown ids: :meth:`IdVocabulary.codes` returns ``-1`` for them and
:meth:`IdVocabulary.split` returns them apart, so the caller decides. The app reports and skips
them (a link may name a movie another model lacks); training never meets them, because its codes
are made from the data itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["IdVocabulary", "UNKNOWN"]

UNKNOWN = -1  # the code of an id that is not in the vocabulary
_INT64 = (-(2**63), 2**63 - 1)


class IdVocabulary:
    """Movie ids (n,) int64, unique, in code order: ``ids[code] == movie_id``."""

    def __init__(self, ids: Iterable[int] | np.ndarray):
        array = np.asarray(ids)
        if array.ndim != 1 or (len(array) and not np.issubdtype(array.dtype, np.integer)):
            raise ValueError(f"ids must be a 1-D integer array, got {array.dtype} {array.shape}")
        self._index = pd.Index(array.astype(np.int64, copy=False))
        if not self._index.is_unique:
            dup = self._index[self._index.duplicated()][:5].tolist()
            raise ValueError(f"ids must be unique; repeated: {dup}")

    @property
    def ids(self) -> np.ndarray:
        """The movie ids (n,) int64, in code order."""
        return self._index.to_numpy()

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, movie_id: object) -> bool:
        return self.code(movie_id) is not None

    def code(self, movie_id: object) -> int | None:
        """Code of one id, or None when it is unknown (or not an integer that fits int64)."""
        value = _as_int(movie_id)
        if value is None:
            return None
        loc = self._index.get_indexer([value])[0]
        return int(loc) if loc >= 0 else None

    def codes(self, movie_ids: Iterable[object]) -> np.ndarray:
        """Codes (n,) int64 of many ids at once, ``-1`` (:data:`UNKNOWN`) where an id is unknown.

        Ids that are not integers or do not fit int64 (e.g. from a crafted link) are unknown.
        """
        if isinstance(movie_ids, (np.ndarray, pd.Series, pd.Index)) and np.issubdtype(
            movie_ids.dtype, np.integer
        ):  # the common case, without a Python loop
            return self._index.get_indexer(np.asarray(movie_ids, np.int64)).astype(np.int64)
        values = [_as_int(m) for m in movie_ids]
        out = np.full(len(values), UNKNOWN, np.int64)
        fits = np.fromiter((v is not None for v in values), bool, len(values))
        if fits.any():
            query = pd.Index([v for v in values if v is not None], dtype="int64")
            out[fits] = self._index.get_indexer(query)
        return out

    def split(self, movie_ids: Iterable[object]) -> tuple[np.ndarray, list]:
        """Codes of the known ids (in input order) and the list of the unknown ids."""
        ids = list(movie_ids)
        codes = self.codes(ids)
        unknown = [m for m, c in zip(ids, codes) if c < 0]
        return codes[codes >= 0], unknown

    def ids_of(self, codes: np.ndarray | Iterable[int]) -> np.ndarray:
        """Movie ids (n,) int64 of item codes (every code must be valid)."""
        return self.ids[np.asarray(codes, dtype=np.int64)]


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, np.integer):
        value = int(value)
    if not isinstance(value, int):
        return None
    return value if _INT64[0] <= value <= _INT64[1] else None
