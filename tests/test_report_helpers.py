"""The Model report's pure helpers (pages/ui/report.py) that shape manifests and taste panels for
the page, and the two horizontal bar figures: expected values worked out by hand, no Streamlit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pages.ui import report

MANIFESTS = {
    "ials": {
        "path": "/srv/app/artifacts/ials",
        "created": "2025-01-02T03:04:05+00:00",
        "n_items": 9000,
        "threshold": 4.0,
        "model": {"name": "ials", "params": {"factors": 64, "reg": None, "dims": [1, 2]}},
        "dataset": {
            "name": "ml-latest-small",
            "format": "ml-latest",
            "n_users": 610,
            "n_items": 9000,
            "n_ratings": 100836,
            "rating_scale": [0.5, 5.0, 0.5],
        },
        "training": {"seconds": 12.5, "device": "cpu", "seed": 7, "epochs_run": 15},
        "fold_in": {"method": "confidence", "params": {"reg": 0.05, "alpha": 2.0}},
        "projection": {"method": "umap", "n_neighbors": 15},
        "metrics": {
            "random": {"protocol": {"name": "random", "seed": 1}, "metrics": {}},
            "users": {
                "protocol": {"name": "users", "seed": 42},
                "metrics": {"by_profile_size": {"1": {"ndcg@10": 0.1}}},
            },
        },
        "versions": {"numpy": "2.1", "torch": "2.5"},
    },
    "bpr": {
        "model": {"name": "bpr"},
        "metrics": {
            "temporal": {"protocol": {"name": "temporal"}},
            "users": {"protocol": {"name": "users", "seed": 43}, "metrics": {}},
        },
    },
    "plain": {"metrics": None},
}


# -- manifests -----------------------------------------------------------------------------------


def test_models_frame_one_row_per_artifact_with_the_given_dimensions():
    frame = report.models_frame(MANIFESTS, {"ials": 64, "bpr": None}, default="bpr")
    assert list(frame.columns) == [
        "artifact",
        "model",
        "dimensions",
        "fold-in",
        "items",
        "train seconds",
        "default",
    ]
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    assert rows == [
        ["ials", "ials", 64, "confidence", 9000, 12.5, False],
        ["bpr", "bpr", None, None, None, None, True],
        ["plain", None, None, None, None, None, False],  # no dimensions given: None
    ]
    empty = report.models_frame({}, {})
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_manifest_protocols_users_first_then_alphabetical_each_once():
    assert report.manifest_protocols(MANIFESTS) == ["users", "random", "temporal"]
    assert report.manifest_protocols({"a": {"metrics": {"ratings": {}, "leave-last-n": {}}}}) == [
        "leave-last-n",
        "ratings",
    ]
    assert report.manifest_protocols({}) == []


def test_protocol_example_is_the_first_manifest_holding_the_protocol():
    assert report.protocol_example(MANIFESTS, "users")["protocol"]["seed"] == 42  # ials, not bpr
    assert report.protocol_example(MANIFESTS, "temporal") == {"protocol": {"name": "temporal"}}
    assert report.protocol_example(MANIFESTS, "ratings") is None


def test_missing_profile_size_lists_the_artifacts_without_it():
    # bpr has users metrics but no by_profile_size; plain has no metrics at all.
    assert report.missing_profile_size(MANIFESTS) == ["bpr", "plain"]
    assert report.missing_profile_size({"ials": MANIFESTS["ials"]}) == []


def test_manifest_summary_lines():
    assert report.manifest_summary(MANIFESTS["ials"]) == {
        "Dataset": (
            "ml-latest-small (ml-latest): 610 users, 9000 movies, 100836 ratings; "
            "scale [0.5, 5.0, 0.5]"
        ),
        "Trained": "2025-01-02T03:04:05+00:00; 12.5 s on cpu, seed 7, 15 epochs; threshold 4.0",
        "Map": "method=umap, n_neighbors=15",
        "Fold-in": "confidence: reg=0.05, alpha=2.0",
    }


def test_manifest_summary_of_an_empty_manifest_says_what_is_unknown():
    assert report.manifest_summary({}) == {
        "Dataset": "? (?): ? users, ? movies, ? ratings; scale None",
        "Trained": "?; ? s on ?, seed ?, ? epochs; threshold ?",
        "Map": "?",
        "Fold-in": "?: ",
    }


def test_params_frame_writes_values_as_json():
    frame = report.params_frame(MANIFESTS["ials"]["model"]["params"])
    assert frame.values.tolist() == [["factors", "64"], ["reg", "null"], ["dims", "[1, 2]"]]
    empty = report.params_frame(None)
    assert empty.empty and list(empty.columns) == ["parameter", "value"]


def test_versions_line():
    assert report.versions_line(MANIFESTS["ials"]) == "numpy 2.1, torch 2.5"
    assert report.versions_line({"versions": None}) == ""


def test_raw_manifest_drops_the_path_and_redacts_server_paths():
    manifest = {"path": "/srv/app/artifacts/ials", "name": "ials", "cmd": "--data /home/me/ml"}
    raw = report.raw_manifest(manifest, {"/srv/app/artifacts": "artifacts"})
    assert json.loads(raw) == {"name": "ials", "cmd": "--data …/ml"}
    # Values JSON cannot write are written as their str().
    assert json.loads(report.raw_manifest({"n": set()})) == {"n": "set()"}


# -- what the figures show ---------------------------------------------------------------------


def test_cold_start_metric_prefers_ndcg_at_10():
    frame = pd.DataFrame({"metric": ["recall@10", "ndcg@10"]})
    assert report.cold_start_metric(frame) == "ndcg@10"
    assert report.cold_start_metric(pd.DataFrame({"metric": ["recall@20", "hr@5"]})) == "recall@20"
    assert report.cold_start_metric(report.cold_start_frame(None)) == "ndcg@10"


def test_split_panels_keeps_the_computed_panels_in_order():
    results = {"a": {"genre_share": {}}, "b": {"error": "movie 1 missing"}, "c": {"x": 1}}
    panels, skipped = report.split_panels(results)
    assert panels == {"a": {"genre_share": {}}, "c": {"x": 1}}
    assert list(panels) == ["a", "c"]
    assert skipped == ["b"]
    assert report.split_panels({}) == ({}, [])


def _long(group: str, values: dict[str, dict[str, float]]) -> pd.DataFrame:
    """A figure's long table (group, measure, value) from ``{group: {measure: value}}``."""
    rows = [(g, m, v) for g, measures in values.items() for m, v in measures.items()]
    return pd.DataFrame(rows, columns=[group, "measure", "value"])


def _bars(fig) -> list[tuple]:
    return [
        (t.name, t.orientation, t.marker.color, tuple(t.y), tuple(t.x), tuple(t.text))
        for t in fig.data
    ]


def test_map_quality_figure_one_bar_colour_per_map():
    pytest.importorskip("plotly")
    measures = ("trustworthiness@10", "genre agreement@10: map")
    fig = report.map_quality_figure(
        _long(
            "map",
            {"UMAP": dict(zip(measures, (0.934, 0.5))), "PCA": dict(zip(measures, (0.78, 0.305)))},
        )
    )
    # 0.305 is stored just under 0.305: its label rounds down.
    assert _bars(fig) == [
        ("UMAP", "h", "#1f77b4", measures, (0.934, 0.5), ("0.93", "0.50")),
        ("PCA", "h", "#ff7f0e", measures, (0.78, 0.305), ("0.78", "0.30")),
    ]
    assert all(t.textposition == "outside" for t in fig.data)
    layout = fig.layout
    assert layout.height == 120 + 60 * 2
    assert layout.barmode == "group"
    assert tuple(layout.xaxis.range) == (0, 1.1)
    assert layout.yaxis.autorange == "reversed"
    assert (layout.margin.l, layout.margin.r, layout.margin.t, layout.margin.b) == (10, 10, 50, 10)
    assert layout.legend.orientation == "h"


def test_taste_figure_grows_with_measures_and_artifacts():
    pytest.importorskip("plotly")
    measures = ("mean genre share", "low-support share", "list overlap (Jaccard)")
    fig = report.taste_figure(
        _long(
            "artifact",
            {
                "ials": dict(zip(measures, (0.6, 0.1, 0.25))),
                "bpr": dict(zip(measures, (0.4, 0.0, 0.125))),
            },
        )
    )
    assert [(name, colour) for name, _, colour, *_ in _bars(fig)] == [
        ("ials", "#1f77b4"),
        ("bpr", "#ff7f0e"),
    ]
    assert tuple(fig.data[1].text) == ("0.40", "0.00", "0.12")
    assert fig.layout.height == 120 + 22 * 3 * 2
    assert tuple(fig.layout.xaxis.range) == (0, 1.15)
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.barmode == "group"


def test_grouped_bars_wrap_the_palette():
    pytest.importorskip("plotly")
    frame = _long("artifact", {f"m{i}": {"mean genre share": 0.5} for i in range(14)})
    colours = [t.marker.color for t in report.taste_figure(frame).data]
    assert colours[12:] == colours[:2] and len(set(colours)) == 12
