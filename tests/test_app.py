"""The Streamlit app, page by page, with streamlit.testing.v1.AppTest (no browser, no server).

Artifacts come from a tiny fixture (two random models over 200 movies, built once per session
with recsys.artifacts.save_artifact); one test uses the real artifacts/ when present. Where
AppTest cannot drive a widget (Plotly selections), the test sets the session-state key that the
widget's callback would set, and says so.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import recsys
from pages.ui.lists import min_ratings_options
from pages.ui.mapview import distinctive_genres
from pages.ui.rating import short_profile_hint
from recsys.artifacts import save_artifact
from recsys.foldin import FoldIn

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 60
# app.py is the st.navigation entrypoint; the page scripts are pages/*.py (paths relative to
# app.py, as AppTest.switch_page wants them).
LANDING = "pages/rate.py"
SIMILAR = "pages/similar.py"
MAP = "pages/map.py"
REPORT = "pages/report.py"
PAGES = [LANDING, SIMILAR, MAP, REPORT]

SPECIAL_TITLES = [
    "Matrix, The (1999)",
    "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
    "*batteries not included (1987)",
    "Cry_Wolf (a.k.a. Cry Wolf) (2005)",
    "[REC] (2007)",
    "<b>Bold</b> <script>alert(1)</script> (2010)",
    "Secret of My Succe$s, The (1987)",
]
GENRES = ["Action", "Comedy", "Drama", "Sci-Fi", "Romance", "Horror", "Animation", "Documentary"]

USERS_METRICS = {
    "protocol": {"name": "users", "threshold": 4.0, "user_frac": 0.2, "fold_in_frac": 0.8},
    "metrics": {
        "recall@10": 0.21,
        "ndcg@10": 0.31,
        "precision@10": 0.12,
        "recall@20": 0.3,
        "ndcg@20": 0.33,
        "n_users": 120,
        "by_profile_size": {
            str(n): {"ndcg@10": 0.05 * i + 0.1, "recall@10": 0.04 * i + 0.05}
            for i, n in enumerate((1, 2, 5, 10, 20))
        },
    },
    "train_seconds": 1.5,
}
RANDOM_METRICS = {
    "protocol": {"name": "random", "threshold": 4.0, "test_frac": 0.2, "seed": 42},
    "metrics": {"recall@10": 0.25, "ndcg@10": 0.28, "n_users": 600},
    "train_seconds": 1.1,
}


def make_artifact(out: Path, name: str, *, seed: int, default: bool, metrics: dict) -> Path:
    """A small but structured model: 200 movies in 4 taste clusters, 8-d embeddings."""
    rng = np.random.default_rng(seed)
    n, d = 200, 8
    cluster = np.arange(n) % 4
    centres = np.random.default_rng(7).normal(size=(4, d)) * 2.0
    emb = (centres[cluster] + rng.normal(size=(n, d)) * 0.6).astype(np.float32)
    titles = SPECIAL_TITLES + [
        f"Movie {i} (19{50 + i % 50})" for i in range(len(SPECIAL_TITLES), n)
    ]
    years = [
        None if i % 37 == 5 else int(re.search(r"\((\d{4})\)$", t).group(1))
        for i, t in enumerate(titles)
    ]
    genres = [
        sorted({GENRES[cluster[i] * 2 % 8], GENRES[(cluster[i] * 2 + 1 + i % 3) % 8]})
        for i in range(n)
    ]
    n_ratings = (1000 / (1 + np.arange(n)) ** 0.8).astype(np.int64) + 1
    items = pd.DataFrame(
        {
            "movieId": (np.arange(n) * 3 + 1).astype(np.int64),
            "title": titles,
            "year": pd.array(years, dtype="Int64"),
            "genres": genres,
            "n_ratings": n_ratings,
            "mean_rating": rng.uniform(2.5, 4.5, n).astype(np.float32),
            "imdbId": pd.array([None if i % 10 == 3 else 100000 + i for i in range(n)], "Int64"),
            "tmdbId": pd.array([None if i % 10 == 4 else 500 + i for i in range(n)], "Int64"),
        }
    )
    state = FoldIn(
        "confidence",
        popularity=n_ratings.astype(np.float32),
        item_factors=emb,
        params={
            "reg": 0.05,
            "alpha": 2.0,
            "unobserved_weight": 0.05,
            "reg_exponent": 0.0,
            "threshold": 4.0,
        },
    )
    projection = (emb[:, :2] + rng.normal(size=(n, 2)) * 0.1).astype(np.float32)
    manifest = {
        "default": default,
        "model": {"name": name, "kind": "implicit", "params": {"factors": d, "reg": 0.05}},
        "dataset": {
            "name": "fixture",
            "format": "ml-latest",
            "n_users": 50,
            "n_items": n,
            "n_ratings": 5000,
            "rating_scale": [0.5, 5.0, 0.5],
        },
        "threshold": 4.0,
        "metrics": metrics,
        "training": {
            "seconds": 1.2,
            "seed": seed,
            "device": "cpu",
            "epochs_run": 2,
            "history": [{"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.5}],
            "command": f"python -m recsys train --model {name} --out artifacts/{name}",
        },
        "projection": {"method": "pca", "of": "L2-normalised embeddings"},
    }
    return save_artifact(
        out / name,
        state=state,
        items=items,
        item_embeddings=emb,
        projection=projection,
        manifest=manifest,
    )


def build_fixture_root(root: Path) -> Path:
    """Two artifacts: 'ials' (default, full metrics) and 'bpr' (no by-profile-size results)."""
    make_artifact(
        root,
        "ials",
        seed=1,
        default=True,
        metrics={"users": USERS_METRICS, "random": RANDOM_METRICS},
    )
    bpr_users = json.loads(json.dumps(USERS_METRICS))
    del bpr_users["metrics"]["by_profile_size"]
    make_artifact(root, "bpr", seed=2, default=False, metrics={"users": bpr_users})
    return root


def new_app(
    monkeypatch, root: Path, query: dict | None = None, *, timeout: float = TIMEOUT
) -> AppTest:
    monkeypatch.setenv("RECSYS_ARTIFACTS", str(root))
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at


# -- helpers reading the rendered page ----------------------------------------------------------

PICK_LINE = re.compile(r"^\*\*(\d+)\. (.*?)\*\*")


def pick_titles(at: AppTest) -> list[str]:
    """Titles in the rendered pick list, in order (Markdown escapes removed)."""
    out = []
    for md in at.markdown:
        m = PICK_LINE.match(md.value)
        if m:
            out.append(plain(m.group(2)))
    return out


def plain(markdown: str) -> str:
    """Markdown with its backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def title_of(model, movie_id) -> str:
    return str(model.items["title"].iat[model.code(movie_id)])


def expected_titles(model, ratings, **kw) -> list[str]:
    """The picks the app should show (the knob's re-ranking is tested on its own)."""
    k, knob = kw.pop("k", 10), kw.pop("popularity", 0)
    return list(model.recommend(ratings, k=k, popularity=knob, **kw).picks["title"])


def grid_ids(at: AppTest) -> list[int]:
    return [int(s.key.split("_")[1]) for s in at.segmented_control if s.key.startswith("grid_")]


def rate(at: AppTest, prefix: str, movie_id: int, value) -> AppTest:
    """Rate one movie, then read the whole page: on the landing page a rating re-runs only the
    fragments it changes, and AppTest's tree then holds only what those drew."""
    at.segmented_control(key=f"{prefix}_{movie_id}").set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at.run()


def no_raw_html(at: AppTest) -> None:
    for md in at.markdown:
        assert not md.proto.allow_html, md.value


# -- Rate & recommend ---------------------------------------------------------------------------


def test_landing_without_ratings_shows_popular_picks(app, model):
    assert [t.value for t in app.title] == ["Rate movies, get picks"]
    assert any("Popular picks for now" in i.value for i in app.info)
    assert pick_titles(app) == expected_titles(model, {})
    assert len(pick_titles(app)) == 10
    assert len(grid_ids(app)) >= 10  # the map-covering grid
    assert any(e.label == "How this works" for e in app.expander)
    no_raw_html(app)


def test_rating_three_movies_changes_picks_and_excludes_them(app, model):
    before = pick_titles(app)
    rated = grid_ids(app)[:3]
    for movie_id, value in zip(rated, (5.0, 4.5, 4.0)):
        rate(app, "grid", movie_id, value)
    assert not app.exception
    assert app.session_state["ratings"] == dict(zip(rated, (5.0, 4.5, 4.0)))
    after = pick_titles(app)
    assert after != before
    assert after == expected_titles(model, dict(zip(rated, (5.0, 4.5, 4.0))))
    rated_titles = {title_of(model, m) for m in rated}
    assert not rated_titles & set(after)
    assert not any("Popular picks" in i.value for i in app.info)
    # Each rated movie is listed, editable and removable; the URL holds the profile.
    for m in rated:
        assert app.segmented_control(key=f"rated_{m}").value == app.session_state["ratings"][m]
        assert app.button(key=f"remove_{m}")
    assert app.query_params["r"] == ",".join(f"{m}:{v:g}" for m, v in zip(rated, (5, 4.5, 4)))
    assert any("because you liked" in md.value for md in app.markdown)
    assert any("[IMDb](https://www.imdb.com/title/tt" in md.value for md in app.markdown)


def test_editing_and_removing_ratings_update_picks(app, model):
    ids = grid_ids(app)[:3]
    for m in ids:
        rate(app, "grid", m, 5.0)
    rate(app, "rated", ids[0], 1.0)  # edit in "Your ratings"
    assert app.session_state["ratings"][ids[0]] == 1.0
    assert app.segmented_control(key=f"grid_{ids[0]}").value == 1.0  # the grid agrees
    app.button(key=f"remove_{ids[1]}").click().run()
    remaining = {ids[0]: 1.0, ids[2]: 5.0}
    assert app.session_state["ratings"] == remaining
    assert pick_titles(app) == expected_titles(model, remaining)
    rate(app, "rated", ids[2], None)  # clicking the chosen value again clears it
    assert app.session_state["ratings"] == {ids[0]: 1.0}
    # Only a low rating: the picks fall back to popular ones, with a note.
    assert any("Popular picks for now" in i.value for i in app.info)
    app.button(key="clear_all").click().run()
    assert app.session_state["ratings"] == {}
    assert "r" not in app.query_params


def test_onboarding_group_rates_in_one_click(app, model):
    app.button(key="group_0").click().run()
    ratings = dict(app.session_state["ratings"])
    assert len(ratings) == 5 and set(ratings.values()) == {4.5}  # top of the scale minus a step
    assert pick_titles(app) == expected_titles(model, ratings)
    assert app.button(key="group_0").disabled
    # Another group: a movie already rated keeps its rating.
    first = next(iter(ratings))
    rate(app, "rated", first, 2.0)
    app.button(key="group_1").click().run()
    assert app.session_state["ratings"][first] == 2.0
    assert len(app.session_state["ratings"]) >= 6


def test_title_search(app, model):
    app.text_input(key="search_q").input("the matrix").run()
    matrix = int(model.items["movieId"].iat[0])
    assert app.segmented_control(key=f"search_{matrix}")
    rate(app, "search", matrix, 5.0)
    assert app.session_state["ratings"] == {matrix: 5.0}
    app.text_input(key="search_q").input("AMELIE").run()
    amelie = int(model.items["movieId"].iat[1])
    assert app.segmented_control(key=f"search_{amelie}")
    app.text_input(key="search_q").input("(.*").run()  # plain text, not a pattern
    assert not app.exception


def test_filters(app, model):
    ratings = {int(m): 5.0 for m in model.items["movieId"].iloc[10:13]}
    for m in ratings:
        app.session_state["ratings"][m] = 5.0
    app.run()
    app.slider(key="w_k").set_value(5).run()
    assert len(pick_titles(app)) == 5
    app.multiselect(key="w_genres").set_value(["Horror"]).run()
    got = pick_titles(app)
    assert got == expected_titles(model, ratings, k=5, genres=["Horror"])
    for t in got:
        code = int(np.flatnonzero(model.items["title"] == t)[0])
        assert "Horror" in model.items["genres"].iat[code]
    app.multiselect(key="w_genres").set_value([]).run()
    app.slider(key="w_years").set_value((1960, 1980)).run()
    assert pick_titles(app) == expected_titles(model, ratings, k=5, years=(1960, 1980))
    options = app.select_slider(key="w_min_ratings").options
    assert [int(o) for o in options] == min_ratings_options(model.items["n_ratings"])
    least = int(options[1])
    app.select_slider(key="w_min_ratings").set_value(least).run()
    expect = expected_titles(model, ratings, k=5, years=(1960, 1980), min_ratings=least)
    assert pick_titles(app) == expect
    app.slider(key="w_popularity").set_value(-1.0).run()
    niche = expected_titles(
        model, ratings, k=5, years=(1960, 1980), min_ratings=least, popularity=-1
    )
    assert pick_titles(app) == niche
    # Filters survive a trip to another page.
    app.switch_page(REPORT).run()
    app.switch_page(LANDING).run()
    assert pick_titles(app) == niche


def test_a_rating_is_answered_near_the_top_and_in_a_toast(app, model):
    """On a phone the pick list is far below the rating widgets: the first picks are also one
    line near the top, and a toast names the new first pick right after a rating."""
    assert not app.toast  # nothing rated yet: the popular list, no toast
    assert any(md.value.startswith("Most popular now: **1. ") for md in app.markdown)
    app.button(key="group_0").click().run()
    first = pick_titles(app)[0]
    summary = [plain(md.value) for md in app.markdown if md.value.startswith("Top picks for you")]
    assert len(summary) == 1 and f"1. {first}" in summary[0]
    assert [plain(t.value) for t in app.toast] == [f"Top pick now: **{first}**"]
    app.run()  # a rerun without a new rating: no new toast
    assert not app.toast


def test_short_profile_hint_until_five_ratings(app, model):
    ids = grid_ids(app)[:5]
    for n, movie_id in enumerate(ids, start=1):
        rate(app, "grid", movie_id, 5.0)
        hints = [c.value for c in app.caption if "about as good as the most popular" in c.value]
        if n < 5:
            assert hints == [short_profile_hint(n)], n
            assert f"rate {5 - n} more" in hints[0]
        else:
            assert hints == []


def test_config_lets_a_laptop_browser_open():
    """No `headless = true` in the committed config; servers pass --server.headless true."""
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert not re.search(r"^\s*headless\s*=", config, re.M)
    server = (ROOT / "bench" / "_server.py").read_text()
    assert '"--server.headless", "true"' in server


def test_titles_are_escaped_never_html(app, model):
    tricky = [int(m) for m in model.items["movieId"].iloc[2:6]]  # *, _, [, <b>
    for m in tricky:
        app.session_state["ratings"][m] = 5.0
    app.run()
    values = [s.label for s in app.segmented_control if s.key.startswith("rated_")]
    assert "\\*batteries not included (1987)" in values
    assert any("\\<b\\>Bold\\</b\\>" in v for v in values)
    assert any("\\[REC\\]" in v for v in values)
    no_raw_html(app)


def test_two_visitors_do_not_share_ratings(monkeypatch, artifacts_root):
    a = new_app(monkeypatch, artifacts_root)
    b = new_app(monkeypatch, artifacts_root)
    a.run()
    b.run()
    rate(a, "grid", grid_ids(a)[0], 5.0)
    b.run()
    assert len(a.session_state["ratings"]) == 1
    assert b.session_state["ratings"] == {}


# -- shareable profile --------------------------------------------------------------------------


def test_url_profile_round_trip(monkeypatch, artifacts_root, model):
    ids = [int(m) for m in model.items["movieId"].iloc[[20, 40, 60]]]
    link = f"{ids[0]}:5,{ids[1]}:4.5,{ids[2]}:2"
    at = new_app(monkeypatch, artifacts_root, {"r": link, "model": "ials"})
    at.run()
    assert not at.exception and not at.warning
    ratings = {ids[0]: 5.0, ids[1]: 4.5, ids[2]: 2.0}
    assert at.session_state["ratings"] == ratings
    picks = pick_titles(at)
    assert picks == expected_titles(model, ratings)
    # The app writes the same profile back; a second visitor with that link gets the same picks.
    assert at.query_params["r"] == link and at.query_params["model"] == "ials"
    again = new_app(monkeypatch, artifacts_root, dict(at.query_params))
    again.run()
    assert pick_titles(again) == picks


def test_url_with_bad_parts_warns_and_keeps_the_rest(monkeypatch, artifacts_root, model):
    good = int(model.items["movieId"].iat[30])
    at = new_app(
        monkeypatch,
        artifacts_root,
        {"r": f"{good}:4.5,abc,2:4.5,{good + 1}:9,<b>x</b>", "model": "nope"},
    )
    at.run()
    assert not at.exception
    assert at.session_state["ratings"] == {good: 4.5}
    text = " ".join(w.value for w in at.warning)
    assert "malformed" in text and "does not know" in text and "off the" in text
    assert "not available" in text  # the unknown model
    assert "<b>" not in text  # link text is escaped before display
    assert at.query_params["r"] == f"{good}:4.5"
    at.button(key="dismiss_url_warnings").click().run()
    assert not at.warning


def test_url_with_repeated_r_keys_reads_the_last_and_warns(monkeypatch, artifacts_root, model):
    a, b = (int(m) for m in model.items["movieId"].iloc[[30, 31]])
    at = new_app(monkeypatch, artifacts_root, {"r": [f"{a}:5", f"{b}:4"]})
    at.run()
    assert not at.exception
    assert at.session_state["ratings"] == {b: 4.0}
    assert any("2 sets of ratings" in w.value and "last one" in w.value for w in at.warning)
    assert at.query_params["r"] == f"{b}:4"  # written back once


def test_url_model_selects_that_model(monkeypatch, artifacts_root):
    at = new_app(monkeypatch, artifacts_root, {"model": "bpr"})
    at.run()
    assert at.sidebar.selectbox(key="model_name").value == "bpr"
    assert at.query_params["model"] == "bpr"


def test_url_caps_the_number_of_ratings(monkeypatch, artifacts_root, model):
    ids = [int(m) for m in model.items["movieId"]]
    at = new_app(monkeypatch, artifacts_root, {"r": ",".join(f"{m}:4" for m in ids * 3)})
    at.run()
    assert not at.exception
    assert len(at.session_state["ratings"]) == len(ids)
    assert any("more than once" in w.value for w in at.warning)


# -- pages and navigation -----------------------------------------------------------------------

PAGE_TITLES = {
    LANDING: "Rate movies, get picks",
    SIMILAR: "Similar movies",
    MAP: "The embedding map",
    REPORT: "Model report",
}


def test_every_page_draws_the_shared_frame(app):
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        assert [t.value for t in app.title] == [PAGE_TITLES[page]]
        assert app.sidebar.selectbox(key="model_name").value == "ials"


def test_profile_model_and_settings_survive_page_switches(app, artifacts_root):
    ids = grid_ids(app)[:2]
    for m in ids:
        rate(app, "grid", m, 5.0)
    app.sidebar.selectbox(key="model_name").set_value("bpr").run()
    app.slider(key="w_k").set_value(7).run()
    ratings = dict(app.session_state["ratings"])
    query = dict(app.query_params)
    assert query == {"r": f"{ids[0]}:5,{ids[1]}:5", "model": "bpr"}
    for page in (SIMILAR, MAP, REPORT, LANDING):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        assert app.session_state["ratings"] == ratings
        assert app.sidebar.selectbox(key="model_name").value == "bpr"
        assert dict(app.query_params) == query, page
    bpr = recsys.load(artifacts_root / "bpr")
    assert pick_titles(app) == expected_titles(bpr, ratings, k=7)


def test_link_to_another_page_reads_the_profile(monkeypatch, artifacts_root, model):
    """A shared link may open any page: the profile and model are read there too."""
    ids = [int(m) for m in model.items["movieId"].iloc[[8, 9]]]
    at = new_app(monkeypatch, artifacts_root, {"r": f"{ids[0]}:5,{ids[1]}:4", "model": "bpr"})
    at.switch_page(MAP).run()  # before the first run: the page the link names
    assert not at.exception
    assert [t.value for t in at.title] == ["The embedding map"]
    assert at.session_state["ratings"] == {ids[0]: 5.0, ids[1]: 4.0}
    assert at.session_state["model_name"] == "bpr"
    assert at.query_params["r"] == f"{ids[0]}:5,{ids[1]}:4"
    (fig,) = figures(at)
    ratings_trace = fig["data"][trace_names(fig).index("Your ratings")]
    assert sorted(values(ratings_trace["customdata"])) == sorted(ids)


def test_every_page_script_is_a_registered_page(app):
    """The frame's st.navigation owns the page list: every script in pages/ is registered
    (AppTest.switch_page refuses a file st.navigation did not register)."""
    scripts = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
    assert scripts == sorted(PAGES)
    with pytest.raises(ValueError, match="navigation page"):
        app.switch_page("pages/ui/frame.py")  # a helper, not a page


# -- model selector -----------------------------------------------------------------------------


def test_switching_model_keeps_ratings(app, artifacts_root):
    rate(app, "grid", grid_ids(app)[0], 5.0)
    ratings = dict(app.session_state["ratings"])
    app.sidebar.selectbox(key="model_name").set_value("bpr").run()
    assert not app.exception
    assert app.session_state["ratings"] == ratings
    bpr = recsys.load(artifacts_root / "bpr")
    assert pick_titles(app) == expected_titles(bpr, ratings)
    assert app.query_params["model"] == "bpr"


# -- Similar movies -----------------------------------------------------------------------------


def test_similar_page_lists_neighbours(app, model):
    app.switch_page(SIMILAR).run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Similar movies"]
    chosen = app.selectbox(key="w_sim_movie").value
    table = app.dataframe[0].value
    expected = model.similar(chosen, 10)
    assert list(table["title"]) == list(expected["title"])
    assert np.allclose(table["similarity"], expected["similarity"], atol=1e-6)
    # Search, then pick another movie and fewer neighbours.
    app.text_input(key="sim_q").input("matrix").run()
    matrix = int(model.items["movieId"].iat[0])
    assert app.selectbox(key="w_sim_movie").value == matrix
    app.number_input(key="w_sim_k").set_value(5).run()
    assert list(app.dataframe[0].value["title"]) == list(model.similar(matrix, 5)["title"])
    assert any(e.label == "How this works" for e in app.expander)


def test_similar_page_side_by_side(app, artifacts_root, model):
    app.switch_page(SIMILAR).run()
    app.selectbox(key="w_sim_compare").set_value("bpr").run()
    assert not app.exception
    assert len(app.dataframe) == 2
    chosen = app.selectbox(key="w_sim_movie").value
    bpr = recsys.load(artifacts_root / "bpr")
    assert list(app.dataframe[1].value["title"]) == list(bpr.similar(chosen, 10)["title"])
    assert "in both" in app.dataframe[0].value.columns


# -- Embedding map ------------------------------------------------------------------------------


def figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def values(v) -> list:
    """A Plotly JSON array: a plain list, or Plotly's typed-array encoding {dtype, bdata}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)


def trace_names(fig: dict) -> list[str]:
    return [t.get("name") for t in fig["data"]]


def test_map_has_genre_traces_and_highlights(app, model):
    ids = [int(m) for m in model.items["movieId"].iloc[[8, 9, 10]]]
    for m in ids:
        app.session_state["ratings"][m] = 5.0
    app.switch_page(MAP).run()
    assert not app.exception
    (fig,) = figures(app)
    # The region labels and the trail (text and lines, tested in test_app_views.py) aside.
    fig["data"] = [t for t in fig["data"] if t["name"] not in ("Region labels", "Your trail")]
    names = trace_names(fig)
    assert all(t["type"] == "scattergl" for t in fig["data"])
    assert set(names[:-3]) == set(distinctive_genres(model.items))
    assert names[-3:] == ["Your ratings", "Your picks", "You are here"]
    ratings_trace = fig["data"][names.index("Your ratings")]
    assert sorted(values(ratings_trace["customdata"])) == sorted(ids)
    picks_trace = fig["data"][names.index("Your picks")]
    picks = model.recommend({m: 5.0 for m in ids}, k=10).picks
    assert sorted(values(picks_trace["customdata"])) == sorted(int(m) for m in picks["movieId"])
    # Every movie is on the map exactly once in the base traces.
    base = [
        t for t in fig["data"] if t["name"] not in ("Your ratings", "Your picks", "You are here")
    ]
    on_map = sorted(m for t in base for m in values(t["customdata"]))
    assert on_map == sorted(int(m) for m in model.items["movieId"])
    assert any(e.label == "How this works" for e in app.expander)


def test_map_colour_modes_and_search_highlight(app, model):
    app.switch_page(MAP).run()
    app.selectbox(key="w_map_colour").set_value("year").run()
    (fig,) = figures(app)
    assert any(t.get("marker", {}).get("colorscale") for t in fig["data"])
    app.selectbox(key="w_map_colour").set_value("one genre").run()
    app.selectbox(key="w_map_genre").set_value("Horror").run()
    assert trace_names(figures(app)[0])[:2] == ["other movies", "Horror"]
    app.text_input(key="map_q").input("the matrix").run()
    names = trace_names(figures(app)[0])
    assert "Search: Matrix, The (1999)" in names
    # Typing a title also selects it: its neighbours (full embedding space) are listed.
    assert any("Selected" in s.value and "Matrix" in s.value for s in app.subheader)
    matrix = int(model.items["movieId"].iat[0])
    table = app.dataframe[0].value
    assert list(table["title"]) == list(model.similar(matrix, 10)["title"])
    assert any(n.startswith("Neighbours of Matrix") for n in names)


def test_map_point_and_region_selection(app, model):
    app.switch_page(MAP).run()
    # AppTest cannot click or lasso a Plotly chart: set the session-state key the chart's
    # on_select callback fills ({"ids": [...], "kind": "movie" | "region"}).
    movie = int(model.items["movieId"].iat[50])
    app.session_state["map_focus"] = {"ids": [movie], "kind": "movie"}
    app.run()
    assert not app.exception
    assert any(title_of(model, movie) in plain(s.value) for s in app.subheader)
    assert list(app.dataframe[0].value["title"]) == list(model.similar(movie, 10)["title"])
    region = [int(m) for m in model.items["movieId"].iloc[0:200:4]]
    app.session_state["map_focus"] = {"ids": region, "kind": "region"}
    app.run()
    assert any(f"{len(region)} movies in the selected region" in s.value for s in app.subheader)
    genres, movies = app.dataframe[0].value, app.dataframe[1].value
    assert len(movies) == len(region) and "genre" in genres.columns
    assert genres["movies"].iloc[0] == genres["movies"].max()
    app.button(key="map_clear").click().run()
    assert "map_focus" not in app.session_state


def test_map_side_by_side(app):
    app.switch_page(MAP).run()
    app.selectbox(key="w_map_compare").set_value("bpr").run()
    assert not app.exception
    figs = figures(app)
    assert len(figs) == 2
    assert [f["layout"]["title"]["text"] for f in figs] == ["ials · ials", "bpr · bpr"]


# -- Model report -------------------------------------------------------------------------------


def test_report_shows_tables_and_profile_size_plot(app):
    app.switch_page(REPORT).run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Model report"]
    protocols = [m.value for m in app.markdown if m.value.startswith("**Protocol: ")]
    assert protocols[:2] == ["**Protocol: users**", "**Protocol: random**"]
    users = app.dataframe[1].value
    assert sorted(users.index) == ["bpr", "ials"]
    assert users.loc["ials", "ndcg@10"] == pytest.approx(0.31)
    assert "by_profile_size" not in users.columns
    assert any("strong generalisation" in c.value for c in app.caption)
    # The cold-start chart holds the artifact with by-profile-size results (the comparison
    # charts from results/ are tested in test_app_views.py).
    charts = [json.loads(el.proto.spec) for el in app.get("plotly_chart")]
    names = {t.get("name") for c in charts for t in c["data"]}
    assert "artifact ials" in names and "artifact bpr" not in names
    assert any("No by-profile-size results for: bpr" in plain(c.value) for c in app.caption)
    assert any("recsys train --model ials" in c.value for c in app.code)
    assert any(e.label == "How this works" for e in app.expander)


def test_report_without_metrics_says_so(monkeypatch, tmp_path):
    make_artifact(tmp_path, "plain", seed=3, default=True, metrics={})
    monkeypatch.setenv("RECSYS_RESULTS", str(tmp_path / "no-results"))
    at = new_app(monkeypatch, tmp_path)
    at.run()
    at.switch_page(REPORT).run()
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "No evaluation results" in infos and "by_profile_size" in infos
    assert "No evaluation files in `results/`" in infos


# -- broken or missing artifacts ----------------------------------------------------------------


def _setup_page_text(at: AppTest) -> str:
    return " ".join([plain(e.value) for e in at.error] + [c.value for c in at.code])


def test_tampered_artifact_gives_the_explanatory_page(monkeypatch, artifacts_root, tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    shutil.copytree(artifacts_root / "ials", root / "ials")
    with open(root / "ials" / "arrays.npz", "ab") as f:
        f.write(b"tampered")
    at = new_app(monkeypatch, root)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["This app needs a trained model"]
    text = _setup_page_text(at)
    assert "arrays.npz" in text and "sha256" in text
    assert "python -m recsys download ml-latest-small" in text
    assert "python -m recsys train --data ml-latest-small --model ials" in text
    assert "../shared" not in text


def test_empty_or_missing_root_gives_the_explanatory_page(monkeypatch, tmp_path):
    for root in (tmp_path, tmp_path / "does-not-exist"):
        at = new_app(monkeypatch, root)
        at.run()
        assert not at.exception
        assert [t.value for t in at.title] == ["This app needs a trained model"]
        assert "--model ials --out artifacts/ials --default" in _setup_page_text(at)


def test_one_broken_artifact_of_two_falls_back_with_a_warning(
    monkeypatch, artifacts_root, tmp_path
):
    root = tmp_path / "artifacts"
    shutil.copytree(artifacts_root, root)
    (root / "ials" / "items.parquet").write_bytes(b"not parquet")
    at = new_app(monkeypatch, root)
    at.run()
    assert not at.exception
    assert at.session_state["model_name"] == "bpr"
    assert any("items.parquet" in plain(w.value) for w in at.sidebar.warning)
    assert pick_titles(at)


def test_setup_page_is_shown_on_every_page(monkeypatch, tmp_path):
    for page in PAGES:
        at = new_app(monkeypatch, tmp_path / "nothing-here")
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert [t.value for t in at.title] == ["This app needs a trained model"], page
        assert "--model ials --out artifacts/ials --default" in _setup_page_text(at)


def test_embedding_size_comes_from_the_item_vectors(monkeypatch, artifacts_root, tmp_path):
    """The size shown is item_embeddings.shape[1], never guessed from hyper-parameter names."""
    root = tmp_path / "artifacts"
    shutil.copytree(artifacts_root / "ials", root / "ials")
    manifest_path = root / "ials" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model"]["params"] = {"factors": 99, "k": 77, "dim": 55}  # misleading on purpose
    manifest_path.write_text(json.dumps(manifest))
    at = new_app(monkeypatch, root)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["_ctx"].model.item_embeddings.shape[1] == 8
    at.switch_page(SIMILAR).run()
    assert any("(8-dimensional)" in md.value for md in at.markdown)
    assert not any(f"({n}-dimensional)" in md.value for md in at.markdown for n in (99, 77, 55))
    at.switch_page(REPORT).run()
    assert list(at.dataframe[0].value["dimensions"]) == [8]


# -- the real artifacts -------------------------------------------------------------------------


def test_real_artifacts_if_present(monkeypatch):
    root = ROOT / "artifacts"
    if recsys.default_artifact(root) is None:
        pytest.skip(f"no trained artifacts under {root}")
    at = new_app(monkeypatch, root)
    at.run()
    assert not at.exception, at.exception
    model = recsys.load(root / at.session_state["model_name"])
    rated = grid_ids(at)[:3]
    for m in rated:
        rate(at, "grid", m, 5.0)
    assert not at.exception
    picks = pick_titles(at)
    assert picks == expected_titles(model, {m: 5.0 for m in rated})
    for page in (SIMILAR, MAP, REPORT):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
