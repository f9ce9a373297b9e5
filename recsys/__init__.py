"""recsys: train, evaluate and export MovieLens recommendation models; fold in new users."""

from __future__ import annotations

import logging

from .data import Dataset, Interactions
from .errors import ArtifactError, ConfigError, DataFormatError, DownloadError, RecsysError

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "Interactions",
    "RecsysError",
    "DataFormatError",
    "ArtifactError",
    "DownloadError",
    "ConfigError",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
