"""Serving: a loaded, verified artifact and what the app asks of it.

:func:`load` reads one artifact directory (no torch or UMAP needed; well under a second) and
returns an :class:`Artifact`: items, embeddings, the 2-D map, fold-in of a visitor's ratings,
picks (:class:`Recommendations`) and neighbours. :func:`list_artifacts` finds the artifacts under
a root without letting one bad directory hide the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ArtifactError, ConfigError
from ..foldin import FoldIn, FoldInResult
from ..index import ItemIndex, normalize_rows, numpy_top_k
from ..vocab import IdVocabulary
from .format import (
    ARRAYS,
    DEFAULT_MIN_SUPPORT,
    INDEX,
    ITEMS,
    check_rating_scale,
    read_manifest,
    validate_arrays,
    validate_items,
    verify_files,
)

__all__ = [
    "Artifact",
    "Explanation",
    "Profile",
    "Recommendations",
    "load",
    "list_artifacts",
    "default_artifact",
    "popularity_rerank",
    "POPULARITY_POOL",
    "POPULARITY_WEIGHT",
]

log = logging.getLogger(__name__)

# The popularity knob re-ranks the model's best POPULARITY_POOL candidates (after the filters),
# not the whole catalogue: standardised over ten thousand movies, the top scores are outliers
# that no popularity term can move (at -1, 9 of 10 picks stayed), while over the best 50 a knob
# of -1 or +1 changes most of the list. With weight 1.5 the two ends share at most 3 of their top
# 10 for the app's quick-start profiles on the committed models (a test checks at most half).
POPULARITY_POOL = 50
POPULARITY_WEIGHT = 1.5  # popularity's weight at |knob| = 1, in standard deviations of the score


# -- loading ------------------------------------------------------------------------------------


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as exc:  # object arrays need pickle: refused
        raise ArtifactError(
            f"{path}: refused to load ({exc}); artifacts hold plain arrays only"
        ) from exc
    except (OSError, EOFError) as exc:
        raise ArtifactError(f"{path}: unreadable ({exc})") from exc


def _load_items(path: Path) -> pd.DataFrame:
    try:
        items = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; all mean "not a valid table"
        raise ArtifactError(f"{path}: not a readable parquet table ({exc})") from exc
    validate_items(items, path)
    items["genres"] = [g.split("|") if isinstance(g, str) and g else [] for g in items["genres"]]
    return items


def load(path: str | Path) -> Artifact:
    """Load and verify an artifact directory.

    Checks the manifest (format version, field types, rating scale), every file's sha256, and the
    content: unique integer movie ids, array names, shapes and finite values, and one trial
    fold-in. Raises :class:`~recsys.errors.ArtifactError` naming the file (and field) otherwise.
    """
    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest["files"])
    items = _load_items(path / ITEMS)
    arrays = _load_arrays(path / ARRAYS)
    validate_arrays(arrays, len(items), path / ARRAYS)
    network = {k[8:]: v for k, v in arrays.items() if k.startswith("network.")} or None
    fold = manifest["fold_in"]
    try:
        state = FoldIn(
            fold["method"],
            popularity=arrays["popularity"],
            item_factors=arrays.get("item_factors"),
            item_bias=arrays.get("item_bias"),
            network=network,
            params=dict(fold.get("params", {})),
        )
    except ConfigError as exc:
        raise ArtifactError(f"{path / 'manifest.json'}: field 'fold_in': {exc}") from exc
    scale = check_rating_scale(manifest["dataset"]["rating_scale"])
    _trial_fold_in(state, arrays["item_embeddings"].shape, scale, path)
    vectors = normalize_rows(arrays["item_embeddings"])
    if INDEX in manifest["files"]:
        index = ItemIndex.load(path / INDEX, vectors)
    else:
        index = ItemIndex(vectors)
    return Artifact(
        path=path,
        manifest=manifest,
        items=items,
        item_embeddings=arrays["item_embeddings"],
        projection=arrays["projection"],
        projection_pca=arrays.get("projection_pca"),
        fold_in_model=state,
        index=index,
    )


def _trial_fold_in(state: FoldIn, shape: tuple[int, int], scale: tuple, path: Path) -> None:
    """Fold in one top rating: weights of the wrong shape, or that give NaN or user vectors that
    cannot be placed among the (n, d) item embeddings, fail here, at load, rather than on a
    visitor's page."""
    n_items, dim = shape
    try:
        result = state.fold_in(np.array([0], np.int64), np.array([scale[1]], np.float64))
        user = result.user_vector
        if result.scores.shape != (n_items,) or not np.isfinite(result.scores).all():
            problem = "gives scores of the wrong shape or non-finite scores"
        elif user is not None and user.shape != (dim,):
            problem = f"gives a user vector of shape {user.shape}; the item embeddings have {dim}"
        else:
            problem = ""
    except Exception as exc:  # numpy raises many types on malformed weights; all mean "broken"
        problem = f"fails ({type(exc).__name__}: {exc})"
    if problem:
        raise ArtifactError(f"{path / ARRAYS}: folding in one rating {problem}")


def list_artifacts(root: str | Path) -> list[dict]:
    """The artifact directories directly under ``root``, sorted by directory name.

    Each entry is the manifest dict with ``"name"`` set to the directory's name (artifacts are
    known by their directory, never by the name recorded in a manifest) and ``"path"``. A
    directory whose manifest cannot be read is listed with an ``"error"`` key instead and the
    others are unaffected. Files are not hashed here; :func:`load` verifies them.
    """
    root = Path(root)
    try:
        subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        log.warning("%s: cannot list artifacts (%s)", root, exc)
        return []
    out = []
    for sub in subs:
        try:
            entry = dict(read_manifest(sub))
        except ArtifactError as exc:
            entry = {"error": str(exc)}
        except Exception as exc:  # one bad directory must never break the listing of the rest
            entry = {"error": f"{sub}: unreadable ({type(exc).__name__}: {exc})"}
        entry["name"] = sub.name
        entry["path"] = str(sub)
        out.append(entry)
    return out


def default_artifact(root: str | Path) -> str | None:
    """Directory name of the artifact flagged ``"default": true`` (newest if several), else the
    first readable one; None when there is none."""
    entries = [e for e in list_artifacts(root) if "error" not in e]
    if not entries:
        return None
    flagged = [e for e in entries if e.get("default")]
    if flagged:
        return max(flagged, key=lambda e: e.get("created", ""))["name"]
    return entries[0]["name"]


# -- the loaded model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A visitor's ratings resolved against the catalogue, and what fold-in made of them.

    ``codes``/``ratings``: the known movies' item codes and ratings (aligned); ``unknown_ids``:
    movie ids not in the catalogue (skipped); ``result``: the fold-in (user vector, scores).
    """

    codes: np.ndarray
    ratings: np.ndarray
    unknown_ids: list[int]
    result: FoldInResult


@dataclass(frozen=True)
class Recommendations:
    """What :meth:`Artifact.recommend` returns.

    ``picks``: one row per pick, best first: movieId, title, year, genres (list), score (float32),
    n_ratings, because (title of the rated movie contributing most, or ""), and imdbId/tmdbId
    where the catalogue has them. ``fallback``: why popularity ranked the picks instead of the
    visitor's profile (e.g. "no ratings yet"), or None. ``unknown_ids``: rated movie ids this
    model does not know (skipped).
    """

    picks: pd.DataFrame
    fallback: str | None
    unknown_ids: list[int]


@dataclass(frozen=True)
class Explanation:
    """What :meth:`Artifact.explain` returns for one movie.

    ``terms``: one row per rated movie the model knows, in profile order: movieId, title, rating,
    contribution (its term of the score, float64), score_without and rank_without (the movie's
    score and rank with that one rating removed; rank <NA> when it would not be a candidate).
    ``extras``: named terms that belong to no rated movie ("item bias", "global mean", "your
    bias", "popularity"). ``exact``: the contributions plus the extras sum to ``score`` (False
    for NeuMF, whose contributions are leave-one-out changes). ``rank``: the movie's rank now
    (None when it is not a candidate). ``fallback``: why the scores are popularity, or None.
    """

    movie_id: int
    title: str
    score: float
    rank: int | None
    terms: pd.DataFrame
    extras: dict[str, float]
    exact: bool
    method: str
    fallback: str | None = None

    @property
    def total(self) -> float:
        """Sum of every term and extra (equals ``score`` when ``exact``)."""
        return float(self.terms["contribution"].sum() + sum(self.extras.values()))


@dataclass(eq=False, kw_only=True)
class Artifact:
    """A loaded, verified model: items, embeddings, map, fold-in, picks and neighbours.

    ``items`` (n rows, see the artifact layout), ``item_embeddings`` (n, d) float32,
    ``projection`` (n, 2) float32 map coordinates (UMAP), ``projection_pca`` the PCA map of
    the same space (None in artifacts exported without one), ``fold_in_model`` the pure fold-in, ``index``
    the cosine-neighbour index over the normalised embeddings. Built by :func:`load`.
    """

    path: Path
    manifest: dict
    items: pd.DataFrame
    item_embeddings: np.ndarray
    projection: np.ndarray
    fold_in_model: FoldIn
    index: ItemIndex
    projection_pca: np.ndarray | None = None
    vocab: IdVocabulary = field(init=False, repr=False)
    rating_scale: tuple[float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.vocab = IdVocabulary(self.items["movieId"].to_numpy())
        self.rating_scale = check_rating_scale(self.manifest["dataset"]["rating_scale"])

    @property
    def name(self) -> str:
        """The artifact's directory name (how the app and the CLI know it)."""
        return self.path.name

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def threshold(self) -> float:
        return float(self.fold_in_model.params.get("threshold", 4.0))

    @property
    def min_support(self) -> int:
        """Movies with fewer ratings are hidden from picks and neighbours by default."""
        return int(self.manifest.get("serving", {}).get("min_support", DEFAULT_MIN_SUPPORT))

    def code(self, movie_id: int) -> int | None:
        """Item code (row of ``items``) of ``movie_id``, or None if it is not in the catalogue."""
        return self.vocab.code(movie_id)

    def codes(self, movie_ids) -> np.ndarray:
        """Item codes of many movie ids at once: (n,) int64, -1 where an id is unknown."""
        return self.vocab.codes(movie_ids)

    def _support(self, min_support: int | None) -> int:
        support = self.min_support if min_support is None else min_support
        if isinstance(support, bool) or not isinstance(support, int | np.integer) or support < 0:
            raise ConfigError(f"min_support must be a non-negative integer, got {support!r}")
        return int(support)

    # -- fold-in ---------------------------------------------------------------------------------
    def profile(self, ratings: Mapping[int, float]) -> Profile:
        """Resolve ``{movieId: rating}`` and fold it in. Unknown ids are reported, not fatal;
        a rating that is not a finite number within the scale is a ConfigError."""
        low, high, _ = self.rating_scale
        ids, values = [], []
        for movie_id, rating in dict(ratings).items():
            try:
                movie_id = int(movie_id)
            except (TypeError, ValueError, OverflowError):
                raise ConfigError(f"movie id {movie_id!r} is not an integer") from None
            try:
                value = float(rating)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"rating for movie {movie_id} is not a number: {rating!r}"
                ) from None
            if not np.isfinite(value) or not low <= value <= high:
                raise ConfigError(
                    f"rating for movie {movie_id} is {rating!r}; expected {low:g} to {high:g} stars"
                )
            ids.append(movie_id)
            values.append(value)
        codes = self.vocab.codes(ids)  # ids beyond int64 (a crafted link) are unknown too
        unknown = [m for m, c in zip(ids, codes) if c < 0]
        if unknown:
            log.warning("%d unknown movie id(s) skipped: %s", len(unknown), unknown[:10])
        known = codes >= 0
        vals = np.asarray(values, np.float64)[known] if ids else np.array([], np.float64)
        codes = codes[known]
        return Profile(codes, vals, unknown, self.fold_in_model.fold_in(codes, vals))

    def fold_in(self, ratings: Mapping[int, float]) -> np.ndarray | None:
        """The user vector (d,) float32 for ``{movieId: rating}`` on the dataset's scale; None when
        the model has no user vectors or the profile falls back to popularity."""
        return self.profile(ratings).result.user_vector

    # -- picks -----------------------------------------------------------------------------------
    def recommend(
        self,
        ratings: Mapping[int, float],
        k: int = 10,
        exclude_rated: bool = True,
        *,
        genres: list[str] | None = None,
        years: tuple[int, int] | None = None,
        min_ratings: int = 0,
        min_support: int | None = None,
        popularity: float = 0.0,
        explain: bool = True,
    ) -> Recommendations:
        """Top-``k`` picks for a visitor (see :class:`Recommendations` for the columns).

        Filters keep movies with any of ``genres``, a year within ``years`` (inclusive) and at
        least ``max(min_ratings, min_support)`` ratings; ``min_support`` defaults to the
        artifact's :attr:`min_support` (0 shows every movie). The list is refilled from lower
        ranks so it still has ``k`` rows when enough movies pass. ``popularity`` in [-1, 1] is
        the knob: 0 ranks by score alone; otherwise the best ``max(k, POPULARITY_POOL)``
        candidates by score are re-ranked by :func:`popularity_rerank`, so positive values favour
        mainstream movies and negative ones niche movies.
        """
        if not -1.0 <= popularity <= 1.0:
            raise ConfigError(f"popularity must be within [-1, 1], got {popularity}")
        support = max(int(min_ratings), self._support(min_support))
        prof = self.profile(ratings)
        scores = prof.result.scores.astype(np.float64)
        items = self.items
        rated = prof.codes if exclude_rated else ()
        n = max(k, POPULARITY_POOL) if popularity != 0.0 else max(k, 0)
        top = self.top_codes(scores, n, rated, genres=genres, years=years, min_support=support)
        if popularity != 0.0:
            n_ratings = items["n_ratings"].to_numpy()[top]
            top = top[popularity_rerank(scores[top], n_ratings, popularity)][: max(k, 0)]
        out = items.iloc[top].reset_index(drop=True)
        cols = ["movieId", "title", "year", "genres", "n_ratings"] + [
            c for c in ("imdbId", "tmdbId") if c in out
        ]
        out = out[cols].copy()
        out.insert(4, "score", scores[top].astype(np.float32))
        out["because"] = self._because(prof, top) if explain else ""
        return Recommendations(out, prof.result.fallback, prof.unknown_ids)

    def top_codes(
        self,
        scores: np.ndarray,
        k: int,
        exclude_codes=(),
        *,
        genres: list[str] | None = None,
        years: tuple[int, int] | None = None,
        min_support: int | None = None,
    ) -> np.ndarray:
        """The ranking :meth:`recommend` uses: codes of the ``k`` best-``scores`` items (n_items,)
        that are not in ``exclude_codes`` (e.g. the rated movies) and pass the filters (any of
        ``genres``, a year within ``years``, at least ``min_support`` ratings, default the
        artifact's :attr:`min_support`), best first, ties to the lower code: (<= k,) int64."""
        keep = self._candidates(exclude_codes, genres, years, self._support(min_support))
        candidates = np.flatnonzero(keep)
        scores = np.asarray(scores, np.float64)
        order = np.lexsort((candidates, -scores[candidates]))  # ties: lower code first
        return candidates[order[: max(int(k), 0)]]

    def _candidates(
        self,
        rated_codes,
        genres: list[str] | None,
        years: tuple[int, int] | None,
        support: int,
    ) -> np.ndarray:
        """(n_items,) bool: the movies that may be picked (not rated, passing the filters)."""
        items = self.items
        keep = np.ones(len(items), dtype=bool)
        if len(rated_codes):
            keep[np.asarray(rated_codes, np.int64)] = False
        if genres:
            wanted = set(genres)
            keep &= np.fromiter((bool(wanted.intersection(g)) for g in items["genres"]), bool)
        if years is not None:
            year = items["year"].to_numpy(dtype=np.float64, na_value=np.nan)
            keep &= (year >= years[0]) & (year <= years[1])
        if support > 0:
            keep &= items["n_ratings"].to_numpy() >= support
        return keep

    def _because(self, prof: Profile, targets: np.ndarray) -> list[str]:
        """Title of the rated movie with the largest positive term of each target's score (the
        terms of :meth:`explain`), "" where none is positive."""
        if len(prof.codes) == 0 or len(targets) == 0 or prof.result.fallback:
            return [""] * len(targets)
        fold = self.fold_in_model
        contrib = fold.attribute(prof.codes, prof.ratings, targets, prof.result).contributions
        best = np.argmax(contrib, axis=1)
        titles = self.items["title"].to_numpy()
        return [titles[prof.codes[j]] if contrib[t, j] > 0 else "" for t, j in enumerate(best)]

    # -- explanations ----------------------------------------------------------------------------
    def explain(
        self,
        ratings: Mapping[int, float],
        movie_id: int,
        *,
        genres: list[str] | None = None,
        years: tuple[int, int] | None = None,
        min_ratings: int = 0,
        min_support: int | None = None,
    ) -> Explanation:
        """Why ``movie_id`` scores what it does for the profile ``ratings``.

        One row per rated movie the model knows (see :class:`Explanation`): its term of the
        score (:meth:`recsys.foldin.FoldIn.attribute`, where the derivation is written) and the
        movie's score and rank if that one rating were removed (the profile is not changed).
        For linear fold-ins (confidence: iALS, BPR, hybrid, content; ridge: MF; item
        similarity) the terms plus :attr:`Explanation.extras` sum to the score ``recommend``
        reports. NeuMF is not additive: its ``contribution`` is the leave-one-out change
        ``score - score_without`` (``exact`` False), which need not sum to the score.

        Ranks are by score among the movies ``recommend`` could pick with these filters
        (unrated, ``genres``, ``years``, at least ``max(min_ratings, min_support)`` ratings),
        ties broken as ``recommend`` breaks them; the popularity knob is not applied. A rank is
        None when the movie is not such a candidate (e.g. it is rated, or filtered out).
        """
        code = self.code(movie_id)
        if code is None:
            raise ConfigError(f"movie {movie_id} is not in this model's catalogue")
        support = max(int(min_ratings), self._support(min_support))
        prof = self.profile(ratings)
        fold = self.fold_in_model
        parts = fold.attribute(prof.codes, prof.ratings, np.array([code]), prof.result)
        without = fold.leave_one_out(prof.codes, prof.ratings).astype(np.float64)
        score = float(prof.result.scores[code])
        scores_without = without[:, code]
        passing = self._candidates((), genres, years, support)  # the filters, once
        keep = passing.copy()
        keep[prof.codes] = False
        rank = _rank(prof.result.scores.astype(np.float64), keep, code)
        ranks_without = []
        for j, rated in enumerate(prof.codes):
            keep[rated] = passing[rated]  # without rating j, movie j may be picked again
            ranks_without.append(_rank(without[j], keep, code))
            keep[rated] = False
        contributions = parts.contributions[0] if parts.exact else score - scores_without
        titles = self.items["title"].to_numpy()
        terms = pd.DataFrame(
            {
                "movieId": self.vocab.ids_of(prof.codes).astype(np.int64),
                "title": titles[prof.codes] if len(prof.codes) else np.array([], object),
                "rating": prof.ratings,
                "contribution": contributions.astype(np.float64),
                "score_without": scores_without,
                "rank_without": pd.array(ranks_without, dtype="Int64"),
            }
        )
        return Explanation(
            movie_id=int(movie_id),
            title=str(titles[code]),
            score=score,
            rank=rank,
            terms=terms,
            extras={k: float(v[0]) for k, v in parts.extras.items()},
            exact=parts.exact,
            method=fold.method,
            fallback=prof.result.fallback,
        )

    # -- neighbours ------------------------------------------------------------------------------
    def similar(
        self,
        movie_id: int,
        k: int = 10,
        *,
        min_support: int | None = None,
        metric: str = "cosine",
    ) -> pd.DataFrame:
        """The ``k`` nearest movies to ``movie_id`` by similarity of item embeddings: DataFrame
        movieId, title, n_ratings, similarity (float32), best first. Movies with fewer than
        ``min_support`` ratings (default: the artifact's :attr:`min_support`) are left out;
        ``movie_id`` itself may have any number. Unknown ``movie_id`` is a ConfigError.

        ``metric``: ``"cosine"`` (default; the FAISS index over L2-normalised vectors) or
        ``"dot"`` (raw inner product q_i . q_j of :attr:`item_embeddings`, exact numpy top-k;
        long vectors, typically popular movies, score high whatever their direction)."""
        if metric not in ("cosine", "dot"):
            raise ConfigError(f"metric must be 'cosine' or 'dot', got {metric!r}")
        code = self.code(movie_id)
        if code is None:
            raise ConfigError(f"movie {movie_id} is not in this model's catalogue")
        n = len(self.items)
        eligible = self.items["n_ratings"].to_numpy() >= self._support(min_support)
        eligible[code] = False
        k = max(0, min(int(k), int(eligible.sum())))
        if metric == "dot":
            if self.item_embeddings is None:
                raise ConfigError("this model has no item embeddings: use metric='cosine'")
            emb = np.asarray(self.item_embeddings, np.float32)
            dots = emb @ emb[code]
            dots[~eligible] = -np.inf
            ids, sims = _top(dots, k) if k else (np.array([], np.int64), np.array([], np.float32))
            out = self.items.iloc[ids][["movieId", "title", "n_ratings"]].reset_index(drop=True)
            out["similarity"] = np.asarray(sims, np.float32)
            return out
        query = self.index.vectors[code]
        want = k + 1
        while True:  # widen the search until k eligible neighbours are found
            ids, sims = self.index.search(query, min(want, n))
            ids, sims = ids[0], sims[0]
            inside = (ids >= 0) & (ids < n)  # a planted index must not index past the table
            ids, sims = ids[inside], sims[inside]
            ok = eligible[ids]
            ids, sims = ids[ok], sims[ok]
            if len(ids) >= k or want >= n:
                break
            want *= 4
        ids, sims = ids[:k], sims[:k]
        out = self.items.iloc[ids][["movieId", "title", "n_ratings"]].reset_index(drop=True)
        out["similarity"] = sims.astype(np.float32)
        return out

    def map_position(
        self,
        user_vector: np.ndarray | None,
        scores: np.ndarray | None,
        n: int = 10,
        *,
        exclude: np.ndarray | None = None,
        coords: np.ndarray | None = None,
    ):
        """Where a visitor sits on the 2-D map: the map medoid of their top picks.

        Candidates are the ``n`` best-scored items (``scores``, (n_items,), as the picks are
        ranked; codes in ``exclude``, the rated movies, and non-finite scores skipped), or, when
        ``scores`` is None, the ``n`` items closest to ``user_vector`` by cosine. The position is
        the candidate whose map position has the smallest summed Euclidean distance to the other
        candidates (ties: the better-ranked one). Unlike a mean, a medoid always sits on a real
        dot amid the picks, never in the empty space between picks far apart. ``coords`` (n_items,
        2) is the map to use (default :attr:`projection`). Never calls UMAP. Returns (x, y) and
        the candidates' item codes, best first."""
        xy_all = self.projection if coords is None else np.asarray(coords)
        if scores is not None:
            s = np.asarray(scores, np.float32).copy()
            s[~np.isfinite(s)] = -np.inf
            if exclude is not None and len(exclude):
                s[np.asarray(exclude, np.int64)] = -np.inf
            ids, vals = _top(s, n)
            ids = ids[np.isfinite(vals)]
        elif user_vector is not None:
            u = user_vector / max(float(np.linalg.norm(user_vector)), 1e-12)
            ids, _ = _top(self.index.vectors @ u.astype(np.float32), n)
        else:
            raise ConfigError("map_position needs scores or a user vector")
        if len(ids) == 0:
            raise ConfigError("map_position: no candidate items (every score excluded)")
        xy = np.asarray(xy_all[ids], np.float64)
        total = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).sum(axis=1)
        best = int(np.argmin(total))  # argmin keeps the first (best-ranked) of equal sums
        return (float(xy[best, 0]), float(xy[best, 1])), ids


def _rank(scores: np.ndarray, candidates: np.ndarray, code: int) -> int | None:
    """1-based rank of item ``code`` among ``candidates`` ((n,) bool) by ``scores`` (n,), ties
    going to the smaller code as in ``recommend``; None when ``code`` is not a candidate."""
    if not candidates[code]:
        return None
    others = np.flatnonzero(candidates)
    s, mine = scores[others], scores[code]
    return int(1 + np.sum(s > mine) + np.sum((s == mine) & (others < code)))


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def popularity_rerank(scores: np.ndarray, n_ratings: np.ndarray, knob: float) -> np.ndarray:
    """Order (positions, best first) of candidates under the popularity knob.

    ``rank = z(score) + POPULARITY_WEIGHT * knob * z(log(1 + n_ratings))``, ``z`` standardising
    over the given candidates (shape (n,) each); ``knob`` in [-1, 1]: positive favours mainstream
    movies, negative niche ones, 0 keeps the score order. Ties keep the given order.
    """
    scores = np.asarray(scores, np.float64)
    rank = _z(scores)
    if knob != 0 and len(scores) > 1:
        popular = _z(np.log1p(np.asarray(n_ratings, np.float64)))
        rank = rank + POPULARITY_WEIGHT * float(knob) * popular
    return np.lexsort((np.arange(len(rank)), -rank))


def _top(row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ids, vals = numpy_top_k(row[None, :], k)
    return ids[0], vals[0]
