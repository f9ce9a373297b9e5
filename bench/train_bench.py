"""Training speed and peak memory: iALS (cholesky and cg), BPR, biased MF and NeuMF, with the
`implicit` library's ALS on the same matrix as the reference measured in the same run.

    python bench/train_bench.py [--data /tmp/recsys-synth-25m] [--iterations 2] \
        [--sgd-fraction 0.02] [--models ials-cholesky,ials-cg,implicit,bpr,mf,ncf] \
        [--save-embeddings /tmp/ials_items.npz] [--json PATH]

All on CPU with 64 factors, on every rating of the data as a positive (iALS / implicit) or as
training examples (BPR/MF/NeuMF). iALS and implicit run ``--iterations`` full sweeps at full
size; the SGD models run one epoch on a random ``--sgd-fraction`` of the ratings (they are
reported as examples per second, which does not depend on the fraction). Seconds per iteration
are the gaps between per-iteration callbacks (the first iteration also carries setup, reported
separately). Peak RSS is sampled during each model's fit (it includes the loaded data set).
On a CUDA machine the torch models are also timed on the GPU; otherwise that is stated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from _util import DEFAULT_DATA, PeakMemory, emit, gpu_note, machine  # noqa: E402

ALL = ("ials-cholesky", "ials-cg", "implicit", "bpr", "mf", "ncf", "implicit-cholesky")
DEFAULT = ALL[:-1]  # implicit-cholesky (its exact solver) takes minutes per iteration at 25M
TARGET_RATIO = 1.5


class Timer:
    """Epoch callback recording the time of each call."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.marks: list[float] = []

    def __call__(self, *args, **kwargs):
        self.marks.append(time.perf_counter())

    def summary(self, total: float) -> dict:
        gaps = np.diff([self.t0, *self.marks])
        out = {"fit_s": round(total, 2), "iterations_run": len(self.marks)}
        if len(gaps):
            out["first_iter_incl_setup_s"] = round(float(gaps[0]), 2)
        if len(gaps) > 1:
            out["s_per_iter"] = round(float(np.median(gaps[1:])), 2)
        elif len(gaps):
            out["s_per_iter"] = round(float(gaps[0]), 2)
        return out


def fit_ours(name: str, train, device: str, **cfg) -> tuple[dict, object]:
    from recsys.models import make_model

    model = make_model(name, **cfg)
    timer = Timer()
    with PeakMemory() as mem:
        timer.t0 = time.perf_counter()
        model.fit(train, seed=0, device=device, callback=timer)
    out = timer.summary(mem.seconds)
    out["peak_rss_gib"] = mem.peak_gib
    return out, model


def fit_implicit(csr, factors: int, iterations: int, use_cg: bool) -> dict:
    from implicit.cpu.als import AlternatingLeastSquares

    try:  # implicit's own advice: one BLAS thread, its OpenMP loop owns the cores
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(1, "blas")
    except ImportError:
        limits = None
    try:
        model = AlternatingLeastSquares(
            factors=factors,
            iterations=iterations,
            regularization=0.01,
            alpha=5.0,
            use_cg=use_cg,
            calculate_training_loss=False,
            random_state=0,
        )
        timer = Timer()
        with PeakMemory() as mem:
            timer.t0 = time.perf_counter()
            model.fit(csr, show_progress=False, callback=timer)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    out = timer.summary(mem.seconds)
    out["peak_rss_gib"] = mem.peak_gib
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="repeat the ALS fits, keep the best")
    ap.add_argument("--sgd-fraction", type=float, default=0.02)
    ap.add_argument("--models", default=",".join(DEFAULT))
    ap.add_argument(
        "--save-embeddings",
        default=None,
        help="write the iALS (cholesky) item factors and fold-in params here (.npz)",
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(ALL))
    if unknown:
        raise SystemExit(f"unknown models {unknown}; choose from {ALL}")

    import torch

    import recsys

    gpu = gpu_note()
    with PeakMemory() as load:
        ds = recsys.load_movielens(args.data)
        train = ds.interactions()
    result = {
        "benchmark": "train_bench",
        "machine": machine(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "data": args.data,
        "shape": [train.n_users, train.n_items, len(train)],
        "factors": args.factors,
        "iterations": args.iterations,
        "rounds": args.rounds,
        "load_s": round(load.seconds, 2),
        "load_peak_rss_gib": load.peak_gib,
        "cpu": {},
        "cuda": {},
    }
    print(f"loaded {result['shape']} in {load.seconds:.1f}s", file=sys.stderr)
    cpu = result["cpu"]
    d, it = args.factors, args.iterations
    csr = None
    # ALS models run --rounds times, interleaved (ours, implicit, ours, ...): on a shared
    # machine the best round of each is the fairest comparison. SGD models run once.
    als = [m for m in models if m.startswith(("ials", "implicit"))]
    schedule = models + als * (args.rounds - 1)
    rounds: dict[str, list[dict]] = {}
    for name in schedule:
        print(f"-- {name}", file=sys.stderr)
        if name.startswith("ials"):
            solver = name.split("-", 1)[1]
            out, model = fit_ours(
                "ials", train, "cpu", factors=d, iterations=it, solver=solver, patience=max(it, 1)
            )
            if solver == "cholesky" and args.save_embeddings and name not in rounds:
                fold = model.fold_in_state()
                np.savez(
                    args.save_embeddings,
                    item_factors=model.item_factors,
                    popularity=fold.popularity,
                    **{k: v for k, v in fold.params.items()},
                )
            del model
            out["nnz"] = len(train)
        elif name.startswith("implicit"):
            if csr is None:
                csr = train.to_csr()
            out = fit_implicit(csr, d, it, use_cg=(name == "implicit"))
        else:
            rng = np.random.default_rng(0)
            sub = train.subset(rng.random(len(train)) < args.sgd_fraction)
            # NeuMF's size is gmf_dim + mlp_dim (its defaults, 32 + 32 = 64 per side).
            cfg = {"epochs": 1} if name == "ncf" else {"factors": d, "epochs": 1}
            out, model = fit_ours(name, sub, "cpu", **cfg)
            del model
            out["examples"] = len(sub)
            out["examples_per_s"] = round(len(sub) / out["fit_s"])
            out["fraction_of_data"] = args.sgd_fraction
            out["extrapolated_full_epoch_s"] = round(out["fit_s"] / args.sgd_fraction, 1)
        rounds.setdefault(name, []).append(out)
        cpu[name] = min(rounds[name], key=lambda r: r["s_per_iter"])
        if len(rounds[name]) > 1:
            cpu[name] = dict(cpu[name], rounds_s_per_iter=[r["s_per_iter"] for r in rounds[name]])
        print(f"   {out}", file=sys.stderr)
    for ours, ref in (
        ("ials-cg", "implicit"),
        ("ials-cholesky", "implicit-cholesky"),
        ("ials-cholesky", "implicit"),
    ):
        if ours in cpu and ref in cpu:
            r = cpu[ours]["s_per_iter"] / cpu[ref]["s_per_iter"]
            result[f"ratio_{ours}_over_{ref}"] = round(r, 2)
    if torch.cuda.is_available():
        for name in [m for m in models if m in ("ials-cholesky", "ials-cg")]:
            out, _ = fit_ours(
                "ials",
                train,
                "cuda",
                factors=d,
                iterations=it,
                solver=name.split("-", 1)[1],
                patience=max(it, 1),
            )
            result["cuda"][name] = out
    else:
        result["cuda"] = {"note": "no GPU available in this run: no GPU numbers"}
    rows = []
    for name, out in cpu.items():
        rows.append(
            [
                name,
                out.get("s_per_iter", ""),
                out.get("first_iter_incl_setup_s", ""),
                out.get("examples_per_s", ""),
                out["peak_rss_gib"],
            ]
        )
    emit(
        result, args.json, rows, ["cpu model", "s/iter|epoch", "1st incl setup", "ex/s", "peak GiB"]
    )
    for k, v in result.items():
        if k.startswith("ratio_"):
            print(f"{k} = {v} (target <= {TARGET_RATIO})")
    return result


if __name__ == "__main__":
    main()
