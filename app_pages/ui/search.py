"""Title search for the app: typed the way people type, matched the way MovieLens writes titles.

:func:`normalize_text` folds case, accents and punctuation; :func:`deinvert_title` turns
MovieLens's "Matrix, The (1999)" into "The Matrix (1999)"; :class:`TitleSearch` ranks a
catalogue's titles for a query. Queries are plain text, never compiled as patterns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["normalize_text", "deinvert_title", "TitleSearch"]


def normalize_text(text: str) -> str:
    """Lower-case, accent-free, punctuation-free form of ``text`` for matching.

    NFKD decomposition, combining marks dropped, ``casefold()``, every run of characters that are
    not letters or digits replaced by one space. ``"Amélie (2001)"`` -> ``"amelie 2001"``,
    ``"WALL·E"`` -> ``"wall e"``, ``"[REC]²"`` -> ``"rec 2"``.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    out = []
    space = True  # no leading space
    for c in stripped:
        if c.isalnum():
            out.append(c)
            space = False
        elif not space:
            out.append(" ")
            space = True
    return "".join(out).strip()


# Articles MovieLens moves to the end of a title: "Matrix, The (1999)", "Avventura, L' (1960)".
_ARTICLES = (
    "The", "A", "An", "Les", "La", "Le", "L'", "Il", "Lo", "Gli", "I", "Der", "Die", "Das",
    "Ein", "Eine", "El", "Los", "Las", "Un", "Une", "De", "Het", "Den", "Det", "O", "Os", "As",
)  # fmt: skip


_INVERTED = re.compile(
    r"^(?P<body>.+?), (?P<art>"
    + "|".join(re.escape(a) for a in _ARTICLES)
    + r")(?P<rest>(?: \(.*)?)$"
)


def deinvert_title(title: str) -> str:
    """``"Matrix, The (1999)"`` -> ``"The Matrix (1999)"``; other titles are returned unchanged.

    The pattern is fixed (built from a list of articles); it is applied to dataset titles, never
    to what a visitor types.
    """
    m = _INVERTED.match(str(title))
    if not m:
        return str(title)
    art = m.group("art")
    sep = "" if art.endswith("'") else " "
    return f"{art}{sep}{m.group('body')}{m.group('rest')}"


class TitleSearch:
    """Search a catalogue's titles the way people type them.

    A title matches when every word of the normalised query occurs (as a substring, so partial
    words work) in the normalised title or in its de-inverted form ("the matrix" finds
    "Matrix, The (1999)"). Results rank first the titles that start with the whole query and
    contain it as whole words, then the other ones that start with it or contain it as whole
    words, then those containing it as one phrase, then the rest; within a tier the most-rated
    come first.
    """

    def __init__(self, titles: Sequence[str], popularity: Sequence[float] | None = None):
        titles = [str(t) for t in titles]
        self._norm = pd.Series([normalize_text(t) for t in titles], dtype=object)
        self._alt = pd.Series([normalize_text(deinvert_title(t)) for t in titles], dtype=object)
        # Both forms in one string so a word may match either ("matrix the 1999 | the matrix 1999").
        self._both = pd.Series(
            [a if a == b else f"{a} | {b}" for a, b in zip(self._norm, self._alt)], dtype=object
        )
        pop = np.zeros(len(titles)) if popularity is None else np.asarray(popularity, np.float64)
        self._pop = pop

    def __len__(self) -> int:
        return len(self._norm)

    def search(self, query: str, limit: int = 10, exclude: Iterable[int] = ()) -> np.ndarray:
        """Item codes (row positions) of the best ``limit`` matches for ``query``, best first.

        ``exclude``: codes to leave out. An empty or punctuation-only query matches nothing.
        """
        q = normalize_text(query)
        if not q or limit <= 0:
            return np.array([], np.int64)
        mask = np.ones(len(self._norm), bool)
        for word in q.split():
            mask &= self._both.str.contains(word, regex=False).to_numpy(bool)
        for code in exclude:
            if 0 <= int(code) < len(mask):
                mask[int(code)] = False
        codes = np.flatnonzero(mask)
        if len(codes) == 0:
            return codes.astype(np.int64)
        norm = self._norm.to_numpy()[codes]
        alt = self._alt.to_numpy()[codes]
        padded = f" {q} "
        starts = np.fromiter(
            (a.startswith(q) or b.startswith(q) for a, b in zip(norm, alt)), bool, len(codes)
        )
        whole = np.fromiter(
            (padded in f" {a} " or padded in f" {b} " for a, b in zip(norm, alt)), bool, len(codes)
        )
        phrase = np.fromiter((q in a or q in b for a, b in zip(norm, alt)), bool, len(codes))
        tier = 2 * starts.astype(int) + 2 * whole.astype(int) + phrase.astype(int)
        order = np.lexsort((codes, -self._pop[codes], -tier))
        return codes[order][:limit].astype(np.int64)
