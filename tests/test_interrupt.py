"""Interrupted work loses nothing: ``python -m recsys train`` killed with SIGKILL at seeded random
points (while training, while exporting) leaves the previous artifact byte-identical and loadable,
and no temporary directory the app would list; ``--checkpoint-dir D --resume`` after a kill
mid-training ends with exactly the item embeddings of an uninterrupted run (CPU, same seed); two
runs writing one output directory at once leave one complete, verified artifact.

Every run is a real subprocess on the small synthetic data set (``synthetic_dir``), with small
parameters so the whole file stays around a minute.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import recsys

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {
    "ials": {"iterations": 12, "factors": 16},
    "bpr": {"epochs": 8, "factors": 16},
}
N_EPOCHS = {"ials": 12, "bpr": 8}
RUN_TIMEOUT = 120


def train_cmd(data: Path, model: str, out: Path, seed: int, ckpt: Path | None = None) -> list:
    cmd = [
        sys.executable, "-m", "recsys", "-q", "train",
        "--data", str(data), "--model", model, "--out", str(out),
        "--eval", "", "--projection", "pca", "--device", "cpu", "--seed", str(seed),
        "--params", json.dumps(PARAMS[model]),
    ]  # fmt: skip
    if ckpt is not None:
        cmd += ["--checkpoint-dir", str(ckpt), "--resume"]
    return cmd


def start(cmd: list, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_ok(cmd: list, log: Path) -> None:
    proc = start(cmd, log)
    assert proc.wait(timeout=RUN_TIMEOUT) == 0, log.read_text()[-3000:]


def wait_until(proc: subprocess.Popen, condition, timeout: float = RUN_TIMEOUT) -> bool:
    """Poll ``condition`` every 5 ms; False when the process ended first (or on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return bool(condition())
        time.sleep(0.005)
    return False


def kill(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30)


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def embeddings(path: Path) -> dict[str, np.ndarray]:
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        return {k: z[k] for k in ("item_factors", "item_embeddings") if k in z.files}


def checkpoint_epoch(ckpt: Path) -> int:
    try:
        return json.loads((ckpt / "checkpoint.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return -1


def assert_root_clean(root: Path, names: set[str]) -> None:
    """Only the expected artifacts are visible to the app; leftovers are dot-named, ignored."""
    visible = {p.name for p in root.iterdir() if not p.name.startswith(".")}
    assert visible == names, visible
    listed = recsys.list_artifacts(root)
    assert {e["name"] for e in listed} == names
    assert not [e for e in listed if "error" in e], listed
    for name in names:
        recsys.load(root / name)  # verifies every hash


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ials", "bpr"])
def test_sigkill_keeps_previous_artifact_and_resume_is_exact(synthetic_dir, tmp_path, model):
    rng = random.Random(20241123 + len(model))
    root = tmp_path / "artifacts"
    out = root / model
    log = tmp_path / "train.log"

    # The previous artifact (and the reference result for the resume check): seed 3, no kill.
    t0 = time.monotonic()
    run_ok(train_cmd(synthetic_dir, model, out, seed=3), log)
    full_seconds = time.monotonic() - t0
    before = snapshot(out)
    reference = embeddings(out)
    outcomes = []

    def check_after_kill(seed: int) -> None:
        nonlocal before
        assert_root_clean(root, {model})
        now = snapshot(out)
        if now == before:
            outcomes.append("previous kept")
            return
        # The kill came after the swap: then the new artifact is complete and verified.
        manifest = recsys.load(out).manifest
        assert manifest["training"]["seed"] == seed
        outcomes.append("new complete")
        before = now

    # 1. Killed at a random moment of the run (loading, training or exporting).
    for _ in range(2 if model == "ials" else 1):
        proc = start(train_cmd(synthetic_dir, model, out, seed=4), log)
        time.sleep(rng.uniform(0.2, 0.6 * full_seconds))
        kill(proc)
        check_after_kill(4)

    # 2. Killed while exporting: as soon as (or just after) its temporary directory appears.
    proc = start(train_cmd(synthetic_dir, model, out, seed=4), log)
    saw_export = wait_until(proc, lambda: any(root.glob(f".{model}.tmp-*")))
    time.sleep(rng.uniform(0.0, 0.03))
    kill(proc)
    assert saw_export, log.read_text()[-3000:]
    check_after_kill(4)

    # 3. Killed mid-training after a seeded number of checkpointed epochs; then resumed.
    ckpt = tmp_path / "ckpt"
    target = rng.randint(1, N_EPOCHS[model] - 3)
    proc = start(train_cmd(synthetic_dir, model, out, seed=3, ckpt=ckpt), log)
    reached = wait_until(proc, lambda: checkpoint_epoch(ckpt) >= target - 1)
    rc = kill(proc)
    assert reached and rc == -signal.SIGKILL, log.read_text()[-3000:]
    killed_at = checkpoint_epoch(ckpt)
    assert 0 <= killed_at < N_EPOCHS[model] - 1  # really interrupted while training
    check_after_kill(3)
    assert outcomes[-1] == "previous kept"

    print(f"{model}: kill outcomes {outcomes}, checkpoint epoch at the kill {killed_at}")
    run_ok(train_cmd(synthetic_dir, model, out, seed=3, ckpt=ckpt), log)
    assert_root_clean(root, {model})
    resumed = recsys.load(out)
    history = resumed.manifest["training"]["history"]
    assert [h["epoch"] for h in history] == list(range(1, N_EPOCHS[model] + 1))
    got = embeddings(out)
    assert got.keys() == reference.keys() and got
    for key in reference:
        assert np.array_equal(got[key], reference[key]), f"{key} differs after resume"
    # The kills above may leave dot-named temporary directories; the app never lists them.
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert all(n.startswith(f".{model}.tmp-") for n in leftovers), leftovers


@pytest.mark.slow
def test_two_runs_writing_one_directory_leave_one_complete_artifact(synthetic_dir, tmp_path):
    root = tmp_path / "artifacts"
    out = root / "ials"
    logs = [tmp_path / f"run{i}.log" for i in range(2)]
    procs = [
        start(train_cmd(synthetic_dir, "ials", out, seed=s), lg) for s, lg in zip((5, 6), logs)
    ]
    for proc, lg in zip(procs, logs):
        assert proc.wait(timeout=RUN_TIMEOUT) == 0, lg.read_text()[-3000:]
    assert_root_clean(root, {"ials"})
    art = recsys.load(out)
    assert art.manifest["training"]["seed"] in (5, 6)
    # No temporary directory survives two completed runs.
    assert not [p for p in root.iterdir() if p.is_dir() and p.name != "ials"]
