"""Model report for a class: every model against the baselines per protocol (from the
evaluation files in results/), how many ratings a visitor must give (with the popularity line),
how a newcomer's first ratings should be chosen, how faithful the maps are, the taste panel, and
each artifact's manifest."""

from __future__ import annotations

import os

import streamlit as st

from pages.ui import report
from pages.ui.artifacts import APP_DIR, default_name, load_named
from pages.ui.frame import page_context
from pages.ui.report_view import (
    chart_section,
    comparison_charts,
    evaluation_tables,
    manifest_expander,
    results_of,
    taste_results,
)
from pages.ui.teaching import explain_metrics, explain_report_views
from pages.ui.text import escape_markdown
from pages.ui.widgets import embedding_dim, how_this_works

ctx = page_context()
manifests = ctx.manifests
# Server paths never reach the page: the artifacts root reads "artifacts", the app's folder ".".
KNOWN_PATHS = {str(ctx.root): "artifacts", str(APP_DIR): "."}


def clean(text) -> str:
    """Escaped Markdown of ``text`` without server paths."""
    return escape_markdown(report.redact_paths(str(text), KNOWN_PATHS))


st.title("Model report")
st.write(
    f"{len(manifests)} trained model(s) in the app's artifacts folder, and the evaluation of every "
    "model type, baselines included, from the `results/` folder "
    "(`python -m recsys evaluate --json`)."
)
for problem in ctx.problems:
    st.error(clean(problem))

st.header("Every model against the baselines")
# The evaluation files beside app.py; RECSYS_RESULTS points elsewhere (tests, other checkouts).
results = results_of(os.environ.get("RECSYS_RESULTS", "").strip() or str(APP_DIR / "results"))
comparison_charts(results, clean)

st.header("How many movies must a visitor rate?")
cold = report.cold_start_frame(results.get("users"), manifests)
drawn = chart_section(
    cold,
    "No pick-quality-by-profile-size results: they come from the users protocol "
    "(`by_profile_size`), in `results/users.json` or a manifest trained with `--eval users`.",
    lambda frame: report.cold_start_figure(frame, report.cold_start_metric(frame)),
    "cold_start_chart",
    "Each held-out user of the users protocol folds in only n of their ratings (chosen at random, "
    "seeded); the rest of their positives are what the picks should find."
    + (
        " The dashed black line is the popularity baseline, which ignores the ratings: below it, "
        "a model's picks are worse than the most-rated movies."
        if "pop" in set(cold["model"])
        else " (No popularity baseline in results/users.json.)"
    ),
)
missing = report.missing_profile_size(manifests)
if drawn and missing:
    st.caption(clean(f"No by-profile-size results for: {', '.join(missing)}."))

st.header("Which movies should a newcomer rate first?")
elicit = report.elicitation_frame(manifests.get(ctx.name))
chart_section(
    elicit,
    f"The model {clean(ctx.name)} has no elicitation curves: they are measured on the users "
    "protocol at training (`--eval users`) by recent versions.",
    report.elicitation_figure,
    "elicitation_chart",
    f"Model {clean(ctx.name)}: NDCG@10 of the picks after each held-out user rated the first n "
    "movies they know, in the order each strategy shows them.",
    note=clean(report.best_elicitation(elicit) or ""),
)

st.header("How faithful is the map?")
chart_section(
    report.map_quality_frame(manifests.get(ctx.name)),
    f"The model {clean(ctx.name)} records no map quality: recent exports measure it "
    "(manifest `map_quality`).",
    report.map_quality_figure,
    "map_quality_chart",
    "Trustworthiness@10: how far a movie's 10 nearest neighbours on the map are also near in the "
    "full space (1 = never a false neighbour). Genre agreement@10: share of a movie's 10 nearest "
    "neighbours sharing a genre with it, on the map, in the full space (cosine), and for random "
    "pairs (the chance level). Measured on movies with at least 20 ratings.",
)

st.header("Does it look right? The taste panel")
panels, skipped = report.split_panels(taste_results(ctx))
chart_section(
    report.taste_frame(panels),
    "The taste panel asks about well-known ml-latest-small movies; none of these models holds "
    "them all.",
    report.taste_figure,
    "taste_chart",
    "Genre share: five loved movies of one kind (rated 5), the share of the top-10 picks of that "
    "kind. Franchise checks: the first films of a series bring the next into the top 5. List "
    "overlap: mean Jaccard of the archetypes' lists (lower is more diverse). Low-support share: "
    "listed movies rated by fewer than 10 people.",
)
if skipped:
    st.caption(clean(f"No taste panel for: {', '.join(skipped)} (panel movies missing)."))

st.header("The trained models")
dimensions = {n: embedding_dim(load_named(ctx, n)) for n in manifests}
st.dataframe(
    report.models_frame(manifests, dimensions, default_name(str(ctx.root))), hide_index=True
)
st.subheader("Their own evaluation")
evaluation_tables(manifests)

st.header("Manifests")
for name, m in manifests.items():
    manifest_expander(name, m, expanded=len(manifests) == 1, known=KNOWN_PATHS)

how_this_works(explain_report_views() + "\n\n" + explain_metrics())
