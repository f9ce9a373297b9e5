"""Print the README's result tables (Markdown) from the JSON files in results/.

    python bench/results_tables.py [RESULTS_DIR]

Reads users.json, random.json and ratings.json as written by ``python -m recsys evaluate
--json`` (bench/ml_latest_small.sh) and prints, per ranking protocol, every model's Recall@10,
NDCG@10, NDCG@10 on movies with few training ratings, coverage, epochs chosen and train seconds,
with NDCG@10 relative to EASE; then the cold-start and elicitation curves (users) and the ratings
table. Nothing is computed here but ratios: every number comes from the files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _load(directory: Path, name: str) -> dict | None:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ranking_table(result: dict) -> str:
    rows = result["results"]
    ease = next((r["metrics"]["ndcg@10"] for r in rows if r["model"] == "ease"), None)
    lines = [
        "| model | Recall@10 | NDCG@10 | x EASE | NDCG@10, movies < 10 train ratings | "
        "coverage@10 | epochs | train s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        m = r["metrics"]
        sparse = m.get("sparse_items", {}).get("ndcg@10")
        ratio = f"{m['ndcg@10'] / ease:.2f}" if ease else "-"
        lines.append(
            f"| {r['model']} | {m['recall@10']:.4f} | {m['ndcg@10']:.4f} | {ratio} | "
            + (f"{sparse:.4f}" if sparse is not None else "-")
            + f" | {m['coverage@10']:.4f} | {r.get('epochs_chosen') or '-'} | "
            f"{r['train_seconds']:.1f} |"
        )
    return "\n".join(lines)


def curve_table(result: dict, key: str, label: str) -> str:
    rows = [r for r in result["results"] if key in r["metrics"]]
    if not rows:
        return ""
    sizes = list(next(iter(rows))["metrics"][key])
    if key == "elicitation":  # {strategy: {n: ndcg}}: one table per model would be long
        out = []
        for r in rows:
            for strategy, curve in r["metrics"][key].items():
                vals = " | ".join(f"{curve[n]:.3f}" for n in curve)
                out.append(f"| {r['model']} | {strategy} | {vals} |")
        first = next(iter(rows[0]["metrics"][key].values()))
        head = "| model | strategy | " + " | ".join(f"n={n}" for n in first) + " |"
        return "\n".join([head, "|---|---|" + "---:|" * len(first), *out])
    head = f"| model | {label} " + " | ".join(f"n={n}" for n in sizes) + " |"
    lines = [head, "| --- |" + " ---: |" * len(sizes)]
    for r in rows:
        curve = r["metrics"][key]
        lines.append(
            f"| {r['model']} | " + " | ".join(f"{curve[n]['ndcg@10']:.3f}" for n in sizes) + " |"
        )
    return "\n".join(lines)


def ratings_table(result: dict) -> str:
    lines = ["| model | RMSE | MAE | train s |", "| --- | ---: | ---: | ---: |"]
    for r in result["results"]:
        m = r["metrics"]
        lines.append(f"| {r['model']} | {m['rmse']:.4f} | {m['mae']:.4f} | {r['train_seconds']:.1f} |")
    return "\n".join(lines)


def tuning_table(result: dict) -> str:
    tuning = result.get("tuning") or {}
    if not tuning:
        return ""
    lines = ["| model | trials (pruned) | validation | edge of range |", "| --- | ---: | ---: | --- |"]
    for name, t in tuning.items():
        trials = [x for x in t["trials"] if x.get("stage", "train") == "train"]
        pruned = sum(x.get("state") == "pruned" for x in trials)
        edges = ", ".join(f"{k} ({v['side']})" for k, v in t.get("edge_params", {}).items())
        lines.append(
            f"| {name} | {len(trials)} ({pruned}) | {t['best_score']:.4f} | {edges or 'none'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    directory = Path((argv or sys.argv[1:] or ["results"])[0])
    for protocol in ("users", "random"):
        result = _load(directory, protocol)
        if result is None:
            continue
        print(f"### {protocol}\n\n{ranking_table(result)}\n")
        print(f"Tuning ({protocol}):\n\n{tuning_table(result)}\n")
        if protocol == "users":
            print(curve_table(result, "by_profile_size", "") + "\n")
            print(curve_table(result, "elicitation", "") + "\n")
    ratings = _load(directory, "ratings")
    if ratings is not None:
        print(f"### ratings\n\n{ratings_table(ratings)}\n\n{tuning_table(ratings)}")


if __name__ == "__main__":
    main()
