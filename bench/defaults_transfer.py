"""Do the shipped defaults transfer? Shipped defaults vs tuned, on data of other sizes and densities.

    python bench/defaults_transfer.py --data ml-latest-small [--models ials,bpr,ease] \
        [--datasets full,users,items,synth-dense,synth-sparse] [--trials 8] [--time 60] \
        [--protocol users] [--json PATH]

For each data set, each model is tuned with a small fixed budget (``recsys.tune``: seeded TPE on
a validation split carved from the training part; the first trial is always the shipped
defaults). The table gives, per data set and model, validation NDCG@10 of the shipped defaults
(that first trial), the tuned best, and their ratio (target >= 0.95). The data sets:

- ``full``: the data set given by ``--data``;
- ``users``: a seeded random half of its users (same catalogue, half the users per item);
- ``items``: only its 2,000 most-rated movies (a smaller, denser catalogue);
- ``synth-dense`` / ``synth-sparse``: :mod:`recsys.synth` data at about 5% and 1% density.

Runtime is bounded by ``--trials`` and ``--time`` (seconds per model and data set); shrink both
(or drop data sets) for a quick look.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _util import emit, machine  # noqa: E402

from recsys.loaders import load_dataset, load_movielens, resolve_dataset_dir  # noqa: E402
from recsys.synth import SynthConfig, write_movielens_csv  # noqa: E402
from recsys.tune import tune_model  # noqa: E402

DATASETS = ("full", "users", "items", "synth-dense", "synth-sparse")
TARGET = 0.95
SYNTH = {
    # ~5% and ~1% of user-item pairs rated (ml-latest-small: 1.7%).
    "synth-dense": SynthConfig(n_users=1000, n_items=1000, n_ratings=50_000, seed=1),
    "synth-sparse": SynthConfig(n_users=2000, n_items=3000, n_ratings=60_000, seed=2),
}


def _subset(src: Path, out: Path, keep: pd.Series) -> Path:
    """``src`` (ml-latest layout) with only the ratings rows in ``keep``, written under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ratings = pd.read_csv(src / "ratings.csv")
    ratings[keep(ratings)].to_csv(out / "ratings.csv", index=False)
    for name in ("movies.csv", "links.csv"):
        if (src / name).exists():
            (out / name).write_bytes((src / name).read_bytes())
    return out


def _load(name: str, data: str, tmp: Path):
    if name == "full":
        return load_dataset(data)
    if name in SYNTH:
        return load_movielens(write_movielens_csv(tmp / name, SYNTH[name]))
    src = resolve_dataset_dir(data)[0]
    if name == "users":
        users = pd.read_csv(src / "ratings.csv", usecols=["userId"])["userId"].unique()
        half = set(np.random.default_rng(0).permutation(np.sort(users))[: len(users) // 2])
        return load_movielens(_subset(src, tmp / name, lambda r: r["userId"].isin(half)))
    if name == "items":
        counts = pd.read_csv(src / "ratings.csv", usecols=["movieId"])["movieId"].value_counts()
        top = set(counts.index[:2000])
        return load_movielens(_subset(src, tmp / name, lambda r: r["movieId"].isin(top)))
    raise SystemExit(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="ml-latest-small", help="MovieLens dir or release name")
    parser.add_argument("--models", default="ials,bpr,ease")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--protocol", default="users")
    parser.add_argument("--trials", type=int, default=8, help="trials per model and data set")
    parser.add_argument("--time", type=float, default=60.0, help="seconds per model and data set")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ds_name in args.datasets.split(","):
            dataset = _load(ds_name, args.data, Path(tmp))
            density = len(dataset.ratings) / (dataset.n_users * dataset.n_items)
            for model in args.models.split(","):
                start = time.perf_counter()
                report = tune_model(
                    model,
                    dataset,
                    args.protocol,
                    n_trials=args.trials,
                    timeout=args.time,
                    seed=args.seed,
                    device="cpu",
                )
                defaults = report["trials"][0]["value"]  # the first trial is the defaults
                tuned = report["best_score"]
                rows.append(
                    {
                        "data": ds_name,
                        "users": dataset.n_users,
                        "items": dataset.n_items,
                        "density": round(density, 4),
                        "model": model,
                        "defaults": round(defaults, 4),
                        "tuned": round(tuned, 4),
                        "ratio": round(defaults / tuned, 3) if tuned else float("nan"),
                        "trials": len(report["trials"]),
                        "seconds": round(time.perf_counter() - start, 1),
                        "best_params": report["best_params"],
                        "edge_params": sorted(report["edge_params"]),
                    }
                )
                r = rows[-1]
                print(
                    f"{ds_name:13s} {model:5s} defaults {r['defaults']:.4f} tuned {r['tuned']:.4f}"
                    f" ratio {r['ratio']:.3f} ({r['trials']} trials, {r['seconds']} s)",
                    file=sys.stderr,
                )
    columns = ["data", "users", "items", "density", "model", "defaults", "tuned", "ratio", "trials"]
    header = {
        "bench": "defaults_transfer",
        "protocol": args.protocol,
        "metric": "validation ndcg@10",
        "target_ratio": TARGET,
        "budget": {"trials": args.trials, "seconds": args.time},
        "machine": machine(),
    }
    emit({**header, "rows": rows}, args.json, [[r[c] for c in columns] for r in rows], columns)
    missed = [r for r in rows if not r["ratio"] >= TARGET]
    if missed:
        print(
            f"{len(missed)} of {len(rows)} below {TARGET}: "
            + ", ".join(f"{r['data']}/{r['model']} {r['ratio']}" for r in missed)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
