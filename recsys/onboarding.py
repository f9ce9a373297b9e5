"""Taste groups: the one-click "I like this kind" groups a newcomer is offered first.

One group per kind of film (:data:`TASTES`: documentaries, foreign-language, classics, family and
animation, horror, war, science fiction, crime, romance), shown by its best-known and most typical
movies in the model's own terms, and named by what those movies share (:func:`taste_label`).
Which movies a newcomer is asked about is part of the recommender (it changes both effort and
accuracy, Rashid et al. 2002): :mod:`recsys.elicitation` measures this strategy against others,
and the app draws these groups on its landing page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "NOT_GENRES",
    "TASTES",
    "Group",
    "normalize_text",
    "foreign_title",
    "taste_label",
    "onboarding_groups",
]

# MovieLens "genres" that say nothing about a film's kind.
NOT_GENRES = frozenset({"IMAX", "(no genres listed)"})
_NOT_ALNUM = re.compile(r"[\W_]+")  # runs of characters that are not letters or digits


def normalize_text(text: str) -> str:
    """Lower-case, accent-free, punctuation-free form of ``text`` for matching.

    NFKD decomposition, combining marks dropped, ``casefold()``, every run of characters that are
    not letters or digits replaced by one space. ``"Amélie (2001)"`` -> ``"amelie 2001"``,
    ``"WALL·E"`` -> ``"wall e"``, ``"[REC]²"`` -> ``"rec 2"``.
    """
    s = str(text)
    if not s.isascii():  # most titles: skip the decomposition
        decomposed = unicodedata.normalize("NFKD", s)
        s = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub(" ", s.casefold()).strip()


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)




# Kinds of film a visitor can say "I like" in one click, in the order they are filled (the rarer
# first, since a movie joins one group only). Each is a rule on a movie's genres, year and title;
# what a group is called is derived from the members it ends up with (:func:`taste_label`).
TASTES: tuple[tuple[str, Callable[[set, float, bool], bool]], ...] = (
    ("documentaries", lambda g, y, f: "Documentary" in g),
    ("foreign-language", lambda g, y, f: f and not g & {"Children", "Animation"}),
    ("classics", lambda g, y, f: y < 1965),
    ("family and animation", lambda g, y, f: bool(g & {"Animation", "Children"})),
    ("horror", lambda g, y, f: "Horror" in g),
    ("war", lambda g, y, f: "War" in g),
    ("science fiction", lambda g, y, f: "Sci-Fi" in g),
    ("crime", lambda g, y, f: "Crime" in g),
    ("romance", lambda g, y, f: "Romance" in g and not g & {"Action", "Sci-Fi", "War"}),
)
SHARED = 0.8  # a genre names a group when at least this share of its members have it
_ALT_TITLE = re.compile(r"\((?!a\.k\.a\.)([^()]*)\)")
_ARTICLE_WORDS = frozenset({"the", "a", "an", "le", "la", "les", "l", "el", "il", "de", "of"})


def foreign_title(title: str) -> bool:
    """Whether a MovieLens title carries the film's title in another language, as it does for
    non-English films ("Spirited Away (Sen to Chihiro no kamikakushi) (2001)").

    An alternative title in parentheses (not "a.k.a." and not the year) counts when it shares no
    word with the main title (articles aside), or has accented letters and words the main title
    lacks ("Amelie (Fabuleux destin d'Amélie Poulain, Le)"). "Raiders of the Lost Ark (Indiana
    Jones and the Raiders of the Lost Ark)" and "Léon: The Professional (Léon)" do not count.
    """
    text = re.sub(r"\s*\(\d{4}\)\s*$", "", str(title))
    alts = _ALT_TITLE.findall(text)
    if not alts:
        return False
    main_words = set(normalize_text(_ALT_TITLE.sub(" ", text)).split()) - _ARTICLE_WORDS
    for alt in alts:
        words = set(normalize_text(alt).split()) - _ARTICLE_WORDS
        if not words or alt.strip().isdigit():
            continue
        if not words & main_words or (not alt.isascii() and not words <= main_words):
            return True
    return False


def _era(years: np.ndarray) -> str | None:
    """``"1940s-1960s"`` (or one decade) when every year is known and before 1980, else None."""
    if len(years) == 0 or not np.isfinite(years).all() or years.max() >= 1980:
        return None
    lo, hi = int(years.min()) // 10 * 10, int(years.max()) // 10 * 10
    return f"{lo}s" if lo == hi else f"{lo}s–{hi}s"


def taste_label(items: pd.DataFrame, codes: Sequence[int]) -> str:
    """What the movies ``codes`` share, as a group's name: the genres at least :data:`SHARED` of
    them have (the rarer in the catalogue first, at most two), "Foreign-language" when all have
    a :func:`foreign_title`, and their decades when all are older than 1980. With nothing shared,
    "Mostly <genre>" for a genre half of them have, else "Mixed"."""
    codes = list(codes)
    if not codes:
        return "Mixed"
    catalogue = pd.Series(
        [g for gs in items["genres"] for g in gs if g not in NOT_GENRES], dtype=object
    ).value_counts()
    member_genres = [set(items["genres"].iat[c]) - NOT_GENRES for c in codes]
    share = pd.Series([g for gs in member_genres for g in gs], dtype=object).value_counts() / len(
        codes
    )
    shared = sorted(share.index[share >= SHARED - 1e-9], key=lambda g: (catalogue.get(g, 0), g))
    parts = list(shared[:2])
    if all(foreign_title(items["title"].iat[c]) for c in codes):
        parts.insert(0, "Foreign-language")
    era = _era(items["year"].to_numpy(dtype=np.float64, na_value=np.nan)[codes])
    if era:
        parts.append(era)
    if parts:
        return " · ".join(parts)
    common = share[share >= 0.5]
    if len(common):
        return f"Mostly {sorted(common.index, key=lambda g: (-common[g], g))[0]}"
    return "Mixed"


@dataclass(frozen=True)
class Group:
    """One onboarding group: a kind of film shown by its best-known, most typical titles.

    ``codes``/``movie_ids``/``titles``: the shown movies, most-rated first (what one click rates);
    ``label``: what they share (:func:`taste_label`); ``taste``: the rule that chose them
    (:data:`TASTES`); ``size``: how many movies of the catalogue follow that rule.
    """

    codes: tuple[int, ...]
    movie_ids: tuple[int, ...]
    titles: tuple[str, ...]
    label: str
    taste: str
    size: int


def onboarding_groups(
    items: pd.DataFrame,
    embeddings: np.ndarray | None,
    per_group: int = 5,
    candidates: int = 20,
    seed: int = 0,
) -> list[Group]:
    """One group per kind of film in :data:`TASTES` that has enough movies.

    For each taste, the ``candidates`` most-rated movies that follow its rule (and are in no
    earlier group) are the well-known ones; the ``per_group`` of them whose L2-normalised
    embeddings point most the way of the candidates' mean are shown (the typical ones, in the
    model's own terms; without embeddings, the most-rated). A taste with fewer than
    ``per_group`` movies is left out. Deterministic (``seed`` is kept for the callers' cache key
    and breaks no ties).
    """
    del seed
    counts = items["n_ratings"].to_numpy()
    years = items["year"].to_numpy(dtype=np.float64, na_value=np.inf)
    titles = items["title"].to_numpy()
    ids = items["movieId"].to_numpy()
    genre_sets = [set(g) for g in items["genres"]]
    foreign = np.fromiter((foreign_title(t) for t in titles), bool, len(titles))
    by_popularity = np.lexsort((np.arange(len(counts)), -counts))
    emb = None if embeddings is None else _normalize_rows(np.asarray(embeddings))
    used: set[int] = set()
    groups = []
    for taste, rule in TASTES:
        follows = [c for c in by_popularity if rule(genre_sets[c], years[c], foreign[c])]
        pool = [c for c in follows if c not in used][:candidates]
        if len(pool) < per_group:
            continue
        pool = np.array(pool, np.int64)
        if emb is not None and np.linalg.norm(emb[pool].mean(axis=0)) > 0:
            closeness = emb[pool] @ emb[pool].mean(axis=0)
            shown = pool[np.lexsort((np.arange(len(pool)), -closeness))[:per_group]]
        else:
            shown = pool[:per_group]
        shown = shown[np.lexsort((shown, -counts[shown]))]
        used.update(int(c) for c in shown)
        groups.append(
            Group(
                codes=tuple(int(c) for c in shown),
                movie_ids=tuple(int(ids[c]) for c in shown),
                titles=tuple(str(titles[c]) for c in shown),
                label=taste_label(items, shown),
                taste=taste,
                size=len(follows),
            )
        )
    return groups
