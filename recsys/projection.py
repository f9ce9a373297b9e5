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

__all__ = ["project_items", "pca_2d", "PROJECTION_METHODS"]

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


def project_items(
    embeddings: np.ndarray,
    method: str = "auto",
    *,
    seed: int = 42,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> tuple[np.ndarray, dict]:
    """2-D coordinates of every item and a description of how they were made.

    Returns ``(coords (n_items, 2) float32, info)`` where ``info`` names the method and its
    parameters (stored in the artifact manifest). ``"auto"`` uses UMAP if installed, else PCA.
    """
    if method not in PROJECTION_METHODS:
        raise ConfigError(f"unknown projection {method!r}; choose from {PROJECTION_METHODS}")
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
            reducer = umap.UMAP(
                n_components=2,
                metric="cosine",
                n_neighbors=min(n_neighbors, len(embeddings) - 1),
                min_dist=min_dist,
                random_state=seed,
            )
            coords = reducer.fit_transform(np.asarray(embeddings, dtype=np.float32))
            info = {
                "method": "umap",
                "metric": "cosine",
                "n_neighbors": n_neighbors,
                "min_dist": min_dist,
                "seed": seed,
                "umap_version": getattr(umap, "__version__", "unknown"),
                "seconds": round(time.perf_counter() - start, 2),
            }
            return coords.astype(np.float32), info
    return pca_2d(embeddings), {"method": "pca", "of": "L2-normalised embeddings"}
