"""Time and peak memory of recsys.load_movielens on a (25M) ratings.csv, against a plain
pyarrow.csv.read_csv of the same file measured in the same run.

    python bench/load_bench.py [--data /tmp/recsys-synth-25m] [--repeats 2] [--json PATH]

Each measurement runs in a fresh child process so its peak RSS is its own (sampled every 20 ms
with psutil, cross-checked with getrusage's ru_maxrss). The file is read once beforehand so both
sides find it in the page cache. Targets: load < 30 s and < 3 GiB peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _util import DEFAULT_DATA, PeakMemory, emit, machine, max_rss_gib  # noqa: E402

TARGET_S, TARGET_GIB = 30.0, 3.0


def child(kind: str, data: str) -> dict:
    t_import = time.perf_counter()
    if kind == "recsys":
        import recsys

        fn = lambda: recsys.load_movielens(data)  # noqa: E731
    else:
        import pyarrow.csv as pacsv

        fn = lambda: pacsv.read_csv(str(Path(data) / "ratings.csv"))  # noqa: E731
    import_s = time.perf_counter() - t_import
    with PeakMemory() as mem:
        out = fn()
    rows = len(out.ratings) if kind == "recsys" else out.num_rows
    return {
        "kind": kind,
        "seconds": round(mem.seconds, 3),
        "import_s": round(import_s, 3),
        "rows": int(rows),
        "peak_rss_gib": mem.peak_gib,
        "rss_before_gib": round(mem.start / 2**30, 3),
        "ru_maxrss_gib": max_rss_gib(),
    }


def run_child(kind: str, data: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", data],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", choices=["recsys", "pyarrow"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.data)))
        return {}
    ratings = Path(args.data) / "ratings.csv"
    size = ratings.stat().st_size
    with open(ratings, "rb") as f:  # warm the page cache for both sides
        while f.read(1 << 24):
            pass
    runs = {"recsys": [], "pyarrow": []}
    for _ in range(args.repeats):  # interleaved, so load changes on the machine hit both
        for kind in ("pyarrow", "recsys"):
            runs[kind].append(run_child(kind, args.data))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    peak = {k: max(r["peak_rss_gib"] for r in v) for k, v in runs.items()}
    ours, ref = best["recsys"], best["pyarrow"]
    result = {
        "benchmark": "load_bench",
        "machine": machine(),
        "data": args.data,
        "ratings_csv_mib": round(size / 2**20, 1),
        "rows": ours["rows"],
        "load_movielens_s": ours["seconds"],
        "load_movielens_peak_rss_gib": peak["recsys"],
        "pyarrow_read_csv_s": ref["seconds"],
        "pyarrow_read_csv_peak_rss_gib": peak["pyarrow"],
        "ratio_time_ours_over_pyarrow": round(ours["seconds"] / ref["seconds"], 2),
        "ratio_peak_ours_over_pyarrow": round(peak["recsys"] / peak["pyarrow"], 2),
        "targets": {"seconds": TARGET_S, "peak_gib": TARGET_GIB},
        "met": {
            "seconds": ours["seconds"] < TARGET_S,
            "peak_gib": peak["recsys"] < TARGET_GIB,
        },
        "runs": runs,
    }
    rows = [
        ["recsys.load_movielens", ours["seconds"], peak["recsys"]],
        ["pyarrow.csv.read_csv (ref)", ref["seconds"], peak["pyarrow"]],
        [
            "ratio ours/ref",
            result["ratio_time_ours_over_pyarrow"],
            result["ratio_peak_ours_over_pyarrow"],
        ],
    ]
    emit(result, args.json, rows, [f"reader (best of {args.repeats})", "seconds", "peak GiB"])
    return result


if __name__ == "__main__":
    main()
