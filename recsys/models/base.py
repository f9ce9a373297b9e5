"""The one interface every model implements.

A model is configured by a dataclass of hyper-parameters (``Config``), trained by :meth:`fit`
on :class:`~recsys.data.Interactions`, scores known users with :meth:`score`, and hands the app
and the ``users`` protocol a numpy :class:`~recsys.foldin.FoldIn` for new users. Runtime options
(seed, device, progress, callback) are arguments to ``fit``, not configuration.

Adding a model: one new file in ``recsys/models/`` with a ``Config`` dataclass, a subclass of
:class:`Recommender` that sets the class attributes below (``name``, ``kind``, ``iterative``,
``epochs_field``, ``has_item_embeddings``, ``search_space``...), plus one line in
``recsys/models/__init__.py``'s ``_REGISTRY``. Evaluation, tuning and the CLI read those
attributes; no other file names models.

Settings used only when folding in a new user live in a nested dataclass field ``fold_in`` of the
Config (``IALSConfig().fold_in.negative_weight``); overrides may give it as a partial dict
(``make_model("ials", fold_in={"negative_weight": 1.0})``) or as a dotted name
(``**{"fold_in.negative_weight": 1.0}``, the form search spaces use).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from ..search_space import nest

__all__ = ["Recommender", "EpochCallback", "FitContext", "build_config"]

# callback(epoch, metrics) -> None; metrics holds e.g. {"loss": 0.41, "ndcg@10": 0.12}.
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclasses.dataclass
class FitContext:
    """Runtime options of one ``fit`` call (never part of the saved configuration).

    ``checkpoint_dir``: where iterative models save a checkpoint after each epoch and, with
    ``resume=True``, continue from the last one found there.
    """

    seed: int = 0
    device: str = "auto"
    show_progress: bool = False
    callback: EpochCallback | None = None
    valid: Interactions | None = None
    checkpoint_dir: str | None = None
    resume: bool = False
    # (n_items, n_features) scipy CSR of item content, for models with ``uses_item_features``.
    item_features: Any = None


class Recommender(ABC):
    """Base class: ``fit(...) -> self``, ``score(users)``, ``fold_in_state()``; subclasses write ``_fit``.

    Subclasses set ``name`` (the registry key), ``Config`` (a dataclass) and ``kind``:
    ``"implicit"`` models treat every training interaction as a positive (the protocol filters
    by threshold before ``fit``); ``"explicit"`` models fit the rating values.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "implicit"
    Config: ClassVar[type]
    # What evaluate, tune and the CLI need to know about a model, read from the class (never from
    # a list of model names), so that a new model is one file plus one registry line:
    # trains in epochs; ``fit(valid=...)`` watches validation each epoch (history has it).
    iterative: ClassVar[bool] = False
    # the Config field holding the number of epochs (iterative models only).
    epochs_field: ClassVar[str | None] = None
    # may run data-parallel under torchrun (DDP).
    data_parallel: ClassVar[bool] = False
    # ``item_embeddings`` is an (n_items, d) array after fit, so the model can be exported.
    has_item_embeddings: ClassVar[bool] = False
    # ``fit`` needs ``item_features`` (content of each item: genres, year, tags).
    uses_item_features: ClassVar[bool] = False
    # Hyper-parameter name -> range (recsys.search_space); fold-in ones as "fold_in.<field>".
    search_space: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Any | None = None, **overrides: Any):
        cfg = config if config is not None else self.Config()
        self.config = build_config(cfg, overrides, self.name) if overrides else cfg
        self.n_users = 0
        self.n_items = 0
        # Ratings at or above this are positives in fold-in (set by the protocol or the CLI).
        self.threshold = 4.0
        # Per-epoch training log: list of {"epoch": int, "loss": float, <valid metric>: float}.
        self.history: list[dict[str, float]] = []

    # -- training ---------------------------------------------------------------------------------
    def fit(
        self,
        train: Interactions,
        *,
        valid: Interactions | None = None,
        seed: int = 0,
        device: str = "auto",
        show_progress: bool = False,
        callback: EpochCallback | None = None,
        checkpoint_dir: str | None = None,
        resume: bool = False,
        item_features: Any = None,
    ) -> Recommender:
        """Learn from ``train``; returns self.

        ``valid`` (positives held out of ``train``) drives early stopping on NDCG@10 for
        iterative models; ``device`` is ``"auto"`` (cuda, then mps, then cpu) or a torch device
        name; the same ``seed`` gives the same numbers on CPU. ``item_features`` is the
        (n_items, n_features) sparse content matrix (models with ``uses_item_features`` need it).
        """
        if self.uses_item_features and item_features is None:
            raise ConfigError(f"{self.name} needs item_features (genres, year, tags) to fit")
        ctx = FitContext(
            seed, device, show_progress, callback, valid, checkpoint_dir, resume, item_features
        )
        self.n_users, self.n_items = train.n_users, train.n_items
        self.history = []
        self._fit(train, ctx)
        return self

    @abstractmethod
    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        """The model's own training; ``fit`` has already set n_users/n_items."""

    # -- scoring ----------------------------------------------------------------------------------
    @abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for known users: (len(users), n_items) float32; higher is better."""

    @abstractmethod
    def fold_in_state(self) -> FoldIn:
        """The numpy item-side state that folds in users not seen in training."""

    @property
    def item_embeddings(self) -> np.ndarray | None:
        """(n_items, d) float32 item vectors, or None for models without embeddings."""
        return None

    def params(self) -> dict[str, Any]:
        """Hyper-parameters as plain data (for manifests and result files); nested dataclass
        fields (``fold_in``) become nested dicts."""
        return dataclasses.asdict(self.config)

    def _check_fitted(self) -> None:
        if self.n_items == 0:
            raise ConfigError(f"{self.name}: call fit() before scoring")


def build_config(base: Any, overrides: dict[str, Any], where: str) -> Any:
    """``base`` (a Config dataclass) with ``overrides`` applied, checking every name.

    A nested dataclass field (``fold_in``) takes a partial dict of its own fields, or dotted
    names (``"fold_in.reg"``); unknown names raise :class:`ConfigError` naming ``where`` and the
    known fields, e.g. ``ials.fold_in has no hyper-parameter(s) ['regg']; known: [...]``.
    """
    fields = {f.name: f for f in dataclasses.fields(base)}
    nested = nest(overrides)
    unknown = sorted(set(nested) - set(fields))
    if unknown:
        raise ConfigError(f"{where} has no hyper-parameter(s) {unknown}; known: {sorted(fields)}")
    changes = {}
    for key, value in nested.items():
        current = getattr(base, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            value = build_config(current, value, f"{where}.{key}")
        elif dataclasses.is_dataclass(current) and not isinstance(value, type(current)):
            raise ConfigError(
                f"{where}.{key} must be a JSON object of {sorted(dataclasses.asdict(current))}, "
                f"got {value!r}"
            )
        changes[key] = value
    return dataclasses.replace(base, **changes)
