"""The landing page's fragments and click-to-rate control, judgements of picks (personal
precision@10 for two models, kept in the link) and the onboarding's measured strategy.

AppTest runs fragment reruns like a server: after a click inside a fragment, ``at.run()`` re-runs
only the fragments the callback names, and the element tree then holds only what they drew.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import (
    USERS_METRICS,
    expected_titles,
    grid_ids,
    make_artifact,
    new_app,
    pick_titles,
)

import recsys
from pages.ui.feedback import personal_precision
from pages.ui.profile import decode_judgements, encode_judgements, scale_values
from pages.ui.rating import elicitation_sentence

CURVES = {  # NDCG@10 after n ratings, per strategy (made-up numbers for the fixture)
    "random": {"1": 0.05, "2": 0.07, "3": 0.09, "5": 0.11, "10": 0.14},
    "popular": {"1": 0.08, "2": 0.10, "3": 0.12, "5": 0.13, "10": 0.15},
    "pop_entropy": {"1": 0.07, "2": 0.09, "3": 0.12, "5": 0.14, "10": 0.16},
    "groups": {"1": 0.09, "2": 0.12, "3": 0.14, "5": 0.16, "10": 0.17},
}


def with_curves(curves: dict) -> dict:
    users = json.loads(json.dumps(USERS_METRICS))
    users["metrics"]["elicitation"] = curves
    return {"users": users}


@pytest.fixture(scope="module")
def curves_root(tmp_path_factory) -> Path:
    """Two artifacts whose manifests hold elicitation curves ('ials' default: groups best)."""
    root = tmp_path_factory.mktemp("curves")
    make_artifact(root, "ials", seed=1, default=True, metrics=with_curves(CURVES))
    popular_best = json.loads(json.dumps(CURVES))
    popular_best["popular"]["5"] = 0.2
    make_artifact(root, "bpr", seed=2, default=False, metrics=with_curves(popular_best))
    return root


@pytest.fixture
def at(app) -> AppTest:
    """conftest's app (test_app's fixture artifacts, no elicitation curves), by this file's name."""
    return app


def full(at: AppTest) -> AppTest:
    """A full run, to read the whole page again after a fragment rerun."""
    at.run()
    assert not at.exception, at.exception
    return at


# -- the rating control and the fragments -------------------------------------------------------


def test_rating_control_is_one_click_over_the_scale(at, model):
    movie = grid_ids(at)[0]
    control = at.segmented_control(key=f"grid_{movie}")
    assert control.options == ["½", "1", "1½", "2", "2½", "3", "3½", "4", "4½", "5"]
    assert len(control.options) == len(scale_values(model.rating_scale))
    assert control.value is None  # not rated
    control.set_value(4.5)
    at.run()  # one interaction
    assert at.session_state["ratings"] == {movie: 4.5}
    # Clicking the chosen value again clears it.
    full(at).segmented_control(key=f"grid_{movie}").set_value(None)
    at.run()
    assert at.session_state["ratings"] == {}


def test_a_rating_reruns_only_the_fragments_and_the_picks_change(at, model):
    before = pick_titles(at)
    movie = grid_ids(at)[0]
    at.segmented_control(key=f"grid_{movie}").set_value(5.0)
    at.run()
    assert not at.exception
    # Only the fragments ran: the page title and the grid (the tabs fragment) were not redrawn,
    # "Your ratings", the picks, their summary line and the sidebar's profile were.
    assert not at.title
    assert not any(s.key.startswith("grid_") for s in at.segmented_control)
    assert at.segmented_control(key=f"rated_{movie}").value == 5.0
    after = pick_titles(at)
    assert after != before and after == expected_titles(model, {movie: 5.0})
    assert any(md.value.startswith("Top picks for you now: **1. ") for md in at.markdown)
    assert any(c.value.startswith("1 rating in your profile") for c in at.sidebar.caption)
    assert at.query_params["r"] == f"{movie}:5"
    # A full run draws the same picks.
    assert pick_titles(full(at)) == after and at.title


# -- rate our recommendations -------------------------------------------------------------------


def precision_lines(at: AppTest) -> dict[str, str]:
    out = {}
    for md in at.markdown:
        for name in ("ials", "bpr"):
            if md.value.startswith(f"**{name}**:"):
                out[name] = md.value
    return out


def top10(model: recsys.Artifact, ratings: dict) -> list[int]:
    return [int(m) for m in model.recommend(ratings, k=10, explain=False).picks["movieId"]]


def test_judgements_give_precision_for_both_models(at, artifacts_root, model):
    ratings = {m: 5.0 for m in grid_ids(at)[:3]}
    at.session_state["ratings"].update(ratings)
    full(at)
    assert any("Nothing judged yet" in c.value for c in at.caption)
    shown = [int(k.key.split("_")[1]) for k in at.segmented_control if k.key.startswith("judge_")]
    assert len(shown) == 10
    verdicts = {shown[0]: "would watch", shown[1]: "not for me", shown[2]: "would watch"}
    for movie, verdict in verdicts.items():
        at.segmented_control(key=f"judge_{movie}").set_value(verdict)
        at.run()
        assert not at.exception
    judged = {m: v == "would watch" for m, v in verdicts.items()}
    assert at.session_state["judged"] == judged
    assert at.session_state["ratings"] == ratings  # judging never changes the profile
    lines = precision_lines(full(at))
    other = recsys.load(artifacts_root / "bpr")
    for name, m in (("ials", model), ("bpr", other)):
        p = personal_precision(top10(m, ratings), judged)
        if p.judged:
            assert f"precision@10 **{p.value:.2f}**" in lines[name]
            assert f"{p.judged} of its top 10 judged" in lines[name]
        else:
            assert "none of its top 10 judged yet" in lines[name]
    assert "precision@10 **0.67**" in lines["ials"]  # 2 of the 3 judged would watch


def test_personal_precision_counts_only_judged_picks():
    p = personal_precision([1, 2, 3, 4], {2: True, 4: False, 9: True})
    assert (p.liked, p.judged, p.n, p.value) == (1, 2, 4, 0.5)
    assert personal_precision([1, 2], {}).value is None


def test_judgements_round_trip_through_the_link(monkeypatch, at, artifacts_root):
    movies = grid_ids(at)[:2]
    at.session_state["ratings"][movies[0]] = 5.0
    full(at)
    shown = [int(k.key.split("_")[1]) for k in at.segmented_control if k.key.startswith("judge_")]
    at.segmented_control(key=f"judge_{shown[0]}").set_value("would watch")
    at.run()
    at.segmented_control(key=f"judge_{shown[1]}").set_value("not for me")
    at.run()
    link = at.query_params["j"]
    assert link == f"{shown[0]}:1,{shown[1]}:0"
    again = new_app(monkeypatch, artifacts_root, {"r": at.query_params["r"], "j": link})
    again.run()
    assert not again.exception and not again.warning
    assert again.session_state["judged"] == {shown[0]: True, shown[1]: False}
    assert again.segmented_control(key=f"judge_{shown[0]}").value == "would watch"


def test_hostile_judgements_in_the_link_are_dropped_with_a_warning(monkeypatch, artifacts_root):
    at = new_app(monkeypatch, artifacts_root, {"j": "1:1,abc,4:7,999999:0,<script>:1"})
    at.run()
    assert not at.exception
    assert at.session_state["judged"] == {1: True}
    text = " ".join(w.value for w in at.warning)
    assert "malformed judgement" in text and "does not know" in text


def test_judgement_codec_round_trip_and_hostile_input():
    judged = {260: True, 1: False, 318: True}
    text = encode_judgements(judged)
    assert text == "260:1,1:0,318:1"
    assert decode_judgements(text) == (judged, [])
    got, warnings = decode_judgements("1:1,1:0,x:1,2:yes,-3:1,0:1,4:1", known_ids=[1, 2, 3])
    assert got == {1: False}
    assert len(warnings) == 3  # malformed, unknown, repeated: one line each
    assert "movieId:1 (would watch)" in warnings[0]
    got, warnings = decode_judgements("1:1," * 10, max_items=3)
    assert got == {1: True} and "more than once" in warnings[0]
    got, warnings = decode_judgements(",".join(f"{i}:1" for i in range(1, 20)), max_items=5)
    assert list(got) == [1, 2, 3, 4, 5] and "only the first 5" in warnings[-1]
    got, warnings = decode_judgements("1:1," * 5000, max_chars=100)
    assert got == {1: True} and "longer than 100 characters" in warnings[0]
    for hostile in ("", None, ":", ",,,", "\x00:1", "1:1:1", "１:1", "9" * 40 + ":1"):
        got, _ = decode_judgements(hostile)
        assert got == {}


# -- onboarding by the best measured strategy ---------------------------------------------------


def test_onboarding_names_the_best_measured_strategy(monkeypatch, curves_root):
    at = new_app(monkeypatch, curves_root)
    at.run()
    assert not at.exception
    sentence = [i.value for i in at.info if "works best" in i.value]
    assert len(sentence) == 1
    assert "asking about the taste groups first works best" in sentence[0]
    assert "NDCG@10 **0.160** after 5 ratings" in sentence[0]
    assert "vs 0.110 for asking about random movies" in sentence[0]
    assert not any(md.value.startswith("**Rate these first**") for md in at.markdown)


def test_onboarding_offers_the_best_strategy_when_it_is_not_the_groups(monkeypatch, curves_root):
    at = new_app(monkeypatch, curves_root, {"model": "bpr"})
    at.run()
    assert not at.exception
    sentence = [i.value for i in at.info if "works best" in i.value]
    assert "asking about the most-rated movies first works best" in sentence[0]
    assert "NDCG@10 **0.200** after 5 ratings" in sentence[0]
    ask = [s.key for s in at.segmented_control if s.key.startswith("ask_")]
    bpr = recsys.load(curves_root / "bpr")
    most_rated = bpr.items.sort_values("n_ratings", ascending=False, kind="stable")["movieId"]
    # (three columns: AppTest lists them column by column)
    assert {int(k.split("_")[1]) for k in ask} == {int(m) for m in most_rated[:6]}
    at.segmented_control(key=ask[0]).set_value(4.0)
    at.run()
    assert at.session_state["ratings"] == {int(ask[0].split("_")[1]): 4.0}


def test_no_onboarding_sentence_without_curves(at):
    assert not any("works best" in i.value for i in at.info)


def test_elicitation_sentence_needs_two_measured_strategies():
    manifest = {"metrics": {"users": {"metrics": {"elicitation": {"random": {"5": 0.1}}}}}}
    assert elicitation_sentence(manifest) is None
    assert elicitation_sentence({}) is None
    assert elicitation_sentence({"metrics": {"users": {"metrics": {"elicitation": "x"}}}}) is None
    manifest["metrics"]["users"]["metrics"]["elicitation"]["pop_entropy"] = {"5": 0.2}
    text = elicitation_sentence(manifest)
    assert "popular and divisive movies first works best" in text and "vs 0.100" in text
