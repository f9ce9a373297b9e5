"""Write ML-25M-shaped synthetic data (recsys.synth) in the ML-25M CSV layout and time it.

    python bench/gen_synthetic.py [--out /tmp/recsys-synth-25m] [--scale 1.0] [--json PATH]

Default shape: 162,541 users, 59,047 items, 25,000,095 ratings (``--scale`` multiplies all three).
Reports generation and CSV-writing seconds, peak RSS, rows written vs requested.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import DEFAULT_DATA, PeakMemory, emit, machine  # noqa: E402

from recsys import synth  # noqa: E402


def config_for(scale: float, seed: int, clusters: int) -> synth.SynthConfig:
    users, items, ratings = synth.ML25M_SHAPE
    return synth.SynthConfig(
        n_users=max(int(users * scale), 10),
        n_items=max(int(items * scale), 40),
        n_ratings=max(int(ratings * scale), 400),
        n_clusters=clusters,
        seed=seed,
    )


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_DATA)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clusters", type=int, default=20)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    cfg = config_for(args.scale, args.seed, args.clusters)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with PeakMemory() as gen:
        ratings = synth.generate_interactions(cfg)
    n = len(ratings)
    with PeakMemory() as write:
        synth._write_ratings_csv(out / "ratings.csv", ratings)
    del ratings
    # movies.csv / links.csv (small): reuse write_movielens_csv's code path via a tiny config
    # would regenerate ratings, so write them the same way it does.
    t0 = time.perf_counter()
    synth._write_movies_links(out, cfg)
    meta_s = time.perf_counter() - t0
    size = (out / "ratings.csv").stat().st_size
    result = {
        "benchmark": "gen_synthetic",
        "machine": machine(),
        "config": vars(cfg) if hasattr(cfg, "__dict__") else cfg.__dict__,
        "out": str(out),
        "ratings_requested": cfg.n_ratings,
        "ratings_written": n,
        "users": int(cfg.n_users),
        "items": int(cfg.n_items),
        "generate_s": round(gen.seconds, 2),
        "generate_peak_rss_gib": gen.peak_gib,
        "write_csv_s": round(write.seconds, 2),
        "write_peak_rss_gib": write.peak_gib,
        "movies_links_s": round(meta_s, 2),
        "total_s": round(gen.seconds + write.seconds + meta_s, 2),
        "ratings_csv_mib": round(size / 2**20, 1),
    }
    rows = [
        ["generate", result["generate_s"], result["generate_peak_rss_gib"]],
        ["write ratings.csv", result["write_csv_s"], result["write_peak_rss_gib"]],
        ["movies+links", result["movies_links_s"], ""],
    ]
    emit(result, args.json, rows, ["phase", "seconds", "peak RSS GiB"])
    return result


if __name__ == "__main__":
    main()
