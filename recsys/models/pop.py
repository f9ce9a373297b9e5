"""Popularity: every user gets the items with the most positive interactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Interactions
from ..foldin import FoldIn
from .base import FitContext, Recommender

__all__ = ["Popularity", "PopularityConfig"]


@dataclass
class PopularityConfig:
    """Popularity has no hyper-parameters."""


class Popularity(Recommender):
    name = "pop"
    Config = PopularityConfig

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        self.item_counts = np.bincount(train.item, minlength=train.n_items).astype(np.float32)

    def score(self, users: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return np.broadcast_to(np.log1p(self.item_counts), (len(users), self.n_items)).copy()

    def fold_in_state(self) -> FoldIn:
        self._check_fitted()
        return FoldIn("popularity", popularity=self.item_counts)
