"""The epoch loop shared by iterative models: progress, early stopping, checkpoints, resume.

A model supplies three callables:

- ``step(epoch) -> dict`` runs one epoch (or ALS iteration) and returns its metrics (``loss``...);
- ``get_state() -> dict[str, np.ndarray]`` returns everything needed to continue training
  (parameters, optimiser moments, RNG state) as plain arrays;
- ``set_state(state)`` restores it.

Early stopping watches NDCG@10 on ``ctx.valid`` (positives held out of train) every epoch, keeps
the best state in memory and restores it at the end. Checkpoints are written atomically
(``checkpoint.npz`` + ``checkpoint.json``, plain data, loaded with ``allow_pickle=False``), so a
killed run resumes from its last completed epoch and, on CPU with the same seed, ends with the
same numbers as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import metrics
from .data import Interactions
from .errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    from .models.base import Recommender

__all__ = [
    "run_epochs",
    "validation_ndcg",
    "resolve_device",
    "torch_seed",
    "fit_fingerprint",
    "check_positive",
]

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
_META_KEY = "__checkpoint_meta__"
_META_FIELDS = ("epoch", "history", "best_score", "best_epoch", "bad_epochs", "fingerprint")


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` if available, else ``"mps"``, else ``"cpu"``; others unchanged."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def torch_seed(seed: int, device: str):
    """A torch Generator on ``device`` seeded with ``seed`` (global torch RNG untouched)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def validation_ndcg(
    score_fn: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    valid: Interactions,
    k: int = 10,
    max_users: int = 2000,
    batch: int = 512,
) -> float:
    """Mean NDCG@k on ``valid`` for users in it, ranking all items minus their train items.

    At most ``max_users`` users (the first by code) are scored, so validation stays cheap on
    large data; the choice is deterministic.
    """
    users = valid.users_present()[:max_users]
    if len(users) == 0:
        return 0.0
    train_csr = train.to_csr()
    valid_csr = valid.to_csr()
    values = []
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        ranked = metrics.top_k(score_fn(chunk), k, exclude=train_csr[chunk])
        rel = valid_csr[chunk]
        n_rel = np.diff(rel.indptr)
        values.append(metrics.ndcg_at_k(metrics.hits_at(ranked, rel), n_rel, k))
    return float(np.mean(np.concatenate(values)))


# Config fields that do not change the parameters an epoch produces: a checkpoint may be resumed
# with other values (the epoch budget, so that a finished run can be extended; the stopping rule;
# scoring's memory bound). Fold-in settings (``fold_in*``) are left out too.
_NOT_TRAJECTORY = ("epochs", "iterations", "patience", "score_pairs")


def fit_fingerprint(model: Recommender, train: Interactions, seed: int) -> dict:
    """What a checkpoint must match to be resumed: model name, training config, seed, data shape.

    Plain JSON data, stored by :func:`run_epochs` in every checkpoint.
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
    """ConfigError unless every named field of the config dataclass ``cfg`` is > 0."""
    for name in names:
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"{name} must be > 0, got {getattr(cfg, name)!r}")


def _save_checkpoint(directory: Path, state: dict[str, np.ndarray], meta: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # Write both files under temporary names, then rename: a kill leaves the old pair intact.
    # The npz also carries the metadata (``_META_KEY``), so it is complete on its own: a kill
    # between the two renames leaves a new npz beside the old json, and loading trusts the npz.
    fd, tmp_npz = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
    os.close(fd)
    tmp_json = None
    try:
        with open(tmp_npz, "wb") as f:
            np.savez(f, **state, **{_META_KEY: np.array(json.dumps(meta))})
        fd, tmp_json = tempfile.mkstemp(dir=directory, suffix=".json.tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(meta, f)
        os.replace(tmp_npz, directory / "checkpoint.npz")
        os.replace(tmp_json, directory / "checkpoint.json")
    finally:  # after a failure (disk full...), leave no temporary files behind
        for tmp in (tmp_npz, tmp_json):
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


def _load_checkpoint(directory: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    meta_path, npz_path = directory / "checkpoint.json", directory / "checkpoint.npz"
    if not meta_path.exists() or not npz_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        with np.load(npz_path, allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
        if _META_KEY in state:  # the metadata saved with these very arrays
            meta = json.loads(str(state.pop(_META_KEY)))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactError(
            f"{directory}: checkpoint is unreadable ({exc}); delete the directory to start over"
        ) from exc
    if not isinstance(meta, dict) or meta.get("version") != CHECKPOINT_VERSION:
        version = meta.get("version") if isinstance(meta, dict) else None
        raise ArtifactError(f"{meta_path}: checkpoint format {version} is not supported")
    missing = sorted(set(_META_FIELDS) - set(meta))
    if missing:
        raise ArtifactError(
            f"{directory}: checkpoint metadata lacks {missing}; delete the directory to start over"
        )
    return state, meta


def run_epochs(
    *,
    name: str,
    n_epochs: int,
    step: Callable[[int], dict[str, float]],
    get_state: Callable[[], dict[str, np.ndarray]],
    set_state: Callable[[dict[str, np.ndarray]], None],
    score_fn: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    ctx,
    patience: int = 3,
    fingerprint: dict | None = None,
    valid_fn: Callable[[], float] | None = None,
    valid_name: str = "valid_ndcg@10",
) -> list[dict[str, float]]:
    """Run up to ``n_epochs`` epochs; returns the per-epoch history (list of metric dicts).

    Validation (when ``ctx.valid`` is given) calls ``valid_fn()`` if set, else NDCG@10 of
    ``score_fn`` on ``ctx.valid``; higher is better (return a negated RMSE for rating models).

    ``fingerprint`` (config, seed, data shape) is stored in checkpoints; resuming from a
    checkpoint with another fingerprint is refused rather than silently mixing runs.
    """
    history: list[dict[str, float]] = []
    best_score, best_state, best_epoch, bad_epochs = -np.inf, None, -1, 0
    start = 0
    ckpt_dir = Path(ctx.checkpoint_dir) if ctx.checkpoint_dir else None
    fingerprint = json.loads(json.dumps(fingerprint or {}))
    if ckpt_dir is not None and ctx.resume:
        loaded = _load_checkpoint(ckpt_dir)
        if loaded is not None:
            state, meta = loaded
            if meta.get("fingerprint") != fingerprint:
                raise ArtifactError(
                    f"{ckpt_dir}: checkpoint was written by a run with other settings "
                    f"({meta.get('fingerprint')}); use the same settings or another directory"
                )
            best = {k[5:]: v for k, v in state.items() if k.startswith("best.")}
            set_state({k: v for k, v in state.items() if not k.startswith("best.")})
            best_state = best or None
            history = meta["history"]
            start = meta["epoch"] + 1
            best_score, best_epoch = meta["best_score"], meta["best_epoch"]
            bad_epochs = meta["bad_epochs"]
            log.info("%s: resumed from %s after epoch %d", name, ckpt_dir, meta["epoch"] + 1)

    progress = None
    if ctx.show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=n_epochs, initial=start, desc=f"train {name}", unit="epoch")
    stopped_early = bad_epochs >= patience and ctx.valid is not None
    for epoch in range(start, n_epochs):
        if stopped_early:
            break
        record = {"epoch": epoch + 1, **{k: float(v) for k, v in step(epoch).items()}}
        if ctx.valid is not None and len(ctx.valid):
            if valid_fn is not None:
                score = valid_fn()
            else:
                score = validation_ndcg(score_fn, train, ctx.valid)
            score = float(score)  # a numpy float32 would not go into the json checkpoint
            record[valid_name] = score
            if score > best_score:
                best_score, best_epoch, bad_epochs = score, epoch, 0
                best_state = {k: np.array(v, copy=True) for k, v in get_state().items()}
            else:
                bad_epochs += 1
            stopped_early = bad_epochs >= patience
        history.append(record)
        if progress is not None:
            progress.update(1)
            progress.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
        log.info("%s epoch %d: %s", name, epoch + 1, record)
        if ctx.callback is not None:
            ctx.callback(epoch + 1, record)
        if ckpt_dir is not None:
            state = dict(get_state())
            if best_state is not None:
                state.update({f"best.{k}": v for k, v in best_state.items()})
            meta = {
                "version": CHECKPOINT_VERSION,
                "epoch": epoch,
                "history": history,
                "best_score": best_score if np.isfinite(best_score) else -1e30,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "fingerprint": fingerprint,
            }
            _save_checkpoint(ckpt_dir, state, meta)
    if progress is not None:
        progress.close()
    if best_state is not None:
        set_state(best_state)
        log.info("%s: kept epoch %d (%s %.4f)", name, best_epoch + 1, valid_name, best_score)
    return history
