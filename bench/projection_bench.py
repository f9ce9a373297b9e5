"""UMAP map of the item embeddings: import time, first fit (with numba JIT), second fit, peak
memory, and the PCA preview, all through recsys.projection with the seed fixed.

    python bench/projection_bench.py [--embeddings /tmp/benchout/ials_items.npz] [--json PATH]

Without ``--embeddings`` the items are random normal vectors (``--items`` x ``--factors``); use
trained factors (bench/train_bench.py --save-embeddings) for representative neighbour graphs.
Run as its own process so the import time is a cold import. Target: import + first fit < 120 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from _util import PeakMemory, emit, machine  # noqa: E402

TARGET_S = 120.0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--embeddings", default=None)
    ap.add_argument("--items", type=int, default=59_047)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-second", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.embeddings:
        emb = np.load(args.embeddings)["item_factors"].astype(np.float32)
        source = args.embeddings
    else:
        emb = np.random.default_rng(0).normal(size=(args.items, args.factors)).astype(np.float32)
        source = "random normal"
    from recsys.projection import pca_2d, project_items

    t0 = time.perf_counter()
    pca_2d(emb)
    pca_s = time.perf_counter() - t0
    with PeakMemory() as imp:
        import umap  # noqa: F401
    with PeakMemory() as first:
        coords1, info = project_items(emb, "umap", seed=args.seed)
    result = {
        "benchmark": "projection_bench",
        "machine": machine(),
        "embeddings": source,
        "shape": list(emb.shape),
        "seed": args.seed,
        "pca_preview_s": round(pca_s, 4),
        "umap_import_s": round(imp.seconds, 2),
        "umap_first_fit_s": round(first.seconds, 2),
        "umap_first_fit_peak_rss_gib": first.peak_gib,
        "import_plus_first_fit_s": round(imp.seconds + first.seconds, 2),
        "umap_params": info,
    }
    rows = [
        ["PCA preview", result["pca_preview_s"], ""],
        ["import umap", result["umap_import_s"], imp.peak_gib],
        ["UMAP fit #1 (incl. JIT)", result["umap_first_fit_s"], first.peak_gib],
    ]
    if not args.skip_second:
        with PeakMemory() as second:
            coords2, _ = project_items(emb, "umap", seed=args.seed)
        result["umap_second_fit_s"] = round(second.seconds, 2)
        result["umap_second_fit_peak_rss_gib"] = second.peak_gib
        result["second_fit_identical"] = bool(np.array_equal(coords1, coords2))
        rows.append(["UMAP fit #2 (JIT warm)", result["umap_second_fit_s"], second.peak_gib])
    result["target_s"] = TARGET_S
    result["met"] = result["import_plus_first_fit_s"] < TARGET_S
    result["process_total_s"] = round(time.perf_counter() - T_START, 2)
    emit(result, args.json, rows, ["phase", "seconds", "peak RSS GiB"])
    return result


if __name__ == "__main__":
    main()
