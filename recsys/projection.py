"""The 2-D map of the item space, computed at export time so the app never runs UMAP.

UMAP (cosine metric, fixed seed) when umap-learn is installed; otherwise, or when asked, a PCA
preview (milliseconds) of the L2-normalised embeddings. Distances on either map are only roughly
faithful to distances in the embedding space: neighbours are always computed in the full space.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .errors import ConfigError
from .index import normalize_rows

__all__ = ["project_items", "pca_2d", "place_rest", "spread_duplicates", "PROJECTION_METHODS"]

log = logging.getLogger(__name__)

PROJECTION_METHODS = ("umap", "pca", "auto")


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """First two principal components of the normalised rows: (n_items, 2) float32."""
    x = normalize_rows(embeddings).astype(np.float64)
    x -= x.mean(axis=0)
    # SVD of the small (d, d) covariance instead of the (n, d) matrix: same axes, less memory.
    _, vecs = np.linalg.eigh(x.T @ x)
    axes = vecs[:, ::-1][:, :2]
    out = x @ axes
    # Fix each axis's sign so the map does not flip between runs or BLAS builds.
    signs = np.sign(out[np.argmax(np.abs(out), axis=0), [0, 1]])
    return (out * np.where(signs == 0, 1, signs)).astype(np.float32)


def place_rest(
    embeddings: np.ndarray,
    core: np.ndarray,
    core_xy: np.ndarray,
    groups: np.ndarray | None = None,
    k: int = 5,
    batch: int = 2048,
) -> np.ndarray:
    """Map positions for the items outside ``core``: the mean position of their ``k`` nearest
    core items by cosine; items with a zero embedding (no direction to compare) go to the mean
    position of the core items of their ``groups`` label (e.g. first genre), else the centre.

    ``core`` is a boolean mask (n_items,), ``core_xy`` (n_core, 2). Returns (n_items, 2) float32.
    """
    xy = np.zeros((len(embeddings), 2), np.float32)
    xy[core] = core_xy
    unit = normalize_rows(embeddings)
    core_unit = unit[core]
    rest = np.flatnonzero(~core)
    has_direction = np.linalg.norm(embeddings[rest], axis=1) > 0
    directed, undirected = rest[has_direction], rest[~has_direction]
    k = min(k, int(core.sum()))
    for start in range(0, len(directed), batch):
        rows = directed[start : start + batch]
        sims = unit[rows] @ core_unit.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        # Weighted by similarity, so two movies with the same nearest core items (common for
        # sparse vectors) still land at different places, nearer the more similar neighbour.
        weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0.0) + 1e-6
        weights /= weights.sum(axis=1, keepdims=True)
        xy[rows] = np.einsum("rk,rkc->rc", weights, core_xy[nearest])
    centre = core_xy.mean(axis=0)
    for row in undirected:
        same = core & (groups == groups[row]) if groups is not None else None
        xy[row] = xy[same].mean(axis=0) if same is not None and same.any() else centre
    return spread_duplicates(xy)


def spread_duplicates(
    xy: np.ndarray, radius: float = 0.004, *, spacing: float | None = None
) -> np.ndarray:
    """Move points that share one position apart, so every movie is a dot of its own.

    Points placed at the same spot (identical vectors, or a genre centre for movies with no
    vector) are laid out on a small sunflower spiral around it, in item order (deterministic):
    the k-th moved point of a stack at distance ``step * sqrt(k)`` and angle ``k`` times the
    golden angle. ``step`` is ``spacing`` when given (in map units), else ``radius`` times the
    map's larger side. The first point of each stack keeps its place. Returns a new (n, 2)
    float32 array.
    """
    xy = np.asarray(xy, dtype=np.float32).copy()
    if len(xy) < 2:
        return xy
    if spacing is not None:
        step = float(spacing)
    else:
        step = radius * float(np.ptp(xy, axis=0).max() or 1.0)
    _, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    golden = np.pi * (3.0 - np.sqrt(5.0))
    for group in np.flatnonzero(counts > 1):
        rows = np.flatnonzero(inverse == group)
        j = np.arange(1, len(rows))
        offsets = step * np.sqrt(j)[:, None] * np.c_[np.cos(j * golden), np.sin(j * golden)]
        xy[rows[1:]] += offsets.astype(np.float32)
    return xy


def project_items(
    embeddings: np.ndarray,
    method: str = "auto",
    *,
    seed: int = 42,
    n_neighbors: int = 8,
    min_dist: float = 0.0,
    n_epochs: int = 1000,
    negative_sample_rate: int = 10,
    counts: np.ndarray | None = None,
    min_count: int = 1,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """2-D coordinates of every item and a description of how they were made.

    Returns ``(coords (n_items, 2) float32, info)`` where ``info`` names the method and its
    parameters (stored in the artifact manifest). ``"auto"`` uses UMAP if installed, else PCA.

    With ``counts`` (e.g. ratings per item) and ``min_count``, the map is fitted on the items with
    at least ``min_count`` and a non-zero embedding: a movie rated by one or two people has a
    mostly random (or, with no positive rating, zero) vector that would scatter noise over the
    map. The other items are then placed by :func:`place_rest` (their nearest fitted items, or
    their ``groups`` label's centre), never by another UMAP call.

    UMAP defaults, chosen by measuring the map against the full space on ml-latest-small's
    movies with >= 20 ratings (``recsys.map_quality``; iALS vectors): umap-learn's own defaults
    (15 neighbours, min_dist 0.1, 200 epochs) gave trustworthiness@10 0.87 and 10-NN genre
    agreement 0.74 (full space 0.79); a tighter neighbourhood (8), no minimum distance, more
    epochs and more negative samples gave 0.91 and 0.77: local neighbours are what a visitor
    reads off the map.
    """
    if method not in PROJECTION_METHODS:
        raise ConfigError(f"unknown projection {method!r}; choose from {PROJECTION_METHODS}")
    embeddings = np.asarray(embeddings, dtype=np.float32)
    core = np.linalg.norm(embeddings, axis=1) > 0
    if counts is not None:
        core &= np.asarray(counts) >= min_count
    if core.sum() < max(n_neighbors + 2, 10):  # too few to fit on: use every item
        core = np.ones(len(embeddings), dtype=bool)
    umap_params = {
        "n_neighbors": n_neighbors,
        "min_dist": min_dist,
        "n_epochs": n_epochs,
        "negative_sample_rate": negative_sample_rate,
    }
    coords, info = _project(embeddings[core], method, seed, umap_params)
    if not core.all():
        coords = place_rest(embeddings, core, coords, groups)
        info["fitted_on"] = int(core.sum())
        info["placed_by_nearest_fitted"] = int((~core).sum())
        info["min_count"] = int(min_count)
    return coords.astype(np.float32), info


def _project(
    embeddings: np.ndarray, method: str, seed: int, umap_params: dict
) -> tuple[np.ndarray, dict]:
    if method in ("auto", "umap"):
        try:
            import umap  # ~20 s to import; only ever at export time
        except ImportError:
            if method == "umap":
                raise ConfigError(
                    "the UMAP projection needs umap-learn: pip install -e '.[train]'"
                ) from None
            log.warning("umap-learn is not installed: using a PCA preview for the item map")
        else:
            start = time.perf_counter()
            params = {
                **umap_params,
                "n_neighbors": min(umap_params["n_neighbors"], len(embeddings) - 1),
            }
            reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed, **params)
            coords = reducer.fit_transform(np.asarray(embeddings, dtype=np.float32))
            info = {
                "method": "umap",
                "metric": "cosine",
                **params,
                "seed": seed,
                "umap_version": getattr(umap, "__version__", "unknown"),
                "seconds": round(time.perf_counter() - start, 2),
            }
            return coords.astype(np.float32), info
    return pca_2d(embeddings), {"method": "pca", "of": "L2-normalised embeddings"}
