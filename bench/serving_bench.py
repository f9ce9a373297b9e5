"""Serving latency: fold-in of a new visitor plus exact top-10 over every item, per backend.

    python bench/serving_bench.py [--embeddings /tmp/benchout/ials_items.npz] [--json PATH]
    python bench/serving_bench.py --data /tmp/recsys-synth-25m --train-iterations 2

Item vectors are trained iALS factors: from ``--embeddings`` (written by
``bench/train_bench.py --save-embeddings``) or, without it, from a short iALS fit on ``--data``.
Requests are synthetic visitor profiles (10-50 ratings drawn by popularity, most at or above
the positive threshold), folded in with ``recsys.foldin.FoldIn`` ("confidence", the app's path).

Measured, in one run (single queries in blocks rotating over the backends, see
``time_single_interleaved``): fold-in alone; top-10 search through ItemIndex numpy, FAISS IndexFlatIP,
auto (what the app uses) and HNSW; single requests (p50/p99 over --requests) and batches of
--batch queries (per batch). HNSW recall@10 against the exact ids. The memory-bandwidth floor of
one exact scan is n_items * d * 4 bytes over the bandwidth of a large array copy measured here;
the L3-cache case is the time of one read pass over the (cache-resident) item matrix.
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
from _util import DEFAULT_DATA, emit, machine  # noqa: E402

from recsys.foldin import FoldIn  # noqa: E402
from recsys.index import ItemIndex  # noqa: E402

K = 10


def pct(samples_s: list[float]) -> dict:
    a = np.asarray(samples_s) * 1e3
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(float(a.mean()), 4),
    }


def load_embeddings(args) -> tuple[np.ndarray, np.ndarray, dict, str]:
    if args.embeddings:
        z = np.load(args.embeddings)
        params = {k: float(z[k]) for k in z.files if k not in ("item_factors", "popularity")}
        return z["item_factors"], z["popularity"], params, f"file {args.embeddings}"
    import recsys
    from recsys.models import make_model

    ds = recsys.load_movielens(args.data)
    model = make_model("ials", iterations=args.train_iterations, patience=args.train_iterations)
    t0 = time.perf_counter()
    model.fit(ds.interactions(), seed=0, device="cpu")
    fold = model.fold_in_state()
    src = (
        f"iALS {args.train_iterations} iterations on {args.data} ({time.perf_counter() - t0:.0f}s)"
    )
    return model.item_factors, fold.popularity, dict(fold.params), src


def profiles(popularity: np.ndarray, n: int, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    p = np.asarray(popularity, np.float64) + 1.0
    p /= p.sum()
    out = []
    for _ in range(n):
        size = int(rng.integers(10, 51))
        codes = rng.choice(len(p), size=size, replace=False, p=p)
        stars = np.clip(np.round(rng.normal(4.0, 0.8, size) * 2) / 2, 0.5, 5.0)
        out.append((codes.astype(np.int64), stars))
    return out


def bandwidth(size_bytes: int = 1 << 30, repeats: int = 3) -> dict:
    src = np.ones(size_bytes // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    best_copy = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    best_read = min(_timed(lambda: src.sum()) for _ in range(repeats))
    return {
        "array_gib": round(size_bytes / 2**30, 2),
        "copy_gb_s": round(2 * size_bytes / best_copy / 1e9, 2),  # read + write
        "read_gb_s": round(size_bytes / best_read / 1e9, 2),
    }


def _l3_size() -> str | None:
    try:
        for line in open("/sys/devices/system/cpu/cpu0/cache/index3/size"):
            return line.strip()
    except OSError:
        return None
    return None


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def time_single_interleaved(
    searchers: dict, queries: np.ndarray, blocks: int = 8, warmup: int = 20
) -> dict:
    """Per-query seconds of each searcher. The queries are cut into ``blocks``; each block is run
    by every searcher in turn (order rotating from block to block), after ``warmup`` untimed
    queries. Blocks, not query-by-query alternation: a multi-threaded search leaves OpenMP /
    OpenBLAS workers spinning for a while, which would slow whatever runs right after it; and
    rotating blocks spreads load from other jobs on a shared machine over every backend."""
    names = list(searchers)
    out = {name: [] for name in names}
    for i, block in enumerate(np.array_split(queries, blocks)):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            fn = searchers[name]
            for q in queries[:warmup]:
                fn(q[None, :])
            for q in block:
                q = q[None, :]
                t0 = time.perf_counter()
                fn(q)
                out[name].append(time.perf_counter() - t0)
    return out


def time_batch_interleaved(searchers: dict, queries: np.ndarray, repeats: int) -> dict:
    for fn in searchers.values():
        fn(queries)
    out = {name: [] for name in searchers}
    for _ in range(repeats):
        for name, fn in searchers.items():
            out[name].append(_timed(lambda fn=fn: fn(queries)))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--embeddings", default=None)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--train-iterations", type=int, default=2)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--batch-repeats", type=int, default=10)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import faiss

    rng = np.random.default_rng(0)
    items, popularity, params, source = load_embeddings(args)
    items = np.ascontiguousarray(items, np.float32)
    n_items, d = items.shape
    fold = FoldIn(
        "confidence",
        popularity=np.asarray(popularity, np.float32),
        item_factors=items,
        params=params,
    )
    _ = fold.gramian  # computed once per artifact load, as in the app

    # Fold-in: the user step alone (solve), and the library's full fold_in (solve + all scores).
    reqs = profiles(popularity, args.requests, rng)
    solve_t, users = [], []
    for codes, stars in reqs:
        t0 = time.perf_counter()
        a, b = fold._confidence_system(codes, stars)
        x = np.linalg.solve(a, b).astype(np.float32)
        solve_t.append(time.perf_counter() - t0)
        users.append(x)
    queries = np.ascontiguousarray(np.stack(users), np.float32)
    full_t = [_timed(lambda c=c, s=s: fold.fold_in(c, s)) for c, s in reqs[:500]]

    # Indexes. Exact ids from numpy are the ground truth for recall. "faiss-all-threads" is a raw
    # IndexFlatIP searched with FAISS's default OpenMP team (what ItemIndex did before it ran
    # single queries on one thread): the reference for the thread choice.
    backends = {}
    build = {}
    for name in ("numpy", "faiss", "auto", "hnsw"):
        t0 = time.perf_counter()
        if name == "hnsw":  # approximate: an HNSW graph searched through the same ItemIndex path
            hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efSearch = 128
            hnsw.add(items)
            idx = ItemIndex(items, backend="faiss", faiss_index=hnsw)
        else:
            idx = ItemIndex(items, backend=name)
            if name == "faiss":
                idx._faiss_index()
        build[name] = round(time.perf_counter() - t0, 3)
        backends[name] = idx
    raw = faiss.IndexFlatIP(d)
    raw.add(items)
    all_threads = faiss.omp_get_max_threads()

    def raw_search(q):
        faiss.omp_set_num_threads(all_threads)
        return raw.search(q, K)

    searchers = {name: (lambda q, idx=idx: idx.search(q, K)) for name, idx in backends.items()}
    searchers["faiss-all-threads"] = raw_search
    build["faiss-all-threads"] = build["faiss"]
    single_t = time_single_interleaved(searchers, queries)
    batch_t = time_batch_interleaved(searchers, queries[: args.batch], args.batch_repeats)
    exact_ids, _ = backends["numpy"].search(queries[: args.batch], K)
    rows, res = [], {}
    for name, fn in searchers.items():
        single, batch = single_t[name], batch_t[name]
        got = fn(queries[: args.batch])
        ids = got[1] if name == "faiss-all-threads" else got[0]
        recall = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(ids, exact_ids)]))
        res[name] = {
            "single": pct(single),
            "batch": pct(batch),
            "batch_per_query_us": round(float(np.median(batch)) / args.batch * 1e6, 2),
            "recall_at_10_vs_exact": round(recall, 4),
            "build_s": build[name],
        }
        rows.append(
            [
                name,
                res[name]["single"]["p50_ms"],
                res[name]["single"]["p99_ms"],
                res[name]["batch"]["p50_ms"],
                res[name]["batch"]["p99_ms"],
                res[name]["recall_at_10_vs_exact"],
            ]
        )
    fold_single = pct(solve_t)
    rows.append(["fold-in solve only", fold_single["p50_ms"], fold_single["p99_ms"], "", "", ""])
    rows.append(
        ["FoldIn.fold_in (solve+scores)", pct(full_t)["p50_ms"], pct(full_t)["p99_ms"], "", "", ""]
    )

    # Floors: DRAM bandwidth from a 1 GiB copy; L3 case: one read pass over the item matrix.
    bw = bandwidth()
    scan_bytes = items.nbytes
    # L3 case: the item matrix (15 MB at 59,047 x 64) fits this CPU's L3; copying it into a
    # warm buffer of its size measures cache bandwidth the same way the 1 GiB copy measures DRAM.
    buf = np.empty_like(items)
    np.copyto(buf, items)
    l3_copy = min(_timed(lambda: np.copyto(buf, items)) for _ in range(50))
    l3_gb_s = 2 * scan_bytes / l3_copy / 1e9
    floors = {
        "scan_bytes": scan_bytes,
        "dram_floor_ms": round(scan_bytes / (bw["copy_gb_s"] * 1e9) * 1e3, 4),
        "dram_floor_ms_read_bw": round(scan_bytes / (bw["read_gb_s"] * 1e9) * 1e3, 4),
        "l3_copy_gb_s": round(l3_gb_s, 2),
        "l3_floor_ms": round(scan_bytes / (l3_gb_s * 1e9) * 1e3, 4),
        "l3_cache": _l3_size(),
        "batch_floor_note": "a batch shares one pass over the matrix: its memory floor is one "
        "scan (the floors above), the rest is arithmetic",
    }
    auto = res["auto"]["single"]
    fold_single = pct(solve_t)
    npy = res["numpy"]["single"]
    checks = {
        "auto_p50_le_numpy_p50": auto["p50_ms"] <= npy["p50_ms"] * 1.05,
        "auto_p50_over_numpy_p50": round(auto["p50_ms"] / npy["p50_ms"], 3),
        "auto_p99_within_3x_p50": auto["p99_ms"] <= 3 * auto["p50_ms"],
        "auto_p99_over_p50": round(auto["p99_ms"] / auto["p50_ms"], 2),
        "auto_single_backend": "numpy" if backends["auto"].uses_numpy else "faiss (1 thread)",
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "request_p50_ms_foldin_plus_auto_top10": round(fold_single["p50_ms"] + auto["p50_ms"], 4),
    }
    result = {
        "benchmark": "serving_bench",
        "machine": machine(),
        "embeddings": source,
        "n_items": n_items,
        "factors": d,
        "k": K,
        "requests": args.requests,
        "batch": args.batch,
        "fold_in_solve": fold_single,
        "fold_in_full_scores": pct(full_t),
        "search": res,
        "bandwidth": bw,
        "floors": floors,
        "checks": checks,
    }
    emit(
        result,
        args.json,
        rows,
        ["backend", "1 q p50 ms", "1 q p99 ms", "batch p50 ms", "batch p99 ms", "recall@10"],
    )
    return result


if __name__ == "__main__":
    main()
