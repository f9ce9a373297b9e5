"""The app's pure helpers in pages/ui (search, profile links, onboarding, the map, report tables,
teaching texts): tested without Streamlit."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pages.ui.lists import min_ratings_options
from pages.ui.mapview import (
    add_highlights,
    base_figure,
    distinctive_genres,
    fitted_mask,
    hover_texts,
    selection_ids,
    spread_duplicates,
    summarize_selection,
)
from pages.ui.onboarding import kmeans, map_grid
from pages.ui.profile import (
    decode_profile,
    encode_profile,
    group_rating,
    scale_values,
)
from pages.ui.report import cold_start_frame
from pages.ui.search import (
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    TitleSearch,
    deinvert_title,
    parse_query,
)
from pages.ui.tables import metrics_table, protocol_label
from pages.ui.teaching import explain_fold_in, explain_map, explain_metrics, explain_similarity
from pages.ui.text import escape_markdown, imdb_url, tmdb_url
from recsys.onboarding import foreign_title, normalize_text, onboarding_groups, taste_label

SCALE = (0.5, 5.0, 0.5)


def _items(titles, n_ratings=None, genres=None, years=None):
    n = len(titles)
    return pd.DataFrame(
        {
            "movieId": np.arange(1, n + 1) * 10,
            "title": titles,
            "year": pd.array(years if years is not None else [2000] * n, dtype="Int64"),
            "genres": genres if genres is not None else [["Drama"]] * n,
            "n_ratings": np.asarray(n_ratings if n_ratings is not None else [10] * n),
            "mean_rating": np.full(n, 3.5, np.float32),
        }
    )


# -- text search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Amélie (2001)", "amelie 2001"),
        ("WALL·E (2008)", "wall e 2008"),
        ("[REC]² (2009)", "rec 2 2009"),
        ("  Matrix, The (1999) ", "matrix the 1999"),
        ("Straße", "strasse"),
        ("***", ""),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_deinvert_title():
    assert deinvert_title("Matrix, The (1999)") == "The Matrix (1999)"
    assert deinvert_title("Avventura, L' (1960)") == "L'Avventura (1960)"
    assert (
        deinvert_title("Lord of the Rings: The Two Towers, The (2002)")
        == "The Lord of the Rings: The Two Towers (2002)"
    )
    assert deinvert_title("Toy Story (1995)") == "Toy Story (1995)"
    # An article inside the alternative title is left alone.
    amelie = "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"
    assert deinvert_title(amelie) == amelie


@pytest.fixture
def search():
    titles = [
        "Matrix, The (1999)",
        "Matrix Reloaded, The (2003)",
        "Animatrix, The (2003)",
        "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
        "Toy Story (1995)",
        "Toy Story 2 (1999)",
        "[REC] (2007)",
        "Recruit, The (2003)",
        "a.*b+ (2000)",
    ]
    pop = [300, 100, 20, 150, 250, 120, 30, 40, 1]
    return titles, TitleSearch(titles, pop)


def _found(search, query, **kw):
    titles, index = search
    return [titles[c] for c in index.search(query, **kw)]


def test_search_is_case_accent_and_article_tolerant(search):
    assert _found(search, "the matrix")[0] == "Matrix, The (1999)"
    assert _found(search, "MATRIX")[:2] == ["Matrix, The (1999)", "Matrix Reloaded, The (2003)"]
    assert _found(search, "amelie") == ["Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)"]
    assert _found(search, "AMÉLIE") == _found(search, "amelie")
    assert _found(search, "toy sto") == ["Toy Story (1995)", "Toy Story 2 (1999)"]
    # Words in any order, partial words.
    assert "Matrix, The (1999)" in _found(search, "1999 matr")


def test_search_ranks_whole_word_prefix_first(search):
    # "[REC]" is an exact word; "Recruit" only starts with the query, though more popular.
    assert _found(search, "rec")[0] == "[REC] (2007)"


def test_search_query_is_plain_text_not_regex(search):
    assert _found(search, "a.*b+")[0] == "a.*b+ (2000)"  # the words "a b", not a pattern
    assert _found(search, ".*") == []  # punctuation only: nothing, not everything
    assert _found(search, "(") == []
    assert _found(search, "") == []


def test_search_limit_and_exclude(search):
    titles, index = search
    assert len(index.search("the", limit=2)) == 2
    matrix = titles.index("Matrix, The (1999)")
    assert matrix not in index.search("matrix", exclude=[matrix])


MOVIELENS_TITLES = [  # real MovieLens titles, spelled as the dataset spells them
    "Godfather, The (1972)",
    "Godfather: Part II, The (1974)",
    "Godfather: Part III, The (1990)",
    "Father of the Bride Part II (1995)",
    "Star Wars: Episode IV - A New Hope (1977)",
    "Star Wars: Episode V - The Empire Strikes Back (1980)",
    "Star Wars: Episode III - Revenge of the Sith (2005)",
    "Star Wars: Episode VII - The Force Awakens (2015)",
    "Lord of the Rings: The Fellowship of the Ring, The (2001)",
    "Lord of the Rings: The Two Towers, The (2002)",
    "E.T. the Extra-Terrestrial (1982)",
    "Fugitive, The (1993)",
    "Shawshank Redemption, The (1994)",
    "Rocky IV (1985)",
    "Eternal Sunshine of the Spotless Mind (2004)",
]


@pytest.fixture
def movielens():
    pop = np.arange(len(MOVIELENS_TITLES), 0, -1) * 10  # earlier titles more rated
    return MOVIELENS_TITLES, TitleSearch(MOVIELENS_TITLES, pop)


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("godfahter", "Godfather, The (1972)"),  # a typo
        ("shawshenk", "Shawshank Redemption, The (1994)"),
        ("the godfather part 2", "Godfather: Part II, The (1974)"),  # digits for roman numerals
        ("godfather part ii", "Godfather: Part II, The (1974)"),
        ("star wars 5", "Star Wars: Episode V - The Empire Strikes Back (1980)"),
        ("rocky 4", "Rocky IV (1985)"),
        ("lotr", "Lord of the Rings: The Fellowship of the Ring, The (2001)"),  # initialism
        ("e.t.", "E.T. the Extra-Terrestrial (1982)"),
        ("E T", "E.T. the Extra-Terrestrial (1982)"),
    ],
)
def test_search_forgives_typos_numbers_and_initialisms(movielens, query, first):
    assert _found(movielens, query)[0] == first


def test_search_numbers_match_whole_numbers_not_years(movielens):
    # "5" is in neither 2005 nor 2015: only Episode V matches.
    assert _found(movielens, "star wars 5") == [
        "Star Wars: Episode V - The Empire Strikes Back (1980)"
    ]
    assert _found(movielens, "godfather part 2") == ["Godfather: Part II, The (1974)"]
    assert _found(movielens, "lotr") == [t for t in MOVIELENS_TITLES if t.startswith("Lord of")]
    # A whole year is a whole number of the title: it still finds the film.
    assert _found(movielens, "star wars 1977") == ["Star Wars: Episode IV - A New Hope (1977)"]


def test_search_has_no_single_letter_noise(movielens):
    assert _found(movielens, "e.t.") == ["E.T. the Extra-Terrestrial (1982)"]  # not The Fugitive
    assert _found(movielens, "e") == [] and _found(movielens, "t") == []


def test_search_reads_a_bounded_query(movielens):
    """However long the query, only its first MAX_QUERY_CHARS characters and MAX_QUERY_WORDS words
    are searched (no timing assert: the cap itself is checked)."""
    huge = "godfather " + "x" * 140_000
    assert len(parse_query(huge)) <= MAX_QUERY_WORDS
    assert parse_query(huge) == ["godfather", "x" * 40]  # 100 characters read, words cut at 40
    assert _found(movielens, huge) == []  # the capped second word matches no title
    many = " ".join(["godfather"] * 5_000)
    assert parse_query(many) == ["godfather"] * MAX_QUERY_WORDS
    assert _found(movielens, many)[0] == "Godfather, The (1972)"
    # Words past the cap are never read: a title named only there is not found.
    late = " ".join(["godfather"] * MAX_QUERY_WORDS + ["shawshank"])
    assert "Shawshank Redemption, The (1994)" not in _found(movielens, late)
    far = "shawshank".rjust(MAX_QUERY_CHARS + 10)
    assert parse_query(far) == [] and _found(movielens, far) == []


# -- markdown, scale, links ---------------------------------------------------------------------


def test_escape_markdown_neutralises_markup():
    raw = "*batteries* _not_ [included](x) <b>1</b> $x$ `c` ~~s~~ a|b \\ :smile: &amp;\nnew"
    out = escape_markdown(raw)
    for c in "*_[]<>$`~|\\":
        assert f"\\{c}" in out
    assert "\\:smile\\:" not in out and "\\:smile:" in out  # no shortcode can form
    assert "\\&amp;" in out
    assert "\n" not in out
    # Removing the escapes gives the text back.
    assert re.sub(r"\\(.)", r"\1", out) == raw.replace("\n", " ")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Toy Story (1995)", "Toy Story (1995)"),
        ("Star Wars: Episode IV - A New Hope (1977)", "Star Wars: Episode IV - A New Hope (1977)"),
        ("Wallace & Gromit (1993)", "Wallace & Gromit (1993)"),
        ("- Dash (2000)", "\\- Dash (2000)"),
        ("# Hash (2000)", "\\# Hash (2000)"),
        ("1. Ordered (2000)", "1\\. Ordered (2000)"),
        ("2001: A Space Odyssey (1968)", "2001: A Space Odyssey (1968)"),
        ("M*A*S*H (1970)", "M\\*A\\*S\\*H (1970)"),
        ("Secret of My Succe$s", "Secret of My Succe\\$s"),
    ],
)
def test_escape_markdown_leaves_plain_titles_alone(title, expected):
    assert escape_markdown(title) == expected


def test_scale_values_and_group_rating():
    assert scale_values(SCALE) == [0.5 * i for i in range(1, 11)]
    assert scale_values((1, 5, 1)) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert group_rating(SCALE) == 4.5
    assert group_rating((1, 5, 1)) == 4.0


def test_links():
    assert imdb_url(114709) == "https://www.imdb.com/title/tt0114709/"
    assert tmdb_url(862) == "https://www.themoviedb.org/movie/862"
    assert imdb_url(pd.NA) is None and tmdb_url(None) is None
    assert tmdb_url(float("nan")) is None and imdb_url(0) is None


def test_movie_facts_line():
    from pages.ui.widgets import movie_facts

    row = pd.Series(
        {"genres": ["Comedy", "Drama"], "n_ratings": 120, "mean_rating": 3.8512, "imdbId": 114709}
    )
    assert movie_facts(row) == (
        "Comedy, Drama · rated by 120 people, mean 3.85 ★ · "
        "[IMDb](https://www.imdb.com/title/tt0114709/)"
    )
    bare = pd.Series({"genres": [], "n_ratings": 1, "mean_rating": 5.0, "imdbId": None})
    assert movie_facts(bare) == "no genre · rated by 1 people, mean 5.00 ★"


# -- URL profiles -------------------------------------------------------------------------------


def test_profile_round_trip():
    ratings = {1: 5.0, 260: 4.5, 2571: 0.5}
    text = encode_profile(ratings)
    assert text == "1:5,260:4.5,2571:0.5"
    back, warnings = decode_profile(text, SCALE, known_ids=[1, 260, 2571])
    assert back == ratings and list(back) == list(ratings) and warnings == []


def test_decode_drops_bad_parts_with_warnings():
    text = "1:5,abc,2:4.3,3:7,-4:3,5:nan,6:1e1,7:4_0,999:3,,8:2,1:4"
    got, warnings = decode_profile(text, SCALE, known_ids=[1, 2, 3, 5, 6, 7, 8])
    assert got == {8: 2.0, 1: 4.0}
    joined = " ".join(warnings)
    assert "malformed" in joined and "off the 0.5–5 scale" in joined
    assert "does not know" in joined and "more than once" in joined
    assert len(warnings) == 4


def test_decode_caps_count_and_length():
    many = ",".join(f"{i}:4" for i in range(1, 601))
    got, warnings = decode_profile(many, SCALE, max_items=500, max_chars=100_000)
    assert len(got) == 500 and list(got)[-1] == 500
    assert any("first 500" in w for w in warnings)
    got, warnings = decode_profile(many, SCALE, max_chars=50)
    assert 0 < len(got) < 20 and any("characters" in w for w in warnings)
    assert all(isinstance(k, int) and isinstance(v, float) for k, v in got.items())


@pytest.mark.parametrize("text", [None, "", ",,,", ":", "1:", ":4", "\x00:\x00", "1:4:5", "٣:4"])
def test_decode_never_raises(text):
    got, warnings = decode_profile(text, SCALE)
    assert isinstance(got, dict) and isinstance(warnings, list)
    assert got == {}


# -- k-means, groups, grid -----------------------------------------------------------------------


def _clustered(n_per=60, d=8, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 5
    x = np.vstack([c + rng.normal(size=(n_per, d)) * 0.3 for c in centres])
    return x, np.repeat(np.arange(k), n_per)


def test_kmeans_finds_clusters_and_is_seeded():
    x, truth = _clustered()
    labels, centres = kmeans(x, 4, seed=1)
    assert centres.shape == (4, 8)
    # Each true cluster maps to a single label.
    for j in range(4):
        assert len(set(labels[truth == j])) == 1
    again, _ = kmeans(x, 4, seed=1)
    assert np.array_equal(labels, again)
    labels, _ = kmeans(x[:3], 10)  # k capped at n
    assert len(set(labels)) <= 3


def label_matches_members(label: str, items: pd.DataFrame, codes) -> bool:
    """Reference check of a group's name against its members, part by part: a genre is held by
    at least 80 % of them ("Mostly G": half), "Foreign-language" by all, and decades
    ("1940s-1960s" or "1950s") contain every member's year."""
    codes = list(codes)
    genres = [set(items["genres"].iat[c]) for c in codes]
    years = items["year"].to_numpy(dtype=np.float64, na_value=np.nan)[codes]
    if label == "Mixed":
        return True
    for part in label.split(" · "):
        era = re.fullmatch(r"(\d{4})s(?:–(\d{4})s)?", part)
        if part.startswith("Mostly "):
            ok = sum(part[7:] in g for g in genres) >= 0.5 * len(codes)
        elif part == "Foreign-language":
            ok = all(foreign_title(items["title"].iat[c]) for c in codes)
        elif era:
            lo, hi = int(era.group(1)), int(era.group(2) or era.group(1))
            ok = bool(np.all((years >= lo) & (years < hi + 10)))
        else:
            ok = sum(part in g for g in genres) >= 0.8 * len(codes)
        if not ok:
            return False
    return True


def test_onboarding_groups_are_distinct_tastes_named_by_their_members():
    rows = (
        [("Documentary",), 2005] * 1
        + [("Animation", "Children", "Comedy"), 1995] * 1
        + [("Horror", "Thriller"), 1985] * 1
        + [("Drama", "Romance"), 1950] * 1
    )
    n_per = 8
    genres, years, titles = [], [], []
    for t in range(4):
        for i in range(n_per):
            genres.append(list(rows[2 * t]))
            years.append(rows[2 * t + 1] + i % 3)
            titles.append(f"Movie {t}-{i} ({rows[2 * t + 1] + i % 3})")
    n = len(titles)
    items = _items(titles, np.arange(n, 0, -1) * 3, genres, years)
    x, _ = _clustered(n_per=n_per, k=4)
    groups = onboarding_groups(items, x, per_group=5)
    assert [g.taste for g in groups] == [
        "documentaries",
        "classics",
        "family and animation",
        "horror",
        "romance",
    ][: len(groups)]
    labels = {g.taste: g.label for g in groups}
    assert labels["documentaries"] == "Documentary"
    # Shared genres, rarer in the catalogue first (ties alphabetical), at most two; decades
    # only before 1980.
    assert labels["family and animation"] == "Animation · Children"  # 1990s: not old
    assert labels["classics"] == "Drama · Romance · 1950s"
    for g in groups:
        assert len(g.movie_ids) == 5 and len(set(g.codes)) == 5
        assert label_matches_members(g.label, items, g.codes), g
        counts = items["n_ratings"].to_numpy()[list(g.codes)]
        assert list(counts) == sorted(counts, reverse=True)  # best-known first
    used = [c for g in groups for c in g.codes]
    assert len(used) == len(set(used))  # a movie is in one group only
    assert onboarding_groups(items, x) == onboarding_groups(items, x)


def test_label_check_can_fail():
    items = _items(["A (1990)", "B (1991)"], genres=[["Drama"], ["Comedy"]], years=[1990, 1991])
    assert not label_matches_members("Drama", items, [0, 1])
    assert label_matches_members("Mostly Comedy", items, [0, 1])
    assert not label_matches_members("1950s", items, [0, 1])
    assert label_matches_members("1990s", items, [0, 1])
    assert taste_label(items, [0, 1]) == "Mostly Comedy"  # ties: alphabetical


@pytest.mark.parametrize(
    ("title", "foreign"),
    [
        ("Spirited Away (Sen to Chihiro no kamikakushi) (2001)", True),
        ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", True),
        ("Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark) (1981)", False),
        ("Léon: The Professional (a.k.a. The Professional) (Léon) (1994)", False),
        ("Se7en (a.k.a. Seven) (1995)", False),
        ("Toy Story (1995)", False),
    ],
)
def test_foreign_title(title, foreign):
    assert foreign_title(title) is foreign


def test_committed_groups_are_named_by_their_members():
    """Every quick-start group of every committed model: a label its five members bear out, and
    the distinct tastes the app promises."""
    for model in _committed_models():
        groups = onboarding_groups(model.items, model.item_embeddings)
        tastes = {g.taste for g in groups}
        assert {"family and animation", "horror", "documentaries", "classics"} <= tastes
        assert {"foreign-language", "science fiction", "romance"} <= tastes
        for g in groups:
            assert label_matches_members(g.label, model.items, g.codes), (model.name, g)
            assert g.label != "Mixed"


def test_map_grid_covers_the_map():
    # Four far-apart regions; the most popular movies all sit in region 0.
    x, truth = _clustered(n_per=50, d=2, k=4, seed=3)
    n_ratings = np.where(truth == 0, 1000, 10) + np.arange(len(x))[::-1]
    items = _items([f"M{i}" for i in range(len(x))], n_ratings)
    grid = map_grid(items, x, n=4, pool=len(x), seed=0)
    assert len(grid) == 4
    assert {int(truth[c]) for c in grid} == {0, 1, 2, 3}
    # The most-rated movie of each region.
    for c in grid:
        region = np.flatnonzero(truth == truth[c])
        assert n_ratings[c] == n_ratings[region].max()
    assert np.array_equal(grid, map_grid(items, x, n=4, pool=len(x), seed=0))
    other = map_grid(items, x, n=4, pool=len(x), seed=5)
    assert {int(truth[c]) for c in other} == {0, 1, 2, 3}
    excluded = map_grid(items, x, n=4, pool=len(x), seed=0, exclude=grid)
    assert not set(excluded) & set(grid)


# -- map selections and the figure --------------------------------------------------------------


def test_selection_ids():
    points = [
        {"customdata": 10, "x": 0},
        {"customdata": [20]},
        {"customdata": 10},
        {"x": 1},  # the visitor's marker: no id
        {"customdata": "junk"},
    ]
    assert selection_ids(points) == [10, 20]
    assert selection_ids([]) == [] and selection_ids(None) == []


def test_summarize_selection():
    genres = [["Comedy"], ["Comedy", "Romance"], ["Drama"], ["Horror"], ["Comedy"]]
    items = _items([f"M{i}" for i in range(5)], [5, 50, 20, 1, 7], genres)
    s = summarize_selection(items, [10, 20, 50, 999])
    assert s.n == 3
    assert list(s.movies["movieId"]) == [20, 50, 10]  # most-rated first
    top = s.genres.iloc[0]
    assert top["genre"] == "Comedy" and top["movies"] == 3 and top["share"] == 1.0
    assert top["lift"] == pytest.approx(1.0 / (3 / 5))
    empty = summarize_selection(items, [])
    assert empty.n == 0 and empty.movies.empty and empty.genres.empty


def _live_map(items, projection, colour_by="distinctive genre", genre=None, fitted=None, **layers):
    """The map as the app draws it (pages/ui/artifacts.map_data + base_map, then
    mapping.draw): spread positions, the base figure, a visitor's layers on a copy."""
    import plotly.graph_objects as go

    hover = hover_texts(items)
    xy = spread_duplicates(projection)
    fig = go.Figure(base_figure(items, xy, colour_by, genre, hover, fitted))
    add_highlights(fig, xy, items["movieId"].to_numpy(), hover, **layers)
    return fig


def test_map_traces_and_safe_hover():
    genres = [["Comedy"], ["Drama"], [], ["Comedy", "Drama"]]
    items = _items(["<b>Bold</b> (2000)", "B (2001)", "C (2002)", "D (2003)"], genres=genres)
    xy = np.arange(8, dtype=np.float32).reshape(4, 2)
    fig = _live_map(
        items, xy, highlights={"Your ratings": [0], "Your picks": [1, 2]}, you=(0.5, 0.5)
    )
    names = [t.name for t in fig.data]
    assert names == ["Comedy", "Drama", "(no genre)", "Your ratings", "Your picks", "You are here"]
    assert all(t.type == "scattergl" for t in fig.data)
    assert list(fig.data[0].customdata) == [10, 40]
    assert "&lt;b&gt;Bold&lt;/b&gt;" in fig.data[0].hovertext[0]
    assert "<b>" not in fig.data[0].hovertext[0]
    for mode in ("year", "popularity", "mean rating"):
        fig = _live_map(items, xy, colour_by=mode)
        assert fig.data[-1].marker.colorscale is not None
    fig = _live_map(items, xy, colour_by="one genre", genre="Drama")
    assert [t.name for t in fig.data] == ["other movies", "Drama"]
    assert sorted(fig.data[1].customdata) == [20, 40]
    with pytest.raises(ValueError):
        _live_map(items, xy, colour_by="nope")


def test_distinctive_genre_is_the_rarest_of_a_movies_genres():
    genres = [
        ["Adventure", "Animation", "Children", "Comedy"],  # Toy Story-like
        ["Adventure", "Comedy"],
        ["Comedy", "Drama"],
        ["Drama", "IMAX"],  # a format is never the colour
        ["IMAX"],
        ["Adventure", "Drama"],
        ["Comedy"],
    ]
    items = _items([f"M{i} (2000)" for i in range(len(genres))], genres=genres)
    # Catalogue counts: Comedy 4, Adventure 3, Drama 3, Animation 1, Children 1.
    assert list(distinctive_genres(items)) == [
        "Animation",  # ties (Animation, Children: 1 each) go alphabetically
        "Adventure",
        "Drama",
        "Drama",
        "(no genre)",
        "Adventure",  # Adventure and Drama tie at 3: alphabetical
        "Comedy",
    ]


def test_spread_duplicates_gives_every_movie_its_own_dot():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(300, 2)).astype(np.float32)
    xy[100:250] = xy[5]  # 151 movies on one spot
    xy[260:270] = [3.0, 3.0]
    out = spread_duplicates(xy)
    assert len(np.unique(out, axis=0)) == len(out)  # no two dots share a position
    alone = np.ones(len(xy), bool)
    alone[[5, *range(100, 250), *range(260, 270)]] = False
    assert np.array_equal(out[alone], xy[alone])  # movies alone keep their place
    assert np.array_equal(out[5], xy[5]) and np.array_equal(out[260], xy[260])  # first stays
    span = np.ptp(xy[alone], axis=0).max()
    assert np.abs(out[100:250] - xy[5]).max() < 0.1 * span  # a small spiral, not a smear
    assert np.array_equal(spread_duplicates(xy), out)  # deterministic


def test_fitted_mask_reapplies_the_export_rule():
    items = _items(["A", "B", "C", "D"], n_ratings=[10, 2, 7, 50])
    emb = np.array([[1.0, 0], [1, 1], [0, 0], [0, 2]])
    info = {"min_count": 5, "fitted_on": 2}
    assert list(fitted_mask(items, emb, info)) == [True, False, False, True]
    assert fitted_mask(items, emb, {"min_count": 5, "fitted_on": 3}) is None  # does not add up
    assert fitted_mask(items, emb, {}) is None


def test_map_clicks_select_and_the_legend_sits_below():
    genres = [["Comedy"], ["Drama"], ["Comedy"], ["Drama"]]
    items = _items(["A (2000)", "B (2001)", "C (2002)", "D (2003)"], genres=genres)
    xy = np.zeros((4, 2), np.float32)  # all on one spot
    fitted = np.array([True, True, False, True])
    fig = _live_map(items, xy, fitted=fitted)
    assert fig.layout.dragmode is None  # Streamlit then starts in pan mode: a click selects
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0
    comedy = fig.data[0]
    assert list(comedy.customdata) == [10, 30]
    assert comedy.marker.opacity[1] < comedy.marker.opacity[0]  # the placed movie is fainter
    assert "placed beside" in comedy.hovertext[1] and "placed" not in comedy.hovertext[0]
    points = np.c_[[x for t in fig.data for x in t.x], [y for t in fig.data for y in t.y]]
    assert len(np.unique(points, axis=0)) == 4  # four movies, four dots
    year = _live_map(items, xy, colour_by="year")
    bar = year.data[-1].marker.colorbar
    assert bar.orientation == "h" and bar.y >= 1.0  # above the plot, never under the legend


def test_committed_maps_know_fitted_from_placed():
    import recsys

    root = Path(__file__).resolve().parents[1] / "artifacts"
    paths = sorted(p.parent for p in root.glob("*/manifest.json"))
    if not paths:
        pytest.skip("no committed artifacts")
    for path in paths:
        model = recsys.load(path)
        info = model.manifest["projection"]
        mask = fitted_mask(model.items, model.item_embeddings, info)
        assert mask is not None and int(mask.sum()) == info["fitted_on"], path


# -- the pick list's knobs ----------------------------------------------------------------------


def test_min_ratings_options_follow_the_data():
    counts = np.r_[np.ones(500), np.arange(1, 330)]
    options = min_ratings_options(counts)
    assert options[0] == 0 and options == sorted(set(options))
    assert all(o <= counts.max() for o in options) and 500 not in options
    assert all(str(o)[0] in "125" and set(str(o)[1:]) <= {"0"} for o in options[1:])
    assert min_ratings_options([]) == [0]
    assert min_ratings_options([3, 3, 3]) == [0, 2]


def _committed_models():
    import recsys

    root = Path(__file__).resolve().parents[1] / "artifacts"
    paths = sorted(p.parent for p in root.glob("*/manifest.json"))
    if not paths:
        pytest.skip("no committed artifacts")
    return [recsys.load(p) for p in paths]


def test_popularity_knob_changes_most_of_the_list():
    """For a typical 5-movie profile (each quick-start group) of each committed model, the top 10
    at -1 and at +1 share at most half their movies; every minimum-ratings option keeps picks."""
    for model in _committed_models():
        groups = onboarding_groups(model.items, model.item_embeddings, seed=0)
        assert groups
        for group in groups:
            profile = {m: 4.5 for m in group.movie_ids}
            niche = set(model.recommend(profile, 10, popularity=-1.0).picks["movieId"])
            mainstream = set(model.recommend(profile, 10, popularity=1.0).picks["movieId"])
            assert len(niche) == len(mainstream) == 10
            assert len(niche & mainstream) <= 5, (model.name, group.label)
        options = min_ratings_options(model.items["n_ratings"])
        assert max(options) <= model.items["n_ratings"].max()
        assert len(model.recommend({}, k=10, min_ratings=max(options)).picks) == 10


# -- report helpers and texts --------------------------------------------------------------------

MANIFEST = {
    "model": {"name": "ials", "params": {"factors": 64}},
    "fold_in": {
        "method": "confidence",
        "params": {"reg": 0.07, "alpha": 3.5, "unobserved_weight": 0.02, "reg_exponent": 1.0},
    },
    "n_items": 9724,
    "projection": {"method": "umap", "n_neighbors": 15, "min_dist": 0.1, "seed": 42},
    "metrics": {
        "users": {
            "protocol": {"name": "users", "user_frac": 0.2, "threshold": 4.0},
            "metrics": {
                "recall@10": 0.2,
                "ndcg@10": 0.3,
                "ndcg@20": 0.35,
                "n_users": 120,
                "by_profile_size": {
                    "1": {"ndcg@10": 0.1, "recall@10": 0.05},
                    "5": {"ndcg@10": 0.2},
                },
            },
            "train_seconds": 3.0,
        }
    },
}


def test_metrics_table_and_profile_sizes():
    table = metrics_table({"a": MANIFEST, "b": {"metrics": {}}}, "users")
    assert list(table.index) == ["a"]
    assert list(table.columns) == ["ndcg@10", "recall@10", "ndcg@20", "train_seconds"]
    assert metrics_table({"b": {}}, "users").empty
    frame = cold_start_frame(None, {"a": MANIFEST, "b": {}})
    assert len(frame) == 3 and set(frame["ratings"]) == {1, 5}
    assert cold_start_frame(None, {"b": {"metrics": {}}}).empty
    label = protocol_label("users", MANIFEST["metrics"]["users"])
    assert label.startswith("users (strong generalisation") and "user_frac=0.2" in label


def test_explanations_use_the_manifest_values():
    text = explain_fold_in(MANIFEST, SCALE)
    for value in ("0.07", "3.5", "0.02", "9724", "4.5"):
        assert value in text
    assert "z(\\log(1 + n_i))" in text  # the popularity knob formula
    ridge = dict(MANIFEST, fold_in={"method": "ridge", "params": {"reg": 0.3, "global_mean": 3.5}})
    assert "ridge regression" in explain_fold_in(ridge) and "0.3" in explain_fold_in(ridge)
    assert "cos(q_i, q_j)" in explain_similarity(MANIFEST)
    # The vector size is said only when the caller knows it (item_embeddings.shape[1]).
    assert "(48-dimensional)" in explain_similarity(MANIFEST, 48)
    assert "dimensional" not in explain_similarity(MANIFEST)
    m = explain_map(MANIFEST)
    assert "UMAP" in m and "not faithful" in m and "n_neighbors = 15" in m
    assert "ndcg" in explain_metrics()


def _with_fold_in(**params) -> dict:
    fold = dict(MANIFEST["fold_in"], params=dict(MANIFEST["fold_in"]["params"], **params))
    return dict(MANIFEST, fold_in=fold)


def test_low_ratings_are_described_by_their_actual_weight():
    # alpha = 3.5, w0 = 0.02 in MANIFEST; negative_weight defaults to alpha in FoldIn.
    default = explain_fold_in(MANIFEST, SCALE)
    assert "confident *negative*" in default and "$c_-$ = **3.5**" in default
    zero = explain_fold_in(_with_fold_in(negative_weight=0.0), SCALE)
    assert "**0**" in zero and "left out of the fit" in zero and "confident" not in zero
    small = explain_fold_in(_with_fold_in(negative_weight=0.01), SCALE)
    assert "less than a movie you did not rate" in small and "confident" not in small
    assert "stars" not in zero  # ratings are sliders on the dataset's scale


def test_committed_artifacts_are_explained_as_they_fold_in():
    """The "How this works" text of each committed artifact matches its manifest's weight."""
    import json

    root = Path(__file__).resolve().parents[1] / "artifacts"
    manifests = sorted(root.glob("*/manifest.json"))
    if not manifests:
        pytest.skip("no committed artifacts")
    for path in manifests:
        manifest = json.loads(path.read_text())
        params = manifest["fold_in"]["params"]
        text = explain_fold_in(manifest)
        weight = float(params.get("negative_weight", params.get("alpha", 1.0)))
        assert ("left out of the fit" in text) == (weight == 0), path
        assert ("confident *negative*" in text) == (weight >= params["unobserved_weight"]), path


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, lazily (inside functions) or not."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_library_imports_no_ui():
    """Nothing under recsys/ imports streamlit or plotly: the app's code lives in pages/ui."""
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "recsys").rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(f.relative_to(root)): sorted(_imported_modules(f) & {"streamlit", "plotly"})
        for f in files
    }
    assert not {f: m for f, m in offenders.items() if m}
    # The check can fail: a page script does import streamlit.
    assert "streamlit" in _imported_modules(root / "pages" / "rate.py")


def test_pure_helpers_import_neither_streamlit_nor_torch():
    code = (
        "import importlib, sys\n"
        "for name in ('search', 'profile', 'onboarding', 'mapview', 'tables', 'teaching', 'text'):\n"
        "    importlib.import_module('pages.ui.' + name)\n"
        "bad = [m for m in ('streamlit', 'torch', 'umap', 'plotly') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)
