"""The training loop of the gradient models (bpr, mf, ncf): one trainer, their networks plug in.

A model keeps its ``nn.Module`` (parameters, initialisation, ``forward``) and hands
:meth:`TorchTrainer.run` only what differs between models:

- the network, initialised with the trainer's seeded generator ``trainer.gen``;
- ``make_batch(batch, part)``: the tensors of one global batch (indices into the training
  examples) restricted to this process's share ``part`` (:func:`shard_batches`); this is where
  negatives are sampled;
- ``loss(net, *tensors)``: the scalar training loss of one batch.

The trainer owns the rest: the device, Adam, shuffled epochs, per-epoch timing, data-parallel
training under torchrun (:mod:`recsys.distributed`), the checkpointed state (parameters, Adam
moments, generator) and :func:`recsys.training.run_epochs` (early stopping, checkpoints, resume,
callbacks, history).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from . import distributed
from .data import Interactions
from .errors import ConfigError
from .training import fit_fingerprint, resolve_device, run_epochs, torch_seed, validation_ndcg

if TYPE_CHECKING:
    from .models.base import FitContext, Recommender

__all__ = ["TorchTrainer", "NegativeSampler", "shard_batches", "as_numpy"]

log = logging.getLogger(__name__)

# make_batch(global batch indices (B,) int64, slice of this rank's share) -> batch tensors
BatchFn = Callable[[torch.Tensor, slice], tuple[torch.Tensor, ...]]
# loss(net, *batch tensors on the device) -> scalar tensor
LossFn = Callable[..., torch.Tensor]


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
        smaller than ``world_size`` is skipped so that every rank steps equally often
        (:func:`recsys.distributed.shard_weights` follows the same rule).
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


def as_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor (parameters included) as a float32 numpy array on the CPU, detached from autograd."""
    return t.detach().cpu().numpy().astype(np.float32)


def _make_adam(net: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam over all parameters, fused where this torch build has a fused kernel for the device.

    The fused step is several times faster than the default loop over tensors on CPU (one pass
    instead of ten over every embedding table); it is deterministic, like the loop.
    """
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(net.parameters(), lr=lr)


def _training_state(
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


def _load_training_state(
    net: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, state: dict[str, np.ndarray]
) -> None:
    """Restore what :func:`_training_state` returned (parameters, optimiser state, generator)."""
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


def _train_batches(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    batches: Iterable[tuple[torch.Tensor, ...]],
    loss_fn: LossFn,
    device: str,
    weights: Iterable[float] | None = None,
) -> tuple[torch.Tensor, int]:
    """One optimiser step per batch; returns (example-weighted loss sum, examples seen).

    ``loss_fn(net, *batch)`` gets the batch tensors already on ``device``. Under DDP each
    batch's loss is multiplied by its ``weights`` entry (:func:`recsys.distributed.shard_weights`)
    before the backward pass; the reported sum is of the unscaled losses. The sum stays on the
    device and is read once by the caller, so a GPU is not synchronised every step. It is float64
    under DDP (it is then reduced over ranks); a single process keeps the float32 sum it has
    always reported, so its histories stay bit-identical.
    """
    scales = iter(weights) if weights is not None else None
    total = torch.zeros((), dtype=torch.float32 if scales is None else torch.float64, device=device)
    seen = 0
    for batch in batches:
        batch = tuple(t.to(device, non_blocking=True) for t in batch)
        loss = loss_fn(net, *batch)
        opt.zero_grad(set_to_none=True)
        (loss if scales is None else loss * next(scales)).backward()
        opt.step()
        total += loss.detach().to(total.dtype) * len(batch[0])
        seen += len(batch[0])
    return total, seen


class TorchTrainer:
    """One ``fit`` of a torch model: its device, its seeded generator and the epoch loop.

    Create it at the start of ``_fit`` (it resolves ``ctx.device``, on this rank under torchrun,
    and seeds ``gen``), build the network with ``trainer.gen`` and call :meth:`run`. The model's
    config must have ``epochs``, ``lr``, ``batch_size`` and ``patience``.

    Attributes:
        device: the torch device this process trains on.
        gen: CPU generator for initialisation and sampling: the same numbers on every device.
    """

    def __init__(self, model: Recommender, train: Interactions, ctx: FitContext):
        self.model = model
        self.train = train
        self.ctx = ctx
        self.device = distributed.rank_device(resolve_device(ctx.device))
        self.gen = torch_seed(ctx.seed, "cpu")

    def net_scores(self, net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
        """(n,) user codes -> ``net.score_all`` of them on :attr:`device`, as (n, n_items) float32
        numpy: the ``score_fn`` of a network that scores every item in one call."""

        def score(users: np.ndarray) -> np.ndarray:
            u = torch.as_tensor(np.asarray(users, np.int64), device=self.device)
            return net.score_all(u).float().cpu().numpy()

        return score

    def run(
        self,
        net: nn.Module,
        *,
        make_batch: BatchFn,
        loss: LossFn,
        score_fn: Callable[[np.ndarray], np.ndarray],
        unit: str = "examples",
        valid_fn: Callable[[], float] | None = None,
        valid_name: str = "valid_ndcg@10",
    ) -> list[dict[str, float]]:
        """Train ``net`` (moved to :attr:`device`) for up to ``config.epochs``; returns the history.

        Args:
            net: the model's module; its parameters end as the best epoch's (early stopping).
            make_batch: tensors of one batch's share, from (global batch indices, share slice).
            loss: scalar loss of ``net`` on one batch's tensors.
            score_fn: (n,) user codes -> (n, n_items) scores, for validation NDCG@10.
            unit: what one training example is, for the throughput log ("triples", "ratings").
            valid_fn: validation value (higher is better) instead of NDCG@10 of ``score_fn``.
            valid_name: the history key of the validation value.
        """
        model, train, ctx, cfg, gen = self.model, self.train, self.ctx, self.model.config, self.gen
        net.to(self.device)
        opt = _make_adam(net, cfg.lr)
        run_epoch = self._epoch_runner(net, opt, make_batch, loss)

        def step(epoch: int) -> dict[str, float]:
            start = time.perf_counter()
            mean_loss, seen = run_epoch()
            rate = seen / (time.perf_counter() - start)
            log.debug("%s epoch %d: %.0f %s/s", model.name, epoch + 1, rate, unit)
            return {"loss": mean_loss}

        # Under torchrun validation runs on rank 0 and is broadcast, so every rank takes the same
        # early-stopping decision; in a single process from_rank0 just calls it.
        validate = valid_fn or (lambda: validation_ndcg(score_fn, train, ctx.valid))
        with distributed.rank_context(ctx) as run_ctx:
            return run_epochs(
                name=model.name,
                n_epochs=cfg.epochs,
                step=step,
                get_state=lambda: _training_state(net, opt, gen),
                set_state=lambda s: _load_training_state(net, opt, gen, s),
                score_fn=score_fn,
                train=train,
                ctx=run_ctx,
                patience=cfg.patience,
                fingerprint=fit_fingerprint(model, train, ctx.seed),
                valid_fn=lambda: distributed.from_rank0(validate),
                valid_name=valid_name,
            )

    def _epoch_runner(
        self, net: nn.Module, opt: torch.optim.Optimizer, make_batch: BatchFn, loss: LossFn
    ) -> Callable[[], tuple[float, int]]:
        """``run()`` -> (mean loss, examples) of one epoch, over all ranks under torchrun.

        Under torchrun the network is wrapped in DistributedDataParallel and each rank trains on
        its share of every global batch, with the loss scaled so that the averaged gradient is
        the global batch's (:mod:`recsys.distributed`).
        """
        n, batch_size = len(self.train), self.model.config.batch_size
        rank, world = distributed.rank(), distributed.world_size()
        if world > 1:
            if batch_size < world:
                raise ConfigError(f"batch_size {batch_size} is smaller than the {world} processes")
            net = distributed.wrap(net, self.device)

        def run() -> tuple[float, int]:
            weights = distributed.shard_weights(n, batch_size, rank, world) if world > 1 else None
            batches = (
                make_batch(batch, part)
                for batch, part in shard_batches(n, batch_size, self.gen, rank, world)
            )
            total, seen = _train_batches(net, opt, batches, loss, self.device, weights)
            total, seen = distributed.sum_over_ranks(total, seen)
            return (total / seen if seen else 0.0), seen

        return run
