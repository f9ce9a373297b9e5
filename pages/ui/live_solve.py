"""'Live solve': re-solve the visitor's vector with other fold-in values (regularisation and,
for confidence models, the confidence weight alpha) and compare the top 10 with the model's.

The artifact is never changed: :func:`with_params` builds a new ``FoldIn`` with replaced
scalars. Pure helpers (:func:`with_params`, :func:`system_latex`) are tested
without Streamlit; :func:`live_solve` draws the sliders, the two lists and the system.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from recsys.foldin import PARAM_DEFAULTS, FoldIn

from .artifacts import Ctx
from .movement import angle_degrees
from .text import escape_markdown
from .visitor import ratings

__all__ = [
    "FACTORS",
    "KNOB_METHODS",
    "reg_options",
    "with_params",
    "system_latex",
    "live_solve",
]

KNOB_METHODS = ("confidence", "ridge")  # fold-ins with a linear system to re-solve
# Alpha's slider steps, as multiples of the model's own value.
FACTORS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
TOP = 10


def reg_options(fold: FoldIn) -> list[float]:
    """Steps of the reg slider: 1-3 steps per decade from a hundredth of the smaller of the
    model's reg and the scale of the rest of ``A`` up to ten times the larger, plus the model's
    value. The scale is the mean diagonal of ``w0 Q^T Q`` (confidence; ``alpha`` times one
    movie's ``q q^T`` when ``w0`` is 0) or of ten rated movies' ``f f^T`` (ridge): reg starts
    to change the picks only near it (the committed iALS has reg 0.003 against a diagonal near
    1000, so a slider of multiples of 0.003 would change nothing)."""
    reg0 = float(fold.params.get("reg", PARAM_DEFAULTS["reg"]))
    d = fold.item_factors.shape[1]
    per_item = float(np.trace(fold.gramian)) / (d * fold.n_items)  # mean q_k^2 of one movie
    if fold.method == "confidence":
        w0 = float(fold.params.get("unobserved_weight", PARAM_DEFAULTS["unobserved_weight"]))
        alpha = float(fold.params.get("alpha", PARAM_DEFAULTS["alpha"]))
        scale = w0 * fold.n_items * per_item if w0 > 0 else alpha * per_item
    else:
        scale = 10 * (per_item + 1.0 / (d + 1))
    scale = max(scale, 1e-12)
    lo = int(np.floor(np.log10(max(min(reg0, scale), 1e-12)))) - 2
    hi = int(np.ceil(np.log10(max(reg0, scale)))) + 1
    steps = {float(f"{m * 10.0**k:.3g}") for k in range(lo, hi + 1) for m in (1, 3)}
    return sorted(steps | {reg0})


def with_params(fold: FoldIn, reg: float, alpha: float | None = None) -> FoldIn:
    """A copy of ``fold`` with ``reg`` (and, when given, ``alpha``) replaced; ``fold`` is not
    changed. A confidence model without its own ``negative_weight`` uses alpha for low ratings
    too, so alpha moves both (as it would in the model)."""
    params = {**fold.params, "reg": float(reg)}
    if alpha is not None:
        params["alpha"] = float(alpha)
    # replace() builds a new FoldIn: the arrays are shared (read-only use), the cached Gramian is
    # computed again for the copy (one (d, n) x (n, d) product).
    return dataclasses.replace(fold, params=params)


def _num(x: float) -> str:
    """``x`` to three significant digits in LaTeX: ``1.09 \\times 10^{3}``, never ``1.09e+03``."""
    text = f"{x:.3g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def _bmatrix(rows: list[list[str]]) -> str:
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{bmatrix}"


def system_latex(fold: FoldIn, codes: np.ndarray, ratings: np.ndarray, show: int = 3) -> str:
    """The system ``A z = b`` :meth:`FoldIn.fold_in` solves for this profile, as LaTeX (display
    math, Markdown-ready) with the actual values: the parameters substituted into the formula,
    then the top-left ``show`` x ``show`` corner of ``A``, and the first ``show`` entries of
    ``z`` (the solution) and ``b``."""
    a, b = fold.system(codes, ratings)
    z = np.linalg.solve(a, b)
    p = {k: float(fold.params.get(k, v)) for k, v in PARAM_DEFAULTS.items()}
    n = min(show, len(b))
    more = len(b) > n
    rows = [[_num(a[i, j]) for j in range(n)] + ([r"\cdots"] if more else []) for i in range(n)]
    if more:
        rows.append([r"\vdots"] * n + [r"\ddots"])
    col = lambda v: _bmatrix([[_num(v[i])] for i in range(n)] + ([[r"\vdots"]] if more else []))  # noqa: E731
    if fold.method == "confidence":
        positive = np.asarray(ratings) >= p["threshold"]
        lam = p["reg"] * (len(codes) + p["unobserved_weight"] * fold.n_items) ** p["reg_exponent"]
        neg = float(fold.params.get("negative_weight", p["alpha"]))
        formula = (
            rf"\Big({_num(p['unobserved_weight'])}\, Q^\top Q"
            rf" + \sum_{{j \in P}} ({_num(p['alpha'])} - {_num(p['unobserved_weight'])})\, q_j q_j^\top"
            rf" + \sum_{{j \in N}} ({_num(neg)} - {_num(p['unobserved_weight'])})\, q_j q_j^\top"
            rf" + {_num(lam)}\, I\Big)\, x = {_num(p['alpha'])} \sum_{{j \in P}} q_j"
        )
        sizes = rf"|P| = {int(positive.sum())},\ |N| = {int((~positive).sum())},\ d = {len(b)}"
        unknown = "x"
    else:
        formula = (
            r"\Big(\sum_j f_j f_j^\top + "
            rf"{_num(p['reg'])}\, I\Big) \begin{{bmatrix}} x \\ b_u \end{{bmatrix}}"
            rf" = \sum_j f_j\, (r_j - {_num(p['global_mean'])} - b_j),\quad f_j = [q_j, 1]"
        )
        sizes = rf"n = {len(codes)},\ d + 1 = {len(b)}"
        unknown = "z"
    return (
        f"$$ {formula} $$\n\n$$ {sizes} $$\n\n"
        f"$$ \\underbrace{{{_bmatrix(rows)}}}_{{A}} \\underbrace{{{col(z)}}}_{{{unknown}}}"
        f" = \\underbrace{{{col(b)}}}_{{b}} $$"
    )


def _options(value: float) -> list[float]:
    return sorted({float(f"{value * f:.3g}") for f in FACTORS} | {float(value)})


def live_solve(ctx: Ctx) -> None:
    """Sliders for the fold-in's reg (and alpha) that re-solve the visitor's vector on the spot:
    the top 10 with these values beside the model's own, and the system being solved."""
    model = ctx.model
    fold = model.fold_in_model
    st.markdown("**Live solve: change the fold-in's values**")
    if fold.method not in KNOB_METHODS:
        st.caption(f"The {escape_markdown(fold.method)} fold-in solves no linear system to vary.")
        return
    prof = model.profile(ratings())
    if prof.result.fallback or len(prof.codes) == 0:
        st.caption(
            "Rate a movie you liked first: with no signal there is no system to solve "
            "(the picks are the most popular movies)."
        )
        return
    reg0 = float(fold.params.get("reg", PARAM_DEFAULTS["reg"]))
    cols = st.columns(2)
    reg = cols[0].select_slider(
        "Regularisation reg",
        reg_options(fold),
        value=reg0,
        key=f"live_reg::{ctx.name}",
        format_func=lambda v: f"{v:g}",
        help="From far below to far above the rest of A's diagonal: only near it does reg "
        "change the picks.",
    )
    alpha = None
    if fold.method == "confidence":
        alpha0 = float(fold.params.get("alpha", PARAM_DEFAULTS["alpha"]))
        alpha = cols[1].select_slider(
            "Confidence weight α",
            _options(alpha0),
            value=alpha0,
            key=f"live_alpha::{ctx.name}",
            format_func=lambda v: f"{v:g}",
        )
    live = with_params(fold, reg, alpha)
    result = live.fold_in(prof.codes, prof.ratings)
    # Unrated movies with the model's minimum support, ranked as recommend ranks them.
    ours = model.top_codes(result.scores, TOP, prof.codes)
    theirs = model.top_codes(prof.result.scores, TOP, prof.codes)
    titles = model.items["title"].to_numpy()
    angle = angle_degrees(prof.result.user_vector, result.user_vector)
    same = len(set(ours) & set(theirs))
    st.markdown(
        f"With these values your vector turns **{angle or 0:.1f}°** from the model's and "
        f"**{same} of {len(theirs)}** picks stay (your filters and the popularity knob are not "
        "applied here; ★ marks a pick the model's values do not give)."
    )
    left, right = st.columns([1, 1.3])
    with left:
        lines = [
            f"{i}. {'★ ' if c not in set(theirs) else ''}{escape_markdown(str(titles[c]))}"
            for i, c in enumerate(ours, start=1)
        ]
        st.markdown("**Top 10 with these values**  \n" + "  \n".join(lines))
        st.markdown(
            "**The model's top 10**  \n"
            + "  \n".join(
                f"{i}. {escape_markdown(str(titles[c]))}" for i, c in enumerate(theirs, 1)
            )
        )
    with right:
        st.markdown(system_latex(live, prof.codes, prof.ratings))
