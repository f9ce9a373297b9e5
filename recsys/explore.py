"""Pure helpers behind the app's pages: search, onboarding, shareable profiles, map summaries.

Nothing here imports Streamlit, so every function can be tested (and reused) without a server.
Plotly is imported lazily by :func:`map_figure` only.

- Title search tolerant of case, accents, punctuation and MovieLens's inverted articles
  ("Matrix, The (1999)" is found by "the matrix"): :func:`normalize_text`, :class:`TitleSearch`.
  Queries are plain text: they are never compiled as regular expressions.
- Onboarding that asks little: :func:`onboarding_groups` (k-means on normalised embeddings of
  the most-rated movies) and :func:`map_grid` (well-known movies spread over the 2-D map).
- Profiles in a URL (``?r=1:5,260:4.5``): :func:`encode_profile`, :func:`decode_profile`.
- The map: :func:`map_figure`, :func:`selection_ids`, :func:`summarize_selection`.
- Texts for teachers: :func:`explain_fold_in`, :func:`explain_similarity`, :func:`explain_map`,
  :func:`explain_metrics`; model report tables: :func:`metrics_table`,
  :func:`profile_size_frame`.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .foldin import PARAM_DEFAULTS

__all__ = [
    "normalize_text",
    "deinvert_title",
    "TitleSearch",
    "escape_markdown",
    "scale_values",
    "format_rating",
    "group_rating",
    "kmeans",
    "Group",
    "onboarding_groups",
    "map_grid",
    "encode_profile",
    "decode_profile",
    "MAX_URL_RATINGS",
    "MAX_URL_CHARS",
    "imdb_url",
    "tmdb_url",
    "genre_vocabulary",
    "primary_genres",
    "selection_ids",
    "SelectionSummary",
    "summarize_selection",
    "COLOUR_MODES",
    "map_figure",
    "hover_texts",
    "metrics_table",
    "profile_size_frame",
    "protocol_label",
    "explain_fold_in",
    "explain_similarity",
    "explain_map",
    "explain_metrics",
    "explain_popularity_knob",
]

# -- text --------------------------------------------------------------------------------------


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


# Always escaped: characters that open inline markup anywhere in a line (emphasis, code, links,
# HTML, LaTeX, strikethrough, tables) or escape others.
_MD_ALWAYS = set("\\`*_{}[]<>$~|")
# Escaped at the start of the text only, where they would open a block (list, heading, quote).
_MD_LEADING = set("-+#>=")


def escape_markdown(text: object) -> str:
    """``text`` made safe to embed in Streamlit Markdown, with as few backslashes as possible.

    Backslash-escaped: ``\\ ` * _ { } [ ] < > $ ~ |`` everywhere (emphasis, code, links, HTML,
    LaTeX, strikethrough, tables); ``: `` when a word follows it (emoji and icon shortcodes such
    as ``:smile:``); ``&`` when it could start an HTML entity; a leading ``- + # > =`` and the
    ``.`` or ``)`` of a leading number (lists, headings, quotes). Line breaks become spaces.
    Parentheses, dots and hyphens inside a title stay as they are (no link can form once the
    brackets are escaped), so labels read naturally for screen readers too.
    """
    s = str(text).replace("\r", " ").replace("\n", " ")
    out = []
    n = len(s)
    digits = 0
    while digits < n and s[digits].isdigit():
        digits += 1
    for i, c in enumerate(s):
        nxt = s[i + 1] if i + 1 < n else ""
        if (
            c in _MD_ALWAYS
            or (i == 0 and c in _MD_LEADING)
            or (c == ":" and (nxt.isalnum() or nxt == "_"))
            or (c == "&" and (nxt.isalnum() or nxt == "#"))
            or (0 < digits == i and c in ".)")
        ):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


# -- the rating scale -------------------------------------------------------------------------


def scale_values(scale: Sequence[float]) -> list[float]:
    """Every allowed rating of a ``(low, high, step)`` scale: (0.5, 5, 0.5) -> [0.5, 1.0, ..., 5.0]."""
    low, high, step = (float(x) for x in scale)
    if step <= 0 or high < low:
        return [low]
    n = int(round((high - low) / step))
    return [round(low + i * step, 6) for i in range(n + 1)]


def format_rating(value: float | None) -> str:
    """``4.5`` -> ``"4.5 ★"``, ``None`` -> ``"—"`` (not rated)."""
    if value is None:
        return "—"
    return f"{float(value):g} ★"


def group_rating(scale: Sequence[float]) -> float:
    """The rating a one-click group gives each of its movies: the top of the scale minus one step
    (4.5 on MovieLens's 0.5..5 scale), which is a clear "liked" above the usual 4-star threshold."""
    values = scale_values(scale)
    return values[-2] if len(values) > 1 else values[-1]


def _on_scale(value: float, scale: Sequence[float]) -> bool:
    low, high, step = (float(x) for x in scale)
    if not (math.isfinite(value) and low - 1e-9 <= value <= high + 1e-9):
        return False
    if step <= 0:
        return True
    k = (value - low) / step
    return abs(k - round(k)) < 1e-6


# -- k-means, onboarding groups and the map grid ------------------------------------------------


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means (k-means++ start, Lloyd iterations) on the rows of ``x``.

    Returns ``(labels (n,), centres (k, d))``; ``k`` is capped at the number of rows. The same
    ``x``, ``k`` and ``seed`` always give the same result.
    """
    x = np.asarray(x, np.float64)
    n = len(x)
    k = max(1, min(int(k), n))
    rng = np.random.default_rng(seed)
    first = int(rng.integers(n))
    centres = [x[first]]
    d2 = ((x - x[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = d2.sum()
        i = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centres.append(x[i])
        d2 = np.minimum(d2, ((x - x[i]) ** 2).sum(axis=1))
    c = np.array(centres)
    sq = (x**2).sum(axis=1)[:, None]
    labels = np.zeros(n, np.int64)
    for _ in range(n_iter):
        dist = sq - 2.0 * x @ c.T + (c**2).sum(axis=1)[None, :]
        labels = dist.argmin(axis=1)
        new = c.copy()
        for j in range(k):
            members = labels == j
            if members.any():
                new[j] = x[members].mean(axis=0)
        if np.allclose(new, c):
            break
        c = new
    return labels, c


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _most_rated(items: pd.DataFrame, n: int) -> np.ndarray:
    """Codes of the ``n`` most-rated movies (ties by lower code)."""
    counts = items["n_ratings"].to_numpy(np.float64)
    order = np.lexsort((np.arange(len(counts)), -counts))
    return order[: min(n, len(counts))]


# Tags that describe a format, not a taste: never used to name an onboarding group.
_NOT_GENRES = {"IMAX", "(no genres listed)"}


def _dominant_genres(items: pd.DataFrame, codes: np.ndarray, reference: np.ndarray, top: int = 2):
    """Genres over-represented in ``codes`` relative to ``reference`` (by count x lift)."""
    genres = items["genres"].to_numpy()
    inside = pd.Series(
        [g for c in codes for g in genres[c] if g not in _NOT_GENRES], dtype=object
    ).value_counts()
    base = pd.Series([g for c in reference for g in genres[c]], dtype=object).value_counts()
    if inside.empty:
        return []
    share = inside / max(len(codes), 1)
    lift = share / (base.reindex(inside.index).fillna(0) / max(len(reference), 1)).clip(lower=1e-9)
    score = share * lift
    keep = score[share >= 0.25] if (share >= 0.25).any() else score
    order = sorted(keep.index, key=lambda g: (-keep[g], g))
    return list(order[:top])


@dataclass(frozen=True)
class Group:
    """One onboarding group: a region of the embedding space shown by its best-known titles.

    ``codes``/``movie_ids``/``titles``: the shown movies, most-rated first (what one click rates);
    ``label``: its dominant genres; ``size``: how many pool movies fell in the group.
    """

    codes: tuple[int, ...]
    movie_ids: tuple[int, ...]
    titles: tuple[str, ...]
    label: str
    size: int


def onboarding_groups(
    items: pd.DataFrame,
    embeddings: np.ndarray,
    n_groups: int = 6,
    pool: int = 500,
    per_group: int = 5,
    seed: int = 0,
) -> list[Group]:
    """Groups of well-known movies from different regions of the embedding space.

    k-means (seeded) on the L2-normalised embeddings of the ``pool`` most-rated movies, so groups
    differ in *direction* (what cosine similarity sees); each group shows its ``per_group``
    most-rated members and is labelled by its over-represented genres. Groups come ordered by the
    popularity of their best-known movie.
    """
    pool_codes = _most_rated(items, pool)
    if len(pool_codes) == 0:
        return []
    x = _normalize_rows(np.asarray(embeddings)[pool_codes])
    labels, _ = kmeans(x, n_groups, seed=seed)
    counts = items["n_ratings"].to_numpy()
    titles = items["title"].to_numpy()
    ids = items["movieId"].to_numpy()
    groups = []
    used: set[str] = set()
    for j in np.unique(labels):
        members = pool_codes[labels == j]
        members = members[np.lexsort((members, -counts[members]))]
        shown = members[:per_group]
        ranked = _dominant_genres(items, members, pool_codes, top=4)
        label = " · ".join(ranked[:2]) or "Mixed"
        if label in used and len(ranked) > 2:  # two groups named alike: say how they differ
            label = " · ".join(ranked[:3])
        used.add(label)
        groups.append(
            Group(
                codes=tuple(int(c) for c in shown),
                movie_ids=tuple(int(ids[c]) for c in shown),
                titles=tuple(str(titles[c]) for c in shown),
                label=label,
                size=int(len(members)),
            )
        )
    groups.sort(key=lambda g: (-counts[g.codes[0]], g.codes[0]))
    return groups


def map_grid(
    items: pd.DataFrame,
    projection: np.ndarray,
    n: int = 20,
    pool: int = 1000,
    seed: int = 0,
    exclude: Iterable[int] = (),
) -> np.ndarray:
    """Codes of ``n`` well-known movies that cover the 2-D map (not just the top ``n``).

    The ``pool`` most-rated movies (minus the codes in ``exclude``) are split into ``n`` regions
    by k-means on their map coordinates (seeded); each region contributes its most-rated movie
    with ``seed == 0``, or one of its three most-rated (drawn by popularity) with any other seed,
    so a refresh shows other titles from all over the map. Most-rated first.
    """
    excluded = {int(c) for c in exclude}
    pool_codes = np.array(
        [c for c in _most_rated(items, pool + len(excluded)) if c not in excluded]
    )
    pool_codes = pool_codes[:pool].astype(np.int64)
    if len(pool_codes) == 0:
        return pool_codes
    labels, _ = kmeans(np.asarray(projection, np.float64)[pool_codes], n, seed=seed)
    counts = items["n_ratings"].to_numpy(np.float64)
    rng = np.random.default_rng(seed)
    chosen = []
    for j in np.unique(labels):
        members = pool_codes[labels == j]
        members = members[np.lexsort((members, -counts[members]))]
        if seed == 0 or len(members) == 1:
            chosen.append(members[0])
        else:
            top = members[:3]
            w = np.log1p(counts[top]) + 1e-9
            chosen.append(top[rng.choice(len(top), p=w / w.sum())])
    out = np.array(chosen, np.int64)
    return out[np.lexsort((out, -counts[out]))]


# -- profiles in a URL --------------------------------------------------------------------------

MAX_URL_RATINGS = 500
MAX_URL_CHARS = 8000


def encode_profile(ratings: Mapping[int, float]) -> str:
    """``{1: 5.0, 260: 4.5}`` -> ``"1:5,260:4.5"`` (insertion order kept)."""
    return ",".join(f"{int(m)}:{float(r):g}" for m, r in ratings.items())


def _sample(parts: list[str], n: int = 3) -> str:
    shown = ", ".join(repr(p[:20] + ("…" if len(p) > 20 else "")) for p in parts[:n])
    return shown + (f" and {len(parts) - n} more" if len(parts) > n else "")


def decode_profile(
    text: str | None,
    scale: Sequence[float],
    known_ids: Iterable[int] | None = None,
    max_items: int = MAX_URL_RATINGS,
    max_chars: int = MAX_URL_CHARS,
) -> tuple[dict[int, float], list[str]]:
    """Parse ``"id:rating,id:rating"`` from a link into ``({movieId: rating}, warnings)``.

    Kept: positive integer ids and ratings on ``scale`` (``(low, high, step)``). Dropped, each
    kind with one plain-text warning: malformed parts, ratings off the scale, ids not in
    ``known_ids`` (when given), repeated ids (the last one wins), anything after ``max_items``
    ratings or ``max_chars`` characters. Never raises on any input string.
    """
    warnings: list[str] = []
    if not text:
        return {}, warnings
    text = str(text)
    if len(text) > max_chars:
        cut = text[:max_chars]
        cut = cut[: cut.rfind(",")] if "," in cut else ""
        warnings.append(
            f"The link's ratings were {len(text)} characters long; only the first "
            f"{max_chars} characters were read."
        )
        text = cut
    known = None if known_ids is None else {int(m) for m in known_ids}
    out: dict[int, float] = {}
    malformed, off_scale, unknown, repeated, over = [], [], [], [], 0
    allowed = set("0123456789.")
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        id_s, sep, r_s = part.partition(":")
        id_s, r_s = id_s.strip(), r_s.strip()
        if (
            not sep
            or not (id_s.isascii() and id_s.isdigit())
            or len(id_s) > 12
            or not r_s
            or len(r_s) > 8
            or not set(r_s) <= allowed
            or r_s.count(".") > 1
            or r_s == "."
        ):
            malformed.append(part)
            continue
        movie_id, value = int(id_s), float(r_s)
        if movie_id <= 0:
            malformed.append(part)
            continue
        if not _on_scale(value, scale):
            off_scale.append(part)
            continue
        if known is not None and movie_id not in known:
            unknown.append(movie_id)
            continue
        if movie_id in out:
            repeated.append(movie_id)
            del out[movie_id]  # the last rating wins and takes the later position
        elif len(out) >= max_items:
            over += 1
            continue
        out[movie_id] = value
    low, high, step = (float(x) for x in scale)
    if malformed:
        warnings.append(
            f"Ignored {len(malformed)} malformed part(s) of the link ({_sample(malformed)}); "
            "each rating must look like movieId:rating, e.g. 260:4.5."
        )
    if off_scale:
        warnings.append(
            f"Ignored {len(off_scale)} rating(s) off the {low:g}–{high:g} scale in steps of "
            f"{step:g} ({_sample(off_scale)})."
        )
    if unknown:
        warnings.append(
            f"Ignored {len(unknown)} movie id(s) this model does not know "
            f"({_sample([str(u) for u in unknown])})."
        )
    if repeated:
        warnings.append(
            f"{len(repeated)} movie id(s) appeared more than once; the last rating was kept "
            f"({_sample([str(u) for u in repeated])})."
        )
    if over:
        warnings.append(
            f"The link held more than {max_items} ratings; only the first {max_items} were read."
        )
    return out, warnings


# -- links out ---------------------------------------------------------------------------------


def _valid_int(value) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def imdb_url(imdb_id) -> str | None:
    """``https://www.imdb.com/title/tt0114709/`` for 114709; None when missing."""
    number = _valid_int(imdb_id)
    return None if number is None else f"https://www.imdb.com/title/tt{number:07d}/"


def tmdb_url(tmdb_id) -> str | None:
    """``https://www.themoviedb.org/movie/862`` for 862; None when missing."""
    number = _valid_int(tmdb_id)
    return None if number is None else f"https://www.themoviedb.org/movie/{number}"


# -- genres, the map and its selections ---------------------------------------------------------

NO_GENRE = "(no genre)"


def genre_vocabulary(items: pd.DataFrame) -> list[str]:
    """All genres in the catalogue, most frequent first (ties alphabetical)."""
    counts = pd.Series([g for gs in items["genres"] for g in gs], dtype=object).value_counts()
    return sorted(counts.index, key=lambda g: (-counts[g], g))


def primary_genres(items: pd.DataFrame) -> np.ndarray:
    """Each movie's first listed genre (``"(no genre)"`` when it has none)."""
    return np.array([gs[0] if len(gs) else NO_GENRE for gs in items["genres"]], dtype=object)


def selection_ids(points: Iterable[Mapping]) -> list[int]:
    """Movie ids of the points a Plotly selection returned (from each point's ``customdata``),
    unique, in selection order. Points without an id (a visitor marker) are skipped."""
    out: list[int] = []
    seen: set[int] = set()
    for p in points or ():
        cd = p.get("customdata") if isinstance(p, Mapping) else None
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        number = _valid_int(cd)
        if number is not None and number not in seen:
            seen.add(number)
            out.append(number)
    return out


@dataclass(frozen=True)
class SelectionSummary:
    """Movies in a map region and what they have in common.

    ``movies``: movieId, title, year, genres (joined), n_ratings, mean_rating, most-rated first;
    ``genres``: genre, movies, share (of the selection), lift (share / catalogue share), by count.
    """

    n: int
    movies: pd.DataFrame
    genres: pd.DataFrame


def summarize_selection(
    items: pd.DataFrame, movie_ids: Iterable[int], top_genres: int = 5
) -> SelectionSummary:
    """Summarise the movies with ``movie_ids`` (unknown ids ignored): the list, and the genres
    that dominate it, with how over-represented each is compared with the whole catalogue."""
    index = pd.Index(items["movieId"].to_numpy())
    ids = list(dict.fromkeys(int(m) for m in movie_ids))
    codes = index.get_indexer(pd.Index(ids, dtype="int64")) if ids else np.array([], int)
    codes = codes[codes >= 0]
    sub = items.iloc[codes]
    movies = pd.DataFrame(
        {
            "movieId": sub["movieId"].to_numpy(),
            "title": sub["title"].to_numpy(),
            "year": sub["year"].to_numpy(),
            "genres": [", ".join(g) for g in sub["genres"]],
            "n_ratings": sub["n_ratings"].to_numpy(),
            "mean_rating": np.round(sub["mean_rating"].to_numpy(np.float64), 2),
        }
    )
    if len(movies):
        movies = movies.iloc[
            np.lexsort((movies["movieId"].to_numpy(), -movies["n_ratings"].to_numpy()))
        ].reset_index(drop=True)
    inside = pd.Series([g for gs in sub["genres"] for g in gs], dtype=object).value_counts()
    catalogue = pd.Series([g for gs in items["genres"] for g in gs], dtype=object).value_counts()
    n = len(codes)
    rows = []
    for g, count in inside.items():
        share = count / n
        base = catalogue.get(g, 0) / max(len(items), 1)
        rows.append((g, int(count), share, share / base if base > 0 else float("nan")))
    genres = pd.DataFrame(rows, columns=["genre", "movies", "share", "lift"])
    if len(genres):
        genres = genres.sort_values(["movies", "lift", "genre"], ascending=[False, False, True])
        genres = genres.head(top_genres).reset_index(drop=True)
    return SelectionSummary(n=n, movies=movies, genres=genres)


COLOUR_MODES = ("first genre", "one genre", "year", "popularity", "mean rating")

# Qualitative palette with 24 colours (Plotly's Dark24 and Light24 would also do; kept explicit so
# the map's colours do not change with a Plotly upgrade).
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363", "#fd8d3c", "#74c476", "#9e9ac8", "#6baed6",
)  # fmt: skip


def hover_texts(items: pd.DataFrame) -> np.ndarray:
    """``"Title<br>1999 · Drama, Romance"``: dataset strings HTML-escaped, since Plotly renders a
    subset of HTML tags in hover labels."""
    years = items["year"].to_numpy(dtype=object, na_value=None)
    return np.array(
        [
            html.escape(str(t))
            + "<br>"
            + (f"{y} · " if y is not None else "")
            + html.escape(", ".join(g) or NO_GENRE)
            for t, y, g in zip(items["title"], years, items["genres"])
        ],
        dtype=object,
    )


def map_figure(
    items: pd.DataFrame,
    projection: np.ndarray,
    colour_by: str = "first genre",
    genre: str | None = None,
    highlights: Mapping[str, Sequence[int]] | None = None,
    you: tuple[float, float] | None = None,
    height: int = 640,
    title: str | None = None,
    hover: Sequence[str] | None = None,
):
    """The embedding map as a Plotly figure of WebGL scatter traces (``go.Scattergl``).

    Every point carries its movieId in ``customdata`` (selections map back to movies) and a hover
    label "title, year, genres". ``colour_by`` is one of :data:`COLOUR_MODES`: one trace per
    first-listed genre (legend), two traces for ``"one genre"`` (that ``genre`` vs the rest), or a
    single trace on a continuous colour scale (year; popularity = log10(1 + number of ratings);
    mean rating). ``hover``: precomputed :func:`hover_texts` (optional). ``highlights`` maps a trace name ("Your ratings", "Your picks", "Search: ...")
    to item codes drawn on top with outlined markers; ``you`` adds a "You are here" star.
    """
    import plotly.graph_objects as go

    xy = np.asarray(projection, np.float32)
    hover = hover_texts(items) if hover is None else np.asarray(hover, dtype=object)
    ids = items["movieId"].to_numpy()
    n = len(items)
    size = 4 if n > 3000 else 6
    traces = []

    def base(codes, **kw):
        return go.Scattergl(
            x=xy[codes, 0],
            y=xy[codes, 1],
            mode="markers",
            customdata=ids[codes],
            hovertext=hover[codes],
            hovertemplate="%{hovertext}<extra></extra>",
            **kw,
        )

    if colour_by == "first genre":
        first = primary_genres(items)
        order = pd.Series(first).value_counts()
        names = sorted(order.index, key=lambda g: (g == NO_GENRE, -order[g], g))
        for i, g in enumerate(names):
            codes = np.flatnonzero(first == g)
            colour = "#bbbbbb" if g == NO_GENRE else _PALETTE[i % len(_PALETTE)]
            traces.append(
                base(
                    codes,
                    name=html.escape(g),
                    marker={"size": size, "color": colour, "opacity": 0.7},
                )
            )
    elif colour_by == "one genre":
        has = np.fromiter((genre in gs for gs in items["genres"]), bool, n)
        traces.append(
            base(
                np.flatnonzero(~has),
                name="other movies",
                marker={"size": size, "color": "#cccccc", "opacity": 0.5},
            )
        )
        traces.append(
            base(
                np.flatnonzero(has),
                name=html.escape(str(genre)),
                marker={"size": size + 1, "color": "#d62728", "opacity": 0.85},
            )
        )
    else:
        if colour_by == "year":
            values = items["year"].to_numpy(dtype=np.float64, na_value=np.nan)
            label, scale = "year", "Viridis"
        elif colour_by == "popularity":
            values = np.log10(1.0 + items["n_ratings"].to_numpy(np.float64))
            label, scale = "log10(1 + ratings)", "Plasma"
        elif colour_by == "mean rating":
            values = items["mean_rating"].to_numpy(np.float64)
            label, scale = "mean rating", "RdYlBu"
        else:
            raise ValueError(f"unknown colour mode {colour_by!r}; choose from {COLOUR_MODES}")
        known = np.isfinite(values)
        if (~known).any():
            traces.append(
                base(
                    np.flatnonzero(~known),
                    name=f"no {label}",
                    marker={"size": size, "color": "#cccccc", "opacity": 0.5},
                )
            )
        codes = np.flatnonzero(known)
        traces.append(
            base(
                codes,
                name=f"coloured by {label}",
                marker={
                    "size": size,
                    "color": values[codes],
                    "colorscale": scale,
                    "opacity": 0.75,
                    "colorbar": {"title": {"text": label}, "thickness": 12},
                    "showscale": True,
                },
                showlegend=False,
            )
        )
    styles = {
        "Your ratings": {"color": "#111111", "symbol": "circle", "size": 11},
        "Your picks": {"color": "#ffbf00", "symbol": "diamond", "size": 12},
    }
    for name, codes in (highlights or {}).items():
        codes = np.asarray(list(codes), np.int64)
        if len(codes) == 0:
            continue
        style = styles.get(name, {"color": "#e7298a", "symbol": "circle-open", "size": 18})
        traces.append(
            base(
                codes,
                name=html.escape(name),
                marker={
                    "size": style["size"],
                    "color": style["color"],
                    "symbol": style["symbol"],
                    "line": {
                        "width": 2,
                        "color": "white" if "open" not in style["symbol"] else style["color"],
                    },
                },
            )
        )
    if you is not None:
        traces.append(
            go.Scattergl(
                x=[you[0]],
                y=[you[1]],
                mode="markers+text",
                name="You are here",
                text=["you"],
                textposition="top center",
                hovertemplate="You are here: the mean map position of the movies closest to "
                "your user vector<extra></extra>",
                marker={
                    "size": 22,
                    "color": "#e41a1c",
                    "symbol": "star",
                    "line": {"width": 2, "color": "white"},
                },
            )
        )
    fig = go.Figure(traces)
    x_range, y_range = _core_ranges(xy)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10},  # room for the toolbar
        legend={"itemsizing": "constant", "font": {"size": 11}},
        dragmode="lasso",
        hovermode="closest",
        title={"text": html.escape(title)} if title else None,
        xaxis={
            "showticklabels": False,
            "zeroline": False,
            "showgrid": False,
            "title": None,
            "range": x_range,
        },
        yaxis={
            "showticklabels": False,
            "zeroline": False,
            "showgrid": False,
            "title": None,
            "range": y_range,
        },
    )
    return fig


def _core_ranges(xy: np.ndarray, keep: float = 0.99) -> tuple[list[float], list[float]]:
    """Axis ranges that frame the central ``keep`` share of the points on each axis (plus a
    margin): a few far-flung rarely-rated movies would otherwise shrink the map to a blob.
    Double-clicking the chart (Plotly's autoscale) still shows every point."""
    if len(xy) == 0:
        return [-1.0, 1.0], [-1.0, 1.0]
    lo = np.percentile(xy, 50 * (1 - keep), axis=0)
    hi = np.percentile(xy, 100 - 50 * (1 - keep), axis=0)
    pad = (hi - lo) * 0.05 + 1e-6
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0])], [
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    ]


# -- the model report ---------------------------------------------------------------------------

_METRIC_ORDER = ("ndcg", "recall", "precision", "hr", "mrr", "coverage", "novelty", "rmse", "mae")


def _metric_key(name: str) -> tuple:
    base, _, k = name.partition("@")
    rank = _METRIC_ORDER.index(base) if base in _METRIC_ORDER else len(_METRIC_ORDER)
    return (int(k) if k.isdigit() else 0, rank, name)


def protocol_label(protocol: str, entry: Mapping | None = None) -> str:
    """A one-line description of an evaluation protocol and its parameters (plain text)."""
    what = {
        "users": "strong generalisation: held-out users are folded in, as the app does for you",
        "random": "positive ratings split at random into train and test; test ones re-found",
        "temporal": "one global time cut: predict the future from the past",
        "leave-last-n": "each user's latest positives hidden (sees other users' future)",
        "ratings": "rating prediction on a random share of the ratings",
    }.get(protocol, "")
    params = dict((entry or {}).get("protocol", {}) or {})
    params.pop("name", None)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, (dict, list)))
    out = protocol + (f" ({what})" if what else "")
    return out + (f"; {shown}" if shown else "")


def metrics_table(manifests: Mapping[str, Mapping], protocol: str) -> pd.DataFrame:
    """One row per artifact name with its scalar metrics under ``protocol`` (ndcg/recall first,
    then by cut-off), plus train_seconds; artifacts without that protocol are left out."""
    rows = {}
    for name, manifest in manifests.items():
        entry = (manifest.get("metrics") or {}).get(protocol)
        if not isinstance(entry, Mapping):
            continue
        metrics = entry.get("metrics") or {}
        row = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n_users"
        }
        if isinstance(entry.get("train_seconds"), (int, float)):
            row["train_seconds"] = float(entry["train_seconds"])
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    if table.empty:
        return table
    cols = sorted((c for c in table.columns if c != "train_seconds"), key=_metric_key)
    if "train_seconds" in table.columns:
        cols.append("train_seconds")
    table = table[cols]
    table.index.name = "artifact"
    return table


def profile_size_frame(manifests: Mapping[str, Mapping]) -> pd.DataFrame:
    """Long table (artifact, ratings, metric, value) of pick quality against the number of ratings
    a visitor gives, from ``metrics["users"]["metrics"]["by_profile_size"]``; empty if absent."""
    rows = []
    for name, manifest in manifests.items():
        users = (manifest.get("metrics") or {}).get("users") or {}
        by_size = (users.get("metrics") or {}).get("by_profile_size") or {}
        for size, values in by_size.items():
            try:
                n = int(size)
            except (TypeError, ValueError):
                continue
            for metric, value in (values or {}).items():
                if isinstance(value, (int, float)):
                    rows.append((name, n, metric, float(value)))
    frame = pd.DataFrame(rows, columns=["artifact", "ratings", "metric", "value"])
    return frame.sort_values(["metric", "artifact", "ratings"]).reset_index(drop=True)


# -- "How this works" texts ---------------------------------------------------------------------


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def explain_popularity_knob() -> str:
    """The popularity knob's formula (from ``Artifact.recommend``), as Markdown."""
    return (
        "**The popularity knob** re-ranks the candidates that pass the filters:\n\n"
        "$$\\text{rank}_i = z(\\text{score}_i) + p \\cdot z(\\log(1 + n_i))$$\n\n"
        "where $z$ standardises over the candidates (subtract the mean, divide by the standard "
        "deviation), $n_i$ is the movie's number of ratings in the dataset and $p \\in [-1, 1]$ is "
        "the knob: $p > 0$ favours mainstream movies, $p < 0$ niche ones, $p = 0$ ranks by score "
        "alone. Filters (genres, years, minimum number of ratings) remove candidates first and the "
        "list is refilled from lower ranks."
    )


def explain_fold_in(manifest: Mapping, rating_scale: Sequence[float] | None = None) -> str:
    """How a visitor's ratings become picks for this artifact, with its actual fold-in values."""
    fold = manifest.get("fold_in") or {}
    method = fold.get("method", "?")
    p = dict(fold.get("params") or {})
    v = {k: _fmt(p.get(k, d)) for k, d in PARAM_DEFAULTS.items()}
    v["negative_weight"] = _fmt(p.get("negative_weight", p.get("alpha", PARAM_DEFAULTS["alpha"])))
    model = (manifest.get("model") or {}).get("name", "?")
    n_items = manifest.get("n_items", "n")
    scale = rating_scale or (manifest.get("dataset") or {}).get("rating_scale") or (0.5, 5, 0.5)
    low, high, step = (float(x) for x in scale)
    parts = [
        f"**Model {escape_markdown(model)}, fold-in method {escape_markdown(method)}.** "
        "The model was trained once, offline; its item vectors $q_i$ are fixed. Your ratings are "
        "*folded in*: the app solves for one user vector $x$ that fits them, exactly like a "
        "training step for a single user, in a few milliseconds and with numpy only."
    ]
    if method == "confidence":
        parts.append(
            "This is the **iALS user step** (Hu, Koren & Volinsky 2008). A rating of at least "
            f"**{v['threshold']}** stars is a *positive* (target 1, weight $\\alpha$ = "
            f"**{v['alpha']}**); a lower rating is a confident *negative* (target 0, weight "
            f"$c_-$ = **{v['negative_weight']}**); every movie you did not rate is a weak "
            f"negative with weight $w_0$ = **{v['unobserved_weight']}**. With $c_j$ the weight "
            "of rated movie $j$, minimising the weighted squared error plus "
            "$\\lambda\\lVert x\\rVert^2$ gives a linear system:\n\n"
            "$$\\Big(w_0\\, Q^\\top Q + \\sum_{j \\in \\text{rated}} (c_j - w_0)\\, q_j q_j^\\top "
            "+ \\lambda I\\Big)\\, x = \\alpha \\sum_{j \\in \\text{positives}} q_j$$\n\n"
            "$$\\lambda = \\text{reg}\\cdot(n_\\text{rated} + w_0\\, n_\\text{items})^{e}"
            f",\\quad \\text{{reg}} = {v['reg']},\\ e = {v['reg_exponent']},\\ "
            f"n_\\text{{items}} = {n_items}$$\n\n"
            "The score of movie $i$ is $x \\cdot q_i + b_i$ ($b_i$ is an item bias, zero for "
            "iALS; BPR models keep theirs). The Gramian $Q^\\top Q$ is computed once, so a "
            "fold-in costs one $d \\times d$ solve. With no rating at or above "
            f"{v['threshold']} yet, there is nothing to fit and the picks are the most popular movies."
        )
        parts.append(
            '**"Because you liked ..."**: since $x = A^{-1} \\alpha \\sum_j q_j$ is linear in your '
            "positives, a pick's score splits exactly into one term per rated movie, "
            "$\\alpha\\, q_t^\\top A^{-1} q_j$; the movie with the largest term is named."
        )
    elif method == "ridge":
        parts.append(
            "This is **ridge regression** on the item factors (biased matrix factorisation): "
            "find $x$ and your bias $b_u$ minimising\n\n"
            "$$\\sum_{j \\in \\text{rated}} (r_j - \\mu - b_j - b_u - x \\cdot q_j)^2 + "
            "\\text{reg}\\,(\\lVert x\\rVert^2 + b_u^2)$$\n\n"
            f"in closed form, with $\\mu$ = {v['global_mean']} (global mean) and reg = {v['reg']}. "
            'Scores are predicted ratings $\\mu + b_i + b_u + x \\cdot q_i$. "Because you liked" '
            "names the rated movie whose term $q_t^\\top A^{-1} q_j (r_j - \\mu - b_j)$ adds most."
        )
    elif method == "item_similarity":
        parts.append(
            "This model has no user vectors: a movie's score is the sum of its learned "
            f"item-item weights $W_{{ji}}$ over the movies $j$ you rated at least {v['threshold']} "
            'stars; "because you liked" names the largest $W_{ji}$.'
        )
    elif method == "popularity":
        parts.append("This model ignores your ratings: everyone gets the most popular movies.")
    elif method == "neumf":
        parts.append(
            "NeuMF: a few gradient steps on your GMF and MLP embeddings with the network frozen. "
            "Scores are not additive over rated movies, so picks are not explained."
        )
    parts.append(
        f"**Your stars** are stored as given: the slider offers exactly the dataset's scale, "
        f'{low:g} to {high:g} in steps of {step:g} ("—" means not rated). A one-click group '
        f"rates its movies {group_rating(scale):g} stars (the top of the scale minus one step)."
    )
    parts.append(explain_popularity_knob())
    return "\n\n".join(parts)


def explain_similarity(manifest: Mapping, dim: int | None = None) -> str:
    """How "similar movies" are found: cosine similarity in the full embedding space.

    ``dim`` is the size of the item vectors (``item_embeddings.shape[1]``), said when given;
    it is not guessed from the hyper-parameters, whose names differ between models.
    """
    model = (manifest.get("model") or {}).get("name", "?")
    dim = f" ({int(dim)}-dimensional)" if dim else ""
    return (
        f"Each movie is a vector $q_i${dim} learned by **{escape_markdown(model)}**. Two movies are "
        "similar when their vectors point the same way:\n\n"
        "$$\\text{sim}(i, j) = \\cos(q_i, q_j) = \\frac{q_i \\cdot q_j}{\\lVert q_i\\rVert\\, "
        "\\lVert q_j\\rVert} \\in [-1, 1]$$\n\n"
        "The app L2-normalises every vector once and asks an exact inner-product index (FAISS "
        "`IndexFlatIP`) for the largest values, so this is an exact search over the full "
        "catalogue, not an approximation, and it uses all dimensions, not the 2-D map. The "
        "vector length (which often tracks popularity) is ignored by the cosine."
    )


def explain_map(manifest: Mapping) -> str:
    """How the 2-D map was made, what "You are here" means, and the caveat about distances."""
    proj = dict(manifest.get("projection") or {})
    method = str(proj.get("method", "?"))
    if method == "umap":
        how = (
            f"**UMAP** (metric {proj.get('metric', 'cosine')}, n_neighbors = "
            f"{proj.get('n_neighbors', '?')}, min_dist = {proj.get('min_dist', '?')}, seed "
            f"{proj.get('seed', '?')}), computed once when the model was exported"
        )
    elif method == "pca":
        how = "**PCA** (the first two principal components of the L2-normalised item vectors)"
    else:
        how = f"**{escape_markdown(method)}**"
    return (
        f"Every dot is a movie; its position is a 2-D projection of its embedding by {how}. The "
        "app never runs the projection itself.\n\n"
        "**Caveat: map distances are not faithful to embedding distances.** UMAP keeps local "
        "neighbourhoods roughly but stretches, tears and folds the space; the size of a cluster or "
        "the gap between two clusters means little. That is why neighbours (click a point) are "
        "computed by cosine similarity in the full embedding space, and can sit far apart on "
        "the map.\n\n"
        "**You are here**: the mean map position of the 10 movies whose vectors are closest (by "
        "cosine) to your user vector $x$ (or of your 10 best-scored movies when the model has "
        "no vector for you). It is a summary for orientation, not a projection of $x$."
    )


def explain_metrics() -> str:
    """What the evaluation numbers mean (Markdown)."""
    return (
        "Every number ranks the **full catalogue** for each test user (no sampled negatives), "
        "removing the movies the model already knew they rated. Relevant = a held-out rating at "
        "or above the threshold. With $h_r = 1$ when the movie at rank $r$ is relevant:\n\n"
        "- **recall@k** = relevant movies in the top $k$ / all relevant movies of the user\n"
        "- **ndcg@k** = $\\sum_{r<k} h_r / \\log_2(r+2)$ divided by its best possible value\n"
        "- **precision@k**, **hr@k** (any hit), **mrr@k** (1 / rank of the first hit), "
        "**coverage@k** (share of the catalogue recommended to anyone), **novelty@k** "
        "(mean self-information of the recommended movies)\n\n"
        "The **users** protocol holds out whole users and folds their ratings in with the code "
        'the app runs for you, so it measures what a visitor gets. "By number of ratings" folds '
        "in only 1, 2, 5, 10 or 20 of each held-out user's ratings (seeded), answering: how many "
        "movies must I rate before the picks get good?"
    )
