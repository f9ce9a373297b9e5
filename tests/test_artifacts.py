"""Artifacts: round trip, verification (hashes, versions, pickle), atomic and concurrent saves,
and the Artifact methods the app calls."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recsys
from recsys.artifacts import (
    default_artifact,
    list_artifacts,
    popularity_rerank,
    save_artifact,
    sha256_file,
)
from recsys.errors import ArtifactError, ConfigError
from recsys.foldin import FoldIn
from recsys.index import ItemIndex, normalize_rows

GENRES = ["Action", "Comedy", "Drama", "Horror"]


def _items(n: int, rng) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "movieId": np.arange(1, n + 1, dtype=np.int64) * 10,
            "title": [f"Movie {i} ({1950 + i % 70})" for i in range(n)],
            "year": pd.array([1950 + i % 70 for i in range(n)], dtype="Int64"),
            "genres": [
                [GENRES[i % 4]] + ([GENRES[(i + 1) % 4]] if i % 3 == 0 else []) for i in range(n)
            ],
            "n_ratings": rng.integers(1, 500, size=n).astype(np.int64),
            "mean_rating": rng.uniform(1, 5, size=n).astype(np.float32),
            "imdbId": pd.array(np.arange(n) + 100, dtype="Int64"),
            "tmdbId": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
        }
    )


def make_artifact(path: Path, rng, n: int = 60, d: int = 8, default: bool = False) -> Path:
    factors = rng.normal(size=(n, d)).astype(np.float32)
    state = FoldIn(
        "confidence",
        popularity=rng.integers(0, 100, size=n).astype(np.float32),
        item_factors=factors,
        params={"reg": 0.5, "alpha": 2.0, "unobserved_weight": 0.1, "threshold": 4.0},
    )
    manifest = {
        "default": default,
        "model": {"name": "ials", "kind": "implicit", "params": {"factors": d}},
        "dataset": {"name": "toy", "rating_scale": [0.5, 5.0, 0.5], "n_ratings": 1},
        "metrics": {},
    }
    return save_artifact(
        path,
        state=state,
        items=_items(n, rng),
        item_embeddings=factors,
        projection=rng.normal(size=(n, 2)).astype(np.float32),
        manifest=manifest,
        license_text="toy licence",
    )


@pytest.fixture
def art_dir(tmp_path, rng) -> Path:
    return make_artifact(tmp_path / "toy", rng)


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_round_trip(art_dir):
    art = recsys.load(art_dir)
    assert len(art.items) == 60 and art.item_embeddings.shape == (60, 8)
    assert art.projection.shape == (60, 2)
    assert art.items["genres"].iloc[0] == ["Action", "Comedy"]
    assert art.manifest["format_version"] == 1
    assert set(art.manifest["files"]) == {
        "items.parquet",
        "arrays.npz",
        "index.faiss",
        "DATASET_LICENSE.txt",
    }
    ratings = {10: 5.0, 20: 4.5, 30: 1.0}
    res = art.fold_in_model.fold_in(np.array([0, 1, 2]), np.array([5.0, 4.5, 1.0]))
    np.testing.assert_allclose(art.fold_in(ratings), res.user_vector)
    picks = art.recommend(ratings, k=5, min_support=0).picks
    expected = [i for i in np.argsort(-res.scores, kind="stable") if i not in (0, 1, 2)][:5]
    assert picks["movieId"].tolist() == [int((i + 1) * 10) for i in expected]


def test_similar_faiss_matches_numpy_bruteforce(art_dir):
    art = recsys.load(art_dir)
    emb = normalize_rows(art.item_embeddings)
    for movie in (10, 200, 600):
        code = movie // 10 - 1
        got = art.similar(movie, k=7, min_support=0)
        sims = emb @ emb[code]
        sims[code] = -np.inf
        order = np.argsort(-sims, kind="stable")[:7]
        assert got["movieId"].tolist() == [int((i + 1) * 10) for i in order]
        np.testing.assert_allclose(got["similarity"], sims[order], atol=1e-5)


def test_item_index_numpy_and_faiss_agree(rng):
    vecs = rng.normal(size=(500, 16)).astype(np.float32)
    q = rng.normal(size=(20, 16)).astype(np.float32)
    ids_np, s_np = ItemIndex(vecs, backend="numpy").search(q, 10)
    ids_f, s_f = ItemIndex(vecs, backend="faiss").search(q, 10)
    np.testing.assert_allclose(s_np, s_f, rtol=1e-4, atol=1e-4)
    # Tie-tolerant: ids may differ only where scores are equal within float error.
    mismatch = ids_np != ids_f
    assert np.all(np.abs(s_np[mismatch] - s_f[mismatch]) < 1e-4)


def test_tampered_file_is_named(art_dir):
    path = art_dir / "arrays.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"arrays\.npz: sha256 .* does not match"):
        recsys.load(art_dir)


def test_truncated_file_is_named(art_dir):
    path = art_dir / "items.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ArtifactError, match=r"items\.parquet: sha256"):
        recsys.load(art_dir)


def test_missing_file_and_manifest(art_dir):
    (art_dir / "index.faiss").unlink()
    with pytest.raises(ArtifactError, match=r"index\.faiss: listed in the manifest but missing"):
        recsys.load(art_dir)
    (art_dir / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="manifest.json: missing"):
        recsys.load(art_dir)
    with pytest.raises(ArtifactError, match="no such artifact directory"):
        recsys.load(art_dir / "nope")


def test_other_format_version_is_refused(art_dir):
    mpath = art_dir / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["format_version"] = 99
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="format version 99.*reads version 1"):
        recsys.load(art_dir)
    mpath.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        recsys.load(art_dir)


def test_pickle_payload_is_refused_even_with_a_matching_hash(art_dir, tmp_path):
    """An attacker who can rewrite the manifest still cannot make load() unpickle."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    arrays = dict(np.load(art_dir / "arrays.npz", allow_pickle=False))
    arrays["popularity"] = np.array([Payload()] * 60, dtype=object)
    with open(art_dir / "arrays.npz", "wb") as f:
        np.savez(f, **arrays)
    mpath = art_dir / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["files"]["arrays.npz"] = sha256_file(art_dir / "arrays.npz")
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="refused to load"):
        recsys.load(art_dir)
    assert not marker.exists()


def test_manifest_cannot_point_outside_the_directory(art_dir):
    mpath = art_dir / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest["files"]["../escape"] = "0" * 64
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="must not contain a path"):
        recsys.load(art_dir)


def test_failed_save_leaves_previous_artifact_untouched(art_dir, rng, monkeypatch):
    before = _snapshot(art_dir)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(ArtifactError, match="disk full.*previous artifact there is unchanged"):
        make_artifact(art_dir, rng)
    monkeypatch.undo()
    assert _snapshot(art_dir) == before
    assert [p.name for p in art_dir.parent.iterdir() if ".tmp-" in p.name] == []
    recsys.load(art_dir)


def test_concurrent_saves_never_mix(tmp_path):
    target = tmp_path / "shared"
    errors = []

    def writer(seed: int) -> None:
        try:
            for _ in range(3):
                make_artifact(target, np.random.default_rng(seed), n=40 + seed)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    art = recsys.load(target)  # verifies every hash: a mixed directory would fail here
    assert len(art.items) in {40, 41, 42, 43}
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".shared.") and "lock" not in p.name
    ] == []


def test_recommend_filters_backfill_and_popularity(art_dir):
    art = recsys.load(art_dir)
    ratings = {10: 5.0, 20: 5.0}
    picks = art.recommend(ratings, k=8, genres=["Horror"], min_support=0).picks
    assert len(picks) == 8
    assert all("Horror" in g for g in picks["genres"])
    picks = art.recommend(ratings, k=5, years=(1960, 1970), min_ratings=100).picks
    assert all(1960 <= y <= 1970 for y in picks["year"])
    n_ratings = dict(zip(art.items["movieId"], art.items["n_ratings"]))
    assert all(n_ratings[m] >= 100 for m in picks["movieId"])
    assert not set(picks["movieId"]) & set(ratings)
    mainstream = art.recommend(ratings, k=10, popularity=1.0).picks
    niche = art.recommend(ratings, k=10, popularity=-1.0).picks
    mean_pop = lambda df: np.mean([n_ratings[m] for m in df["movieId"]])  # noqa: E731
    assert mean_pop(mainstream) > mean_pop(niche)
    with pytest.raises(ConfigError, match=r"popularity must be within \[-1, 1\]"):
        art.recommend(ratings, popularity=2.0)
    kept = art.recommend(ratings, k=60, exclude_rated=False, min_support=0).picks
    assert set(ratings) <= set(kept["movieId"])


def test_recommend_reports_unknown_ids_and_fallback(art_dir):
    art = recsys.load(art_dir)
    rec = art.recommend({10: 5.0, 999999: 4.0}, k=3)
    assert isinstance(rec, recsys.Recommendations)
    assert rec.unknown_ids == [999999] and rec.fallback is None and len(rec.picks) == 3
    empty = art.recommend({}, k=3)
    assert empty.fallback == "no ratings yet" and len(empty.picks) == 3 and empty.unknown_ids == []
    low = art.recommend({10: 1.0}, k=3)
    assert "no rating at or above 4" in low.fallback


def test_because_names_the_rated_movie_exactly_when_it_raises_the_score(art_dir):
    """With one positive rating and no item bias, a confidence fold-in's score of every item is
    that one movie's contribution: "because" must name it where the score is positive and
    nowhere else."""
    art = recsys.load(art_dir)
    assert art.fold_in_model.item_bias is None
    picks = art.recommend({10: 5.0}, k=59, min_support=0).picks
    assert len(picks) == 59 and 10 not in set(picks["movieId"])
    rated_title = art.items["title"].iat[art.code(10)]
    positive = picks["score"].to_numpy() > 0
    assert positive.any() and (~positive).any()  # both cases are exercised
    assert (picks["because"][positive] == rated_title).all()
    assert (picks["because"][~positive] == "").all()
    assert art.recommend({10: 5.0}, k=5, explain=False).picks["because"].eq("").all()


def test_min_support_hides_rarely_rated_movies(art_dir):
    art = recsys.load(art_dir)
    assert art.min_support == 10  # written at export, the documented default
    counts = dict(zip(art.items["movieId"], art.items["n_ratings"]))
    rare = {m for m, n in counts.items() if n < 200}
    for support in (0, 10, 200):
        picks = art.recommend({10: 5.0}, k=60, min_support=support).picks
        assert (picks["n_ratings"] >= support).all()
        assert picks["n_ratings"].tolist() == [counts[m] for m in picks["movieId"]]
        expected = sum(1 for m, n in counts.items() if n >= support and m != 10)
        assert len(picks) == expected
        near = art.similar(10, k=60, min_support=support)
        assert len(near) == expected and (near["n_ratings"] >= support).all()
    # Neighbours under a threshold are the brute-force cosine ranking restricted to eligible rows.
    emb = normalize_rows(art.item_embeddings)
    sims = emb @ emb[art.code(10)]
    eligible = art.items["n_ratings"].to_numpy() >= 200
    eligible[art.code(10)] = False
    order = [i for i in np.argsort(-sims, kind="stable") if eligible[i]][:5]
    got = art.similar(10, k=5, min_support=200)
    assert got["movieId"].tolist() == art.vocab.ids_of(order).tolist()
    assert not set(got["movieId"]) & rare
    with pytest.raises(ConfigError, match="min_support must be a non-negative integer"):
        art.recommend({10: 5.0}, min_support=-1)


@pytest.mark.parametrize("value", [6.0, 0.0, float("nan"), "abc", None])
def test_bad_rating_values_are_refused(art_dir, value):
    art = recsys.load(art_dir)
    with pytest.raises(ConfigError, match="rating for movie 10"):
        art.recommend({10: value})


def test_bad_movie_id_type_and_unknown_similar(art_dir):
    art = recsys.load(art_dir)
    with pytest.raises(ConfigError, match="movie id 'x' is not an integer"):
        art.recommend({"x": 4.0})
    with pytest.raises(ConfigError, match="movie 7 is not in this model's catalogue"):
        art.similar(7)


def test_map_position_is_the_medoid_of_the_top_picks(art_dir):
    art = recsys.load(art_dir)
    prof = art.profile({10: 5.0, 20: 4.0})
    (x, y), codes = art.map_position(
        prof.result.user_vector, prof.result.scores, exclude=prof.codes
    )
    # Brute force: the 10 best-scored unrated items, then the one with the smallest summed
    # distance to the others on the map.
    s = prof.result.scores.astype(np.float64).copy()
    s[prof.codes] = -np.inf
    top = np.argsort(-s, kind="stable")[:10]
    assert sorted(codes.tolist()) == sorted(top.tolist())
    assert not set(codes.tolist()) & set(prof.codes.tolist())
    xy = art.projection[top].astype(np.float64)
    sums = [np.linalg.norm(xy - p, axis=1).sum() for p in xy]
    np.testing.assert_allclose((x, y), xy[int(np.argmin(sums))], rtol=1e-5)
    # The marker sits on one of the candidates' dots.
    assert any(np.allclose((x, y), art.projection[c]) for c in codes)
    # Without scores: the 10 items closest to the user vector by cosine.
    emb = art.item_embeddings / np.linalg.norm(art.item_embeddings, axis=1, keepdims=True)
    u = prof.result.user_vector / np.linalg.norm(prof.result.user_vector)
    nearest = np.argsort(-(emb @ u), kind="stable")[:10]
    _, codes = art.map_position(prof.result.user_vector, None)
    assert sorted(codes.tolist()) == sorted(nearest.tolist())


def test_map_position_hand_example(art_dir):
    """Three picks on a line at x = 0, 1, 10 and one far away: the medoid is x = 1 (summed
    distances 1 + 9 = 10 against 11 and 19), where the mean (3.67) would be empty space."""
    art = recsys.load(art_dir)
    n = len(art.items)
    coords = np.zeros((n, 2), np.float32)
    coords[:3, 0] = [0.0, 1.0, 10.0]
    coords[3] = [100.0, 100.0]
    scores = np.full(n, -1.0, np.float32)
    scores[:4] = [4.0, 3.0, 2.0, 9.0]
    (x, y), codes = art.map_position(None, scores, n=3, exclude=np.array([3]), coords=coords)
    assert codes.tolist() == [0, 1, 2]
    assert (x, y) == (1.0, 0.0)


def test_list_and_default(tmp_path, rng):
    make_artifact(tmp_path / "a", rng)
    make_artifact(tmp_path / "b", rng, default=True)
    (tmp_path / "broken").mkdir()
    entries = list_artifacts(tmp_path)
    assert [e["name"] for e in entries] == ["a", "b", "broken"]
    assert "error" in entries[2]
    assert default_artifact(tmp_path) == "b"
    assert default_artifact(tmp_path / "none") is None


# -- export -> load -> the same scores, for every exportable model ------------------------------

EXPORTABLE = {
    "ials": {"factors": 8, "iterations": 3},
    "bpr": {"factors": 8, "epochs": 2},
    "mf": {"factors": 8, "epochs": 2},
    "ncf": {"gmf_dim": 8, "mlp_dim": 8, "mlp_layers": (16, 8), "epochs": 2},
}


@pytest.fixture(scope="module")
def synthetic_dataset(synthetic_dir):
    return recsys.load_movielens(synthetic_dir)


@pytest.mark.parametrize("name", list(EXPORTABLE))
def test_export_then_load_gives_the_same_scores(name, synthetic_dataset, tmp_path):
    from recsys.artifacts import export_model
    from recsys.models import make_model

    ds = synthetic_dataset
    model = make_model(name, **EXPORTABLE[name])
    data = ds.interactions()
    model.fit(data if model.kind == "explicit" else data.positives(4.0), seed=0, device="cpu")
    art = recsys.load(export_model(model, ds, tmp_path / name, projection_method="pca"))
    assert art.manifest["model"]["name"] == name and art.min_support == 10
    np.testing.assert_array_equal(art.item_embeddings, model.item_embeddings.astype(np.float32))
    state = model.fold_in_state()
    ids = ds.items["movieId"].to_numpy()
    rng = np.random.default_rng(1)
    low, high, step = ds.rating_scale
    for size in (1, 3, 12):
        codes = rng.choice(len(ids), size, replace=False)
        ratings = low + step * rng.integers(0, round((high - low) / step) + 1, size)
        expected = state.fold_in(codes, ratings.astype(np.float64)).scores
        got = art.profile(dict(zip(ids[codes].tolist(), ratings.tolist()))).result.scores
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())
        picks = art.recommend(dict(zip(ids[codes].tolist(), ratings.tolist())), k=10).picks
        assert not set(picks["movieId"]) & set(ids[codes].tolist())
        assert (picks["n_ratings"] >= art.min_support).all()


def test_export_stores_a_pca_map_and_measures_both_maps(synthetic_dataset, tmp_path):
    from recsys.artifacts import export_model
    from recsys.map_quality import map_quality
    from recsys.models import make_model
    from recsys.projection import project_items

    ds = synthetic_dataset
    model = make_model("ials", **EXPORTABLE["ials"])
    model.fit(ds.interactions().positives(4.0), seed=0, device="cpu")
    art = recsys.load(export_model(model, ds, tmp_path / "ials", projection_method="pca"))
    counts = ds.items["n_ratings"].to_numpy()
    expected_xy, _ = project_items(model.item_embeddings, "pca", counts=counts, min_count=20)
    np.testing.assert_allclose(art.projection_pca, expected_xy, rtol=1e-5, atol=1e-6)
    quality = art.manifest["map_quality"]["pca"]
    assert quality == map_quality(
        model.item_embeddings, expected_xy, list(ds.items["genres"]), counts
    )
    assert 0.0 < quality["trustworthiness@10"] <= 1.0


# -- explain: the terms sum to the score recommend reports, for every exportable model ----------

EXPLAINED = {
    **EXPORTABLE,
    "hybrid": {"factors": 8, "iterations": 3},
    "content": {"factors": 8},
}


@pytest.mark.parametrize("name", list(EXPLAINED))
def test_explain_sums_to_the_recommended_score(name, synthetic_dataset, tmp_path):
    from recsys.artifacts import export_model
    from recsys.features import item_features
    from recsys.models import make_model

    ds = synthetic_dataset
    model = make_model(name, **EXPLAINED[name])
    data = ds.interactions()
    extra = {"item_features": item_features(ds)} if model.uses_item_features else {}
    model.fit(
        data if model.kind == "explicit" else data.positives(4.0), seed=0, device="cpu", **extra
    )
    art = recsys.load(export_model(model, ds, tmp_path / name, projection_method="pca"))
    ids = ds.items["movieId"].to_numpy()
    rng = np.random.default_rng(2)
    rated = rng.choice(ids, 6, replace=False).tolist()
    profile = dict(zip(rated, [5.0, 4.5, 1.0, 4.0, 2.0, 5.0]))
    picks = art.recommend(profile, k=5).picks
    assert art.fold_in_model.method == (
        "neumf" if name == "ncf" else "ridge" if name == "mf" else "confidence"
    )
    for rank, (movie_id, score) in enumerate(zip(picks["movieId"], picks["score"]), start=1):
        ex = art.explain(profile, int(movie_id))
        assert ex.score == pytest.approx(float(score), rel=1e-6)
        assert ex.rank == rank  # the model's own order, the knob at 0
        assert list(ex.terms["movieId"]) == rated
        # Leave-one-out: each row is the score after folding in the profile without that movie.
        for _, row in ex.terms.iterrows():
            rest = {m: r for m, r in profile.items() if m != row["movieId"]}
            code = art.code(int(movie_id))
            assert row["score_without"] == pytest.approx(
                float(art.profile(rest).result.scores[code]), rel=1e-6, abs=1e-6
            )
        if name == "ncf":
            # Approximate, as claimed: the "contributions" are leave-one-out changes.
            assert not ex.exact
            np.testing.assert_allclose(
                ex.terms["contribution"], ex.score - ex.terms["score_without"], rtol=1e-9
            )
        else:
            assert ex.exact
            assert ex.total == pytest.approx(ex.score, rel=1e-5, abs=1e-6)
            # A low rating is no term of a confidence model's score (it acts through A).
            if art.fold_in_model.method == "confidence":
                assert (ex.terms.loc[ex.terms["rating"] < 4.0, "contribution"] == 0).all()
    # "because" names the rated movie with the largest positive term.
    first = art.explain(profile, int(picks["movieId"].iat[0]))
    best = first.terms.loc[first.terms["contribution"].idxmax()]
    expected = best["title"] if best["contribution"] > 0 and first.exact else ""
    if name != "ncf":
        assert picks["because"].iat[0] == expected


def test_explain_what_if_rank_matches_recommend_without_that_rating(art_dir):
    art = recsys.load(art_dir)
    profile = {10: 5.0, 20: 4.5, 30: 1.0, 40: 4.0}
    pick = int(art.recommend(profile, k=3, min_support=0).picks["movieId"].iat[2])
    ex = art.explain(profile, pick, min_support=0)
    for row in ex.terms.itertuples():
        rest = {m: r for m, r in profile.items() if m != row.movieId}
        order = list(art.recommend(rest, k=len(art.items), min_support=0).picks["movieId"])
        assert row.rank_without == order.index(pick) + 1
    # The rated movie itself has no rank (it is not a candidate).
    assert art.explain(profile, 10, min_support=0).rank is None


def test_explain_unknown_movie_and_empty_profile(art_dir):
    art = recsys.load(art_dir)
    with pytest.raises(ConfigError, match="not in this model's catalogue"):
        art.explain({10: 5.0}, 7)
    ex = art.explain({}, 20, min_support=0)
    assert ex.fallback == "no ratings yet" and ex.terms.empty
    assert ex.total == pytest.approx(ex.score) and set(ex.extras) == {"popularity"}


def test_popularity_rerank_moves_the_popular_up_or_down():
    scores = np.array([5.0, 4.0, 3.9, 3.8, 1.0])
    counts = np.array([2, 500, 3, 300, 1000])
    assert list(popularity_rerank(scores, counts, 0.0)) == [0, 1, 2, 3, 4]
    mainstream = list(popularity_rerank(scores, counts, 1.0))
    niche = list(popularity_rerank(scores, counts, -1.0))
    assert mainstream.index(1) < mainstream.index(0) and niche[0] == 0
    assert niche.index(2) < niche.index(1)  # the rarely-rated 3.9 overtakes the popular 4.0
    assert list(popularity_rerank(np.ones(3), np.ones(3), 1.0)) == [0, 1, 2]  # ties keep order


def test_top_codes_is_the_ranking_recommend_uses(art_dir, rng):
    art = recsys.load(art_dir)
    ids = art.items["movieId"].to_numpy()
    n_ratings = art.items["n_ratings"].to_numpy()
    for _ in range(30):
        rated = {int(m): float(rng.choice([1.0, 3.0, 5.0])) for m in rng.choice(ids, 4, False)}
        k, support = int(rng.integers(1, 20)), int(rng.choice([0, 3, 10]))
        prof = art.profile(rated)
        got = art.top_codes(prof.result.scores, k, prof.codes, min_support=support)
        picks = art.recommend(rated, k=k, min_support=support, explain=False).picks
        assert list(art.vocab.ids_of(got)) == list(picks["movieId"])
        # Random scores with ties: best first, ties to the lower code, rated and rare left out.
        scores = rng.integers(0, 5, len(ids)).astype(np.float32)
        got = art.top_codes(scores, k, prof.codes, min_support=support)
        keep = [c for c in range(len(ids)) if c not in set(prof.codes) and n_ratings[c] >= support]
        assert list(got) == sorted(keep, key=lambda c: (-scores[c], c))[:k]
    assert len(art.top_codes(scores, 0)) == 0
