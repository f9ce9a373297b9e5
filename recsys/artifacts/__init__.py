"""Artifacts: a trained model as a directory of plain data, and the object the app uses.

Three concerns, three modules:

- :mod:`recsys.artifacts.format`: the layout, the manifest, hashes and content checks, where an
  artifact may be written, and the atomic save;
- :mod:`recsys.artifacts.serving`: :func:`load`, :class:`Artifact` (fold-in, picks, neighbours,
  map position) and the discovery of artifacts under a root;
- :mod:`recsys.artifacts.export`: :func:`export_model`, used at training time only.
"""

from __future__ import annotations

from .export import export_model
from .format import (
    FORMAT_VERSION,
    MANIFEST,
    check_output_dir,
    read_manifest,
    save_artifact,
    sha256_file,
    verify_files,
)
from .serving import (
    POPULARITY_POOL,
    POPULARITY_WEIGHT,
    Artifact,
    Explanation,
    Profile,
    Recommendations,
    default_artifact,
    list_artifacts,
    load,
    popularity_rerank,
)

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
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
    "read_manifest",
    "verify_files",
    "check_output_dir",
    "save_artifact",
    "export_model",
    "sha256_file",
]
