"""BPR-MF: matrix factorisation trained with Bayesian Personalised Ranking (Rendle et al. 2009).

``score(u, i) = p_u . q_i + b_i``. Each training step takes (user, positive, negative) triples and
minimises ``-log sigmoid(x_ui - x_uj)`` plus L2 on the parameters the batch touched. Negatives are
drawn uniformly or in proportion to ``count ** pop_exponent``, and a draw that hits one of the
user's positives is redrawn.

This file also holds the small torch helpers the gradient models share (:mod:`.mf` and
:mod:`.ncf` import them): sharded epoch batches, the negative sampler, and the training state
(parameters, Adam moments, generator) as numpy arrays for checkpoints.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import distributed
from ..data import Interactions
from ..errors import ConfigError
from ..foldin import FoldIn
from ..search_space import Choice, FloatParam, IntParam
from ..training import resolve_device, run_epochs, torch_seed, validation_ndcg
from .base import FitContext, Recommender

__all__ = [
    "BPR",
    "BPRConfig",
    "ConfidenceFoldIn",
    "BPRNet",
    "NegativeSampler",
    "shard_batches",
    "train_batches",
    "epoch_trainer",
    "distributed_valid_fn",
    "make_adam",
    "training_state",
    "load_training_state",
    "fit_fingerprint",
    "check_positive",
]

log = logging.getLogger(__name__)


# -- helpers shared by the torch models ----------------------------------------------------------
def shard_batches(
    n: int, batch_size: int, gen: torch.Generator, rank: int = 0, world_size: int = 1
) -> Iterator[tuple[torch.Tensor, slice]]:
    """One epoch of shuffled mini-batches over ``n`` examples, and this rank's share of each.

    Every rank draws the same permutation (its generator holds the same state), cuts it into
    global batches of ``batch_size`` and keeps the ``rank``-th of ``world_size`` near-equal
    contiguous parts. The whole global batch is yielded with the slice of this rank's part so
    that per-batch sampling (negatives) is done for the whole batch on every rank: generators stay
    in step across ranks and the samples do not depend on ``world_size``. With data-parallel
    gradient averaging the effective batch is ``batch_size`` whatever the world size.

    Yields:
        (global batch indices (B,) int64 on CPU, slice of this rank's part of it). A final batch
        smaller than ``world_size`` is skipped so that every rank steps equally often.
    """
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} is outside 0..{world_size - 1}")
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, batch_size):
        batch = perm[start : start + batch_size]
        size = len(batch)
        if size < world_size:
            continue
        yield batch, slice(size * rank // world_size, size * (rank + 1) // world_size)


class NegativeSampler:
    """Draws negative items for users, vectorised, from a CPU generator.

    Args:
        n_items: size of the item code range.
        weights: (n_items,) non-negative sampling weights, or None for uniform.
        positive_users, positive_items: (n,) codes of the known positives; when given, a draw
            that is one of the user's positives is redrawn, up to ``max_rounds`` times. What still
            collides after that is kept (only a user with nearly every item can get there).
    """

    def __init__(
        self,
        n_items: int,
        weights: np.ndarray | None = None,
        positive_users: np.ndarray | None = None,
        positive_items: np.ndarray | None = None,
        max_rounds: int = 20,
    ):
        self.n_items = n_items
        self.max_rounds = max_rounds
        self.cdf: torch.Tensor | None = None
        if weights is not None:
            w = np.asarray(weights, np.float64)
            if w.shape != (n_items,) or (w < 0).any() or w.sum() <= 0:
                raise ConfigError(
                    "sampling weights must be n_items non-negative numbers, not all 0"
                )
            cdf = np.cumsum(w) / w.sum()
            cdf[-1] = 1.0  # rounding must not leave a gap above the last item
            self.cdf = torch.from_numpy(cdf)
        self.keys: torch.Tensor | None = None
        if positive_users is not None and positive_items is not None:
            keys = positive_users.astype(np.int64) * n_items + positive_items.astype(np.int64)
            self.keys = torch.from_numpy(np.unique(keys))  # sorted, for searchsorted

    def draw(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` item codes from the sampling distribution, ignoring positives: (n,) int64."""
        if self.cdf is None:
            return torch.randint(0, self.n_items, (n,), generator=gen)
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        # right=True skips zero-weight items, whose cdf step is empty.
        return torch.searchsorted(self.cdf, u, right=True).clamp_max_(self.n_items - 1)

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (user, item) pair is a known positive: (n,) bool."""
        if self.keys is None or len(self.keys) == 0:
            return torch.zeros(len(users), dtype=torch.bool)
        query = users.long() * self.n_items + items
        pos = torch.searchsorted(self.keys, query).clamp_max_(len(self.keys) - 1)
        return self.keys[pos] == query

    def sample(self, users: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One negative per entry of ``users`` (B,) int64 on CPU: (B,) int64."""
        neg = self.draw(len(users), gen)
        if self.keys is None:
            return neg
        for _ in range(self.max_rounds):
            redo = self.is_positive(users, neg).nonzero().squeeze(1)
            if len(redo) == 0:
                break
            neg[redo] = self.draw(len(redo), gen)
        return neg


def train_batches(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    batches: Iterable[tuple[torch.Tensor, ...]],
    loss_fn: Callable[..., torch.Tensor],
    device: str,
) -> tuple[float, int]:
    """One optimiser step per batch; returns (example-weighted mean loss, examples seen).

    ``loss_fn(net, *batch)`` gets the batch tensors already on ``device``. The loss is summed on
    the device and read once at the end, so a GPU is not synchronised every step.
    """
    total = torch.zeros((), device=device)
    seen = 0
    for batch in batches:
        batch = tuple(t.to(device, non_blocking=True) for t in batch)
        loss = loss_fn(net, *batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach() * len(batch[0])
        seen += len(batch[0])
    return (float(total) / seen if seen else 0.0), seen


def epoch_trainer(
    model: Recommender, loss_fn: Callable[..., torch.Tensor], device: str
) -> Callable[[], tuple[float, int]]:
    """``run()`` -> (mean loss, examples): one epoch of ``model._net`` with ``model._opt``.

    A single process runs :func:`train_batches` over ``model._epoch_batches()``. Under torchrun
    (:mod:`recsys.distributed`) the network is wrapped in DistributedDataParallel, each rank
    trains on its share of every global batch (``_epoch_batches(rank, world_size)``) with the
    loss scaled so that the averaged gradient is the global batch's, and the loss is summed over
    ranks. The model must hold ``_net``, ``_opt``, ``_users`` and ``config.batch_size``.
    """
    if not distributed.is_distributed():
        return lambda: train_batches(
            model._net, model._opt, model._epoch_batches(), loss_fn, device
        )
    rank, world = distributed.rank(), distributed.world_size()
    if model.config.batch_size < world:
        raise ConfigError(
            f"batch_size {model.config.batch_size} is smaller than the {world} processes"
        )
    ddp = distributed.wrap(model._net, device)
    n = len(model._users)

    def run() -> tuple[float, int]:
        weights = distributed.shard_weights(n, model.config.batch_size, rank, world)
        batches = model._epoch_batches(rank, world)
        return distributed.train_batches(ddp, model._opt, batches, weights, loss_fn, device)

    return run


def distributed_valid_fn(
    valid_fn: Callable[[], float] | None,
    score_fn: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    ctx: FitContext,
) -> Callable[[], float] | None:
    """``valid_fn`` unchanged for a single process; under torchrun, computed on rank 0 only.

    The value (``valid_fn()``, or NDCG@10 of ``score_fn`` when it is None) is broadcast, so every
    rank takes the same early-stopping decision.
    """
    if not distributed.is_distributed():
        return valid_fn
    base = valid_fn or (lambda: validation_ndcg(score_fn, train, ctx.valid))
    return lambda: distributed.from_rank0(base)


def make_adam(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam over all parameters, fused where this torch build has a fused kernel for the device.

    The fused step is several times faster than the default loop over tensors on CPU (one pass
    instead of ten over every embedding table); it is deterministic, like the loop.
    """
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(net.parameters(), lr=lr)


def training_state(
    net: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator
) -> dict[str, np.ndarray]:
    """Everything needed to continue training exactly, as plain numpy arrays.

    Keys: ``param.<name>`` (the module's parameters), ``optim.<i>.<key>`` (the optimiser's
    per-parameter state, e.g. Adam's ``step``, ``exp_avg``, ``exp_avg_sq``) and ``generator``
    (the sampling generator's state, uint8).
    """
    state = {f"param.{k}": v.detach().cpu().numpy().copy() for k, v in net.named_parameters()}
    for i, entry in opt.state_dict()["state"].items():
        for key, value in entry.items():
            arr = (
                value.detach().cpu().numpy().copy() if torch.is_tensor(value) else np.asarray(value)
            )
            state[f"optim.{i}.{key}"] = arr
    state["generator"] = gen.get_state().numpy().copy()
    return state


def load_training_state(
    net: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, state: dict[str, np.ndarray]
) -> None:
    """Restore what :func:`training_state` returned (parameters, optimiser state, generator)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(np.array(state[f"param.{name}"])))
    optim_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key.startswith("optim."):
            _, index, field = key.split(".", 2)
            optim_state.setdefault(int(index), {})[field] = torch.from_numpy(np.array(value))
    sd = opt.state_dict()
    sd["state"] = optim_state
    # load_state_dict moves the moments to each parameter's device and dtype.
    opt.load_state_dict(sd)
    gen.set_state(torch.from_numpy(np.array(state["generator"], dtype=np.uint8)))


# Config fields that do not change the training trajectory: a checkpoint may be resumed with
# other values (``epochs`` so that a finished run can be extended).
_NOT_TRAJECTORY = ("epochs", "patience", "score_pairs")


def fit_fingerprint(model: Recommender, train: Interactions, seed: int) -> dict:
    """What a checkpoint must match to be resumed: the training config, seed and data shape.

    Left out: ``epochs``, ``patience``, ``score_pairs`` and the ``fold_in`` settings, which
    do not change the parameters an epoch produces.
    """
    config = {
        k: v
        for k, v in dataclasses.asdict(model.config).items()
        if k not in _NOT_TRAJECTORY and not k.startswith("fold_in")
    }
    return {
        "model": model.name,
        "config": config,
        "seed": int(seed),
        "data": [int(train.n_users), int(train.n_items), len(train)],
    }


def check_positive(cfg, *names: str) -> None:
    """ConfigError unless every named field of ``cfg`` is > 0."""
    for name in names:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"{name} must be > 0, got {getattr(cfg, name)!r}")


# -- the model ------------------------------------------------------------------------------------
@dataclass
class ConfidenceFoldIn:
    """Fold-in of a new user by the iALS user step on item factors trained otherwise (BPR).

    BPR factors are not scaled for that solve, so its weights are settings of their own.
    """

    # Ridge weight of the solve; BPR factors are not scaled for it, so it needs tuning (30 beat
    # 3 and 10 with the 128-factor defaults).
    reg: float = 30.0
    # Weight of the rated items in the solve.
    alpha: float = 20.0
    # Weight of the unrated items (the implicit "everything else is weakly negative").
    unobserved_weight: float = 1.0
    # Weight of a visitor's low rating (a confident negative with target 0).
    negative_weight: float = 0.0


@dataclass
class BPRConfig:
    """BPR hyper-parameters.

    factors, reg, epochs and fold_in.reg were chosen by hand on the ``users`` protocol's
    validation split of ml-latest-small (validation NDCG@10 0.256 vs 0.234 for the previous
    64 factors / reg 1e-5, and 0.280 for iALS's defaults); ``evaluate --tune`` searches further.
    """

    # Wider than iALS: BPR's sampled ranking loss uses the width (128 beat 64 and 256).
    factors: int = 128
    # A pass over the positives per epoch; at this lr validation peaks after ~30, so early
    # stopping needs room above that.
    epochs: int = 60
    # Adam step size: large enough to converge in tens of epochs at batch 4096.
    lr: float = 0.003
    # L2 on the batch's parameters; BPR overfits popular items without a little (1e-4 beat 1e-5
    # and 3e-4 with 128 factors).
    reg: float = 1e-4
    # Big batches keep a CPU busy and are cheap on GPU; BPR is not sensitive to it.
    batch_size: int = 4096
    # "uniform" (Rendle et al.) or "popularity" (harder negatives, counters popularity bias).
    negative_sampling: str = "popularity"
    # Exponent on item counts for "popularity" sampling (word2vec's 0.75 flattens the head).
    pop_exponent: float = 0.75
    # Redraw negatives that are positives of the user: they would teach the opposite of the data.
    exclude_positives: bool = True
    # Std of the normal initialisation; small so early dot products do not saturate the sigmoid.
    init_std: float = 0.1
    # Epochs without validation improvement before stopping (run_epochs' rule).
    patience: int = 3
    # Fold-in uses the iALS user step on the BPR item factors (FoldIn "confidence").
    fold_in: ConfidenceFoldIn = field(default_factory=ConfidenceFoldIn)


class BPRNet(nn.Module):
    """BPR-MF parameters.

    ``user`` (n_users, d), ``item`` (n_items, d) and ``item_bias`` (n_items, 1) embeddings.

    ``forward(users, pos, neg)`` returns what the BPR loss needs (a DistributedDataParallel
    wrapper must see the whole loss input come out of ``forward``).
    """

    def __init__(
        self, n_users: int, n_items: int, factors: int, init_std: float, gen: torch.Generator
    ):
        super().__init__()
        self.user = nn.Embedding(n_users, factors)
        self.item = nn.Embedding(n_items, factors)
        self.item_bias = nn.Embedding(n_items, 1)
        with torch.no_grad():
            nn.init.normal_(self.user.weight, 0.0, init_std, generator=gen)
            nn.init.normal_(self.item.weight, 0.0, init_std, generator=gen)
            self.item_bias.weight.zero_()

    def forward(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_ui - x_uj (B,), squared L2 norm of the gathered parameters (B,)) for (B,) codes."""
        # One lookup for positives and negatives: each embedding backward costs a full-table pass.
        items = torch.cat([pos, neg])
        pu, q, b = self.user(users), self.item(items), self.item_bias(items).squeeze(-1)
        qi, qj = q.chunk(2)
        bi, bj = b.chunk(2)
        diff = (pu * (qi - qj)).sum(-1) + bi - bj
        sq = pu.square().sum(-1) + (q.square().sum(-1) + b.square()).view(2, -1).sum(0)
        return diff, sq

    @torch.no_grad()
    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for (n,) user codes: (n, n_items)."""
        return self.user(users) @ self.item.weight.T + self.item_bias.weight.T


def _bpr_loss(net: nn.Module, users, pos, neg, *, reg: float) -> torch.Tensor:
    diff, sq = net(users, pos, neg)
    return -F.logsigmoid(diff).mean() + reg * sq.mean()


class BPR(Recommender):
    """BPR-MF with item bias; every training interaction is a positive.

    After ``fit``: ``user_factors`` (n_users, d), ``item_factors`` (n_items, d), ``item_bias``
    (n_items,) and ``item_counts`` (n_items,), all float32 numpy.
    """

    name = "bpr"
    kind = "implicit"
    Config = BPRConfig
    iterative = True
    epochs_field = "epochs"
    data_parallel = True
    has_item_embeddings = True
    search_space = {
        "factors": IntParam(16, 256, log=True),
        "lr": FloatParam(1e-4, 0.1),
        "reg": FloatParam(1e-7, 1e-1),
        "negative_sampling": Choice(("uniform", "popularity")),
        "fold_in.reg": FloatParam(1e-3, 100.0),
        "fold_in.alpha": FloatParam(0.3, 100.0),
        "fold_in.unobserved_weight": FloatParam(1e-3, 10.0),
        "fold_in.negative_weight": FloatParam(0.0, 3.0, log=False),
    }

    def _fit(self, train: Interactions, ctx: FitContext) -> None:
        cfg = self.config
        check_positive(cfg, "factors", "epochs", "lr", "batch_size", "init_std", "patience")
        if cfg.negative_sampling not in ("uniform", "popularity"):
            raise ConfigError(
                "negative_sampling must be 'uniform' or 'popularity', "
                f"got {cfg.negative_sampling!r}"
            )
        if len(train) == 0:
            raise ConfigError("bpr needs at least one training interaction")
        device = distributed.rank_device(resolve_device(ctx.device))
        # Sampling and initialisation use one CPU generator: the same numbers on every device.
        gen = torch_seed(ctx.seed, "cpu")
        self.item_counts = np.bincount(train.item, minlength=train.n_items).astype(np.float32)
        weights = None
        if cfg.negative_sampling == "popularity":
            weights = self.item_counts.astype(np.float64) ** cfg.pop_exponent
        pos_u, pos_i = (train.user, train.item) if cfg.exclude_positives else (None, None)
        self._sampler = NegativeSampler(train.n_items, weights, pos_u, pos_i)
        self._users = torch.from_numpy(train.user.astype(np.int64))
        self._items = torch.from_numpy(train.item.astype(np.int64))
        self._gen = gen
        self._net = BPRNet(train.n_users, train.n_items, cfg.factors, cfg.init_std, gen).to(device)
        self._opt = make_adam(self._net, cfg.lr)
        self._device = device

        run_epoch = epoch_trainer(
            self, lambda net, u, i, j: _bpr_loss(net, u, i, j, reg=cfg.reg), device
        )

        def step(epoch: int) -> dict[str, float]:
            start = time.perf_counter()
            loss, seen = run_epoch()
            log.debug(
                "bpr epoch %d: %.0f triples/s", epoch + 1, seen / (time.perf_counter() - start)
            )
            return {"loss": loss}

        with distributed.rank_context(ctx) as run_ctx:
            self.history = run_epochs(
                name=self.name,
                n_epochs=cfg.epochs,
                step=step,
                get_state=lambda: training_state(self._net, self._opt, self._gen),
                set_state=lambda s: load_training_state(self._net, self._opt, self._gen, s),
                score_fn=self._score_torch,
                train=train,
                ctx=run_ctx,
                patience=cfg.patience,
                fingerprint=fit_fingerprint(self, train, ctx.seed),
                valid_fn=distributed_valid_fn(None, self._score_torch, train, ctx),
            )
        net = self._net
        self.user_factors = net.user.weight.detach().cpu().numpy().astype(np.float32)
        self.item_factors = net.item.weight.detach().cpu().numpy().astype(np.float32)
        self.item_bias = net.item_bias.weight.detach().cpu().numpy().ravel().astype(np.float32)
        # The numpy factors are the model from here on; free the training objects.
        del self._net, self._opt, self._sampler, self._users, self._items

    def _epoch_batches(
        self, rank: int = 0, world_size: int = 1
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """This rank's (users, positives, negatives) batches of one epoch, (b,) int64 on CPU."""
        for batch, part in shard_batches(
            len(self._users), self.config.batch_size, self._gen, rank, world_size
        ):
            users = self._users[batch]
            neg = self._sampler.sample(users, self._gen)
            yield users[part], self._items[batch][part], neg[part]

    def _score_torch(self, users: np.ndarray) -> np.ndarray:
        u = torch.as_tensor(np.asarray(users, np.int64), device=self._device)
        return self._net.score_all(u).float().cpu().numpy()

    # -- after fit --------------------------------------------------------------------------------
    def score(self, users: np.ndarray) -> np.ndarray:
        """``p_u . q_i + b_i`` for every item: (len(users), n_items) float32."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        return (self.user_factors[users] @ self.item_factors.T + self.item_bias).astype(np.float32)

    @property
    def item_embeddings(self) -> np.ndarray | None:
        return getattr(self, "item_factors", None)

    def fold_in_state(self) -> FoldIn:
        """iALS user step on the BPR item factors; scores add the item bias."""
        self._check_fitted()
        cfg = self.config
        return FoldIn(
            "confidence",
            popularity=self.item_counts,
            item_factors=self.item_factors,
            item_bias=self.item_bias,
            params={
                "reg": cfg.fold_in.reg,
                "alpha": cfg.fold_in.alpha,
                "unobserved_weight": cfg.fold_in.unobserved_weight,
                "reg_exponent": 0.0,
                "negative_weight": cfg.fold_in.negative_weight,
                "threshold": self.threshold,
            },
        )
