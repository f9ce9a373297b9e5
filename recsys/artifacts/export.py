"""Training-time export: a fitted model and its dataset -> an artifact directory.

Kept apart from serving so that the app never imports what export needs (the projection, and
UMAP when installed, are imported only when a model is exported).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .format import DEFAULT_MIN_SUPPORT, save_artifact

__all__ = ["export_model"]

log = logging.getLogger(__name__)


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
    map_min_ratings: int = 20,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> Path:
    """Export a fitted model trained on ``dataset`` (a :class:`~recsys.data.Dataset`).

    Computes the 2-D maps here so the app never has to: UMAP (if installed, else PCA) and PCA,
    each fitted on the movies with at least ``map_min_ratings`` ratings, the rest placed beside
    their nearest fitted movies (see :func:`recsys.projection.project_items`), and measures how
    faithful each map is to the full space (:func:`recsys.map_quality.map_qualities`, manifest
    ``map_quality``). Copies the dataset's README.txt
    (its licence) from ``dataset_dir`` when present, records ``min_support`` (the ratings a movie
    needs to be shown in picks and neighbours by default) and writes atomically. Models without
    item embeddings (pop, itemknn, ease, bias) are refused: the map, the neighbours index and the
    app's visitor placement all need item vectors (:func:`recsys.models.exportable_models`).
    """
    from ..map_quality import map_qualities
    from ..projection import project_items

    embeddings = model.item_embeddings
    if embeddings is None:
        from ..models import MODEL_NAMES, exportable_models

        exportable = exportable_models()
        others = [m for m in MODEL_NAMES if m not in exportable]
        raise ConfigError(
            f"model {model.name!r} has no item embeddings to export; export one of "
            f"{', '.join(exportable)} ({', '.join(others)} are evaluated but not exported)"
        )
    if isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 0:
        raise ConfigError(f"min_support must be a non-negative integer, got {min_support!r}")
    first_genre = np.array([g[0] if len(g) else "" for g in dataset.items["genres"]], dtype=object)
    counts = dataset.items["n_ratings"].to_numpy()
    genres = list(dataset.items["genres"])

    def project(method: str) -> tuple[np.ndarray, dict]:
        return project_items(
            embeddings,
            method,
            seed=seed,
            counts=counts,
            min_count=map_min_ratings,
            groups=first_genre,
        )

    # The requested map first; a PCA map beside it only when that was not already PCA ("auto"
    # falls back to PCA without umap-learn).
    coords, proj_info = project(projection_method)
    maps = {proj_info["method"]: (coords, proj_info)}
    if proj_info["method"] != "pca":
        maps["pca"] = project("pca")
    try:
        quality = map_qualities(embeddings, {m: xy for m, (xy, _) in maps.items()}, genres, counts)
    except ConfigError as exc:  # a catalogue too small to measure: say so, export anyway
        log.info("map quality not measured: %s", exc)
        quality = {}
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
        "map_quality": quality,
        "serving": {"min_support": int(min_support)},
    }
    return save_artifact(
        out_dir,
        state=model.fold_in_state(),
        items=dataset.items,
        item_embeddings=embeddings,
        projection=coords,
        projection_pca=maps["pca"][0],
        manifest=manifest,
        license_text=license_text,
    )
