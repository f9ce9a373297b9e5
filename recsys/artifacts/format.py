"""The artifact format: its files, the manifest, their verification, and the atomic save.

Layout of ``artifacts/<name>/`` (format version 1)::

    manifest.json   format version, model and hyper-parameters, fold-in method and parameters,
                    dataset (with its rating scale and the sha256 of its source files), metrics,
                    serving defaults (``serving.min_support``), library versions, sha256 of
                    every file
    items.parquet   one row per item code: movieId, title, year, genres ("|"-joined), n_ratings,
                    mean_rating, imdbId, tmdbId
    arrays.npz      item_embeddings (n, d), projection (n, 2), popularity (n,), and what the
                    fold-in method needs: item_factors (n, d), item_bias (n,), network.* (NeuMF
                    weights); read with allow_pickle=False
    index.faiss     exact inner-product FAISS index over the L2-normalised item embeddings
    DATASET_LICENSE.txt   the dataset's README (its licence), kept beside derived data

An artifact is known by its directory name (``artifacts/ials.bak`` is its own artifact, whatever
its manifest says). Reading is strict and bounded: the manifest must be a regular file of at most
:data:`MAX_MANIFEST_BYTES` and :data:`MAX_JSON_DEPTH` levels (a FIFO or device is refused without
being opened for a blocking read); every listed file must be a regular file inside the directory
whose sha256 matches; and the content is checked (types, shapes, finite values, unique ids, the
rating scale), with errors that name the file and the field.

Saving writes a temporary directory beside the target and swaps it in under a lock, so an
interrupted or concurrent run never leaves a half-written or mixed directory. It only ever
replaces a directory that is itself a verified artifact holding nothing but its listed files:
nothing outside an artifact is deleted.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import logging
import math
import os
import platform
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ArtifactError, ConfigError
from ..foldin import FoldIn
from ..hashing import sha256_file
from ..index import ItemIndex, normalize_rows

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "MAX_MANIFEST_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_SCALE_VALUES",
    "DEFAULT_MIN_SUPPORT",
    "sha256_file",
    "read_manifest",
    "verify_files",
    "check_rating_scale",
    "validate_items",
    "validate_arrays",
    "check_output_dir",
    "save_artifact",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ITEMS, ARRAYS, INDEX, LICENSE = (
    "items.parquet",
    "arrays.npz",
    "index.faiss",
    "DATASET_LICENSE.txt",
)
# A manifest holds a few kB of settings plus the per-epoch training history and tuning trials;
# 8 MiB is far above any real one and small enough that reading it costs nothing.
MAX_MANIFEST_BYTES = 8 << 20
# Real manifests are 4 levels deep (metrics -> protocol -> by_profile_size -> size).
MAX_JSON_DEPTH = 32
# A rating scale names every value a visitor can pick; MovieLens has 10 (0.5..5) or 5 (1..5).
MAX_SCALE_VALUES = 100
# Picks and similar movies hide movies with fewer ratings than this unless asked otherwise. On
# ml-latest-small, 10 keeps the 2,269 movies that carry 80% of the ratings and hides the ~6,100
# with fewer than 5 ratings whose vectors are noise (issue 8: the Godfather's #3 neighbour had one
# rating). An artifact can set its own (``serving.min_support``); 0 shows everything.
DEFAULT_MIN_SUPPORT = 10

_HEX = frozenset("0123456789abcdef")
_ARRAY_KEYS = (
    "popularity",
    "projection",
    "projection_pca",
    "item_embeddings",
    "item_factors",
    "item_bias",
)


# -- reading the manifest -----------------------------------------------------------------------


def read_manifest(path: str | Path) -> dict:
    """The verified-structure manifest of artifact directory ``path`` (files are not hashed).

    Raises :class:`ArtifactError` naming ``manifest.json`` and the field when the directory or
    manifest is missing, not a regular file, too large or too deep, not JSON, of another format
    version, or when a field has the wrong type.
    """
    path = Path(path)
    mpath = path / MANIFEST
    try:
        if not stat.S_ISDIR(os.stat(path).st_mode):
            raise ArtifactError(f"{path}: no such artifact directory (it is a file)")
    except FileNotFoundError:
        raise ArtifactError(f"{path}: no such artifact directory") from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read the directory ({exc.strerror})") from None
    raw = _read_regular_file(mpath, MAX_MANIFEST_BYTES, "manifest")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{mpath}: not valid JSON (not UTF-8: {exc.reason})") from None
    except ValueError as exc:  # JSONDecodeError, or an integer beyond the 4,300-digit limit
        raise ArtifactError(f"{mpath}: not valid JSON ({str(exc)[:200]})") from None
    except RecursionError:
        raise ArtifactError(
            f"{mpath}: nested too deeply; a manifest has at most {MAX_JSON_DEPTH} levels"
        ) from None
    if _depth(manifest) > MAX_JSON_DEPTH:
        raise ArtifactError(
            f"{mpath}: nested too deeply; a manifest has at most {MAX_JSON_DEPTH} levels"
        )
    _validate_manifest(manifest, mpath)
    return manifest


def _read_regular_file(fpath: Path, limit: int, what: str) -> bytes:
    """The bytes of ``fpath``, refusing anything but a regular file of at most ``limit`` bytes.

    The type is checked before opening (a FIFO would block ``open``) and again on the open
    descriptor (opened non-blocking, without following a link), so a file swapped in between
    cannot make the read hang.
    """
    try:
        st = os.lstat(fpath)
    except FileNotFoundError:
        raise ArtifactError(
            f"{fpath}: missing; this directory holds no trained model "
            "(create one with `python -m recsys train`)"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"{fpath}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(
            f"{fpath}: not a regular file (a link, FIFO, device or directory); the {what} must "
            "be a plain file"
        )
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(fpath, flags)
    except OSError as exc:
        raise ArtifactError(f"{fpath}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ArtifactError(f"{fpath}: not a regular file; the {what} must be a plain file")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise ArtifactError(f"{fpath}: cannot read ({exc.strerror})") from None
    if len(data) > limit:
        raise ArtifactError(f"{fpath}: larger than {limit:,} bytes; not a {what} this writes")
    return data


def _depth(value: object) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field_error(mpath: Path, field: str, expected: str, value: object) -> ArtifactError:
    return ArtifactError(f"{mpath}: field {field!r} must be {expected}, got {_short(value)}")


def _section(manifest: Mapping, key: str, mpath: Path, *, required: bool) -> dict:
    if key not in manifest:
        if required:
            raise ArtifactError(
                f"{mpath}: missing field {key!r}; re-create the artifact with "
                "`python -m recsys train`"
            )
        return {}
    value = manifest[key]
    if not isinstance(value, dict):
        raise _field_error(mpath, key, "a JSON object", value)
    return value


def _validate_manifest(manifest: object, mpath: Path) -> None:
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{mpath}: expected a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{mpath}: artifact format version {_short(version)}, but this recsys reads version "
            f"{FORMAT_VERSION}; re-create it with `python -m recsys train`"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or ITEMS not in files or ARRAYS not in files:
        raise ArtifactError(f"{mpath}: 'files' must list {ITEMS} and {ARRAYS} with hashes")
    for name, digest in files.items():
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX):
            raise _field_error(mpath, f"files.{name}", "a sha256 hex digest", digest)

    model = _section(manifest, "model", mpath, required=True)
    if not isinstance(model.get("name"), str):
        raise _field_error(mpath, "model.name", "a string", model.get("name"))
    params = model.get("params", {})
    if not isinstance(params, dict):
        raise _field_error(mpath, "model.params", "a JSON object", params)
    # Hyper-parameters are scalars or lists of them; one level of nesting holds a model's
    # fold-in settings (model.params.fold_in.reg, ...).
    flat = {}
    for key, value in params.items():
        if key == "fold_in" and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key, value in flat.items():
        items = value if isinstance(value, list) else [value]
        if not all(v is None or isinstance(v, bool | int | float | str) for v in items):
            raise _field_error(
                mpath, f"model.params.{key}", "a number, string, boolean or a list of them", value
            )

    dataset = _section(manifest, "dataset", mpath, required=True)
    if not isinstance(dataset.get("name"), str):
        raise _field_error(mpath, "dataset.name", "a string", dataset.get("name"))
    if "n_ratings" in dataset and not (
        isinstance(dataset["n_ratings"], int) and not isinstance(dataset["n_ratings"], bool)
    ):
        raise _field_error(mpath, "dataset.n_ratings", "an integer", dataset["n_ratings"])
    try:
        check_rating_scale(dataset.get("rating_scale"))
    except ValueError as exc:
        raise ArtifactError(f"{mpath}: field 'dataset.rating_scale' {exc}") from None

    fold = _section(manifest, "fold_in", mpath, required=True)
    if not isinstance(fold.get("method"), str):
        raise _field_error(mpath, "fold_in.method", "a string", fold.get("method"))
    fold_params = fold.get("params", {})
    if not isinstance(fold_params, dict):
        raise _field_error(mpath, "fold_in.params", "a JSON object of numbers", fold_params)
    for key, value in fold_params.items():
        if not _is_number(value) or not math.isfinite(value):
            raise _field_error(mpath, f"fold_in.params.{key}", "a finite number", value)

    serving = _section(manifest, "serving", mpath, required=False)
    support = serving.get("min_support", DEFAULT_MIN_SUPPORT)
    if not (isinstance(support, int) and not isinstance(support, bool) and support >= 0):
        raise _field_error(mpath, "serving.min_support", "a non-negative integer", support)
    for key in ("metrics", "training", "projection"):
        _section(manifest, key, mpath, required=False)
    if "default" in manifest and not isinstance(manifest["default"], bool):
        raise _field_error(mpath, "default", "true or false", manifest["default"])
    if "created" in manifest and not isinstance(manifest["created"], str):
        raise _field_error(mpath, "created", "a date string", manifest["created"])


def check_rating_scale(scale: object) -> tuple[float, float, float]:
    """``(lowest, highest, step)`` of a rating scale, or ValueError saying what is wrong.

    The step must divide the range and the scale may have at most :data:`MAX_SCALE_VALUES`
    values, so listing them (the app's rating widget does) always stays small.
    """
    if not (isinstance(scale, list | tuple) and len(scale) == 3 and all(map(_is_number, scale))):
        raise ValueError(f"must be [lowest, highest, step] numbers, got {_short(scale)}")
    low, high, step = (float(x) for x in scale)
    if not all(map(math.isfinite, (low, high, step))) or not low < high or not step > 0:
        raise ValueError(f"must have lowest < highest and step > 0, got {_short(scale)}")
    n_steps = (high - low) / step
    if n_steps + 1 > MAX_SCALE_VALUES:
        raise ValueError(f"has {n_steps + 1:.0f} values; at most {MAX_SCALE_VALUES} are allowed")
    if abs(n_steps - round(n_steps)) > 1e-6 * max(1.0, n_steps):
        raise ValueError(f"step {step:g} does not divide the range {low:g}..{high:g}")
    return low, high, step


# -- verifying files and content ----------------------------------------------------------------


def verify_files(path: str | Path, files: Mapping[str, str]) -> None:
    """Every listed file is a regular file inside ``path`` whose sha256 matches the manifest."""
    path = Path(path)
    root = path.resolve()
    for name, expected in files.items():
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ArtifactError(f"{path / MANIFEST}: file name {name!r} must not contain a path")
        fpath = path / name
        try:
            st = os.lstat(fpath)
        except FileNotFoundError:
            raise ArtifactError(f"{fpath}: listed in the manifest but missing") from None
        except OSError as exc:
            raise ArtifactError(f"{fpath}: cannot read ({exc.strerror})") from None
        # A symlink could make the hash check read (and the loader then parse) a file outside
        # the artifact directory; a FIFO or device could block or never end.
        if stat.S_ISLNK(st.st_mode) or fpath.resolve().parent != root:
            raise ArtifactError(
                f"{fpath}: is a symbolic link; artifact files must be regular files inside {path}"
            )
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(
                f"{fpath}: listed in the manifest but missing or not a regular file"
            )
        try:
            actual = sha256_file(fpath)
        except OSError as exc:
            raise ArtifactError(f"{fpath}: cannot read ({exc.strerror})") from None
        if actual != expected:
            raise ArtifactError(
                f"{fpath}: sha256 {actual[:12]}... does not match the manifest's "
                f"{str(expected)[:12]}...; the file was changed or truncated after export. "
                "Re-create the artifact with `python -m recsys train`"
            )


def validate_items(items: pd.DataFrame, path: Path) -> None:
    """The items table's content: unique non-null integer movieIds, counts, text titles."""
    missing = {"movieId", "title", "year", "genres", "n_ratings", "mean_rating"} - set(items)
    if missing:
        raise ArtifactError(f"{path}: missing column(s) {sorted(missing)}")
    ids = items["movieId"]
    if not pd.api.types.is_integer_dtype(ids.dtype) or ids.isna().any():
        raise ArtifactError(
            f"{path}: column 'movieId' must hold integers without nulls, got {ids.dtype}"
        )
    if not ids.is_unique:
        dup = ids[ids.duplicated()].head(5).tolist()
        raise ArtifactError(f"{path}: column 'movieId' repeats id(s) {dup}; ids must be unique")
    counts = items["n_ratings"]
    if not pd.api.types.is_integer_dtype(counts.dtype) or counts.isna().any() or (counts < 0).any():
        raise ArtifactError(f"{path}: column 'n_ratings' must hold non-negative integers")
    if not all(isinstance(t, str) for t in items["title"]):
        raise ArtifactError(f"{path}: column 'title' must hold strings")
    for col in ("year", "mean_rating"):
        if not pd.api.types.is_numeric_dtype(items[col].dtype):
            raise ArtifactError(f"{path}: column {col!r} must be numeric, got {items[col].dtype}")


def validate_arrays(arrays: Mapping[str, np.ndarray], n_items: int, path: Path) -> None:
    """Names, shapes, dtypes and finiteness of ``arrays.npz`` for a catalogue of ``n_items``."""
    for key in ("popularity", "projection", "item_embeddings"):
        if key not in arrays:
            raise ArtifactError(f"{path}: missing array {key!r}")
    expected_ndim = {"projection": 2, "projection_pca": 2, "item_embeddings": 2, "item_factors": 2}
    for key, value in arrays.items():
        if key not in _ARRAY_KEYS and not key.startswith("network."):
            raise ArtifactError(f"{path}: array {key!r} is not part of the artifact format")
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise ArtifactError(f"{path}: array {key!r} must be numeric, got {value.dtype}")
        if not np.isfinite(value).all():
            raise ArtifactError(f"{path}: array {key!r} holds NaN or infinite values")
        if key.startswith("network."):
            continue
        ndim = expected_ndim.get(key, 1)
        rows = len(value) if value.ndim else 0
        if value.ndim != ndim or rows != n_items:
            want = f"({n_items}, d)" if ndim == 2 else f"({n_items},)"
            if key.startswith("projection"):
                want = f"({n_items}, 2)"
            raise ArtifactError(
                f"{path}: array {key!r} has shape {value.shape} ({rows} rows); expected {want} "
                f"for the {n_items} items of the items table"
            )
    for key in ("projection", "projection_pca"):
        if key in arrays and arrays[key].shape[1] != 2:
            raise ArtifactError(
                f"{path}: array {key!r} has shape {arrays[key].shape}; expected ({n_items}, 2)"
            )
    if arrays["item_embeddings"].shape[1] < 1:
        raise ArtifactError(f"{path}: array 'item_embeddings' has no columns")


# -- where an artifact may be written -----------------------------------------------------------


def check_output_dir(out: str | Path, *, data_dir: str | Path | None = None) -> Path:
    """``out`` if an artifact may be written there, else a :class:`ConfigError` saying why.

    Allowed: a directory that does not exist yet (or is empty), or an existing verified artifact
    that holds nothing but its listed files. Refused: a file, a symbolic link, the current
    directory or one above it, the data directory or anything inside or above it, a folder of
    artifacts, and any other directory with content. Nothing is read beyond ``out`` itself.
    An existing artifact is verified under the save lock, so a concurrent save's swap is never
    mistaken for a damaged artifact.
    """
    return _check_output_dir(out, data_dir=data_dir, lock=True)


def _check_output_dir(out: str | Path, *, data_dir: str | Path | None, lock: bool) -> Path:
    target = Path(out).expanduser()
    where = f"--out {out}"
    try:
        resolved = target.resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"{where}: cannot resolve the path ({exc})") from None
    if resolved == cwd or resolved in cwd.parents:
        raise ConfigError(
            f"{where}: is the current directory or one above it; give a directory of its own, "
            "e.g. --out artifacts/ials"
        )
    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        if resolved == data or data in resolved.parents or resolved in data.parents:
            raise ConfigError(
                f"{where}: is the data directory ({data_dir}), inside it or above it; "
                "write the artifact elsewhere, e.g. --out artifacts/ials"
            )
    if target.is_symlink():
        raise ConfigError(f"{where}: is a symbolic link; give the artifact directory itself")
    if not target.exists():
        existing = next((p for p in target.absolute().parents if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise ConfigError(f"{where}: {existing} is a file, so no directory can be made there")
        return target
    if not target.is_dir():
        raise ConfigError(f"{where}: is a file, not a directory; give a new directory")
    try:
        entries = sorted(p.name for p in target.iterdir())
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the directory ({exc.strerror})") from None
    if not entries:
        return target
    if MANIFEST in entries:
        with _directory_lock(target) if lock else contextlib.nullcontext():
            problem = _replaceable_problem(target)
        if problem is None:
            return target
        raise ConfigError(
            f"{where}: holds a manifest but is not an artifact train may replace ({problem}); "
            "nothing was changed. Remove it yourself or choose a new directory"
        )
    nested = [
        name for name in entries if (target / name).is_dir() and (target / name / MANIFEST).exists()
    ]
    if nested:
        raise ConfigError(
            f"{where}: is a folder of artifacts ({', '.join(nested[:5])}); give one of them or a "
            f"new directory such as {target / 'ials'}"
        )
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise ConfigError(
        f"{where}: exists and is not an artifact (it holds {len(entries)} entries: {shown}); "
        "train writes only into a new directory or over an existing artifact, so nothing "
        "was changed"
    )


def _replaceable_problem(target: Path) -> str | None:
    """Why artifact directory ``target`` may not be replaced, or None if it may."""
    if not os.path.lexists(target):  # moved away by an interrupted swap: a new directory
        return None
    try:
        entries = [p.name for p in target.iterdir()]
        manifest = read_manifest(target)
        verify_files(target, manifest["files"])
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    except ArtifactError as exc:
        return str(exc)
    extra = sorted(set(entries) - set(manifest["files"]) - {MANIFEST})
    if extra:
        return f"it also holds files the manifest does not list: {', '.join(extra[:5])}"
    return None


# -- saving -------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from .. import __version__

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


def _fold_in_arrays(state: FoldIn) -> dict[str, np.ndarray]:
    if state.similarity is not None:
        # Only models with item embeddings are exported (see export_model); a similarity-based
        # fold-in is an evaluation-time object.
        raise ConfigError(f"fold-in method {state.method!r} cannot be stored in an artifact")
    arrays = {"popularity": np.asarray(state.popularity, np.float32)}
    if state.item_factors is not None:
        arrays["item_factors"] = np.asarray(state.item_factors, np.float32)
    if state.item_bias is not None:
        arrays["item_bias"] = np.asarray(state.item_bias, np.float32)
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
    item_embeddings: np.ndarray,
    projection: np.ndarray,
    manifest: dict,
    license_text: str | None = None,
    projection_pca: np.ndarray | None = None,
) -> Path:
    """Write an artifact directory atomically; returns its path.

    ``manifest`` holds the descriptive fields (model, dataset, metrics, training, serving...);
    ``projection_pca`` (optional, (n, 2)) is a second map, the PCA view of the same space.
    This function adds format version, fold-in method and parameters, versions and file hashes.
    ``out_dir`` must pass :func:`check_output_dir` (checked again under the lock, just before
    the swap); an existing artifact there is replaced, anything else is refused. An OSError while
    writing (disk full, ...) becomes an :class:`ArtifactError`; the previous artifact survives.
    """
    out = check_output_dir(out_dir)
    n_items = len(items)
    embeddings = np.asarray(item_embeddings, np.float32)
    if embeddings.ndim != 2 or len(embeddings) != n_items:
        raise ConfigError(f"item_embeddings must be ({n_items}, d), got {embeddings.shape}")
    if projection.shape != (n_items, 2):
        raise ConfigError(f"projection must be ({n_items}, 2), got {projection.shape}")
    arrays = _fold_in_arrays(state)
    arrays["projection"] = np.asarray(projection, np.float32)
    if projection_pca is not None:
        if projection_pca.shape != (n_items, 2):
            raise ConfigError(f"projection_pca must be ({n_items}, 2), got {projection_pca.shape}")
        arrays["projection_pca"] = np.asarray(projection_pca, np.float32)
    arrays["item_embeddings"] = embeddings
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        table = items.copy()
        table["genres"] = ["|".join(g) for g in table["genres"]]
        table.to_parquet(tmp / ITEMS, index=False)
        with open(tmp / ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        ItemIndex(normalize_rows(embeddings), backend="faiss").save(tmp / INDEX)
        if license_text:
            (tmp / LICENSE).write_text(license_text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        full = {
            "format_version": FORMAT_VERSION,
            "name": out.name,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "serving": {"min_support": DEFAULT_MIN_SUPPORT},
            **manifest,
            "fold_in": {"method": state.method, "params": dict(state.params)},
            "n_items": n_items,
            "versions": _versions(),
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, default=_json_default) + "\n")
        _validate_manifest(json.loads((tmp / MANIFEST).read_text()), tmp / MANIFEST)
        tmp.chmod(0o755)
        with _directory_lock(out):
            _recover(out)
            # Again, under the lock: another process may have put something there meanwhile.
            _check_output_dir(out, data_dir=None, lock=False)
            old = None
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rmdir(old)
                os.replace(out, old)
            os.replace(tmp, out)
            tmp = None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ArtifactError(
            f"{out}: could not write the artifact ({exc.strerror or exc}); "
            "any previous artifact there is unchanged"
        ) from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %s (%d items)", out, n_items)
    return out


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
