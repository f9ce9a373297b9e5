"""The teaching views (issues 9 and 10) in the app, with streamlit.testing.v1.AppTest.

A fixture artifact holds what recent exports write (a PCA map beside the main one, map quality,
elicitation curves) and the taste panel's movies (ml-latest-small ids and titles), with vector
lengths that grow with popularity; a fixture results/ folder holds evaluation files with
baselines. Plotly clicks cannot be driven by AppTest: tests set the session-state key the chart's
selection callback sets (``map_focus``), as tests/test_app.py does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from test_app import ROOT, figures, new_app, values

import recsys
from pages.ui.mapview import cosine_to, neighbour_overlap
from recsys.artifacts import save_artifact
from recsys.foldin import FoldIn
from recsys.taste import ARCHETYPES, FRANCHISES

MAP, SIMILAR, REPORT = "pages/map.py", "pages/similar.py", "pages/report.py"
TIMEOUT = 90
GENRES = ["Animation", "Horror", "Sci-Fi", "Romance", "War", "Comedy", "Drama", "Action"]


def _panel_movies() -> list[tuple[int, str, str]]:
    """(movieId, title, genre) of every taste-panel movie, each once."""
    out: dict[int, tuple[str, str]] = {}
    for a in ARCHETYPES:
        for movie_id, title in a.movies:
            out.setdefault(movie_id, (title, a.genre))
    for f in FRANCHISES:
        for movie_id, title in (*f.profile, f.target):
            out.setdefault(movie_id, (title, "Adventure"))
    return [(m, t, g) for m, (t, g) in out.items()]


def make_views_artifact(out: Path, name: str = "ials", seed: int = 3) -> Path:
    """240 movies in 8 taste clusters (the panel's movies first), 8-d vectors whose length grows
    with the number of ratings, a UMAP-like main map and a distinct PCA map."""
    rng = np.random.default_rng(seed)
    panel = _panel_movies()
    n, d = 240, 8
    ids = [m for m, _, _ in panel] + [300000 + i for i in range(n - len(panel))]
    titles = [t for _, t, _ in panel] + [
        f"Film {i} (19{60 + i % 40})" for i in range(len(panel), n)
    ]
    genre_of = [g for _, _, g in panel] + [GENRES[i % 8] for i in range(len(panel), n)]
    cluster = np.array([GENRES.index(g) if g in GENRES else 7 for g in genre_of])
    n_ratings = (2000 / (1 + np.arange(n)) ** 0.7).astype(np.int64) + 10
    centres = np.random.default_rng(11).normal(size=(8, d))
    direction = centres[cluster] + rng.normal(size=(n, d)) * 0.7
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    emb = (direction * np.log(n_ratings)[:, None]).astype(np.float32)
    items = pd.DataFrame(
        {
            "movieId": np.asarray(ids, np.int64),
            "title": titles,
            "year": pd.array([1990 + i % 30 for i in range(n)], dtype="Int64"),
            "genres": [[g] for g in genre_of],
            "n_ratings": n_ratings,
            "mean_rating": rng.uniform(2.5, 4.5, n).astype(np.float32),
        }
    )
    state = FoldIn(
        "confidence",
        popularity=n_ratings.astype(np.float32),
        item_factors=emb,
        params={"reg": 0.05, "alpha": 2.0, "unobserved_weight": 0.05, "threshold": 4.0},
    )
    umap_like = (emb[:, :2] + rng.normal(size=(n, 2)) * 0.3).astype(np.float32)
    pca_like = (emb[:, 2:4] * 2.0).astype(np.float32)
    elicitation = {
        "random": {"1": 0.05, "2": 0.07, "3": 0.08, "5": 0.10, "10": 0.13},
        "popular": {"1": 0.09, "2": 0.11, "3": 0.12, "5": 0.14, "10": 0.16},
        "pop_entropy": {"1": 0.10, "2": 0.12, "3": 0.14, "5": 0.16, "10": 0.19},
        "groups": {"1": 0.08, "2": 0.10, "3": 0.11, "5": 0.13, "10": 0.15},
    }
    quality = {
        m: {
            "on": {"min_ratings": 20, "n_items": n, "k": 10},
            "trustworthiness@10": t,
            "genre_agreement@10": {"map": g, "full_space": 0.61, "random_pairs": 0.14},
        }
        for m, t, g in (("umap", 0.93, 0.52), ("pca", 0.78, 0.31))
    }
    manifest = {
        "default": True,
        "model": {"name": name, "kind": "implicit", "params": {"factors": d}},
        "dataset": {
            "name": "fixture",
            "format": "ml-latest",
            "n_users": 50,
            "n_items": n,
            "rating_scale": [0.5, 5.0, 0.5],
        },
        "threshold": 4.0,
        "metrics": {
            "users": {
                "protocol": {"name": "users", "threshold": 4.0},
                "metrics": {
                    "ndcg@10": 0.3,
                    "recall@10": 0.2,
                    "elicitation": elicitation,
                    "by_profile_size": {"1": {"ndcg@10": 0.1}, "20": {"ndcg@10": 0.25}},
                },
            }
        },
        "training": {"seconds": 1.0, "command": "python -m recsys train --data /srv/secret/ml"},
        "projection": {"method": "umap", "min_count": 0, "fitted_on": n},
        "map_quality": quality,
    }
    return save_artifact(
        out / name,
        state=state,
        items=items,
        item_embeddings=emb,
        projection=umap_like,
        projection_pca=pca_like,
        manifest=manifest,
    )


def write_results(folder: Path) -> Path:
    """Evaluation files in the ``recsys evaluate --json`` layout: users (with by_profile_size,
    baselines pop/itemknn/ease), random, and ratings (mf, bias)."""
    folder.mkdir(parents=True, exist_ok=True)

    def entry(model: str, ndcg: float, curve: bool) -> dict:
        metrics = {"ndcg@10": ndcg, "recall@10": ndcg * 0.8, "n_users": 100}
        if curve:
            metrics["by_profile_size"] = {
                str(s): {"ndcg@10": ndcg * (0.4 + 0.1 * i) if model != "pop" else 0.14}
                for i, s in enumerate((1, 2, 5, 10, 20))
            }
        return {"model": model, "params": {}, "metrics": metrics, "train_seconds": 1.0}

    models = {"pop": 0.14, "itemknn": 0.2, "ease": 0.26, "ials": 0.27, "bpr": 0.22}
    for protocol, curve in (("users", True), ("random", False)):
        data = {
            "dataset": {"name": "fixture"},
            "protocol": {"name": protocol, "threshold": 4.0, "seed": 42},
            "results": [entry(m, v, curve) for m, v in models.items()],
        }
        (folder / f"{protocol}.json").write_text(json.dumps(data))
    ratings = {
        "protocol": {"name": "ratings", "seed": 42},
        "results": [
            {"model": "bias", "metrics": {"rmse": 0.9, "mae": 0.7}},
            {"model": "mf", "metrics": {"rmse": 0.86, "mae": 0.66}},
        ],
    }
    (folder / "ratings.json").write_text(json.dumps(ratings))
    (folder / "notes.json").write_text("[1, 2]")  # not an evaluation file: skipped
    return folder


@pytest.fixture(scope="module")
def views_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("views_artifacts")
    make_views_artifact(root)
    return root


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    return write_results(tmp_path_factory.mktemp("views_results") / "results")


@pytest.fixture(scope="module")
def views_model(views_root) -> recsys.Artifact:
    return recsys.load(views_root / "ials")


@pytest.fixture
def app(monkeypatch, views_root, results_dir) -> AppTest:
    monkeypatch.setenv("RECSYS_RESULTS", str(results_dir))
    at = new_app(monkeypatch, views_root, timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def trace(fig: dict, name_part: str) -> dict:
    found = [t for t in fig["data"] if name_part in str(t.get("name", ""))]
    assert found, [t.get("name") for t in fig["data"]]
    return found[0]


def map_fig(at: AppTest) -> dict:
    return next(f for f in figures(at) if any("customdata" in t for t in f["data"]))


# -- the honest map ------------------------------------------------------------------------------


def test_click_recolours_by_full_space_cosine_and_counts_kept_neighbours(app, views_model):
    m = views_model
    app.switch_page(MAP).run()
    assert not any("cosine to" in str(t.get("name")) for t in map_fig(app)["data"])
    movie_id = int(m.items["movieId"].iat[5])
    app.session_state["map_focus"] = {"ids": [movie_id], "kind": "movie"}  # the click's callback
    app.run()
    assert not app.exception, app.exception
    fig = map_fig(app)
    coloured = trace(fig, "cosine to")
    ids = np.asarray(values(coloured["customdata"])).astype(np.int64)
    colours = np.asarray(values(coloured["marker"]["color"])).astype(np.float64)
    # Every movie is recoloured, each by its cosine to the clicked one in the full space.
    assert len(ids) == len(m.items)
    expected = cosine_to(m.item_embeddings, 5)[[m.code(int(i)) for i in ids]]
    np.testing.assert_allclose(colours, expected, rtol=1e-5, atol=1e-6)
    shared, full, _ = neighbour_overlap(
        m.item_embeddings, m.projection, 5, m.items["n_ratings"].to_numpy() >= m.min_support
    )
    sentence = [
        md.value for md in app.markdown if "nearest neighbours in the full space" in md.value
    ]
    assert sentence and sentence[0].startswith(
        f"**{shared} of its {len(full)} nearest neighbours in the full space are among its"
    )


def test_umap_pca_switch_changes_coordinates(app, views_model):
    app.switch_page(MAP).run()
    views = app.radio(key="w_map_view")
    assert views.options == ["UMAP", "PCA"]
    before = np.asarray(values(map_fig(app)["data"][0]["x"]))
    assert any("local neighbourhoods" in c.value for c in app.caption)
    views.set_value("pca").run()
    assert not app.exception, app.exception
    after = np.asarray(values(map_fig(app)["data"][0]["x"]))
    assert len(before) == len(after) and not np.allclose(before, after)
    assert any("largest variance" in c.value for c in app.caption)


def test_no_pca_switch_without_a_pca_map(monkeypatch, artifacts_root):
    # conftest's artifacts_root: test_app's artifacts, exported before the PCA map
    at = new_app(monkeypatch, artifacts_root, timeout=TIMEOUT)
    at.run()
    at.switch_page(MAP).run()
    assert not at.exception
    assert not [r for r in at.radio if r.key == "w_map_view"]


def test_trail_has_one_numbered_point_per_rating(app, views_model):
    m = views_model
    rated = {int(m.items["movieId"].iat[i]): v for i, v in ((0, 5.0), (40, 4.5), (90, 5.0))}
    app.session_state["ratings"] = rated
    app.switch_page(MAP).run()
    assert not app.exception, app.exception
    fig = map_fig(app)
    steps = trace(fig, "Your trail")
    assert steps["text"] == ["1", "2", "3"]
    xs, ys = np.asarray(values(steps["x"])), np.asarray(values(steps["y"]))
    assert len(xs) == 3
    # The last step is where "You are here" stands.
    you = trace(fig, "You are here")
    np.testing.assert_allclose([xs[-1], ys[-1]], [values(you["x"])[0], values(you["y"])[0]])
    # Step 1 is the position after the first rating alone.
    first = dict(list(rated.items())[:1])
    prof = m.profile(first)
    from pages.ui.mapview import spread_duplicates

    (x1, y1), codes = m.map_position(
        prof.result.user_vector,
        prof.result.scores,
        exclude=prof.codes,
        coords=spread_duplicates(m.projection),
    )
    np.testing.assert_allclose([xs[0], ys[0]], [x1, y1], rtol=1e-5)
    assert any("Your trail" in c.value for c in app.caption)


# -- dot vs cosine -----------------------------------------------------------------------------


def test_dot_and_cosine_lists_differ_and_the_norm_scatter_is_drawn(app, views_model):
    m = views_model
    app.switch_page(SIMILAR).run()
    movie_id = int(m.items["movieId"].iat[150])  # a rarely rated movie: short vector
    app.selectbox(key="w_sim_movie").set_value(movie_id).run()
    cosine = list(app.dataframe[0].value["title"])
    app.radio(key="w_sim_metric").set_value("dot").run()
    assert not app.exception, app.exception
    dot = list(app.dataframe[0].value["title"])
    assert dot == list(m.similar(movie_id, 10, metric="dot")["title"])
    assert cosine == list(m.similar(movie_id, 10)["title"])
    assert dot != cosine
    scatter = next(
        f for f in figures(app) if any(t.get("name") == "every movie" for t in f["data"])
    )
    assert scatter["layout"]["xaxis"]["type"] == "log"
    assert any("dot product" in str(t.get("name")) for t in scatter["data"])
    assert any("Spearman" in c.value for c in app.caption)


# -- the report ----------------------------------------------------------------------------------


def test_report_compares_models_with_baselines_and_shows_every_figure(app):
    app.switch_page(REPORT).run()
    assert not app.exception, app.exception
    figs = figures(app)
    bars = [f for f in figs if f["data"] and f["data"][0].get("type") == "bar"]
    users = next(f for f in bars if "users" in str(f["layout"].get("title")))
    names = [str(x) for x in users["data"][0]["x"]]
    assert "pop (baseline)" in names and "ease (baseline)" in names and "ials" in names
    assert {t["name"] for t in users["data"]} == {"ndcg@10", "recall@10"}
    ratings = next(f for f in bars if "ratings" in str(f["layout"].get("title")))
    assert "bias (baseline)" in [str(x) for x in ratings["data"][0]["x"]]
    # The cold-start curve with the popularity line.
    cold = next(f for f in figs if any("popularity (pop)" == t.get("name") for t in f["data"]))
    pop = trace(cold, "popularity (pop)")
    assert pop["line"]["dash"] == "dash"
    assert any(t.get("name") == "artifact ials" for t in cold["data"])
    # Elicitation: four strategies and the sentence naming the best.
    elicit = next(f for f in figs if any("quick-start" in str(t.get("name")) for t in f["data"]))
    assert len(elicit["data"]) == 4
    best = [md.value for md in app.markdown if md.value.startswith("Best measured way")]
    assert best and "log-popularity × rating entropy" in best[0] and "0.190 after 10" in best[0]
    # Map quality (UMAP and PCA) and the taste panel.
    quality = next(f for f in figs if {t.get("name") for t in f["data"]} == {"UMAP", "PCA"})
    assert "trustworthiness@10" in list(quality["data"][0]["y"])
    taste = next(
        f for f in figs if any("mean genre share" in list(t.get("y", [])) for t in f["data"])
    )
    assert taste["data"][0]["name"] == "ials"


def test_report_prints_no_server_path(app, views_root, results_dir):
    app.switch_page(REPORT).run()
    shown = [
        *app.markdown,
        *app.caption,
        *app.info,
        *app.error,
        *app.code,
        *app.json,
        *app.title,
        *app.header,
    ]
    text = json.dumps([str(e.value) for e in shown]) + json.dumps(
        [str(e.proto) for e in app.get("plotly_chart")]
    )
    assert any("python -m recsys train" in str(c.value) for c in app.code)
    for secret in (str(views_root), str(results_dir), str(ROOT), "/srv/secret"):
        assert secret not in text
    # The training command's data path, cut to its last part.
    assert any("--data …/ml" in str(c.value) for c in app.code)


def test_region_labels_are_drawn_and_can_be_hidden(app):
    app.switch_page(MAP).run()
    labels = trace(map_fig(app), "Region labels")
    assert labels["mode"] == "text" and len(labels["text"]) >= 1
    pills = app.get("button_group")[0]
    pills.set_value([x for x in pills.value if x != "Region labels"]).run()
    assert not any(t.get("name") == "Region labels" for t in map_fig(app)["data"])
