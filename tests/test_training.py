"""The shared epoch loop: early stopping, history, callbacks, checkpoints and exact resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from recsys import training
from recsys.data import Interactions
from recsys.errors import ArtifactError, ConfigError
from recsys.models.base import FitContext
from recsys.training import resolve_device, run_epochs, torch_seed, validation_ndcg

N_USERS, N_ITEMS, DIM = 6, 9, 4

# Validation score after each epoch (1-based position = epoch): best at epoch 3, then three worse
# ones (epoch 7 would beat it but patience=3 stops the run after epoch 6).
SCHEDULE = [0.10, 0.20, 0.50, 0.30, 0.40, 0.45, 0.90, 0.10, 0.20, 0.30]


class Interrupted(Exception):
    """Stands in for a kill in the middle of training."""


class ToyModel:
    """A parameter vector moved by a seeded RNG each epoch; the RNG state is part of the state."""

    def __init__(self, seed: int = 7, schedule=SCHEDULE, interrupt_at: int | None = None):
        self.w = np.zeros(DIM)
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        self.schedule = schedule
        self.interrupt_at = interrupt_at  # 0-based epoch whose step "dies"
        self.step_calls: list[int] = []

    def step(self, epoch: int) -> dict[str, float]:
        if epoch == self.interrupt_at:
            raise Interrupted(epoch)
        self.step_calls.append(epoch)
        self.w = self.w + self.rng.normal(size=DIM)
        self.steps += 1
        return {"loss": float(np.sum(self.w**2)), "norm": np.float32(np.abs(self.w).sum())}

    def get_state(self) -> dict[str, np.ndarray]:
        return {
            "w": self.w,
            "steps": np.array(self.steps),
            "rng": np.array(json.dumps(self.rng.bit_generator.state)),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.w = np.array(state["w"], dtype=np.float64)
        self.steps = int(state["steps"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = json.loads(str(state["rng"]))

    def valid_fn(self) -> float:
        return self.schedule[self.steps - 1]

    def score_fn(self, users: np.ndarray) -> np.ndarray:
        return np.zeros((len(users), N_ITEMS), np.float32)

    def snapshot(self) -> tuple:
        return (self.w.copy(), self.steps, self.rng.bit_generator.state)


def _interactions(users, items, n_users=N_USERS, n_items=N_ITEMS) -> Interactions:
    users, items = np.asarray(users, np.int32), np.asarray(items, np.int32)
    return Interactions(users, items, np.ones(len(users), np.float32), n_users, n_items)


TRAIN = _interactions([0, 0, 1, 2, 3], [0, 1, 2, 3, 4])
VALID = _interactions([0, 1, 2], [5, 6, 7])


def _run(model: ToyModel, ctx: FitContext, *, n_epochs=10, patience=3, fingerprint=None, **kw):
    return run_epochs(
        name="toy",
        n_epochs=n_epochs,
        step=model.step,
        get_state=model.get_state,
        set_state=model.set_state,
        score_fn=model.score_fn,
        train=TRAIN,
        ctx=ctx,
        patience=patience,
        fingerprint=fingerprint if fingerprint is not None else {"lr": 0.1, "seed": 7},
        valid_fn=kw.pop("valid_fn", model.valid_fn),
        **kw,
    )


def _state_after(n_steps: int, seed: int = 7) -> tuple:
    """What the toy model's state is after ``n_steps`` uninterrupted steps."""
    m = ToyModel(seed)
    for e in range(n_steps):
        m.step(e)
    return m.snapshot()


def _assert_same_state(a: tuple, b: tuple) -> None:
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and a[2] == b[2]


# ------------------------------------------------------------------------------------------------
# Early stopping, history, callback
# ------------------------------------------------------------------------------------------------


def test_early_stopping_restores_best_state():
    model = ToyModel()
    history = _run(model, FitContext(valid=VALID))
    # Epochs 1..6 run (best at 3, then 3 bad ones); epoch 7's 0.9 is never seen.
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5, 6]
    assert model.step_calls == [0, 1, 2, 3, 4, 5]
    assert [r["valid_ndcg@10"] for r in history] == SCHEDULE[:6]
    _assert_same_state(model.snapshot(), _state_after(3))


@pytest.mark.parametrize("patience, n_run, best", [(1, 4, 3), (2, 5, 3), (4, 10, 7), (5, 10, 7)])
def test_patience(patience, n_run, best):
    model = ToyModel()
    history = _run(model, FitContext(valid=VALID), patience=patience)
    assert len(history) == n_run
    _assert_same_state(model.snapshot(), _state_after(best))


def test_history_records():
    model = ToyModel()
    history = _run(model, FitContext(valid=VALID), valid_name="neg_rmse")
    ref = ToyModel()
    for record in history:
        metrics = ref.step(record["epoch"] - 1)
        assert set(record) == {"epoch", "loss", "norm", "neg_rmse"}
        assert record["loss"] == metrics["loss"]
        assert record["norm"] == float(metrics["norm"]) and type(record["norm"]) is float
        assert isinstance(record["epoch"], int)


def test_without_validation_runs_every_epoch_and_keeps_last_state():
    for valid in (None, _interactions([], [])):
        model = ToyModel()
        history = _run(model, FitContext(valid=valid), n_epochs=8)
        assert [r["epoch"] for r in history] == list(range(1, 9))
        assert all(set(r) == {"epoch", "loss", "norm"} for r in history)
        _assert_same_state(model.snapshot(), _state_after(8))


def test_callback_gets_epoch_and_metrics():
    calls = []
    model = ToyModel()
    history = _run(model, FitContext(valid=VALID, callback=lambda e, m: calls.append((e, dict(m)))))
    assert calls == [(r["epoch"], r) for r in history]
    assert [e for e, _ in calls] == [1, 2, 3, 4, 5, 6]


def test_numpy_float32_validation_score_is_checkpointed(tmp_path):
    # A negated RMSE computed in float32 is a numpy scalar; it must not break the json checkpoint.
    model = ToyModel()
    valid_fn = lambda: np.float32(model.valid_fn())  # noqa: E731
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path))
    history = _run(model, ctx, valid_fn=valid_fn)
    assert all(type(r["valid_ndcg@10"]) is float for r in history)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["epoch"] == 5


# ------------------------------------------------------------------------------------------------
# Checkpoints and resume
# ------------------------------------------------------------------------------------------------


def _uninterrupted(n_epochs=10, patience=3):
    model = ToyModel()
    history = _run(model, FitContext(valid=VALID), n_epochs=n_epochs, patience=patience)
    return history, model.snapshot()


@pytest.mark.parametrize("interrupt_at", [1, 2, 3, 4, 5])
def test_resume_reproduces_uninterrupted_run(tmp_path, interrupt_at):
    ref_history, ref_state = _uninterrupted()
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path / "ckpt"), resume=True)
    with pytest.raises(Interrupted):
        _run(ToyModel(interrupt_at=interrupt_at), ctx)
    # A brand-new process: a fresh model (seeded the same), resuming from the checkpoint.
    resumed = ToyModel()
    calls = []
    ctx.callback = lambda e, m: calls.append(e)
    history = _run(resumed, ctx)
    assert history == ref_history
    assert resumed.step_calls == list(range(interrupt_at, len(ref_history)))
    assert calls == list(range(interrupt_at + 1, len(ref_history) + 1))
    _assert_same_state(resumed.snapshot(), ref_state)


def test_resume_twice_and_without_validation(tmp_path):
    model = ToyModel()
    ref_history = _run(model, FitContext(), n_epochs=7)
    ref_state = model.snapshot()
    ctx = FitContext(checkpoint_dir=str(tmp_path), resume=True)
    for stop in (2, 5):
        with pytest.raises(Interrupted):
            _run(ToyModel(interrupt_at=stop), ctx, n_epochs=7)
    resumed = ToyModel()
    assert _run(resumed, ctx, n_epochs=7) == ref_history
    _assert_same_state(resumed.snapshot(), ref_state)


def test_resume_after_early_stop_reproduces_result(tmp_path):
    ref_history, ref_state = _uninterrupted()
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    first = ToyModel()
    assert _run(first, ctx) == ref_history
    # Running again resumes from the stopped state: no new epoch, the best state is restored.
    again = ToyModel()
    assert _run(again, ctx) == ref_history
    assert again.step_calls == []
    _assert_same_state(again.snapshot(), ref_state)


def test_resume_after_finishing_all_epochs(tmp_path):
    ref_history, ref_state = _uninterrupted(n_epochs=5)  # no early stop within 5 epochs
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    _run(ToyModel(), ctx, n_epochs=5)
    again = ToyModel()
    assert _run(again, ctx, n_epochs=5) == ref_history
    assert again.step_calls == []
    _assert_same_state(again.snapshot(), ref_state)  # the best (epoch 3), not the last


def test_resume_false_starts_over(tmp_path):
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path))
    with pytest.raises(Interrupted):
        _run(ToyModel(interrupt_at=4), ctx)
    model = ToyModel()
    _run(model, ctx)
    assert model.step_calls == [0, 1, 2, 3, 4, 5]


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    ref_history, _ = _uninterrupted()
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path / "new"), resume=True)
    assert _run(ToyModel(), ctx) == ref_history


def test_resume_with_other_fingerprint_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"
    ctx = FitContext(valid=VALID, checkpoint_dir=str(ckpt), resume=True)
    with pytest.raises(Interrupted):
        _run(ToyModel(interrupt_at=2), ctx, fingerprint={"lr": 0.1, "dims": (8, 4)})
    with pytest.raises(ArtifactError) as err:
        _run(ToyModel(), ctx, fingerprint={"lr": 0.2, "dims": (8, 4)})
    assert str(ckpt) in str(err.value)
    # The same settings resume (the tuple comes back from json as a list and still matches).
    model = ToyModel()
    _run(model, ctx, fingerprint={"lr": 0.1, "dims": (8, 4)})
    assert model.step_calls[0] == 2


def test_corrupted_checkpoint_json_is_an_artifact_error(tmp_path):
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(Interrupted):
        _run(ToyModel(interrupt_at=2), ctx)
    (tmp_path / "checkpoint.json").write_text('{"version": 1, "epoch": ')
    with pytest.raises(ArtifactError) as err:
        _run(ToyModel(), ctx)
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupted_checkpoint_npz_is_an_artifact_error(tmp_path, damage):
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    with pytest.raises(Interrupted):
        _run(ToyModel(interrupt_at=2), ctx)
    npz = tmp_path / "checkpoint.npz"
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not an npz at all")
    with pytest.raises(ArtifactError, match="unreadable"):
        _run(ToyModel(), ctx)


def test_other_checkpoint_version_is_refused(tmp_path):
    state = {"w": np.zeros(DIM)}
    meta = {"version": 99, "epoch": 0, "history": [], "best_score": 0.0, "best_epoch": 0}
    meta.update({"bad_epochs": 0, "fingerprint": {}})
    training._save_checkpoint(tmp_path, state, meta)
    with pytest.raises(ArtifactError, match="format 99"):
        _run(ToyModel(), FitContext(checkpoint_dir=str(tmp_path), resume=True))


def test_checkpoint_files_are_written_atomically(tmp_path, monkeypatch):
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    seen = []
    real_replace = training.os.replace

    def spy_replace(src, dst):
        # Each final file appears by rename from a temporary in the same directory.
        seen.append((Path(src).parent == tmp_path, Path(src).name.endswith(".tmp"), Path(dst).name))
        return real_replace(src, dst)

    monkeypatch.setattr(training.os, "replace", spy_replace)
    _run(ToyModel(), ctx)
    assert seen == [(True, True, "checkpoint.npz"), (True, True, "checkpoint.json")] * 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.npz"]
    # Plain data: loadable without pickle, the json names the last epoch.
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as z:
        assert {"w", "steps", "rng", "best.w", "best.steps", "best.rng"} <= set(z.files)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["epoch"] == 5 and meta["best_epoch"] == 2 and meta["bad_epochs"] == 3


def test_failed_save_keeps_previous_checkpoint_and_no_tmp(tmp_path, monkeypatch):
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    real_dump = training.json.dump

    class DiskFull(OSError):
        pass

    def failing_dump(obj, f, **kw):
        if obj.get("epoch") == 3:
            raise DiskFull("no space left on device")
        return real_dump(obj, f, **kw)

    monkeypatch.setattr(training.json, "dump", failing_dump)
    with pytest.raises(DiskFull):
        _run(ToyModel(), ctx)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.npz"]
    assert json.loads((tmp_path / "checkpoint.json").read_text())["epoch"] == 2
    ref_history, ref_state = _uninterrupted()
    resumed = ToyModel()
    assert _run(resumed, ctx) == ref_history
    assert resumed.step_calls == [3, 4, 5]
    _assert_same_state(resumed.snapshot(), ref_state)


@pytest.mark.parametrize("killed_epoch", [0, 3, 4])
def test_kill_between_the_two_renames_still_resumes_exactly(tmp_path, monkeypatch, killed_epoch):
    # The npz of epoch e is in place but the json still describes epoch e-1 (or is missing).
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path), resume=True)
    real_replace = training.os.replace
    count = {"json": 0}

    def dying_replace(src, dst):
        if Path(dst).name == "checkpoint.json":
            if count["json"] == killed_epoch:
                raise Interrupted("killed")
            count["json"] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(training.os, "replace", dying_replace)
    with pytest.raises(Interrupted):
        _run(ToyModel(), ctx)
    monkeypatch.undo()
    assert not list(tmp_path.glob("*.tmp"))
    ref_history, ref_state = _uninterrupted()
    resumed = ToyModel()
    assert _run(resumed, ctx) == ref_history
    _assert_same_state(resumed.snapshot(), ref_state)


# ------------------------------------------------------------------------------------------------
# validation_ndcg, through run_epochs and against a slow reference
# ------------------------------------------------------------------------------------------------


def _ndcg_reference(scores: np.ndarray, train: Interactions, valid: Interactions, k, max_users):
    train_sets = [set() for _ in range(train.n_users)]
    for u, i in zip(train.user, train.item, strict=True):
        train_sets[u].add(int(i))
    valid_sets = [set() for _ in range(valid.n_users)]
    for u, i in zip(valid.user, valid.item, strict=True):
        valid_sets[u].add(int(i))
    users = sorted(u for u in range(valid.n_users) if valid_sets[u])[:max_users]
    values = []
    for u in users:
        candidates = [i for i in range(train.n_items) if i not in train_sets[u]]
        ranked = sorted(candidates, key=lambda i, u=u: (-scores[u, i], i))[:k]
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked) if i in valid_sets[u])
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(valid_sets[u]))))
        values.append(dcg / idcg)
    return float(np.mean(values)) if values else 0.0


@pytest.mark.parametrize("trial", range(4))
def test_validation_ndcg_matches_reference(rng, trial):
    n_users, n_items = 70, 40
    dense = rng.random((n_users, n_items))
    train_mask = dense < 0.2
    valid_mask = (dense > 0.9) & (rng.random((n_users, n_items)) < 0.5)
    valid_mask[rng.random(n_users) < 0.3] = False  # some users have nothing to validate
    tu, ti = np.nonzero(train_mask)
    vu, vi = np.nonzero(valid_mask)
    train = _interactions(tu, ti, n_users, n_items)
    valid = _interactions(vu, vi, n_users, n_items)
    scores = rng.normal(size=(n_users, n_items)).astype(np.float32)
    if trial % 2:
        scores = np.round(scores).astype(np.float32)  # many ties
    k, max_users, batch = [(10, 2000, 512), (5, 30, 7), (3, 1000, 1), (40, 12, 5)][trial]
    got = validation_ndcg(
        lambda users: scores[users], train, valid, k=k, max_users=max_users, batch=batch
    )
    assert got == pytest.approx(_ndcg_reference(scores, train, valid, k, max_users), abs=1e-12)


def test_validation_ndcg_without_users_is_zero():
    assert (
        validation_ndcg(lambda u: np.zeros((len(u), N_ITEMS)), TRAIN, _interactions([], [])) == 0.0
    )


def test_validation_ndcg_drives_early_stopping(tmp_path):
    # No valid_fn: the loop computes NDCG@10 from score_fn. The model ranks each user's held-out
    # item first exactly at epoch 3 (and last otherwise), so NDCG is 1 at epoch 3 and low elsewhere.
    model = ToyModel()
    held_out = {0: 5, 1: 6, 2: 7}

    def score_fn(users):
        out = np.tile(np.arange(N_ITEMS, 0, -1, dtype=np.float32), (len(users), 1))
        for row, u in enumerate(users):
            out[row, held_out[int(u)]] = 100.0 if model.steps == 3 else -100.0
        return out

    model.score_fn = score_fn
    ctx = FitContext(valid=VALID, checkpoint_dir=str(tmp_path))
    history = _run(model, ctx, valid_fn=None)
    scores = [r["valid_ndcg@10"] for r in history]
    assert len(history) == 6 and scores[2] == 1.0
    assert all(s < 1.0 for i, s in enumerate(scores) if i != 2)
    assert model.steps == 3


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------


def test_resolve_device_and_torch_seed():
    torch = pytest.importorskip("torch")
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("cuda:1") == "cuda:1"
    assert resolve_device("auto") in ("cuda", "mps", "cpu")
    before = torch.random.get_rng_state()
    a = torch.rand(5, generator=torch_seed(3, "cpu"))
    b = torch.rand(5, generator=torch_seed(3, "cpu"))
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched


def test_fit_fingerprint_leaves_out_budget_stopping_and_fold_in():
    from recsys.models import make_model

    train = Interactions(
        user=np.array([0, 1, 2]), item=np.array([1, 2, 0]), rating=np.ones(3, np.float32),
        n_users=3, n_items=4,
    )  # fmt: skip
    for name, budget in (("bpr", "epochs"), ("ials", "iterations"), ("ncf", "epochs")):
        base = training.fit_fingerprint(make_model(name), train, 5)
        assert base["model"] == name and base["seed"] == 5 and base["data"] == [3, 4, 3]
        assert budget not in base["config"] and "patience" not in base["config"]
        assert not any(k.startswith("fold_in") for k in base["config"])
        # The training settings are in it, so another value changes the fingerprint.
        assert training.fit_fingerprint(make_model(name, reg=0.5), train, 5) != base
        assert training.fit_fingerprint(make_model(name, **{budget: 99}), train, 5) == base
        assert training.fit_fingerprint(make_model(name), train, 6) != base


def test_check_positive_names_the_field():
    from recsys.models.bpr import BPRConfig

    training.check_positive(BPRConfig(), "factors", "lr")
    with pytest.raises(ConfigError, match=r"lr must be > 0, got 0\.0"):
        training.check_positive(BPRConfig(lr=0.0), "factors", "lr")
