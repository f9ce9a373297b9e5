"""Data-parallel training under torchrun: two CPU processes (gloo on loopback) against one.

One ``torchrun --standalone --nproc_per_node=2`` launch runs a small worker script that

- fits bpr, mf and ncf directly with a validation split (early stopping decided on rank 0 and
  broadcast), bpr once more resumed from a checkpoint written part-way, and
- runs ``python -m recsys train`` (the CLI path) for bpr with a checkpoint directory,

recording which rank wrote checkpoints and artifacts. The same work runs here in a single
process; DDP averages each rank's share of every global batch into the single-process gradient,
so the factors and histories must agree up to float rounding.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from recsys import distributed  # noqa: E402
from recsys.torch_training import shard_batches  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        not dist.is_available() or not dist.is_gloo_available(), reason="torch without gloo"
    ),
    pytest.mark.slow,  # spawns torchrun processes (about 25 s)
]

WORKER = textwrap.dedent(
    '''
    """Fit the gradient models and run the train command; under torchrun, as one rank of many."""
    import json
    import os
    import sys
    from pathlib import Path

    import numpy as np

    import recsys.artifacts
    import recsys.training
    from recsys import cli, distributed
    from recsys.loaders import load_dataset
    from recsys.models import make_model

    RANK = int(os.environ.get("RANK", "0"))


    def install_trace(out):
        """Record every checkpoint and artifact write of this rank in out/trace/rank<RANK>.jsonl."""
        trace = out / "trace"
        trace.mkdir(parents=True, exist_ok=True)
        real_save, real_export = recsys.training._save_checkpoint, recsys.artifacts.export_model

        def record(what):
            with open(trace / f"rank{RANK}.jsonl", "a") as f:
                f.write(json.dumps(what) + "\\n")

        def save_checkpoint(directory, state, meta):
            record({"checkpoint": str(directory)})
            return real_save(directory, state, meta)

        def export_model(model, dataset, path, **kw):
            record({"artifact": str(path)})
            return real_export(model, dataset, path, **kw)

        recsys.training._save_checkpoint = save_checkpoint
        recsys.artifacts.export_model = export_model


    PARAMS = {
        "bpr": {"epochs": 6, "batch_size": 1000, "patience": 2},
        "mf": {"epochs": 6, "batch_size": 999, "patience": 1},
        "ncf": {"epochs": 3, "batch_size": 777, "patience": 2},
    }


    def fit_all(data_dir, out):
        distributed.init_from_env("cpu")
        data = load_dataset(str(data_dir)).interactions()
        valid_mask = np.random.default_rng(3).random(len(data)) < 0.15
        results = {}
        for name, params in PARAMS.items():
            model = make_model(name, **params)
            full = data if model.kind == "explicit" else data.positives(4.0)
            mask = valid_mask if model.kind == "explicit" else valid_mask[data.rating >= 4.0]
            train, valid = full.subset(~mask), full.subset(mask)
            model.fit(train, valid=valid, seed=5, device="cpu")
            results[name] = (model.user_factors, model.item_factors, model.history)
        # bpr stopped after 3 of 6 epochs (without validation) and resumed, against one run.
        pos = data.positives(4.0)
        ckpt = out / "ckpt"
        make_model("bpr", epochs=3, batch_size=1000).fit(pos, seed=5, checkpoint_dir=str(ckpt))
        model = make_model("bpr", epochs=6, batch_size=1000)
        model.fit(pos, seed=5, checkpoint_dir=str(ckpt), resume=True)
        results["bpr-resumed"] = (model.user_factors, model.item_factors, model.history)
        same = distributed.arrays_equal_across_ranks(
            {f"{k}.{i}": v[i] for k, v in results.items() for i in (0, 1)}
        )
        if distributed.is_main():
            arrays = {f"{k}.{w}": v[i] for k, v in results.items() for i, w in enumerate("ui")}
            np.savez(out / "fits.npz", **arrays)
            summary = {
                "history": {k: v[2] for k, v in results.items()},
                "world_size": distributed.world_size(),
                "ranks_identical": same,
            }
            (out / "fits.json").write_text(json.dumps(summary))


    def train_cli(data_dir, out):
        return cli.main([
            "-q", "train", "--data", str(data_dir), "--model", "bpr", "--out", str(out / "art"),
            "--eval", "", "--projection", "pca", "--checkpoint-dir", str(out / "cli-ckpt"),
            "--params", json.dumps({"epochs": 4, "batch_size": 1000}), "--seed", "5",
        ])


    if __name__ == "__main__":
        data_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
        install_trace(out)
        fit_all(data_dir, out)
        code = train_cli(data_dir, out)
        distributed.shutdown()
        sys.exit(code)
    '''
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    from recsys.synth import SynthConfig, write_movielens_csv

    return write_movielens_csv(tmp_path_factory.mktemp("ddp-data"), SynthConfig(seed=1))


def _loopback_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    repo = Path(__file__).resolve().parents[1]
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    if Path("/sys/class/net/lo").exists():  # keep gloo off the network interfaces
        env["GLOO_SOCKET_IFNAME"] = "lo"
    return env


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    """(single-process output dir, two-process output dir, seconds the torchrun launch took)."""
    import time

    root = tmp_path_factory.mktemp("ddp-runs")
    worker = root / "worker.py"
    worker.write_text(WORKER)
    repo = Path(__file__).resolve().parents[1]
    ddp_out = root / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "--max_restarts=0", str(worker), str(data_dir), str(ddp_out),
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=repo, env=_loopback_env(), capture_output=True, text=True, timeout=120
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"

    single_out = root / "single"
    module = runpy.run_path(str(worker), run_name="ddp_worker")  # no trace: nothing patched
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # like each torchrun worker (OMP_NUM_THREADS=1): fast on small data
    try:
        module["fit_all"](data_dir, single_out)
        assert module["train_cli"](data_dir, single_out) == 0
    finally:
        torch.set_num_threads(threads)
    yield single_out, ddp_out, seconds
    shutil.rmtree(root, ignore_errors=True)


def test_two_processes_train_like_one(runs):
    single, ddp, seconds = runs
    assert seconds < 60, f"the 2-process run took {seconds:.0f} s"
    meta_1, meta_2 = (json.loads((d / "fits.json").read_text()) for d in (single, ddp))
    assert meta_2["world_size"] == 2 and meta_1["world_size"] == 1
    assert meta_2["ranks_identical"], "ranks ended with different parameters"
    fits_1, fits_2 = np.load(single / "fits.npz"), np.load(ddp / "fits.npz")
    assert sorted(fits_1.files) == sorted(fits_2.files)
    for key in fits_1.files:
        # Measured: at most ~2e-6 apart (float rounding of the split reductions).
        np.testing.assert_allclose(fits_2[key], fits_1[key], rtol=1e-4, atol=2e-5, err_msg=key)
    for name, hist_1 in meta_1["history"].items():
        hist_2 = meta_2["history"][name]
        # Same early-stopping decisions: the same number of epochs, the same validation values.
        assert [r["epoch"] for r in hist_2] == [r["epoch"] for r in hist_1], name
        for r1, r2 in zip(hist_1, hist_2):
            assert r1.keys() == r2.keys(), name
            for k in r1:
                assert r2[k] == pytest.approx(r1[k], rel=1e-4, abs=1e-5), (name, k)
    assert any("valid_ndcg@10" in r for r in meta_1["history"]["bpr"])
    assert any("valid_rmse" in r for r in meta_1["history"]["mf"])
    assert len(meta_2["history"]["mf"]) < 6  # mf stopped early, on both sides at the same epoch


def test_only_rank_zero_writes(runs):
    _, ddp, _ = runs
    trace = ddp / "trace"
    calls = [json.loads(line) for line in (trace / "rank0.jsonl").read_text().splitlines()]
    assert {"artifact": str(ddp / "art")} in calls
    assert sum("checkpoint" in c for c in calls) == 3 + 3 + 4  # fit, resume, CLI epochs
    assert all(str(ddp) in c.get("checkpoint", c.get("artifact")) for c in calls)
    # Rank 1 never writes an artifact or a shared checkpoint. Resuming, it continues from rank
    # 0's checkpoint unpacked into its own scratch directory, which run_epochs keeps updating.
    rank1 = trace / "rank1.jsonl"
    others = [json.loads(line) for line in rank1.read_text().splitlines()] if rank1.exists() else []
    assert all("recsys-rank1-" in c.get("checkpoint", "") for c in others), others
    assert len(others) == 3  # the 3 resumed epochs
    leftovers = [p for p in ddp.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_cli_artifact_matches_single_process(runs):
    from recsys.artifacts import load

    single, ddp, _ = runs
    art_1, art_2 = load(single / "art"), load(ddp / "art")
    np.testing.assert_allclose(art_2.item_embeddings, art_1.item_embeddings, rtol=1e-4, atol=2e-5)
    training = art_2.manifest["training"]
    assert training["world_size"] == 2 and "world_size" not in art_1.manifest["training"]
    assert training["epochs_run"] == 4


def test_shard_weights_follow_shard_batches():
    n, batch, world = 103, 10, 4
    for rank in range(world):
        gen = torch.Generator().manual_seed(0)
        parts = [len(b[part]) for b, part in shard_batches(n, batch, gen, rank, world)]
        sizes = [len(b) for b, _ in shard_batches(n, batch, torch.Generator(), rank, world)]
        weights = list(distributed.shard_weights(n, batch, rank, world))
        assert len(weights) == len(parts)
        assert weights == pytest.approx([world * p / s for p, s in zip(parts, sizes)])
    # The weighted per-rank means average to the global mean: sum over ranks of w/world == 1.
    totals = np.sum([list(distributed.shard_weights(n, batch, r, world)) for r in range(world)], 0)
    np.testing.assert_allclose(totals / world, 1.0)


def test_single_process_is_untouched():
    assert not distributed.is_distributed()
    assert distributed.rank() == 0 and distributed.world_size() == 1 and distributed.is_main()
    assert distributed.from_rank0(lambda: 0.25) == 0.25
    assert distributed.rank_device("cuda") == "cuda"
