"""Content features (recsys.features) and the tags parser behind them (recsys.loaders)."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.errors import ConfigError, DataFormatError
from recsys.features import item_features, normalize_tag
from recsys.loaders import load_movielens


def copy_fixture(fixtures_dir: Path, name: str, dest: Path) -> Path:
    return Path(shutil.copytree(fixtures_dir / name, dest / name))


def _row(features, ds, movie_id: int) -> dict[str, float]:
    """Non-zero features of one movie by name."""
    code = int(np.flatnonzero(ds.items["movieId"].to_numpy() == movie_id)[0])
    row = features.matrix[code].toarray().ravel()
    return {features.names[j]: float(row[j]) for j in np.flatnonzero(row)}


def test_normalize_tag():
    assert normalize_tag("  Slow \t  Burn ") == "slow burn"
    assert normalize_tag("Funny,  warm") == "funny, warm"
    assert normalize_tag("Café") == "café"
    assert normalize_tag("   ") == ""


def test_ml_latest_tags_are_parsed_as_written(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    tags = ds.tags
    assert list(tags.columns) == ["item", "userId", "tag"]
    assert tags["item"].dtype == np.int32 and tags["userId"].dtype == np.int64
    # The tag on movie 21 (nobody rated it, so it has no item code) is dropped; quoting,
    # commas, doubled quotes and accents survive; a tagger need not have rated anything (11).
    assert len(tags) == 11
    assert set(tags["tag"]) >= {"funny, warm", "Funny,  warm", 'café "culture"', "  noir "}
    assert 11 in set(tags["userId"])
    assert "documentary" not in set(tags["tag"])


def test_ml_10m_tags_dat(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-10m")
    assert ds.tags["tag"].tolist() == [
        "slow burn",
        "seaside",
        "Slow  Burn",
        "zen::koan",  # '::' inside a tag: ids split off the left, timestamp off the right
        "música",
        "Seaside",
    ]


def test_releases_without_tags_have_none(fixtures_dir: Path):
    assert load_movielens(fixtures_dir / "ml-100k").tags is None
    assert load_movielens(fixtures_dir / "ml-1m").tags is None


@pytest.mark.parametrize(
    ("fixture", "file", "line", "text", "message"),
    [
        ("ml-latest", "tags.csv", 3, "3,x34,fun,1306463800", "movieId 'x34' is not an integer"),
        ("ml-latest", "tags.csv", 2, "1,2,noir,soon", "timestamp 'soon' is not an integer"),
        ("ml-latest", "tags.csv", 4, "7,8,short", "expected 4 comma-separated fields"),
        ("ml-10m", "tags.dat", 2, "3::200::seaside", "expected 4 '::'-separated fields"),
        ("ml-10m", "tags.dat", 1, "-1::100::slow::1", "UserID -1 is negative"),
    ],
)
def test_bad_tag_lines_name_file_and_line(
    fixtures_dir, tmp_path, fixture, file, line, text, message
):
    path = copy_fixture(fixtures_dir, fixture, tmp_path)
    raw = (path / file).read_bytes()
    eol = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(eol)
    lines[line - 1] = text.encode()
    (path / file).write_bytes(eol.join(lines))
    with pytest.raises(DataFormatError, match=message) as info:
        load_movielens(path)
    assert file in str(info.value) and f"line {line}" in str(info.value)


def test_fixture_feature_matrix_by_hand(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    f = item_features(ds)
    assert f.matrix.shape == (ds.n_items, len(f.names)) == (7, 14)
    assert f.matrix.dtype == np.float32
    # Tags applied by >= 2 distinct users after normalisation: "noir" (users 1, 2, 4; user 1
    # twice), "funny, warm" (3, 1), "space" (5, 9, 11); not 'café "culture"' (one user) nor
    # "short" (one user).
    assert f.names[f.blocks["tag"]] == ["tag:funny, warm", "tag:noir", "tag:space"]
    assert f.names[f.blocks["year"]] == ["year:1990-1999", "year:2000-2009", "year:2010-2019"]
    # Movie 1: Animation (1 of 7 movies), Children (2 of 7), Fantasy (1 of 7); IDF weights,
    # then unit norm within the genre block; its year band has weight 1; no tags.
    a, c = math.log(7), math.log(7 / 2)
    norm = math.sqrt(2 * a * a + c * c)
    expected = {
        "genre:Animation": a / norm,
        "genre:Children": c / norm,
        "genre:Fantasy": a / norm,
        "year:1990-1999": 1.0,
    }
    got = _row(f, ds, 1)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6)
    # Movie 8: no genres, no year, tag "short" by one user only: an empty row.
    assert _row(f, ds, 8) == {}
    # Movie 34 (Children|Comedy, 2015, "funny, warm"): the single tag gets weight 1 after norm.
    assert _row(f, ds, 34)["tag:funny, warm"] == pytest.approx(1.0)
    # Every block of every row has norm 1 or 0.
    dense = f.matrix.toarray()
    for block in f.blocks.values():
        norms = np.linalg.norm(dense[:, block], axis=1)
        assert np.all(np.isclose(norms, 1.0, rtol=1e-6) | (norms == 0))


def test_tag_weights_are_log_count_tf_idf(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    f = item_features(ds, min_tag_users=1)
    # With one user enough, 'café "culture"' and "short" are columns too.
    assert 'tag:café "culture"' in f.names and "tag:short" in f.names
    # Movie 2 has only "noir", by 3 distinct users: a single non-zero tag normalises to 1.
    row = _row(f, ds, 2)
    assert row["tag:noir"] == pytest.approx(1.0)
    # Before normalisation the weight is log(1 + n_it) * log(n_items / n_t): check the ratio of
    # two tags on one movie by adding a second tag to movie 13 in a copy of the data.
    tags = ds.tags.copy()
    code13 = int(np.flatnonzero(ds.items["movieId"].to_numpy() == 13)[0])
    code5 = int(np.flatnonzero(ds.items["movieId"].to_numpy() == 5)[0])
    extra = tags.iloc[:2].copy()
    extra["item"] = np.int32(code13)
    extra["userId"] = [50, 51]
    extra["tag"] = ["Rocket", "rocket"]
    more = tags.iloc[:1].copy()
    more["item"], more["userId"], more["tag"] = np.int32(code5), 52, "rocket"
    ds2 = dataclasses.replace(ds, tags=pd.concat([tags, extra, more], ignore_index=True))
    row = _row(item_features(ds2), ds2, 13)
    space = math.log1p(3) * math.log(7 / 1)  # three users, on one movie
    rocket = math.log1p(2) * math.log(7 / 2)  # two users here, on two movies
    assert row["tag:rocket"] / row["tag:space"] == pytest.approx(rocket / space, rel=1e-6)


def test_max_tags_keeps_the_most_widespread(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    f = item_features(ds, min_tag_users=1, max_tags=1)
    # Every tag is on one movie; ties go by name: "café ..." sorts first.
    assert f.names[f.blocks["tag"]] == ['tag:café "culture"']
    assert item_features(ds, max_tags=0).blocks["tag"] == slice(14 - 3, 14 - 3)


def test_releases_without_tags_get_genres_and_years(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-100k")
    f = item_features(ds)
    assert f.blocks["tag"].stop - f.blocks["tag"].start == 0
    assert all(n.startswith(("genre:", "year:")) for n in f.names)
    assert "genre:unknown" not in f.names


def test_year_band_width(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    f = item_features(ds, year_band=5)
    assert f.names[f.blocks["year"]] == [
        "year:1995-1999",
        "year:2000-2004",
        "year:2010-2014",
        "year:2015-2019",
    ]


def test_bad_parameters_are_refused(fixtures_dir: Path):
    ds = load_movielens(fixtures_dir / "ml-latest")
    with pytest.raises(ConfigError, match="min_tag_users"):
        item_features(ds, min_tag_users=0)


def test_ml_latest_small_features(ml_small_dir: Path):
    ds = load_movielens(ml_small_dir)
    f = item_features(ds)
    assert f.matrix.shape[0] == 9724
    toy_story = _row(f, ds, 1)
    assert "genre:Animation" in toy_story and "year:1990-1999" in toy_story
    assert "tag:pixar" in toy_story
