"""Pure helpers of the teaching views: the report's tables (pages/ui/report.py), the map's
neighbour overlap and cosine colouring (pages/ui/mapview.py), and Artifact.similar by dot
product against a numpy brute force."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import recsys
from pages.ui import report
from pages.ui.mapview import cosine_to, neighbour_overlap, norm_popularity
from recsys.errors import ConfigError


def _write(path, data) -> None:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_read_results_one_file_per_protocol_and_skips_the_rest(tmp_path):
    users = {"protocol": {"name": "users"}, "results": [{"model": "pop", "metrics": {}}]}
    _write(tmp_path / "users.json", users)
    _write(tmp_path / "a-users.json", {**users, "results": []})  # same protocol, other name
    _write(tmp_path / "random-tuned.json", {"protocol": {"name": "random"}, "results": [1]})
    _write(tmp_path / "broken.json", "{not json")
    _write(tmp_path / "list.json", [1, 2])
    _write(tmp_path / "noproto.json", {"results": []})
    got = report.read_results(tmp_path)
    assert list(got) == ["users", "random"]
    assert got["users"]["results"] == users["results"]  # users.json wins over a-users.json
    assert report.read_results(tmp_path / "missing") == {}


def test_comparison_frame_marks_baselines_and_uses_errors_for_ratings():
    results = {
        "users": {
            "results": [
                {"model": "pop", "metrics": {"ndcg@10": 0.1, "recall@10": 0.05}},
                {"model": "ials", "metrics": {"ndcg@10": 0.3, "recall@10": True}},
                "garbage",
            ]
        },
        "ratings": {"results": [{"model": "bias", "metrics": {"rmse": 0.9, "ndcg@10": 1.0}}]},
    }
    frame = report.comparison_frame(results)
    rows = {(r.protocol, r.model, r.metric): (r.value, r.baseline) for r in frame.itertuples()}
    assert rows == {
        ("users", "pop", "ndcg@10"): (0.1, True),
        ("users", "pop", "recall@10"): (0.05, True),
        ("users", "ials", "ndcg@10"): (0.3, False),  # a boolean is not a metric value
        ("ratings", "bias", "rmse"): (0.9, True),
    }


def test_cold_start_frame_reads_results_then_manifests():
    users = {"results": [{"model": "pop", "metrics": {"by_profile_size": {"1": {"ndcg@10": 0.2}}}}]}
    manifests = {
        "a": {"metrics": {"users": {"metrics": {"by_profile_size": {"5": {"ndcg@10": 0.3}}}}}},
        "b": {"metrics": {}},
    }
    frame = report.cold_start_frame(users, manifests)
    assert frame[["model", "ratings", "value", "source"]].values.tolist() == [
        ["artifact a", 5, 0.3, "artifact"],
        ["pop", 1, 0.2, "results"],
    ]
    assert report.cold_start_frame(None, None).empty


def test_best_elicitation_names_the_best_mean_with_its_numbers():
    manifest = {
        "metrics": {
            "users": {
                "metrics": {
                    "elicitation": {
                        "random": {"1": 0.1, "5": 0.2},
                        "popular": {"1": 0.2, "5": 0.3},
                        "groups": {"1": 0.15, "5": 0.2},
                    }
                }
            }
        }
    }
    frame = report.elicitation_frame(manifest)
    assert len(frame) == 6
    assert report.best_elicitation(frame) == (
        "Best measured way to choose what a newcomer rates: most popular first (NDCG@10 0.200 "
        "after 1, 0.300 after 5; mean 0.250, against 0.175 for the quick-start taste groups)."
    )
    assert report.best_elicitation(report.elicitation_frame({})) is None


def test_map_quality_and_taste_frames():
    manifest = {
        "map_quality": {
            "umap": {
                "trustworthiness@10": 0.9,
                "genre_agreement@10": {"map": 0.5, "full_space": 0.6, "random_pairs": 0.1},
            }
        }
    }
    q = report.map_quality_frame(manifest)
    assert q.values.tolist() == [
        ["UMAP", "trustworthiness@10", 0.9],
        ["UMAP", "genre agreement@10: map", 0.5],
        ["UMAP", "genre agreement@10: full space", 0.6],
        ["UMAP", "genre agreement@10: random pairs", 0.1],
    ]
    panel = {
        "genre_share": {"horror": 0.5},
        "mean_genre_share": 0.5,
        "franchise": {"a": {}, "b": {}},
        "franchise_passed": 1,
        "diversity": 0.2,
        "low_support": 3,
        "listed": 12,
    }
    t = report.taste_frame({"x": panel, "bad": {"error": "no"}})
    assert dict(zip(t["measure"], t["value"])) == {
        "genre share: horror": 0.5,
        "mean genre share": 0.5,
        "franchise checks passed": 0.5,
        "list overlap (Jaccard)": 0.2,
        "low-support share": 0.25,
    }


def test_redact_paths_keeps_no_absolute_path():
    text = "/srv/app/artifacts/ials: bad; run --data /home/me/data/ml-latest-small --out x/y"
    got = report.redact_paths(text, {"/srv/app/artifacts": "artifacts"})
    assert got == "artifacts/ials: bad; run --data …/ml-latest-small --out x/y"
    assert report.redact_paths("ratings 4/5 and 1/2") == "ratings 4/5 and 1/2"


def test_neighbour_overlap_hand_example():
    """Item 0 at the origin. Full space (cosine): items 1, 2 point its way, 3 and 4 do not. On the
    map, items 3 and 1 are the closest dots. With k = 2: full {1, 2}, map {3, 1}: 1 shared."""
    emb = np.array([[1, 0], [1, 0.1], [1, 0.3], [0, 1], [-1, 0]], np.float64)
    xy = np.array([[0, 0], [2, 0], [5, 0], [1, 0], [9, 9]], np.float64)
    shared, full, near = neighbour_overlap(emb, xy, 0, k=2)
    assert (shared, full.tolist(), near.tolist()) == (1, [1, 2], [3, 1])
    # Ineligible items (too few ratings) are in neither list.
    shared, full, near = neighbour_overlap(emb, xy, 0, np.array([1, 0, 1, 1, 1], bool), k=2)
    assert (full.tolist(), near.tolist()) == ([2, 3], [3, 2])
    np.testing.assert_allclose(cosine_to(emb, 0), emb[:, 0] / np.linalg.norm(emb, axis=1))


def test_norm_popularity_rank_correlation():
    emb = np.array([[1, 0], [2, 0], [0, 3], [0, 0]], np.float64)
    norms, rho = norm_popularity(emb, np.array([5, 10, 20, 1000]))
    assert norms.tolist() == [1, 2, 3, 0]
    assert rho == pytest.approx(1.0)  # the zero vector is left out


def test_similar_by_dot_matches_numpy_bruteforce(tmp_path):
    from test_app_views import make_views_artifact

    art = recsys.load(make_views_artifact(tmp_path))
    emb = art.item_embeddings.astype(np.float64)
    counts = art.items["n_ratings"].to_numpy()
    for code in (0, 100, 200):
        movie_id = int(art.items["movieId"].iat[code])
        got = art.similar(movie_id, 8, metric="dot", min_support=50)
        dots = emb @ emb[code]
        dots[(counts < 50) | (np.arange(len(dots)) == code)] = -np.inf
        order = np.lexsort((np.arange(len(dots)), -dots))[:8]
        assert got["movieId"].tolist() == art.items["movieId"].to_numpy()[order].tolist()
        np.testing.assert_allclose(got["similarity"], dots[order], rtol=1e-5)
        assert isinstance(got, pd.DataFrame)
    # Lengths grow with popularity in this fixture: the dot list is more popular.
    movie_id = int(art.items["movieId"].iat[200])
    dot_counts = art.similar(movie_id, 10, metric="dot")["n_ratings"].median()
    cos_counts = art.similar(movie_id, 10)["n_ratings"].median()
    assert dot_counts > cos_counts
    with pytest.raises(ConfigError, match="metric must be 'cosine' or 'dot'"):
        art.similar(movie_id, metric="euclid")


def test_region_labels_name_the_over_represented_genre_on_a_real_dot():
    """Two far-apart blobs: one of horror films, one of comedies (a few dramas in each). Each
    region is labelled by its own genre; drama (everywhere) labels nothing."""
    from pages.ui.mapview import region_labels

    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 2)) * 0.3
    b = rng.normal(size=(60, 2)) * 0.3 + 20
    xy = np.vstack([a, b])
    genres = [["Horror"] if i % 6 else ["Drama"] for i in range(60)]
    genres += [["Comedy"] if i % 6 else ["Drama"] for i in range(60)]
    labels = region_labels(xy, genres, k=2, seed=0)
    by_side = {("left" if x < 10 else "right"): text for x, _, text in labels}
    assert by_side == {"left": "Horror", "right": "Comedy"}
    for x, y, _ in labels:
        assert np.isclose(np.linalg.norm(xy - [x, y], axis=1).min(), 0.0)
