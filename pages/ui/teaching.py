"""The "How this works" texts: what the code does, with the artifact's actual values (Markdown
with LaTeX)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recsys.artifacts import POPULARITY_POOL as POOL
from recsys.artifacts import POPULARITY_WEIGHT as KNOB_WEIGHT
from recsys.foldin import PARAM_DEFAULTS

from .profile import group_rating
from .text import escape_markdown

__all__ = [
    "explain_popularity_knob",
    "explain_fold_in",
    "explain_teaching_views",
    "explain_similarity",
    "explain_map",
    "explain_metrics",
    "explain_report_views",
    "explain_dot_vs_cosine",
    "MAP_VIEWS",
]

# What each 2-D map keeps of the full space (one line each, shown beside the switch).
MAP_VIEWS = {
    "umap": "UMAP keeps local neighbourhoods (who sits next to whom); sizes of and gaps between "
    "clusters mean little.",
    "pca": "PCA keeps the two directions of largest variance: the global layout, linear and "
    "faithful to large distances, but neighbours overlap.",
}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _low_rating_sentence(params: Mapping) -> str:
    """What a rating below the threshold does in the confidence fold-in, from its actual weight
    ``negative_weight`` (``alpha`` when absent) compared with the unobserved weight ``w0``."""
    try:
        alpha = float(params.get("alpha", PARAM_DEFAULTS["alpha"]))
        weight = float(params.get("negative_weight", alpha))
        w0 = float(params.get("unobserved_weight", PARAM_DEFAULTS["unobserved_weight"]))
    except (TypeError, ValueError):  # a malformed manifest: say what the method means
        return "a lower rating gets the weight `negative_weight` of the manifest (target 0)"
    if weight == 0:
        return (
            "a lower rating has weight $c_-$ = **0**: it is left out of the fit altogether (it "
            "counts less than a movie you did not rate) and only removes that movie from your "
            "picks"
        )
    if weight < w0:
        return (
            f"a lower rating has weight $c_-$ = **{_fmt(weight)}** (target 0), less than a movie "
            "you did not rate"
        )
    return f"a lower rating is a confident *negative* (target 0, weight $c_-$ = **{_fmt(weight)}**)"


def explain_popularity_knob() -> str:
    """The popularity knob's formula (:func:`recsys.artifacts.popularity_rerank`), as Markdown."""
    return (
        f"**The popularity knob** re-ranks the model's best {POOL} candidates that pass the "
        "filters:\n\n"
        f"$$\\text{{rank}}_i = z(\\text{{score}}_i) + {KNOB_WEIGHT:g}\\, p \\cdot "
        "z(\\log(1 + n_i))$$\n\n"
        f"where $z$ standardises over those {POOL} (subtract the mean, divide by the standard "
        "deviation), $n_i$ is the movie's number of ratings in the dataset and $p \\in [-1, 1]$ is "
        "the knob: $p > 0$ favours mainstream movies, $p < 0$ niche ones, $p = 0$ ranks by score "
        "alone. Standardised over the whole catalogue instead, the top scores would be outliers "
        "that the knob could barely move. Filters (genres, years, minimum number of ratings) "
        "remove candidates first."
    )


def explain_fold_in(manifest: Mapping, rating_scale: Sequence[float] | None = None) -> str:
    """How a visitor's ratings become picks for this artifact, with its actual fold-in values."""
    fold = manifest.get("fold_in") or {}
    method = fold.get("method", "?")
    p = dict(fold.get("params") or {})
    v = {k: _fmt(p.get(k, d)) for k, d in PARAM_DEFAULTS.items()}
    model = (manifest.get("model") or {}).get("name", "?")
    n_items = manifest.get("n_items", "n")
    scale = rating_scale or (manifest.get("dataset") or {}).get("rating_scale") or (0.5, 5, 0.5)
    low, high, step = (float(x) for x in scale)
    parts = [
        f"**Model {escape_markdown(model)}, fold-in method {escape_markdown(method)}.** "
        "The model was trained once, offline; its item vectors $q_i$ are fixed. Your ratings are "
        "*folded in*: the app solves for one user vector $x$ that fits them, exactly like a "
        "training step for a single user, in a few milliseconds and with numpy only."
    ]
    if method == "confidence":
        parts.append(
            "This is the **iALS user step** (Hu, Koren & Volinsky 2008). A rating of at least "
            f"**{v['threshold']}** is a *positive* (target 1, weight $\\alpha$ = "
            f"**{v['alpha']}**); {_low_rating_sentence(p)}; every movie you did not rate is a "
            f"weak negative with weight $w_0$ = **{v['unobserved_weight']}**. With $c_j$ the weight "
            "of rated movie $j$, minimising the weighted squared error plus "
            "$\\lambda\\lVert x\\rVert^2$ gives a linear system:\n\n"
            "$$\\Big(w_0\\, Q^\\top Q + \\sum_{j \\in \\text{rated}} (c_j - w_0)\\, q_j q_j^\\top "
            "+ \\lambda I\\Big)\\, x = \\alpha \\sum_{j \\in \\text{positives}} q_j$$\n\n"
            "$$\\lambda = \\text{reg}\\cdot(n_\\text{rated} + w_0\\, n_\\text{items})^{e}"
            f",\\quad \\text{{reg}} = {v['reg']},\\ e = {v['reg_exponent']},\\ "
            f"n_\\text{{items}} = {n_items}$$\n\n"
            "The score of movie $i$ is $x \\cdot q_i + b_i$ ($b_i$ is an item bias, zero for "
            "iALS; BPR models keep theirs). The Gramian $Q^\\top Q$ is computed once, so a "
            "fold-in costs one $d \\times d$ solve. With no rating at or above "
            f"{v['threshold']} yet, there is nothing to fit and the picks are the most popular movies."
        )
        parts.append(
            '**"Because you liked ..."**: since $x = A^{-1} \\alpha \\sum_j q_j$ is linear in your '
            "positives, a pick's score splits exactly into one term per rated movie, "
            "$\\alpha\\, q_t^\\top A^{-1} q_j$; the movie with the largest term is named."
        )
    elif method == "ridge":
        parts.append(
            "This is **ridge regression** on the item factors (biased matrix factorisation): "
            "find $x$ and your bias $b_u$ minimising\n\n"
            "$$\\sum_{j \\in \\text{rated}} (r_j - \\mu - b_j - b_u - x \\cdot q_j)^2 + "
            "\\text{reg}\\,(\\lVert x\\rVert^2 + b_u^2)$$\n\n"
            f"in closed form, with $\\mu$ = {v['global_mean']} (global mean) and reg = {v['reg']}. "
            'Scores are predicted ratings $\\mu + b_i + b_u + x \\cdot q_i$. "Because you liked" '
            "names the rated movie whose term $q_t^\\top A^{-1} q_j (r_j - \\mu - b_j)$ adds most."
        )
    elif method == "item_similarity":
        parts.append(
            "This model has no user vectors: a movie's score is the sum of its learned "
            f"item-item weights $W_{{ji}}$ over the movies $j$ you rated at least {v['threshold']}; "
            '"because you liked" names the largest $W_{ji}$.'
        )
    elif method == "popularity":
        parts.append("This model ignores your ratings: everyone gets the most popular movies.")
    elif method == "neumf":
        parts.append(
            "NeuMF: a few gradient steps on your GMF and MLP embeddings with the network frozen. "
            'Scores are not additive over rated movies: "Why this pick?" shows an '
            "approximation, how much the score drops when one rating is left out (the bars need "
            'not sum to the score), and no "because you liked" is named.'
        )
    parts.append(explain_teaching_views(method))
    parts.append(
        f"**Your ratings** are stored as given: each movie's row of buttons offers exactly the "
        f"dataset's scale, {low:g} to {high:g} in steps of {step:g}; a click rates, and clicking "
        "the chosen value again clears the rating (no button chosen means not rated). A "
        f"one-click group rates its movies {group_rating(scale):g} (the top of the scale minus "
        "one step)."
    )
    parts.append(explain_popularity_knob())
    return "\n\n".join(parts)


def explain_teaching_views(method: str) -> str:
    """What "Why this pick?", the vector-turn line and the live solve compute (Markdown)."""
    linear = method in ("confidence", "ridge", "item_similarity")
    why = (
        "**Why this pick?** splits the pick's score exactly into one bar per movie you rated plus "
        "the terms that belong to no rating (item bias; for ridge also the global mean and your "
        "bias): the bars sum to the score. A low rating moves $x$ through $A$ rather than as a "
        "term of $b$, so its effect shows in *what if I remove this rating*, which re-solves "
        "your vector without it and gives the pick's new rank (your ratings are not changed)."
        if linear
        else "**Why this pick?** shows how the pick's score and rank change when one rating is "
        "left out and your vector re-solved (your ratings are not changed)."
    )
    return (
        f"{why}\n\n"
        "**Your vector turned**: after each rating the page gives the angle "
        "$\\arccos\\frac{x_\\text{before} \\cdot x_\\text{after}}{\\lVert x_\\text{before}\\rVert "
        "\\lVert x_\\text{after}\\rVert}$ between your vector before and after the change, and "
        "which movies entered and left your top 10.\n\n"
        "**Live solve** (below): the sliders replace the fold-in's reg (and $\\alpha$) in a copy "
        "of the fold-in, solve the system written beside the lists with those numbers, and "
        "compare the top 10 with the model's; the model itself is not changed."
    )


def explain_similarity(manifest: Mapping, dim: int | None = None) -> str:
    """How "similar movies" are found: cosine similarity in the full embedding space.

    ``dim`` is the size of the item vectors (``item_embeddings.shape[1]``), said when given;
    it is not guessed from the hyper-parameters, whose names differ between models.
    """
    model = (manifest.get("model") or {}).get("name", "?")
    dim = f" ({int(dim)}-dimensional)" if dim else ""
    return (
        f"Each movie is a vector $q_i${dim} learned by **{escape_markdown(model)}**. Two movies are "
        "similar when their vectors point the same way:\n\n"
        "$$\\text{sim}(i, j) = \\cos(q_i, q_j) = \\frac{q_i \\cdot q_j}{\\lVert q_i\\rVert\\, "
        "\\lVert q_j\\rVert} \\in [-1, 1]$$\n\n"
        "The app L2-normalises every vector once and asks an exact inner-product index (FAISS "
        "`IndexFlatIP`) for the largest values, so this is an exact search over the full "
        "catalogue, not an approximation, and it uses all dimensions, not the 2-D map. The "
        "vector length (which often tracks popularity) is ignored by the cosine."
    )


def explain_map(manifest: Mapping) -> str:
    """How the 2-D map was made, what "You are here" means, and the caveat about distances."""
    proj = dict(manifest.get("projection") or {})
    method = str(proj.get("method", "?"))
    if method == "umap":
        how = (
            f"**UMAP** (metric {proj.get('metric', 'cosine')}, n_neighbors = "
            f"{proj.get('n_neighbors', '?')}, min_dist = {proj.get('min_dist', '?')}, seed "
            f"{proj.get('seed', '?')}), computed once when the model was exported"
        )
    elif method == "pca":
        how = "**PCA** (the first two principal components of the L2-normalised item vectors)"
    else:
        how = f"**{escape_markdown(method)}**"
    return (
        f"Every dot is a movie; its position is a 2-D projection of its embedding by {how}. The "
        "app never runs the projection itself.\n\n"
        "**Caveat: map distances are not faithful to embedding distances.** UMAP keeps local "
        "neighbourhoods roughly but stretches, tears and folds the space; the size of a cluster or "
        "the gap between two clusters means little. That is why neighbours (click a point) are "
        "computed by cosine similarity in the full embedding space, and can sit far apart on "
        "the map.\n\n"
        "**Click a movie** and every dot is recoloured by its cosine similarity to that movie "
        "in the full embedding space: if the map were faithful, the colour would fade smoothly "
        "with distance from it. The page also counts how many of its 10 nearest neighbours in "
        "the full space are among its 10 nearest dots on this map (movies with enough ratings "
        "to be listed as neighbours).\n\n"
        "**UMAP or PCA**: " + MAP_VIEWS["umap"] + " " + MAP_VIEWS["pca"] + "\n\n"
        "**You are here**: the map medoid of your 10 best-scored movies (your top picks before "
        "filters, rated movies left out): of those 10 dots, the one whose summed distance to "
        "the other 9 on the map is smallest. It always sits on one of your picks, amid the "
        "others, never in empty space between picks far apart; it is a summary for "
        "orientation, not a projection of your vector $x$.\n\n"
        "**Region labels**: the map is cut into 12 regions (k-means on the map positions, "
        "seeded); each is labelled by its at most two most over-represented genres (share in "
        "the region at least 1.5 times the catalogue's, and held by 15 % of its movies), written "
        "on the region's medoid.\n\n"
        "**Your trail**: the same position after your first 1, 2, 3, ... ratings, in the order "
        "you gave them (each a fresh fold-in of that many ratings), numbered by step: how your "
        "taste moved across the map as you rated."
    )


def explain_metrics() -> str:
    """What the evaluation numbers mean (Markdown)."""
    return (
        "Every number ranks the **full catalogue** for each test user (no sampled negatives), "
        "removing the movies the model already knew they rated. Relevant = a held-out rating at "
        "or above the threshold. With $h_r = 1$ when the movie at rank $r$ is relevant:\n\n"
        "- **recall@k** = relevant movies in the top $k$ / all relevant movies of the user\n"
        "- **ndcg@k** = $\\sum_{r<k} h_r / \\log_2(r+2)$ divided by its best possible value\n"
        "- **precision@k**, **hr@k** (any hit), **mrr@k** (1 / rank of the first hit), "
        "**coverage@k** (share of the catalogue recommended to anyone), **novelty@k** "
        "(mean self-information of the recommended movies)\n\n"
        "The **users** protocol holds out whole users and folds their ratings in with the code "
        'the app runs for you, so it measures what a visitor gets. "By number of ratings" folds '
        "in only 1, 2, 5, 10 or 20 of each held-out user's ratings (seeded), answering: how many "
        "movies must I rate before the picks get good?"
    )


def explain_report_views() -> str:
    """What the Model report's figures are computed from (Markdown)."""
    return (
        "**Every model against the baselines** reads the evaluation files in `results/` "
        "(`python -m recsys evaluate --json`): the same split and metrics for every model, "
        "baselines included. **How many movies** plots NDCG@10 by the number of ratings "
        "folded in, with the popularity baseline dashed. **Which movies first** compares "
        "ways of choosing what a newcomer rates (random, most popular, log-popularity × "
        "rating entropy, the quick-start groups), measured at export on the users protocol. "
        "**How faithful is the map** compares the 2-D maps with the full space "
        "(trustworthiness; genre agreement of 10 nearest neighbours against random pairs). "
        "**The taste panel** asks each loaded model fixed questions through the app's own "
        "calls (`recsys.taste`), computed once per model version."
    )


def explain_dot_vs_cosine() -> str:
    """Dot product against cosine for "similar movies" (Markdown)."""
    return (
        "**Dot product or cosine.** The dot product $q_i \\cdot q_j = \\lVert q_i\\rVert\\, "
        "\\lVert q_j\\rVert \\cos(q_i, q_j)$ also multiplies by the vectors' lengths. Models "
        "trained on implicit feedback give frequently rated movies longer vectors (the scatter "
        "of length against number of ratings shows it), so by dot product the most popular "
        "movies are near everything; cosine removes the lengths and keeps only the direction. "
        "The dot list is an exact numpy search over the raw item vectors."
    )
