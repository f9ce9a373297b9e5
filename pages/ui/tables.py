"""Tables of the Model report, built from the artifacts' manifests (plain pandas)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["protocol_label", "metrics_table"]


_METRIC_ORDER = ("ndcg", "recall", "precision", "hr", "mrr", "coverage", "novelty", "rmse", "mae")


def _metric_key(name: str) -> tuple:
    base, _, k = name.partition("@")
    rank = _METRIC_ORDER.index(base) if base in _METRIC_ORDER else len(_METRIC_ORDER)
    return (int(k) if k.isdigit() else 0, rank, name)


def protocol_label(protocol: str, entry: Mapping | None = None) -> str:
    """A one-line description of an evaluation protocol and its parameters (plain text)."""
    what = {
        "users": "strong generalisation: held-out users are folded in, as the app does for you",
        "random": "positive ratings split at random into train and test; test ones re-found",
        "temporal": "one global time cut: predict the future from the past",
        "leave-last-n": "each user's latest positives hidden (sees other users' future)",
        "ratings": "rating prediction on a random share of the ratings",
    }.get(protocol, "")
    params = dict((entry or {}).get("protocol", {}) or {})
    params.pop("name", None)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, (dict, list)))
    out = protocol + (f" ({what})" if what else "")
    return out + (f"; {shown}" if shown else "")


def metrics_table(manifests: Mapping[str, Mapping], protocol: str) -> pd.DataFrame:
    """One row per artifact name with its scalar metrics under ``protocol`` (ndcg/recall first,
    then by cut-off), plus train_seconds; artifacts without that protocol are left out."""
    rows = {}
    for name, manifest in manifests.items():
        entry = (manifest.get("metrics") or {}).get(protocol)
        if not isinstance(entry, Mapping):
            continue
        metrics = entry.get("metrics") or {}
        row = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n_users"
        }
        if isinstance(entry.get("train_seconds"), (int, float)):
            row["train_seconds"] = float(entry["train_seconds"])
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    if table.empty:
        return table
    cols = sorted((c for c in table.columns if c != "train_seconds"), key=_metric_key)
    if "train_seconds" in table.columns:
        cols.append("train_seconds")
    table = table[cols]
    table.index.name = "artifact"
    return table
