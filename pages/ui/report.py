"""The Model report's data and figures, built from plain data (no Streamlit).

- :func:`read_results` reads the evaluation files (``results/*.json``, the layout of
  ``python -m recsys evaluate --json``), one per protocol, skipping what it cannot read.
- :func:`comparison_frame`, :func:`cold_start_frame`, :func:`elicitation_frame`,
  :func:`map_quality_frame` and :func:`taste_frame` turn them (and manifests) into long tables;
  the ``*_figure`` functions draw them (Plotly, imported inside).
- :func:`models_frame`, :func:`manifest_protocols`, :func:`protocol_example`,
  :func:`missing_profile_size`, :func:`manifest_summary`, :func:`params_frame`,
  :func:`versions_line` and :func:`raw_manifest` shape the artifacts' manifests for the page;
  :func:`cold_start_metric` and :func:`split_panels` pick what the figures show.
- :func:`redact_paths` keeps server paths off the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

__all__ = [
    "BASELINES",
    "read_results",
    "comparison_frame",
    "cold_start_frame",
    "elicitation_frame",
    "best_elicitation",
    "map_quality_frame",
    "taste_frame",
    "redact_paths",
    "cold_start_metric",
    "missing_profile_size",
    "split_panels",
    "models_frame",
    "manifest_protocols",
    "protocol_example",
    "manifest_summary",
    "params_frame",
    "versions_line",
    "raw_manifest",
    "comparison_figure",
    "cold_start_figure",
    "elicitation_figure",
    "map_quality_figure",
    "taste_figure",
]

# Models with no learned embedding: the bar every embedding model has to clear.
BASELINES = ("pop", "itemknn", "ease", "bias")
STRATEGY_LABELS = {
    "random": "random movies",
    "popular": "most popular first",
    "pop_entropy": "log-popularity × rating entropy",
    "groups": "the quick-start taste groups",
}
_PROTOCOL_ORDER = ("users", "random", "temporal", "leave-last-n", "ratings")


def read_results(folder: str | Path) -> dict[str, dict]:
    """``{protocol name: evaluation file}`` from the JSON files directly in ``folder``.

    A file counts when it is a dict with ``protocol.name`` and a ``results`` list; where several
    files hold one protocol, the one named after it (``users.json``) wins, else the first by
    name. Unreadable or foreign files are skipped; a missing folder gives ``{}``."""
    out: dict[str, tuple[bool, str, dict]] = {}
    try:
        files = sorted(Path(folder).glob("*.json"))
    except OSError:
        return {}
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            continue
        protocol = (data.get("protocol") or {}).get("name")
        if not isinstance(protocol, str):
            continue
        rank = (f.stem != protocol, f.name)
        if protocol not in out or rank < out[protocol][:2]:
            out[protocol] = (*rank, data)
    order = sorted(out, key=lambda p: (_PROTOCOL_ORDER + (p,)).index(p))
    return {p: out[p][2] for p in order}


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def comparison_frame(
    results: Mapping[str, Mapping], metrics: Sequence[str] = ("ndcg@10", "recall@10")
) -> pd.DataFrame:
    """Long table (protocol, model, metric, value, baseline) of every model in every evaluation
    file; the ``ratings`` protocol reports RMSE and MAE instead (lower is better)."""
    rows = []
    for protocol, data in results.items():
        wanted = ("rmse", "mae") if protocol == "ratings" else tuple(metrics)
        for r in data.get("results") or []:
            if not isinstance(r, Mapping) or not isinstance(r.get("model"), str):
                continue
            values = r.get("metrics") or {}
            for metric in wanted:
                v = _number(values.get(metric))
                if v is not None:
                    rows.append((protocol, r["model"], metric, v, r["model"] in BASELINES))
    return pd.DataFrame(rows, columns=["protocol", "model", "metric", "value", "baseline"])


def cold_start_frame(
    users: Mapping | None, manifests: Mapping[str, Mapping] | None = None
) -> pd.DataFrame:
    """Long table (model, ratings, metric, value, source) of pick quality against the number of
    ratings folded in (``by_profile_size``): every model of the users-protocol evaluation file
    (source "results"), then each artifact's own manifest (source "artifact")."""
    rows = []

    def add(name: str, by_size: Mapping, source: str) -> None:
        for size, values in (by_size or {}).items():
            try:
                n = int(size)
            except (TypeError, ValueError):
                continue
            for metric, value in (values or {}).items():
                v = _number(value)
                if v is not None:
                    rows.append((name, n, metric, v, source))

    for r in (users or {}).get("results") or []:
        if isinstance(r, Mapping) and isinstance(r.get("model"), str):
            add(r["model"], (r.get("metrics") or {}).get("by_profile_size") or {}, "results")
    for name, m in (manifests or {}).items():
        entry = ((m.get("metrics") or {}).get("users") or {}).get("metrics") or {}
        add(f"artifact {name}", entry.get("by_profile_size") or {}, "artifact")
    frame = pd.DataFrame(rows, columns=["model", "ratings", "metric", "value", "source"])
    return frame.sort_values(["metric", "source", "model", "ratings"]).reset_index(drop=True)


def elicitation_frame(manifest: Mapping | None) -> pd.DataFrame:
    """Long table (strategy, ratings, ndcg) of the elicitation curves in a manifest
    (``metrics.users.metrics.elicitation``: NDCG@10 after a newcomer rated n movies chosen by
    each strategy); empty when absent."""
    entry = (((manifest or {}).get("metrics") or {}).get("users") or {}).get("metrics") or {}
    rows = []
    for strategy, curve in (entry.get("elicitation") or {}).items():
        for size, value in (curve or {}).items() if isinstance(curve, Mapping) else ():
            v = _number(value)
            try:
                n = int(size)
            except (TypeError, ValueError):
                continue
            if v is not None:
                rows.append((str(strategy), n, v))
    frame = pd.DataFrame(rows, columns=["strategy", "ratings", "ndcg"])
    return frame.sort_values(["strategy", "ratings"]).reset_index(drop=True)


def best_elicitation(frame: pd.DataFrame) -> str | None:
    """One sentence naming the strategy with the best mean NDCG@10 over the measured sizes,
    with its numbers and the runner-up's; None for an empty table."""
    if frame.empty:
        return None
    means = frame.groupby("strategy")["ndcg"].mean().sort_values(ascending=False, kind="stable")
    best = str(means.index[0])
    curve = frame[frame["strategy"] == best].sort_values("ratings")
    points = ", ".join(f"{v:.3f} after {n}" for n, v in zip(curve["ratings"], curve["ndcg"]))
    text = (
        f"Best measured way to choose what a newcomer rates: {STRATEGY_LABELS.get(best, best)} "
        f"(NDCG@10 {points}; mean {means.iloc[0]:.3f}"
    )
    if len(means) > 1:
        second = str(means.index[1])
        text += f", against {means.iloc[1]:.3f} for {STRATEGY_LABELS.get(second, second)}"
    return text + ")."


def map_quality_frame(manifest: Mapping | None) -> pd.DataFrame:
    """Long table (map, measure, value) from a manifest's ``map_quality``: trustworthiness@k and
    genre agreement@k of the map, of the full space and of random pairs, per map (umap, pca)."""
    rows = []
    for method, q in ((manifest or {}).get("map_quality") or {}).items():
        if not isinstance(q, Mapping):
            continue
        for key, value in q.items():
            if key.startswith("trustworthiness@"):
                v = _number(value)
                if v is not None:
                    rows.append((method.upper(), f"trustworthiness@{key.split('@')[1]}", v))
            elif key.startswith("genre_agreement@") and isinstance(value, Mapping):
                k = key.split("@")[1]
                for part, label in (
                    ("map", "map"),
                    ("full_space", "full space"),
                    ("random_pairs", "random pairs"),
                ):
                    v = _number(value.get(part))
                    if v is not None:
                        rows.append((method.upper(), f"genre agreement@{k}: {label}", v))
    return pd.DataFrame(rows, columns=["map", "measure", "value"])


def taste_frame(panels: Mapping[str, Mapping]) -> pd.DataFrame:
    """Long table (artifact, measure, value) of taste panels (``recsys.taste.taste_panel``
    results): genre share per archetype and its mean, share of franchise checks passed,
    diversity (mean pairwise Jaccard; lower is more diverse) and share of low-support movies."""
    rows = []
    for name, p in panels.items():
        if not isinstance(p, Mapping) or "genre_share" not in p:
            continue
        for arch, v in (p.get("genre_share") or {}).items():
            rows.append((name, f"genre share: {arch}", float(v)))
        rows.append((name, "mean genre share", float(p.get("mean_genre_share", 0.0))))
        n_fr = len(p.get("franchise") or {})
        if n_fr:
            rows.append((name, "franchise checks passed", p.get("franchise_passed", 0) / n_fr))
        rows.append((name, "list overlap (Jaccard)", float(p.get("diversity", 0.0))))
        listed = max(int(p.get("listed", 0)), 1)
        rows.append((name, "low-support share", int(p.get("low_support", 0)) / listed))
    return pd.DataFrame(rows, columns=["artifact", "measure", "value"])


_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"`:,;()]+/)+([^\s/'\"`:,;()]*)")


def redact_paths(text: str, known: Mapping[str, str] | None = None) -> str:
    """``text`` without server paths: each ``known`` prefix replaced by its short name (e.g. the
    artifacts root by ``artifacts``), then any other absolute path cut to ``…/last-part``."""
    out = str(text)
    for prefix, short in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        if prefix:
            out = out.replace(prefix.rstrip("/"), short)
    return _ABS_PATH.sub(lambda m: "…/" + m.group(1), out)


def cold_start_metric(frame: pd.DataFrame) -> str:
    """The metric the cold-start figure draws: ``ndcg@10`` where the table has it, else its first
    metric (``ndcg@10`` for an empty table)."""
    metrics = list(frame["metric"]) if "metric" in frame else []
    return "ndcg@10" if "ndcg@10" in metrics or not metrics else str(metrics[0])


def missing_profile_size(manifests: Mapping[str, Mapping]) -> list[str]:
    """Names of the artifacts whose manifest holds no ``by_profile_size`` results (users
    protocol), in manifest order."""
    return [
        name
        for name, m in manifests.items()
        if not (((m.get("metrics") or {}).get("users") or {}).get("metrics") or {}).get(
            "by_profile_size"
        )
    ]


def split_panels(results: Mapping[str, Mapping]) -> tuple[dict[str, Mapping], list[str]]:
    """Taste-panel results per artifact split into ``(panels, skipped)``: the panels that were
    computed, and the names of those answered with ``{"error": ...}`` (panel movies missing)."""
    panels = {name: r for name, r in results.items() if "error" not in r}
    return panels, [name for name in results if name not in panels]


# -- the artifacts' manifests -------------------------------------------------------------------


def models_frame(
    manifests: Mapping[str, Mapping],
    dimensions: Mapping[str, int | None],
    default: str | None = None,
) -> pd.DataFrame:
    """One row per trained model: artifact, model, dimensions (from ``dimensions``, the size of
    each artifact's item vectors, None when unknown), fold-in method, items, train seconds, and
    whether it is the ``default`` artifact."""
    rows = []
    for name, m in manifests.items():
        rows.append(
            {
                "artifact": name,
                "model": (m.get("model") or {}).get("name"),
                "dimensions": dimensions.get(name),
                "fold-in": (m.get("fold_in") or {}).get("method"),
                "items": m.get("n_items"),
                "train seconds": (m.get("training") or {}).get("seconds"),
                "default": name == default,
            }
        )
    columns = ["artifact", "model", "dimensions", "fold-in", "items", "train seconds", "default"]
    return pd.DataFrame(rows, columns=columns)


def manifest_protocols(manifests: Mapping[str, Mapping]) -> list[str]:
    """Every protocol the manifests hold an evaluation of, each once: ``users`` first (the one
    that folds users in as the app does), then alphabetical."""
    found = {p for m in manifests.values() for p in (m.get("metrics") or {})}
    return sorted(found, key=lambda p: (p != "users", p))


def protocol_example(manifests: Mapping[str, Mapping], protocol: str) -> Mapping | None:
    """The first manifest's evaluation under ``protocol`` (its parameters describe the
    protocol); None when no manifest has one."""
    for m in manifests.values():
        metrics = m.get("metrics") or {}
        if protocol in metrics:
            return metrics[protocol]
    return None


def _pairs(mapping: Mapping | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (mapping or {}).items())


def manifest_summary(manifest: Mapping) -> dict[str, str]:
    """Plain-text lines of a manifest, keyed by their heading: ``Dataset`` (name, format, sizes,
    rating scale), ``Trained`` (date, seconds, device, seed, epochs, threshold), ``Map`` (the
    projection's settings) and ``Fold-in`` (method and parameters); "?" where a value is absent."""
    dataset = manifest.get("dataset") or {}
    training = manifest.get("training") or {}
    fold = manifest.get("fold_in") or {}
    return {
        "Dataset": (
            f"{dataset.get('name', '?')} ({dataset.get('format', '?')}): "
            f"{dataset.get('n_users', '?')} users, {dataset.get('n_items', '?')} movies, "
            f"{dataset.get('n_ratings', '?')} ratings; scale {dataset.get('rating_scale')}"
        ),
        "Trained": (
            f"{manifest.get('created', '?')}; {training.get('seconds', '?')} s on "
            f"{training.get('device', '?')}, seed {training.get('seed', '?')}, "
            f"{training.get('epochs_run', '?')} epochs; threshold {manifest.get('threshold', '?')}"
        ),
        "Map": _pairs(manifest.get("projection")) or "?",
        "Fold-in": f"{fold.get('method', '?')}: {_pairs(fold.get('params'))}",
    }


def params_frame(params: Mapping | None) -> pd.DataFrame:
    """Table (parameter, value) of a model's hyper-parameters, each value as JSON text (so
    lists, None and booleans read as written in the manifest)."""
    params = dict(params or {})
    return pd.DataFrame(
        {"parameter": list(params), "value": [json.dumps(v) for v in params.values()]}
    )


def versions_line(manifest: Mapping) -> str:
    """The library versions a manifest records, as ``"numpy 2.1, torch 2.5"`` ("" for none)."""
    return ", ".join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items())


def raw_manifest(manifest: Mapping, known: Mapping[str, str] | None = None) -> str:
    """The manifest as JSON text, without the app's own ``path`` entry and without server paths
    (:func:`redact_paths` with ``known``)."""
    raw = json.dumps({k: v for k, v in manifest.items() if k != "path"}, default=str)
    return redact_paths(raw, known)


# -- figures (Plotly) --------------------------------------------------------------------------

_BASE_COLOUR = "#9e9e9e"
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#843c39",
)  # fmt: skip


def _layout(fig, height: int, **kw) -> None:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
        **kw,
    )


def comparison_figure(frame: pd.DataFrame, protocol: str):
    """Grouped bars, one group per model (baselines first, on a grey band), one bar per metric."""
    import plotly.graph_objects as go

    part = frame[frame["protocol"] == protocol]
    models = list(
        dict.fromkeys(sorted(part["model"], key=lambda m: (m not in BASELINES, _base_rank(m), m)))
    )
    labels = [f"{m} (baseline)" if m in BASELINES else m for m in models]
    fig = go.Figure()
    for i, metric in enumerate(dict.fromkeys(part["metric"])):
        sub = part[part["metric"] == metric].set_index("model")
        values = [float(sub["value"].get(m, float("nan"))) for m in models]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=metric,
                marker={"color": _PALETTE[i % len(_PALETTE)]},
                text=[f"{v:.3f}" for v in values],
                textposition="outside",
            )
        )
    n_base = sum(m in BASELINES for m in models)
    if n_base:
        fig.add_vrect(
            x0=-0.5,
            x1=n_base - 0.5,
            fillcolor=_BASE_COLOUR,
            opacity=0.15,
            line_width=0,
            layer="below",
            annotation_text="baselines",
            annotation_position="top left",
        )
    _layout(fig, 360, barmode="group", title={"text": f"Protocol: {protocol}"})
    fig.update_yaxes(rangemode="tozero")
    return fig


def _base_rank(model: str) -> int:
    return BASELINES.index(model) if model in BASELINES else 0


def cold_start_figure(frame: pd.DataFrame, metric: str = "ndcg@10"):
    """Lines of ``metric`` against the number of ratings (log x), one per model; the popularity
    baseline ("pop") dashed black: a model is only worth its fold-in above that line."""
    import plotly.graph_objects as go

    part = frame[frame["metric"] == metric]
    fig = go.Figure()
    for i, model in enumerate(dict.fromkeys(part["model"])):
        sub = part[part["model"] == model].sort_values("ratings")
        is_pop = model == "pop"
        fig.add_trace(
            go.Scatter(
                x=sub["ratings"],
                y=sub["value"],
                mode="lines+markers",
                name="popularity (pop)" if is_pop else model,
                line={
                    "color": "#000000" if is_pop else _PALETTE[i % len(_PALETTE)],
                    "dash": "dash" if is_pop else ("dot" if model in BASELINES else "solid"),
                    "width": 3 if is_pop else 2,
                },
            )
        )
    sizes = sorted(set(part["ratings"]))
    fig.update_xaxes(
        type="log", tickvals=sizes, ticktext=[str(s) for s in sizes], title="ratings given"
    )
    fig.update_yaxes(title=metric, rangemode="tozero")
    _layout(fig, 400)
    return fig


def elicitation_figure(frame: pd.DataFrame):
    """One NDCG@10 line per elicitation strategy against the number of movies rated."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, strategy in enumerate(dict.fromkeys(frame["strategy"])):
        sub = frame[frame["strategy"] == strategy].sort_values("ratings")
        fig.add_trace(
            go.Scatter(
                x=sub["ratings"],
                y=sub["ndcg"],
                mode="lines+markers",
                name=STRATEGY_LABELS.get(strategy, strategy),
                line={"color": _PALETTE[i % len(_PALETTE)]},
            )
        )
    sizes = sorted(set(frame["ratings"]))
    fig.update_xaxes(tickvals=sizes, title="movies the newcomer rated")
    fig.update_yaxes(title="NDCG@10", rangemode="tozero")
    _layout(fig, 360)
    return fig


def _grouped_hbars(frame: pd.DataFrame, group: str, height: int, x_max: float):
    """Horizontal bars of ``value`` per ``measure`` (top to bottom in table order), one colour
    and legend entry per value of the ``group`` column, x from 0 to ``x_max``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, name in enumerate(dict.fromkeys(frame[group])):
        sub = frame[frame[group] == name]
        fig.add_trace(
            go.Bar(
                y=sub["measure"],
                x=sub["value"],
                name=name,
                orientation="h",
                marker={"color": _PALETTE[i % len(_PALETTE)]},
                text=[f"{v:.2f}" for v in sub["value"]],
                textposition="outside",
            )
        )
    _layout(fig, height, barmode="group")
    fig.update_xaxes(range=[0, x_max])
    fig.update_yaxes(autorange="reversed")
    return fig


def map_quality_figure(frame: pd.DataFrame):
    """Horizontal bars per measure, one colour per map (UMAP, PCA)."""
    return _grouped_hbars(frame, "map", 120 + 60 * frame["measure"].nunique(), 1.1)


def taste_figure(frame: pd.DataFrame):
    """Horizontal bars per taste-panel measure, one colour per artifact (all on 0..1)."""
    # Each measure holds one bar per artifact: the height grows with both.
    height = 120 + 22 * frame["measure"].nunique() * max(frame["artifact"].nunique(), 1)
    return _grouped_hbars(frame, "artifact", height, 1.15)
