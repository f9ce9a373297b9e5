"""NeuMF: neural collaborative filtering (He et al. 2017) on implicit feedback.

Two paths read separate user and item embeddings: GMF (their elementwise product) and an MLP
(their concatenation through ReLU layers). A final linear layer turns both outputs into one
logit. Training minimises binary cross-entropy on each positive and ``negatives`` items drawn
uniformly from those the user has not interacted with.

Fold-in (FoldIn ``"neumf"``) fits a new user's two embeddings by a few gradient steps with the
network frozen, in numpy (:mod:`recsys._neumf_numpy`); :meth:`NeuMF.network_arrays` exports the
weights it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from ..search_space import FloatParam, IntParam
from ..torch_training import NegativeSampler, TorchTrainer, as_numpy
from ..training import check_positive
from .base import FitContext, Recommender

__all__ = ["NeuMF", "NeuMFConfig", "NeuMFNet"]


@dataclass
class NeuMFFoldIn:
    """Fold-in of a new user: Adam steps on their embeddings with the network frozen."""

    # Adam steps on the new user's embeddings (milliseconds each).
    steps: int = 40
    # Adam step size; embeddings are O(0.1-1), so 40 steps can move them enough.
    lr: float = 0.05
    # Unrated items sampled as negatives per positive, as in training.
    negatives: int = 4
    # Pull towards the mean user (|x - mean|^2 / 2): keeps one-rating profiles sensible.
    reg: float = 0.0


@dataclass
class NeuMFConfig:
    """NeuMF hyper-parameters. Defaults are starting points, to be tuned on ml-latest-small."""

    # GMF embedding size (He et al.'s "predictive factors" range is 8-64).
    gmf_dim: int = 32
    # MLP embedding size per side; the first layer sees user and item concatenated (2x).
    mlp_dim: int = 32
    # Output sizes of the MLP's ReLU layers: the paper's halving tower.
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    # NeuMF overfits quickly; early stopping on validation usually ends sooner.
    epochs: int = 20
    # Adam step size from the paper.
    lr: float = 0.001
    # L2 on the batch's embeddings; the paper uses none, a trace keeps rare items in check.
    reg: float = 1e-6
    # Positives per batch; each brings `negatives` sampled negatives, so 5x as many examples.
    batch_size: int = 1024
    # Sampled negatives per positive: the paper's best ratio is 3-6.
    negatives: int = 4
    # Std of the embeddings' normal initialisation, as in the paper.
    init_std: float = 0.01
    # Epochs without validation improvement before stopping (run_epochs' rule).
    patience: int = 3
    # Users scored per forward pass are capped so that users x items <= this (memory bound).
    score_pairs: int = 1 << 19
    # Settings of the gradient fold-in of new users.
    fold_in: NeuMFFoldIn = field(default_factory=NeuMFFoldIn)


class NeuMFNet(nn.Module):
    """NeuMF parameters and forward.

    Embeddings: ``gmf_user`` (n_users, g), ``gmf_item`` (n_items, g), ``mlp_user`` (n_users, m),
    ``mlp_item`` (n_items, m); ``mlp`` is Linear+ReLU layers from 2m to ``layers[-1]``; ``out``
    a Linear(g + layers[-1], 1).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        gmf_dim: int,
        mlp_dim: int,
        layers: tuple[int, ...],
        init_std: float,
        gen: torch.Generator,
    ):
        super().__init__()
        self.gmf_user = nn.Embedding(n_users, gmf_dim)
        self.gmf_item = nn.Embedding(n_items, gmf_dim)
        self.mlp_user = nn.Embedding(n_users, mlp_dim)
        self.mlp_item = nn.Embedding(n_items, mlp_dim)
        sizes = [2 * mlp_dim, *layers]
        self.mlp = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(gmf_dim + sizes[-1], 1)
        with torch.no_grad():
            for emb in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
                nn.init.normal_(emb.weight, 0.0, init_std, generator=gen)
            for lin in self.mlp:
                # He initialisation suits ReLU layers; zero biases start every unit active-ish.
                nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu", generator=gen)
                lin.bias.zero_()
            # The output layer is linear: Glorot keeps its logits near zero at the start.
            nn.init.xavier_uniform_(self.out.weight, generator=gen)
            self.out.bias.zero_()

    def _mlp(self, h: torch.Tensor) -> torch.Tensor:
        for lin in self.mlp:
            h = torch.relu(lin(h))
        return h

    def forward(
        self, users: torch.Tensor, items: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B,), squared L2 norm of the gathered embeddings (B,)) for (B,) codes."""
        gu, gi = self.gmf_user(users), self.gmf_item(items)
        mu, mi = self.mlp_user(users), self.mlp_item(items)
        h = self._mlp(torch.cat([mu, mi], dim=-1))
        logits = self.out(torch.cat([gu * gi, h], dim=-1)).squeeze(-1)
        sq = sum(e.square().sum(-1) for e in (gu, gi, mu, mi))
        return logits, sq

    @torch.no_grad()
    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits of every item for (n,) user codes: (n, n_items).

        Layer 0 is split into user and item parts (``W0 [m_u, m_i] = W0_u m_u + W0_i m_i``), so
        it costs one product per user and per item rather than per pair.
        """
        m = self.mlp_user.embedding_dim
        g = self.gmf_user.embedding_dim
        first = self.mlp[0]
        user_part = self.mlp_user(users) @ first.weight[:, :m].T  # (n, h1)
        item_part = self.mlp_item.weight @ first.weight[:, m:].T + first.bias  # (n_items, h1)
        h = torch.relu(user_part[:, None, :] + item_part[None, :, :])
        for lin in self.mlp[1:]:
            h = torch.relu(lin(h))
        w = self.out.weight[0]
        gmf = (self.gmf_user(users) * w[:g]) @ self.gmf_item.weight.T
        return gmf + h @ w[g:] + self.out.bias


def _bce_loss(net: nn.Module, users, items, labels, *, reg: float) -> torch.Tensor:
    logits, sq = net(users, items)
    return F.binary_cross_entropy_with_logits(logits, labels) + reg * sq.mean()


class NeuMF(Recommender):
    """NeuMF (GMF + MLP) trained with sampled negatives; every training interaction is a positive.

    After ``fit``: ``user_factors`` (n_users, g + m) and ``item_factors`` (n_items, g + m) hold the
    concatenated GMF and MLP embeddings (float32 numpy); ``item_counts`` (n_items,). Scoring runs
    the torch network kept on the training device.
    """

    name = "ncf"
    kind = "implicit"
    Config = NeuMFConfig
    iterative = True
    epochs_field = "epochs"
    data_parallel = True
    has_item_embeddings = True
    search_space = {
        "gmf_dim": IntParam(8, 128, log=True),
        "mlp_dim": IntParam(8, 128, log=True),
        "lr": FloatParam(1e-4, 0.03),
        "reg": FloatParam(1e-8, 1e-2),
        "negatives": IntParam(1, 16, log=True),
        "fold_in.lr": FloatParam(1e-3, 0.5),
        "fold_in.reg": FloatParam(0.0, 10.0, log=False),
    }

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        cfg = self.config
        check_positive(
            cfg, "gmf_dim", "mlp_dim", "epochs", "lr", "batch_size", "negatives", "init_std",
            "patience", "score_pairs",
        )  # fmt: skip
        check_positive(cfg.fold_in, "steps")
        if not cfg.mlp_layers or min(cfg.mlp_layers) <= 0:
            raise ConfigError(f"mlp_layers must be positive sizes, got {cfg.mlp_layers!r}")
        if len(train) == 0:
            raise ConfigError("ncf needs at least one training interaction")
        trainer = TorchTrainer(self, train, ctx)
        gen = trainer.gen  # initialisation, then shuffling and sampling
        self._seed = int(ctx.seed)
        self.item_counts = np.bincount(train.item, minlength=train.n_items).astype(np.float32)
        self._trained_users = np.unique(train.user).astype(np.int64)
        sampler = NegativeSampler(train.n_items, None, train.user, train.item)
        users = torch.from_numpy(train.user.astype(np.int64))
        items = torch.from_numpy(train.item.astype(np.int64))
        k = cfg.negatives

        def make_batch(batch: torch.Tensor, part: slice) -> tuple[torch.Tensor, ...]:
            """(users, items, labels) of this rank's share: each positive, then its negatives.

            (b * (1 + negatives),) int64, int64 and float32 (1 for positives, 0 for negatives).
            """
            batch_users = users[batch]
            # Negatives for the whole global batch on every rank keep the generators in step.
            neg = sampler.sample(batch_users.repeat_interleave(k), gen).view(-1, k)
            u, pos, neg = batch_users[part], items[batch][part], neg[part].reshape(-1)
            labels = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
            return torch.cat([u, u.repeat_interleave(k)]), torch.cat([pos, neg]), labels

        self._device = trainer.device
        self._net = NeuMFNet(
            train.n_users,
            train.n_items,
            cfg.gmf_dim,
            cfg.mlp_dim,
            tuple(cfg.mlp_layers),
            cfg.init_std,
            gen,
        )
        self.history = trainer.run(
            self._net,
            make_batch=make_batch,
            loss=partial(_bce_loss, reg=cfg.reg),
            score_fn=self.score,
            unit="pairs",
        )
        net = self._net  # kept for score()
        self.user_factors = as_numpy(torch.cat([net.gmf_user.weight, net.mlp_user.weight], 1))
        self.item_factors = as_numpy(torch.cat([net.gmf_item.weight, net.mlp_item.weight], 1))

    # -- after fit --------------------------------------------------------------------------------
    def score(self, users: np.ndarray) -> np.ndarray:
        """Logits of every item: (len(users), n_items) float32, in memory-bounded chunks."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        chunk = max(1, self.config.score_pairs // max(self.n_items, 1))
        out = np.empty((len(users), self.n_items), np.float32)
        for start in range(0, len(users), chunk):
            u = torch.as_tensor(users[start : start + chunk], device=self._device)
            out[start : start + chunk] = self._net.score_all(u).float().cpu().numpy()
        return out

    @property
    def item_embeddings(self) -> np.ndarray | None:
        """(n_items, gmf_dim + mlp_dim): the GMF item embedding, then the MLP one."""
        return getattr(self, "item_factors", None)

    def network_arrays(self) -> dict[str, np.ndarray]:
        """The trained network as float32 numpy arrays (layout in :mod:`recsys._neumf_numpy`)."""
        self._check_fitted()
        return export_network(self._net, self._trained_users)

    def fold_in_state(self) -> FoldIn:
        """Gradient fold-in of the user's GMF and MLP embeddings with the network frozen."""
        self._check_fitted()
        cfg = self.config
        return FoldIn(
            "neumf",
            popularity=self.item_counts,
            network=self.network_arrays(),
            params={
                "threshold": self.threshold,
                "fold_in_steps": cfg.fold_in.steps,
                "fold_in_lr": cfg.fold_in.lr,
                "fold_in_negatives": cfg.fold_in.negatives,
                "fold_in_reg": cfg.fold_in.reg,
                "seed": self._seed,
            },
        )


def export_network(net: NeuMFNet, trained_users: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``net``'s weights as float32 numpy arrays, named as :mod:`recsys._neumf_numpy` expects.

    ``gmf_user_mean``/``mlp_user_mean`` average the users in ``trained_users`` (all users when
    None): users without training data keep their random initialisation and would bias it.
    """
    gmf_user, mlp_user = as_numpy(net.gmf_user.weight), as_numpy(net.mlp_user.weight)
    if trained_users is not None and len(trained_users):
        gmf_user, mlp_user = gmf_user[trained_users], mlp_user[trained_users]
    network = {
        "gmf_item": as_numpy(net.gmf_item.weight),
        "mlp_item": as_numpy(net.mlp_item.weight),
        "gmf_user_mean": gmf_user.mean(axis=0),
        "mlp_user_mean": mlp_user.mean(axis=0),
        "out_weight": as_numpy(net.out.weight).ravel(),
        "out_bias": as_numpy(net.out.bias).ravel(),
    }
    for layer, lin in enumerate(net.mlp):
        network[f"mlp_weight_{layer}"] = as_numpy(lin.weight)
        network[f"mlp_bias_{layer}"] = as_numpy(lin.bias)
    return network
