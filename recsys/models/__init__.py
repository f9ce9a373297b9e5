"""Model registry: name -> class. Every model implements :class:`~recsys.models.base.Recommender`.

Classes are imported on first use, so listing the models costs nothing and a model file that
needs torch is only imported when that model is asked for.
"""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from .base import EpochCallback, FitContext, Recommender

__all__ = [
    "MODEL_NAMES",
    "Recommender",
    "FitContext",
    "EpochCallback",
    "make_model",
    "model_class",
    "exportable_models",
]

# registry name -> (module in recsys.models, class name)
_REGISTRY: dict[str, tuple[str, str]] = {
    "pop": ("pop", "Popularity"),
    "itemknn": ("itemknn", "ItemKNN"),
    "ease": ("ease", "EASE"),
    "ials": ("ials", "IALS"),
    "bpr": ("bpr", "BPR"),
    "mf": ("mf", "BiasedMF"),
    "bias": ("bias", "BiasBaseline"),
    "ncf": ("ncf", "NeuMF"),
    "hybrid": ("hybrid", "Hybrid"),
    "content": ("content", "ContentModel"),
}
MODEL_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def model_class(name: str) -> type[Recommender]:
    """The class registered as ``name``."""
    try:
        module, cls = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose from {', '.join(_REGISTRY)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make_model(name: str, **params) -> Recommender:
    """A fresh model by registry name, with hyper-parameter overrides (checked against Config)."""
    return model_class(name)(**params)


def exportable_models() -> tuple[str, ...]:
    """The models with item embeddings (``has_item_embeddings``), in registry order: the ones
    ``train`` can export (the map, the neighbours index and fold-in need item vectors)."""
    return tuple(m for m in MODEL_NAMES if model_class(m).has_item_embeddings)
