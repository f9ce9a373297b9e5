"""Data-parallel training of the gradient models (bpr, mf, ncf) with DistributedDataParallel.

The one place that knows about process groups: :class:`recsys.torch_training.TorchTrainer` calls
these hooks (the models themselves never do), and the CLI joins and leaves the group.

Launched by ``torchrun``, which sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in every process:
:func:`init_from_env` joins the process group (NCCL with one GPU per ``LOCAL_RANK``, else gloo on
CPU). Without those variables nothing here is used and training is the single process it always
was.

How a run is split, for a world of ``W`` processes:

- **data**: every rank holds the whole training set and the same seeded generator; each epoch all
  ranks draw the same permutation and the same negatives for each global batch
  (:func:`recsys.torch_training.shard_batches`) and each keeps its ``1/W`` share;
- **gradients**: DDP averages them over ranks; each rank's loss (a mean over its share) is scaled
  by ``W * share / global batch`` first (:func:`shard_weights`), so the averaged gradient is the
  one a single process gets from the mean over the whole global batch, uneven last batch
  included: the update is the single-process update up to float rounding;
- **decisions**: validation is computed on rank 0 and broadcast (:func:`from_rank0`), so early
  stopping keeps the same epoch everywhere; the epoch loss is summed over ranks;
- **files**: only rank 0 writes checkpoints and artifacts (:func:`rank_context`); a resumed run
  hands rank 0's checkpoint to the other ranks through the process group, so they need no shared
  file system.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import inspect
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

__all__ = [
    "env_world_size",
    "init_from_env",
    "shutdown",
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "barrier",
    "from_rank0",
    "rank_device",
    "wrap",
    "sum_over_ranks",
    "shard_weights",
    "rank_context",
    "arrays_equal_across_ranks",
]

log = logging.getLogger(__name__)

# Long enough for rank 0 to run a validation pass or write an artifact while the others wait.
_TIMEOUT = datetime.timedelta(minutes=30)


def env_world_size() -> int:
    """``WORLD_SIZE`` as set by torchrun (1 when not launched by it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes; False (and nothing done) for a single process.

    The backend is NCCL when ``device`` is ``"auto"`` or ``"cuda..."`` and CUDA is available (each
    process then uses GPU ``LOCAL_RANK``), else gloo.
    """
    import torch
    import torch.distributed as dist

    if env_world_size() <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device in ("auto",) or device.startswith("cuda")
    if use_cuda and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        dist.init_process_group(
            "nccl", timeout=_TIMEOUT, device_id=torch.device("cuda", local_rank)
        )
    else:
        dist.init_process_group("gloo", timeout=_TIMEOUT)
    log.info(
        "rank %d of %d joined (%s backend)", dist.get_rank(), dist.get_world_size(),
        dist.get_backend(),
    )  # fmt: skip
    return True


def shutdown() -> None:
    """Leave the process group (a no-op when none was joined)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """Whether a process group of more than one process is active."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 for a single process)."""
    import torch.distributed as dist

    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes (1 for a single process)."""
    import torch.distributed as dist

    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0 and in a single process: the one process that writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (a no-op for a single process)."""
    import torch.distributed as dist

    if is_distributed():
        dist.barrier()


def _comm_device() -> str:
    import torch
    import torch.distributed as dist

    return f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"


def from_rank0(fn: Callable[[], float]) -> float:
    """``fn()`` computed on rank 0 only and broadcast: every rank gets the same float."""
    import torch
    import torch.distributed as dist

    if not is_distributed():
        return float(fn())
    value = torch.zeros(1, dtype=torch.float64, device=_comm_device())
    if dist.get_rank() == 0:
        value.fill_(float(fn()))
    dist.broadcast(value, src=0)
    return float(value.item())


def rank_device(device: str) -> str:
    """The device this rank trains on: ``"cuda"`` becomes ``"cuda:LOCAL_RANK"`` under torchrun."""
    if device == "cuda" and is_distributed():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def wrap(net, device: str):
    """``net`` (already on ``device``) inside DistributedDataParallel.

    Buffers (MF's global mean) are constants, so they are not re-broadcast every forward.
    """
    import torch
    from torch.nn.parallel import DistributedDataParallel

    dev = torch.device(device)
    ids = None
    if dev.type == "cuda":
        ids = [dev.index if dev.index is not None else torch.cuda.current_device()]
    # torch 2.13 renamed the per-forward buffer broadcast switch; older releases know the old one.
    params = inspect.signature(DistributedDataParallel.__init__).parameters
    sync = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return DistributedDataParallel(net, device_ids=ids, **{sync: False})


def shard_weights(n: int, batch_size: int, rank: int, world_size: int) -> Iterator[float]:
    """Loss scale of each of this rank's batches, in the order ``shard_batches`` yields them.

    ``world_size * share / global batch``: 1 when the global batch splits evenly. DDP divides the
    summed gradients by ``world_size``, so scaled per-rank means add up to the global mean.
    """
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        if size < world_size:
            continue  # shard_batches skips it too
        share = size * (rank + 1) // world_size - size * rank // world_size
        yield world_size * share / size


def sum_over_ranks(total, count: int) -> tuple[float, int]:
    """``(total, count)`` summed over all ranks: a loss sum (0-d tensor) and its example count.

    Every rank gets the same sums, so every rank logs and checkpoints the same history. In a
    single process the values come back as (float, int) unchanged.
    """
    import torch
    import torch.distributed as dist

    if not is_distributed():
        return float(total), int(count)
    sums = torch.stack([total.double(), torch.tensor(float(count), dtype=torch.float64)])
    sums = sums.to(_comm_device())
    dist.all_reduce(sums)
    loss_sum, n = (float(v) for v in sums.cpu())
    return loss_sum, int(n)


@contextlib.contextmanager
def rank_context(ctx):
    """The :class:`~recsys.models.base.FitContext` this rank runs ``run_epochs`` with.

    Rank 0 gets ``ctx`` unchanged. The other ranks get no progress bar and no checkpoint
    directory, so they write nothing. When ``ctx.resume`` is set, rank 0's checkpoint files are
    broadcast to them and unpacked into a private temporary directory that they resume from (and
    go on checkpointing into, as ``run_epochs`` does; it is removed on exit), so every rank
    restarts from the same epoch, state and early-stopping counters.
    Must be entered by all ranks together (it is a collective when resuming).
    """
    import torch.distributed as dist

    if not is_distributed():
        yield ctx
        return
    payload: list = [None]
    if ctx.checkpoint_dir and ctx.resume:
        if dist.get_rank() == 0:
            files = {}
            for name in ("checkpoint.npz", "checkpoint.json"):
                path = Path(ctx.checkpoint_dir) / name
                if path.exists():
                    files[name] = path.read_bytes()
            payload = [files if len(files) == 2 else None]
        dist.broadcast_object_list(payload, src=0, device=_comm_device())
    if dist.get_rank() == 0:
        yield ctx
        return
    tmp = None
    try:
        if payload[0] is not None:
            tmp = tempfile.mkdtemp(prefix=f"recsys-rank{dist.get_rank()}-")
            for name, data in payload[0].items():
                Path(tmp, name).write_bytes(data)
        yield dataclasses.replace(
            ctx, show_progress=False, checkpoint_dir=tmp, resume=tmp is not None
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def arrays_equal_across_ranks(arrays: dict[str, np.ndarray]) -> bool:
    """Whether every rank holds bitwise the same arrays (a debugging and test aid)."""
    import torch
    import torch.distributed as dist

    if not is_distributed():
        return True
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    digest = torch.tensor(
        [int.from_bytes(h.digest()[:7], "little")], dtype=torch.int64, device=_comm_device()
    )
    low, high = digest.clone(), digest.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(low.item() == high.item())
