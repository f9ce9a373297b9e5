"""The landing page's teaching views with AppTest: "Why this pick?" (bars per rated movie, the
what-if rank), the vector-turn line after a rating, and the live solve's sliders; plus their pure
helpers. Uses the fixture artifacts of test_app.py (conftest's artifacts_root, model, app)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_app import plain

from pages.ui.explain import PICK_KEY, WHAT_IF_KEY, bar_table, what_if_line
from pages.ui.live_solve import TOP, _num, reg_options, system_latex, with_params
from pages.ui.movement import angle_degrees, entered_left, movement_line


def rated_profile(model) -> dict[int, float]:
    ids = [int(m) for m in model.items["movieId"].iloc[[8, 9, 12, 30]]]
    return dict(zip(ids, [5.0, 4.5, 1.0, 4.0]))


def rate_all(at, profile):
    for movie_id, value in profile.items():
        at.session_state["ratings"] = {**at.session_state["ratings"], movie_id: value}
    return at.run()


def explain_figure(at) -> dict:
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if spec["data"] and spec["data"][0].get("type") == "bar":
            return spec
    raise AssertionError("no bar chart on the page")


# -- Why this pick? -----------------------------------------------------------------------------


def test_why_this_pick_draws_one_bar_per_rating_summing_to_the_score(app, model):
    profile = rated_profile(model)
    at = rate_all(app, profile)
    assert not at.exception, at.exception
    picks = model.recommend(profile, k=10).picks
    second = int(picks["movieId"].iat[1])
    at.selectbox(key=PICK_KEY).set_value(second).run()
    assert not at.exception, at.exception
    fig = explain_figure(at)
    ex = model.explain(profile, second)
    labels = fig["data"][0]["y"]
    assert len(labels) == len(profile) + sum(v != 0 for v in ex.extras.values())
    for title in ex.terms["title"]:
        assert any(str(label).startswith(title[:20]) for label in labels)
    from test_app import values

    assert sum(values(fig["data"][0]["x"])) == pytest.approx(float(picks["score"].iat[1]), rel=1e-5)


def test_what_if_shows_the_new_rank_and_keeps_the_profile(app, model):
    profile = rated_profile(model)
    at = rate_all(app, profile)
    first = int(model.recommend(profile, k=10).picks["movieId"].iat[0])
    gone = list(profile)[0]
    at.selectbox(key=WHAT_IF_KEY).set_value(gone).run()
    assert not at.exception, at.exception
    rest = {m: r for m, r in profile.items() if m != gone}
    order = list(model.recommend(rest, k=len(model.items)).picks["movieId"])
    new_rank = order.index(first) + 1
    line = next(plain(md.value) for md in at.markdown if md.value.startswith("Without your rating"))
    assert f"rank 1 → rank {new_rank}" in line
    assert at.session_state["ratings"] == profile  # nothing was removed


def test_bar_table_and_what_if_line_are_pure(model):
    profile = rated_profile(model)
    pick = int(model.recommend(profile, k=3).picks["movieId"].iat[0])
    ex = model.explain(profile, pick)
    table = bar_table(ex)
    assert table["value"].sum() == pytest.approx(ex.score, rel=1e-5)
    assert table["value"].abs().is_monotonic_decreasing
    low = [m for m, r in profile.items() if r < 4.0][0]
    assert table.loc[table["label"].str.contains("1★"), "kind"].eq("no term").all()
    assert "rank 1 →" in what_if_line(ex, low)


# -- Your vector moved --------------------------------------------------------------------------


def test_angle_and_entered_left_helpers():
    assert angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert angle_degrees(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == pytest.approx(0.0, abs=1e-6)
    assert angle_degrees(None, np.array([1.0])) is None
    assert angle_degrees(np.zeros(2), np.ones(2)) is None
    assert entered_left([1, 2, 3], [3, 4, 1, 5]) == ([4, 5], [2])
    line = movement_line(12.34, [4], [2], {4: "New *one*", 2: "Old"})
    assert "**12.3°**" in line and "New \\*one\\*" in line and "Left: *Old*" in line
    assert "Same top 10" in movement_line(3.0, [], [], {})


def test_a_rating_says_how_far_the_vector_turned_and_what_entered(app, model):
    profile = rated_profile(model)
    at = rate_all(app, dict(list(profile.items())[:2]))
    before_vec = model.fold_in(dict(list(profile.items())[:2]))
    before_top = list(model.recommend(dict(list(profile.items())[:2]), k=10).picks["movieId"])
    movie_id = int(model.items["movieId"].iat[100])  # another taste cluster
    at.session_state["ratings"] = {**at.session_state["ratings"], movie_id: 5.0}
    at.session_state["_ratings_changed"] = True
    at.run()
    assert not at.exception, at.exception
    now = {**dict(list(profile.items())[:2]), movie_id: 5.0}
    angle = angle_degrees(before_vec, model.fold_in(now))
    after_top = list(model.recommend(now, k=10).picks["movieId"])
    entered, left = entered_left(before_top, after_top)
    assert angle > 1 and entered  # the test's premise: this rating moves things
    line = next(plain(md.value) for md in at.markdown if md.value.startswith("Your vector"))
    assert f"{angle:.1f}°" in line
    assert "Entered your top 10" in line
    first_entered = model.items["title"].iat[model.code(entered[0])]
    assert first_entered in line


# -- Live solve ---------------------------------------------------------------------------------


def test_live_solve_sliders_change_the_picks_not_the_model(app, model):
    profile = rated_profile(model)
    at = rate_all(app, profile)
    reg_key, alpha_key = "live_reg::ials", "live_alpha::ials"
    assert at.select_slider(key=reg_key).value == pytest.approx(0.05)
    fold = model.fold_in_model
    prof = model.profile(profile)
    baseline = model.top_codes(prof.result.scores, TOP, prof.codes)
    big = reg_options(fold)[-1]  # far above the rest of A's diagonal
    live = with_params(fold, big, 0.02)
    changed = model.top_codes(live.fold_in(prof.codes, prof.ratings).scores, TOP, prof.codes)
    assert set(changed) != set(baseline)  # premise: these values change the list
    at.select_slider(key=reg_key).set_value(big)
    at.select_slider(key=alpha_key).set_value(0.02).run()
    assert not at.exception, at.exception
    md = [plain(m.value) for m in at.markdown]
    ours = next(m for m in md if m.startswith("**Top 10 with these values**"))
    titles = model.items["title"].to_numpy()
    for c in changed:
        assert titles[c] in ours
    # The system beside the lists, with this reg and alpha 0.02 substituted.
    lam = _num(big)  # e.g. "3 \\times 10^{3}"
    assert any("\\begin{bmatrix}" in m.value and f"{lam}\\, I" in m.value for m in at.markdown)
    assert any("= 0.02 \\sum" in m.value for m in at.markdown)
    assert fold.params["reg"] == 0.05 and fold.params["alpha"] == 2.0  # the model is unchanged


def test_system_latex_has_the_actual_numbers(model):
    profile = rated_profile(model)
    prof = model.profile(profile)
    live = with_params(model.fold_in_model, 0.7, 3.0)
    tex = system_latex(live, prof.codes, prof.ratings)
    a, b = live.system(prof.codes, prof.ratings)
    assert f"{a[0, 0]:.3g}" in tex and f"{b[0]:.3g}" in tex
    assert "0.7\\, I" in tex and "= 3 \\sum" in tex and "|P| = 3" in tex and "|N| = 1" in tex


def test_reg_options_reach_the_scale_of_a(model):
    fold = model.fold_in_model  # reg 0.05, w0 0.05: the rest of A's diagonal is far larger
    options = reg_options(fold)
    assert 0.05 in options and options == sorted(options)
    scale = 0.05 * np.trace(fold.gramian) / fold.item_factors.shape[1]
    assert options[0] <= 0.05 / 100 and options[-1] >= scale
