"""Artifacts: a trained model as a directory of plain data, and the object the app uses.

Layout of ``artifacts/<name>/``::

    manifest.json   format version, model and hyper-parameters, fold-in method, dataset (with
                    sha256 of its source files), metrics, library versions, sha256 of every file
    items.parquet   one row per item code: movieId, title, year, genres ("|"-joined), n_ratings,
                    mean_rating, imdbId, tmdbId
    arrays.npz      item_factors, item_bias, popularity, projection, similarity (sparse parts),
                    network.* (NeuMF weights); read with allow_pickle=False
    index.faiss     exact inner-product FAISS index over the L2-normalised item embeddings
    DATASET_LICENSE.txt   the dataset's README (its licence), kept beside derived data

Loading verifies the format version and every file's sha256 before reading it, and runs no code
from the files (no pickle). Saving writes a temporary directory beside the target and swaps it in
under a lock, so an interrupted or concurrent run never leaves a half-written or mixed directory.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import ArtifactError, ConfigError
from .foldin import FoldIn, FoldInResult
from .index import ItemIndex, normalize_rows

__all__ = [
    "FORMAT_VERSION",
    "Artifact",
    "Profile",
    "load",
    "save_artifact",
    "list_artifacts",
    "default_artifact",
    "sha256_file",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_ITEMS, _ARRAYS, _INDEX, _LICENSE = (
    "items.parquet",
    "arrays.npz",
    "index.faiss",
    "DATASET_LICENSE.txt",
)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from . import __version__

    out = {"recsys": __version__, "python": platform.python_version(), "numpy": np.__version__}
    out["pandas"] = pd.__version__
    # Read from the installed package metadata rather than by importing: importing umap alone
    # (numba compilation) took over 5 s of every export, a long window for an interrupt.
    from importlib import metadata

    for mod, dists in _DISTRIBUTIONS.items():
        loaded = sys.modules.get(mod)
        if loaded is not None and hasattr(loaded, "__version__"):
            out[mod] = str(loaded.__version__)
            continue
        for dist in dists:
            with contextlib.suppress(metadata.PackageNotFoundError):
                out[mod] = metadata.version(dist)
                break
    return out


# Module -> the distributions that may provide it (first installed one wins).
_DISTRIBUTIONS = {
    "torch": ("torch",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss"),
    "umap": ("umap-learn",),
    "scipy": ("scipy",),
}


# -- saving ------------------------------------------------------------------------------------


def _fold_in_arrays(state: FoldIn) -> dict[str, np.ndarray]:
    arrays = {"popularity": np.asarray(state.popularity, np.float32)}
    if state.item_factors is not None:
        arrays["item_factors"] = np.asarray(state.item_factors, np.float32)
    if state.item_bias is not None:
        arrays["item_bias"] = np.asarray(state.item_bias, np.float32)
    if state.similarity is not None:
        sim = sp.csr_matrix(state.similarity, dtype=np.float32)
        arrays.update(
            {
                "similarity.data": sim.data,
                "similarity.indices": sim.indices,
                "similarity.indptr": sim.indptr,
                "similarity.shape": np.asarray(sim.shape, np.int64),
            }
        )
    for key, value in (state.network or {}).items():
        arrays[f"network.{key}"] = np.asarray(value)
    return arrays


@contextlib.contextmanager
def _directory_lock(target: Path):
    """An exclusive lock on ``.<name>.lock`` beside ``target`` (held across the swap)."""
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover(target: Path) -> None:
    """Finish a swap that was interrupted between its two renames."""
    if target.exists():
        for old in target.parent.glob(f".{target.name}.old-*"):
            shutil.rmtree(old, ignore_errors=True)
        return
    olds = sorted(target.parent.glob(f".{target.name}.old-*"))
    if olds:
        os.replace(olds[-1], target)
        log.warning("%s: restored the previous artifacts left by an interrupted save", target)


def save_artifact(
    out_dir: str | Path,
    *,
    state: FoldIn,
    items: pd.DataFrame,
    item_embeddings: np.ndarray | None,
    projection: np.ndarray,
    manifest: dict,
    license_text: str | None = None,
) -> Path:
    """Write an artifact directory atomically; returns its path.

    ``manifest`` holds the descriptive fields (model, dataset, metrics, training...); this
    function adds format version, fold-in method and parameters, versions and file hashes.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_items = len(items)
    if projection.shape != (n_items, 2):
        raise ConfigError(f"projection must be ({n_items}, 2), got {projection.shape}")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        table = items.copy()
        table["genres"] = ["|".join(g) for g in table["genres"]]
        table.to_parquet(tmp / _ITEMS, index=False)
        arrays = _fold_in_arrays(state)
        arrays["projection"] = np.asarray(projection, np.float32)
        if item_embeddings is not None:
            arrays["item_embeddings"] = np.asarray(item_embeddings, np.float32)
        with open(tmp / _ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        if item_embeddings is not None:
            ItemIndex(normalize_rows(item_embeddings), backend="faiss").save(tmp / _INDEX)
        if license_text:
            (tmp / _LICENSE).write_text(license_text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        full = {
            "format_version": FORMAT_VERSION,
            "name": out.name,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **manifest,
            "fold_in": {"method": state.method, "params": dict(state.params)},
            "n_items": n_items,
            "versions": _versions(),
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, default=_json_default) + "\n")
        tmp.chmod(0o755)
        with _directory_lock(out):
            _recover(out)
            old = None
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rmdir(old)
                os.replace(out, old)
            os.replace(tmp, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %s (%d items)", out, n_items)
    return out


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- loading -----------------------------------------------------------------------------------


def _read_manifest(path: Path) -> dict:
    mpath = path / MANIFEST
    if not path.is_dir():
        raise ArtifactError(f"{path}: no such artifact directory")
    if not mpath.exists():
        raise ArtifactError(f"{mpath}: missing; this directory holds no trained model")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{mpath}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{mpath}: expected a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{mpath}: artifact format version {version!r}, but this recsys reads version "
            f"{FORMAT_VERSION}; re-create it with `python -m recsys train`"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or _ITEMS not in files or _ARRAYS not in files:
        raise ArtifactError(f"{mpath}: 'files' must list {_ITEMS} and {_ARRAYS} with hashes")
    return manifest


def _verify_files(path: Path, files: Mapping[str, str]) -> None:
    root = path.resolve()
    for name, expected in files.items():
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ArtifactError(f"{path / MANIFEST}: file name {name!r} must not contain a path")
        fpath = path / name
        if not fpath.is_file():
            raise ArtifactError(f"{fpath}: listed in the manifest but missing")
        # A symlink could make the hash check read (and the loader then parse) a file outside
        # the artifact directory: every listed file must really live inside it.
        if fpath.is_symlink() or fpath.resolve().parent != root:
            raise ArtifactError(
                f"{fpath}: is a symbolic link; artifact files must be regular files inside {path}"
            )
        actual = sha256_file(fpath)
        if actual != expected:
            raise ArtifactError(
                f"{fpath}: sha256 {actual[:12]}... does not match the manifest's "
                f"{str(expected)[:12]}...; the file was changed or truncated after export. "
                "Re-create the artifact with `python -m recsys train`"
            )


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
    missing = {"movieId", "title", "year", "genres", "n_ratings", "mean_rating"} - set(items)
    if missing:
        raise ArtifactError(f"{path}: missing column(s) {sorted(missing)}")
    items["genres"] = [g.split("|") if isinstance(g, str) and g else [] for g in items["genres"]]
    return items


def load(path: str | Path) -> Artifact:
    """Load and verify an artifact directory (no torch or UMAP needed; well under a second).

    Raises :class:`~recsys.errors.ArtifactError` naming the file when the directory is missing,
    of another format version, or any file's hash does not match the manifest.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    _verify_files(path, manifest["files"])
    items = _load_items(path / _ITEMS)
    arrays = _load_arrays(path / _ARRAYS)
    n = len(items)
    for key in ("popularity", "projection"):
        if key not in arrays:
            raise ArtifactError(f"{path / _ARRAYS}: missing array {key!r}")
    for key, value in arrays.items():
        if key.startswith(("similarity.", "network.")):
            continue
        if value.ndim == 0 or len(value) != n:
            raise ArtifactError(
                f"{path / _ARRAYS}: array {key!r} has {len(value) if value.ndim else 0} rows, "
                f"items table has {n}"
            )
    sim = None
    if "similarity.data" in arrays:
        try:
            sim = sp.csr_matrix(
                (
                    arrays["similarity.data"],
                    arrays["similarity.indices"],
                    arrays["similarity.indptr"],
                ),
                shape=tuple(int(x) for x in arrays["similarity.shape"]),
            )
            sim.check_format(full_check=True)  # indices within the shape, indptr monotone
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{path / _ARRAYS}: malformed similarity matrix ({exc})") from exc
        if sim.shape != (n, n):
            raise ArtifactError(
                f"{path / _ARRAYS}: similarity matrix is {sim.shape}, expected ({n}, {n})"
            )
    network = {k[8:]: v for k, v in arrays.items() if k.startswith("network.")} or None
    fold = manifest.get("fold_in", {})
    try:
        state = FoldIn(
            fold.get("method", ""),
            popularity=arrays["popularity"],
            item_factors=arrays.get("item_factors"),
            item_bias=arrays.get("item_bias"),
            similarity=sim,
            network=network,
            params=dict(fold.get("params", {})),
        )
    except ConfigError as exc:
        raise ArtifactError(f"{path / MANIFEST}: {exc}") from exc
    embeddings = arrays.get("item_embeddings")
    index = None
    if embeddings is not None and _INDEX in manifest["files"]:
        index = ItemIndex.load(path / _INDEX, normalize_rows(embeddings))
    return Artifact(path, manifest, items, embeddings, arrays["projection"], state, index)


def list_artifacts(root: str | Path) -> list[dict]:
    """Manifests of the artifact directories directly under ``root`` (unverified, sorted).

    Each entry is the manifest dict plus ``"path"``; unreadable directories are listed with an
    ``"error"`` key instead, so a UI can say what is wrong.
    """
    root = Path(root)
    out = []
    if not root.is_dir():
        return out
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            entry = _read_manifest(sub)
        except ArtifactError as exc:
            entry = {"name": sub.name, "error": str(exc)}
        entry["path"] = str(sub)
        out.append(entry)
    return out


def default_artifact(root: str | Path) -> str | None:
    """Name of the artifact flagged ``"default": true`` (newest if several), else the first."""
    entries = [e for e in list_artifacts(root) if "error" not in e]
    if not entries:
        return None
    flagged = [e for e in entries if e.get("default")]
    if flagged:
        return max(flagged, key=lambda e: e.get("created", ""))["name"]
    return entries[0]["name"]


# -- the loaded model --------------------------------------------------------------------------


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


class Artifact:
    """A loaded, verified model: items, embeddings, map, fold-in, picks and neighbours."""

    def __init__(self, path, manifest, items, item_embeddings, projection, state, index):
        self.path = Path(path)
        self.manifest = manifest
        self.items = items
        self.item_embeddings = item_embeddings
        self.projection = projection
        self.fold_in_model = state
        self._index = index
        self._code_of = pd.Index(items["movieId"].to_numpy())
        scale = manifest.get("dataset", {}).get("rating_scale", [0.5, 5.0, 0.5])
        self.rating_scale: tuple[float, float, float] = tuple(float(x) for x in scale)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_name(self) -> str:
        return self.manifest.get("model", {}).get("name", "?")

    @property
    def threshold(self) -> float:
        return float(self.fold_in_model.params.get("threshold", 4.0))

    def code(self, movie_id: int) -> int | None:
        """Item code (row of ``items``) of ``movie_id``, or None if it is not in the catalogue."""
        loc = self._code_of.get_indexer([movie_id])[0]
        return int(loc) if loc >= 0 else None

    def codes(self, movie_ids) -> np.ndarray:
        """Item codes of many movie ids at once: (n,) int64, -1 where an id is unknown."""
        ids = pd.Index(np.asarray(list(movie_ids), dtype=np.int64))
        return self._code_of.get_indexer(ids).astype(np.int64)

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
        # Ids beyond int64 (from a crafted link) cannot be in the catalogue: unknown, not a crash.
        in_range = [-(2**63) <= m < 2**63 for m in ids]
        codes = np.full(len(ids), -1, np.int64)
        if any(in_range):
            fits = [m for m, ok in zip(ids, in_range) if ok]
            codes[np.asarray(in_range, bool)] = self._code_of.get_indexer(
                pd.Index(fits, dtype="int64")
            )
        unknown = [m for m, c in zip(ids, codes) if c < 0]
        if unknown:
            log.warning("%d unknown movie id(s) skipped: %s", len(unknown), unknown[:10])
        known = codes >= 0
        codes = codes[known].astype(np.int64)
        vals = np.asarray(values, np.float64)[known] if ids else np.array([], np.float64)
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
        popularity: float = 0.0,
        explain: bool = True,
    ) -> pd.DataFrame:
        """Top-``k`` picks for a visitor: DataFrame movieId, title, year, genres, score, because
        (title of the rated movie contributing most, or ""), plus imdbId/tmdbId where present.

        Filters keep movies with any of ``genres``, a year within ``years`` (inclusive) and at
        least ``min_ratings`` ratings; the list is refilled from lower ranks so it still has ``k``
        rows when enough movies pass. ``popularity`` in [-1, 1] re-weights the ranking:
        ``rank = z(score) + popularity * z(log(1 + n_ratings))`` over the candidates, so positive
        values favour mainstream movies and negative ones niche movies; 0 ranks by score alone.
        ``df.attrs`` carries ``unknown_ids`` and ``fallback`` (why popularity was used, or None).
        """
        if not -1.0 <= popularity <= 1.0:
            raise ConfigError(f"popularity must be within [-1, 1], got {popularity}")
        prof = self.profile(ratings)
        scores = prof.result.scores.astype(np.float64)
        keep = np.ones(len(scores), dtype=bool)
        if exclude_rated and len(prof.codes):
            keep[prof.codes] = False
        items = self.items
        if genres:
            wanted = set(genres)
            keep &= np.fromiter((bool(wanted.intersection(g)) for g in items["genres"]), bool)
        if years is not None:
            year = items["year"].to_numpy(dtype=np.float64, na_value=np.nan)
            keep &= (year >= years[0]) & (year <= years[1])
        if min_ratings > 0:
            keep &= items["n_ratings"].to_numpy() >= min_ratings
        candidates = np.flatnonzero(keep)
        rank_score = scores[candidates]
        if popularity != 0.0 and len(candidates) > 1:
            pop = np.log1p(items["n_ratings"].to_numpy(np.float64)[candidates])
            rank_score = _z(rank_score) + popularity * _z(pop)
        k = max(0, min(k, len(candidates)))
        order = np.lexsort((candidates, -rank_score))[:k]
        top = candidates[order]
        out = items.iloc[top].reset_index(drop=True)
        cols = ["movieId", "title", "year", "genres"] + [
            c for c in ("imdbId", "tmdbId") if c in out
        ]
        out = out[cols].copy()
        out.insert(4, "score", scores[top].astype(np.float32))
        out["because"] = self._because(prof, top) if explain else ""
        out.attrs["unknown_ids"] = prof.unknown_ids
        out.attrs["fallback"] = prof.result.fallback
        return out

    def _because(self, prof: Profile, targets: np.ndarray) -> list[str]:
        if len(prof.codes) == 0 or len(targets) == 0 or prof.result.fallback:
            return [""] * len(targets)
        contrib = self.fold_in_model.contributions(prof.codes, prof.ratings, targets)
        best = np.argmax(contrib, axis=1)
        titles = self.items["title"].to_numpy()
        return [titles[prof.codes[j]] if contrib[t, j] > 0 else "" for t, j in enumerate(best)]

    # -- neighbours ------------------------------------------------------------------------------
    def similar(self, movie_id: int, k: int = 10) -> pd.DataFrame:
        """The ``k`` nearest movies to ``movie_id`` by cosine similarity of item embeddings (or the
        model's item-item weights when it has no embeddings): DataFrame movieId, title,
        similarity. Unknown ``movie_id`` is a ConfigError."""
        code = self.code(movie_id)
        if code is None:
            raise ConfigError(f"movie {movie_id} is not in this model's catalogue")
        k = max(0, min(k, len(self.items) - 1))
        if self._index is not None:
            ids, sims = self._index.search(self._index.vectors[code], k + 1)
            ids, sims = ids[0], sims[0]
        else:
            row = self._similarity_row(code)
            ids, sims = _top(row, k + 1)
        keep = ids != code
        ids, sims = ids[keep][:k], sims[keep][:k]
        out = self.items.iloc[ids][["movieId", "title"]].reset_index(drop=True)
        out["similarity"] = sims.astype(np.float32)
        return out

    def _similarity_row(self, code: int) -> np.ndarray:
        sim = self.fold_in_model.similarity
        if sim is None:
            return self.fold_in_model.popularity_scores()
        row = sim[code]
        return np.asarray(row.toarray() if sp.issparse(row) else row, np.float32).ravel()

    def map_position(self, user_vector: np.ndarray | None, scores: np.ndarray, n: int = 10):
        """Where a visitor sits on the 2-D map: the mean map position of the ``n`` items closest
        to their user vector by cosine (or their ``n`` best-scored items when there is no
        vector). Never calls UMAP. Returns (x, y) and the item codes used."""
        if user_vector is not None and self.item_embeddings is not None:
            emb = (
                self._index.vectors
                if self._index is not None
                else normalize_rows(self.item_embeddings)
            )
            u = user_vector / max(float(np.linalg.norm(user_vector)), 1e-12)
            ids, _ = _top(emb @ u.astype(np.float32), n)
        else:
            ids, _ = _top(np.asarray(scores, np.float32), n)
        xy = self.projection[ids].mean(axis=0)
        return (float(xy[0]), float(xy[1])), ids


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def _top(row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from .index import numpy_top_k

    ids, vals = numpy_top_k(row[None, :], k)
    return ids[0], vals[0]


def export_model(
    model,
    dataset,
    out_dir: str | Path,
    *,
    metrics: dict | None = None,
    training: dict | None = None,
    projection_method: str = "auto",
    seed: int = 42,
    default: bool = False,
    dataset_dir: str | Path | None = None,
    map_min_ratings: int = 5,
) -> Path:
    """Export a fitted model trained on ``dataset`` (a :class:`~recsys.data.Dataset`).

    Computes the 2-D map here (UMAP if installed, else PCA) so the app never has to: fitted on
    the movies with at least ``map_min_ratings`` ratings, the rest placed beside their nearest
    fitted movies (see :func:`recsys.projection.project_items`). Copies the
    dataset's README.txt (its licence) from ``dataset_dir`` when present, and writes atomically.
    Models without item embeddings (pop, itemknn, ease) are refused: the map, the neighbours
    index and the app's visitor placement all need item vectors.
    """
    from .projection import project_items

    embeddings = model.item_embeddings
    if embeddings is None:
        raise ConfigError(
            f"model {model.name!r} has no item embeddings to export; export one of "
            "ials, bpr, mf, ncf (pop, itemknn and ease are evaluated but not exported)"
        )
    first_genre = np.array([g[0] if len(g) else "" for g in dataset.items["genres"]], dtype=object)
    coords, proj_info = project_items(
        embeddings,
        projection_method,
        seed=seed,
        counts=dataset.items["n_ratings"].to_numpy(),
        min_count=map_min_ratings,
        groups=first_genre,
    )
    license_text = None
    if dataset_dir is not None and (Path(dataset_dir) / "README.txt").exists():
        license_text = (Path(dataset_dir) / "README.txt").read_text(
            encoding="utf-8", errors="replace"
        )
    manifest = {
        "default": bool(default),
        "model": {"name": model.name, "kind": model.kind, "params": model.params()},
        "dataset": dataset.summary(),
        "threshold": model.threshold,
        "training": training or {},
        "metrics": metrics or {},
        "projection": proj_info,
    }
    return save_artifact(
        out_dir,
        state=model.fold_in_state(),
        items=dataset.items,
        item_embeddings=embeddings,
        projection=coords,
        manifest=manifest,
        license_text=license_text,
    )
