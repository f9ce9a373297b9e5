"""recsys: train, evaluate and export MovieLens recommendation models; fold in new users.

The app and outside checks use this small public API::

    import recsys
    model = recsys.load("artifacts/ials")   # verified artifact; numpy/faiss only, no torch
    model.items, model.item_embeddings, model.projection
    model.fold_in({movie_id: rating})       # -> user vector
    model.recommend(ratings, k=10)          # -> Recommendations(picks, fallback, unknown_ids)
    model.similar(movie_id, k=10)           # -> DataFrame of neighbours (with n_ratings)

Training and evaluation: :func:`load_movielens`, :mod:`recsys.models`, :mod:`recsys.evaluate`,
and the command line ``python -m recsys``.
"""

from __future__ import annotations

import logging

from .artifacts import (
    Artifact,
    Explanation,
    Profile,
    Recommendations,
    default_artifact,
    list_artifacts,
    load,
)
from .data import Dataset, Interactions
from .errors import ArtifactError, ConfigError, DataFormatError, DownloadError, RecsysError

__version__ = "0.1.0"

__all__ = [
    "load",
    "Artifact",
    "Explanation",
    "Profile",
    "Recommendations",
    "list_artifacts",
    "default_artifact",
    "load_movielens",
    "Dataset",
    "Interactions",
    "RecsysError",
    "DataFormatError",
    "ArtifactError",
    "DownloadError",
    "ConfigError",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())


def load_movielens(path, **kwargs) -> Dataset:
    """Parse a MovieLens directory (100K, 1M, 10M, latest/25M formats); see recsys.loaders."""
    from .loaders import load_movielens as _load

    return _load(path, **kwargs)
