"""Biased matrix factorisation for explicit ratings (Koren, Bell & Volinsky 2009).

``rating(u, i) = mu + b_u + b_i + p_u . q_i`` with ``mu`` the mean training rating, fitted by
mini-batch Adam on the squared error plus L2 on the parameters the batch touched. New users are
folded in with the closed-form ridge solve on the item factors (FoldIn ``"ridge"``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from torch import nn

from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from ..search_space import FloatParam, IntParam
from ..torch_training import TorchTrainer, as_numpy
from ..training import check_positive
from .base import FitContext, Recommender

__all__ = ["BiasedMF", "BiasedMFConfig", "BiasedMFNet"]

# run_epochs keeps the epoch with the highest validation value, so it is given -RMSE under this
# name; the history and callbacks the user sees get the positive RMSE as "valid_rmse".
_NEG_RMSE = "valid_neg_rmse"
_RMSE = "valid_rmse"


@dataclass
class RidgeFoldIn:
    """Fold-in of a new user by a ridge solve of their ratings on the item factors and biases."""

    # Ridge weight of the solve; tuned on the users protocol's validation
    # (NDCG@10 0.120 at 10 vs 0.070 at 1): short profiles need a firm prior.
    reg: float = 10.0


@dataclass
class BiasedMFConfig:
    """Biased MF hyper-parameters. Defaults are starting points, to be tuned on ml-latest-small."""

    # Same width as the other embedding models, so the explorer compares like with like.
    factors: int = 64
    # Epoch budget; early stopping on validation RMSE usually ends sooner.
    epochs: int = 40
    # Adam step size; tuned on ml-latest-small's ratings protocol (validation RMSE 0.866).
    lr: float = 0.01
    # L2 on the batch's factors and biases; tuned with lr (0.02 overfit within 3 epochs).
    reg: float = 0.1
    # Smaller batches than BPR: the ratings set is small and MF gains from more steps.
    batch_size: int = 1024
    # Std of the normal initialisation; small so training starts from the bias-only model.
    init_std: float = 0.01
    # Epochs without validation improvement before stopping (run_epochs' rule).
    patience: int = 3
    # Settings of the ridge fold-in of new users.
    fold_in: RidgeFoldIn = field(default_factory=RidgeFoldIn)


class BiasedMFNet(nn.Module):
    """Parameters: user factors (n_users, d), item factors (n_items, d), user and item biases.

    ``mu`` (the global mean) is a buffer, not learnt. ``forward`` returns what the loss needs.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        mu: float,
        init_std: float,
        gen: torch.Generator,
    ):
        super().__init__()
        self.user = nn.Embedding(n_users, factors)
        self.item = nn.Embedding(n_items, factors)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.register_buffer("mu", torch.tensor(float(mu)))
        with torch.no_grad():
            nn.init.normal_(self.user.weight, 0.0, init_std, generator=gen)
            nn.init.normal_(self.item.weight, 0.0, init_std, generator=gen)
            self.user_bias.weight.zero_()
            self.item_bias.weight.zero_()

    def forward(
        self, users: torch.Tensor, items: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted ratings (B,), squared L2 norm of the gathered parameters (B,))."""
        pu, qi = self.user(users), self.item(items)
        bu, bi = self.user_bias(users).squeeze(-1), self.item_bias(items).squeeze(-1)
        pred = self.mu + bu + bi + (pu * qi).sum(-1)
        sq = pu.square().sum(-1) + qi.square().sum(-1) + bu**2 + bi**2
        return pred, sq

    @torch.no_grad()
    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predicted ratings of every item for (n,) user codes: (n, n_items)."""
        return (
            self.mu
            + self.user_bias(users)
            + self.item_bias.weight.T
            + self.user(users) @ self.item.weight.T
        )


def _mse_loss(net: nn.Module, users, items, ratings, *, reg: float) -> torch.Tensor:
    pred, sq = net(users, items)
    return (pred - ratings).square().mean() + reg * sq.mean()


class BiasedMF(Recommender):
    """Biased MF on rating values.

    After ``fit``: ``user_factors`` (n_users, d), ``item_factors`` (n_items, d), ``user_bias``
    (n_users,), ``item_bias`` (n_items,) float32 numpy, ``global_mean`` and the training rating
    range ``rating_min``/``rating_max`` (predictions are clipped to it).
    """

    name = "mf"
    iterative = True
    epochs_field = "epochs"
    data_parallel = True
    has_item_embeddings = True
    search_space = {
        "factors": IntParam(4, 256, log=True),
        "lr": FloatParam(1e-4, 0.1),
        "reg": FloatParam(1e-4, 1.0),
        "fold_in.reg": FloatParam(0.01, 100.0),
    }
    kind = "explicit"
    Config = BiasedMFConfig

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        cfg = self.config
        check_positive(cfg, "factors", "epochs", "lr", "batch_size", "init_std", "patience")
        if cfg.reg < 0:
            raise ConfigError(f"reg must be >= 0, got {cfg.reg}")
        if len(train) == 0:
            raise ConfigError("mf needs at least one training rating")
        ratings = train.rating.astype(np.float32)
        self.global_mean = float(ratings.astype(np.float64).mean())
        self.rating_min, self.rating_max = float(ratings.min()), float(ratings.max())
        # Per-item counts of each rating value, so fold_in_state() can count positives for the
        # threshold in force then (the protocol may set it after fit); scales have few values.
        self._rating_values, value_index = np.unique(ratings, return_inverse=True)
        n_values = len(self._rating_values)
        cell = train.item.astype(np.int64) * n_values + value_index.ravel()
        counts = np.bincount(cell, minlength=train.n_items * n_values)
        self._item_value_counts = counts.reshape(train.n_items, n_values).astype(np.float32)

        users = torch.from_numpy(train.user.astype(np.int64))
        items = torch.from_numpy(train.item.astype(np.int64))
        ratings_t = torch.from_numpy(ratings)

        def make_batch(batch: torch.Tensor, part: slice) -> tuple[torch.Tensor, ...]:
            """(users, items, ratings) of this rank's share: (b,) int64, int64, float32."""
            idx = batch[part]
            return users[idx], items[idx], ratings_t[idx]

        valid = ctx.valid

        def neg_valid_rmse() -> float:
            pred = self._predict_torch(valid.user, valid.item)
            return -float(np.sqrt(np.mean((pred - valid.rating.astype(np.float64)) ** 2)))

        user_callback = ctx.callback

        def callback(epoch: int, record: dict[str, float]) -> None:
            if user_callback is not None:
                user_callback(epoch, _positive_rmse(record))

        trainer = TorchTrainer(self, train, dataclasses.replace(ctx, callback=callback))
        self._device = trainer.device
        self._net = BiasedMFNet(
            train.n_users, train.n_items, cfg.factors, self.global_mean, cfg.init_std, trainer.gen
        )
        history = trainer.run(
            self._net,
            make_batch=make_batch,
            loss=partial(_mse_loss, reg=cfg.reg),
            score_fn=trainer.net_scores(self._net),
            unit="ratings",
            valid_fn=neg_valid_rmse if valid is not None else None,
            valid_name=_NEG_RMSE,
        )
        self.history = [_positive_rmse(r) for r in history]
        net = self._net
        self.user_factors = as_numpy(net.user.weight)
        self.item_factors = as_numpy(net.item.weight)
        self.user_bias = as_numpy(net.user_bias.weight).ravel()
        self.item_bias = as_numpy(net.item_bias.weight).ravel()
        del self._net  # the numpy factors are the model from here on

    @torch.no_grad()
    def _predict_torch(
        self, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 18
    ) -> np.ndarray:
        out = []
        for start in range(0, len(users), chunk):
            u = torch.as_tensor(users[start : start + chunk].astype(np.int64), device=self._device)
            i = torch.as_tensor(items[start : start + chunk].astype(np.int64), device=self._device)
            out.append(self._net(u, i)[0].float().cpu().numpy())
        pred = np.concatenate(out) if out else np.zeros(0, np.float32)
        return np.clip(pred, self.rating_min, self.rating_max)

    # -- after fit --------------------------------------------------------------------------------
    def score(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings of every item: (len(users), n_items) float32.

        Not clipped to the rating scale: clipping would tie every item predicted above the top
        star and make the ranking arbitrary among them.
        """
        self._check_fitted()
        users = np.asarray(users, np.int64)
        s = self.user_factors[users] @ self.item_factors.T
        s += self.item_bias[None, :] + self.user_bias[users, None] + np.float32(self.global_mean)
        return s.astype(np.float32)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings of (user, item) pairs, clipped to the training rating range.

        Args:
            users, items: (n,) codes, aligned.

        Returns:
            (n,) float32.
        """
        self._check_fitted()
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        dots = np.einsum("nd,nd->n", self.user_factors[users], self.item_factors[items])
        pred = self.global_mean + self.user_bias[users] + self.item_bias[items] + dots
        return np.clip(pred, self.rating_min, self.rating_max).astype(np.float32)

    @property
    def item_embeddings(self) -> np.ndarray | None:
        return getattr(self, "item_factors", None)

    def positive_counts(self) -> np.ndarray:
        """(n_items,) float32 number of training ratings at or above ``self.threshold``."""
        self._check_fitted()
        return self._item_value_counts[:, self._rating_values >= self.threshold].sum(axis=1)

    def fold_in_state(self) -> FoldIn:
        """Ridge solve on the item factors and biases; scores are predicted ratings."""
        self._check_fitted()
        return FoldIn(
            "ridge",
            popularity=self.positive_counts().astype(np.float32),
            item_factors=self.item_factors,
            item_bias=self.item_bias,
            params={
                "reg": self.config.fold_in.reg,
                "global_mean": self.global_mean,
                "threshold": self.threshold,
            },
        )


def _positive_rmse(record: dict[str, float]) -> dict[str, float]:
    """The record with run_epochs' negated validation RMSE turned into a positive ``valid_rmse``."""
    if _NEG_RMSE not in record:
        return dict(record)
    out = {k: v for k, v in record.items() if k != _NEG_RMSE}
    out[_RMSE] = -record[_NEG_RMSE]
    return out
