"""Model report for a class: every model against the baselines per protocol (from the
evaluation files in results/), how many ratings a visitor must give (with the popularity line),
how a newcomer's first ratings should be chosen, how faithful the maps are, the taste panel, and
each artifact's manifest."""

from __future__ import annotations

import json
import os

import pandas as pd
import streamlit as st

import recsys
from pages.ui import report
from pages.ui.artifacts import APP_DIR, default_name, files_stamp, load_model, load_named
from pages.ui.frame import page_context
from pages.ui.tables import metrics_table, protocol_label
from pages.ui.teaching import explain_metrics, explain_report_views
from pages.ui.text import escape_markdown
from pages.ui.widgets import embedding_dim, how_this_works

ctx = page_context()
manifests = ctx.manifests
default = default_name(str(ctx.root))
# Server paths never reach the page: the artifacts root reads "artifacts", the app's folder ".".
KNOWN_PATHS = {str(ctx.root): "artifacts", str(APP_DIR): "."}


def clean(text) -> str:
    """Escaped Markdown of ``text`` without server paths."""
    return escape_markdown(report.redact_paths(str(text), KNOWN_PATHS))


@st.cache_data(show_spinner="Reading the evaluation results…", ttl=60)
def results_of(folder: str) -> dict:
    """The evaluation files in ``folder`` (re-read at most every minute)."""
    return report.read_results(folder)


@st.cache_data(show_spinner="Asking the taste panel…", max_entries=32)
def taste_of(path: str, stamp: str) -> dict:
    """recsys.taste.taste_panel of one artifact (cached per artifact path and files' stamp);
    ``{"error": message}`` when the artifact does not hold the panel's movies."""
    from recsys.taste import taste_panel

    try:
        return taste_panel(load_model(path, stamp))
    except recsys.RecsysError as exc:
        return {"error": str(exc)}


st.title("Model report")
st.write(
    f"{len(manifests)} trained model(s) in the app's artifacts folder, and the evaluation of every "
    "model type, baselines included, from the `results/` folder "
    "(`python -m recsys evaluate --json`)."
)
for problem in ctx.problems:
    st.error(clean(problem))

# -- every model against the baselines ------------------------------------------------------
st.header("Every model against the baselines")
# The evaluation files beside app.py; RECSYS_RESULTS points elsewhere (tests, other checkouts).
results = results_of(os.environ.get("RECSYS_RESULTS", "").strip() or str(APP_DIR / "results"))
comparison = report.comparison_frame(results)
if comparison.empty:
    st.info(
        "No evaluation files in `results/`. `python -m recsys evaluate --protocol users --json "
        "results/users.json` writes one (see the README)."
    )
else:
    st.caption(
        "On the grey band, the baselines without learned embeddings: **pop** (most-rated movies for "
        "everyone), **itemknn** (item-item cosine over co-ratings), **ease** (a closed-form linear "
        "item-item model). An embedding model is only worth its complexity above them."
    )
    for protocol in dict.fromkeys(comparison["protocol"]):
        data = results[protocol]
        st.plotly_chart(report.comparison_figure(comparison, protocol), key=f"compare_{protocol}")
        st.caption(clean(protocol_label(protocol, data)))

# -- cold start -------------------------------------------------------------------------------
st.header("How many movies must a visitor rate?")
cold = report.cold_start_frame(results.get("users"), manifests)
if cold.empty:
    st.info(
        "No pick-quality-by-profile-size results: they come from the users protocol "
        "(`by_profile_size`), in `results/users.json` or a manifest trained with `--eval users`."
    )
else:
    metric = "ndcg@10" if "ndcg@10" in set(cold["metric"]) else str(cold["metric"].iloc[0])
    st.plotly_chart(report.cold_start_figure(cold, metric), key="cold_start_chart")
    has_pop = "pop" in set(cold["model"])
    st.caption(
        "Each held-out user of the users protocol folds in only n of their ratings (chosen at "
        "random, seeded); the rest of their positives are what the picks should find."
        + (
            " The dashed black line is the popularity baseline, which ignores the ratings: "
            "below it, a model's picks are worse than the most-rated movies."
            if has_pop
            else " (No popularity baseline in results/users.json.)"
        )
    )
    missing = [
        n
        for n, m in manifests.items()
        if not ((m.get("metrics") or {}).get("users") or {})
        .get("metrics", {})
        .get("by_profile_size")
    ]
    if missing:
        st.caption(clean(f"No by-profile-size results for: {', '.join(missing)}."))

# -- elicitation ------------------------------------------------------------------------------
st.header("Which movies should a newcomer rate first?")
elicit = report.elicitation_frame(manifests.get(ctx.name))
if elicit.empty:
    st.info(
        f"The model {clean(ctx.name)} has no elicitation curves: they are measured on the users "
        "protocol at training (`--eval users`) by recent versions."
    )
else:
    st.plotly_chart(report.elicitation_figure(elicit), key="elicitation_chart")
    st.markdown(clean(report.best_elicitation(elicit)))
    st.caption(
        f"Model {clean(ctx.name)}: NDCG@10 of the picks after each held-out user rated the first "
        "n movies they know, in the order each strategy shows them."
    )

# -- map quality ------------------------------------------------------------------------------
st.header("How faithful is the map?")
quality = report.map_quality_frame(manifests.get(ctx.name))
if quality.empty:
    st.info(
        f"The model {clean(ctx.name)} records no map quality: recent exports measure it "
        "(manifest `map_quality`)."
    )
else:
    st.plotly_chart(report.map_quality_figure(quality), key="map_quality_chart")
    st.caption(
        "Trustworthiness@10: how far a movie's 10 nearest neighbours on the map are also near in "
        "the full space (1 = never a false neighbour). Genre agreement@10: share of a movie's 10 "
        "nearest neighbours sharing a genre with it, on the map, in the full space (cosine), and "
        "for random pairs (the chance level). Measured on movies with at least 20 ratings."
    )

# -- taste panel ------------------------------------------------------------------------------
st.header("Does it look right? The taste panel")
panels, skipped = {}, []
for name, entry in manifests.items():
    model = ctx.model if name == ctx.name else load_named(ctx, name)
    if model is None:
        continue
    result = taste_of(entry["path"], ctx.stamp if name == ctx.name else files_stamp(entry["path"]))
    if "error" in result:
        skipped.append(name)
    else:
        panels[name] = result
taste = report.taste_frame(panels)
if taste.empty:
    st.info(
        "The taste panel asks about well-known ml-latest-small movies; none of these models holds "
        "them all."
    )
else:
    st.plotly_chart(report.taste_figure(taste), key="taste_chart")
    st.caption(
        "Genre share: five loved movies of one kind (rated 5), the share of the top-10 picks of "
        "that kind. Franchise checks: the first films of a series bring the next into the top 5. "
        "List overlap: mean Jaccard of the archetypes' lists (lower is more diverse). "
        "Low-support share: listed movies rated by fewer than 10 people."
    )
if skipped:
    st.caption(clean(f"No taste panel for: {', '.join(skipped)} (panel movies missing)."))

# -- the artifacts ------------------------------------------------------------------------------
st.header("The trained models")
rows = []
for name, m in manifests.items():
    model = m.get("model") or {}
    training = m.get("training") or {}
    rows.append(
        {
            "artifact": name,
            "model": model.get("name"),
            "dimensions": embedding_dim(load_named(ctx, name)),
            "fold-in": (m.get("fold_in") or {}).get("method"),
            "items": m.get("n_items"),
            "train seconds": training.get("seconds"),
            "default": name == default,
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.subheader("Their own evaluation")
protocols: list[str] = []
for m in manifests.values():
    for p in (m.get("metrics") or {}).keys():
        if p not in protocols:
            protocols.append(p)
protocols.sort(key=lambda p: (p != "users", p))
if not protocols:
    st.info(
        "No evaluation results in these manifests. `python -m recsys train` records them "
        "(its `--eval` option, default users,random)."
    )
for protocol in protocols:
    example = next(
        (
            m["metrics"][protocol]
            for m in manifests.values()
            if protocol in (m.get("metrics") or {})
        ),
        None,
    )
    st.markdown(f"**Protocol: {escape_markdown(protocol)}**")
    st.caption(escape_markdown(protocol_label(protocol, example)))
    table = metrics_table(manifests, protocol)
    formats = {c: st.column_config.NumberColumn(format="%.4f") for c in table.columns}
    formats["train_seconds"] = st.column_config.NumberColumn("train seconds", format="%.1f")
    st.dataframe(table, column_config=formats)

# -- one section per artifact -------------------------------------------------------------------
st.header("Manifests")
for name, m in manifests.items():
    model = m.get("model") or {}
    label = escape_markdown(f"{name} · {model.get('name', '?')}")
    with st.expander(label, expanded=len(manifests) == 1):
        dataset = m.get("dataset") or {}
        training = m.get("training") or {}
        cols = st.columns(3)
        cols[0].markdown(
            "**Dataset**  \n"
            + escape_markdown(
                f"{dataset.get('name', '?')} ({dataset.get('format', '?')}): "
                f"{dataset.get('n_users', '?')} users, {dataset.get('n_items', '?')} movies, "
                f"{dataset.get('n_ratings', '?')} ratings; scale {dataset.get('rating_scale')}"
            )
        )
        cols[1].markdown(
            "**Trained**  \n"
            + escape_markdown(
                f"{m.get('created', '?')}; {training.get('seconds', '?')} s on "
                f"{training.get('device', '?')}, seed {training.get('seed', '?')}, "
                f"{training.get('epochs_run', '?')} epochs; threshold {m.get('threshold', '?')}"
            )
        )
        cols[2].markdown(
            "**Map**  \n"
            + escape_markdown(
                ", ".join(f"{k}={v}" for k, v in (m.get("projection") or {}).items()) or "?"
            )
        )
        st.markdown("**Hyper-parameters**")
        params = dict(model.get("params") or {})
        st.dataframe(
            pd.DataFrame(
                {"parameter": list(params), "value": [json.dumps(v) for v in params.values()]}
            ),
            hide_index=True,
        )
        fold = m.get("fold_in") or {}
        st.markdown(
            "**Fold-in**  \n"
            + escape_markdown(
                f"{fold.get('method', '?')}: "
                + ", ".join(f"{k}={v}" for k, v in (fold.get("params") or {}).items())
            )
        )
        if training.get("command"):
            st.markdown("**Training command**")
            st.code(report.redact_paths(str(training["command"]), KNOWN_PATHS), language="bash")
        history = training.get("history")
        if history:
            st.markdown("**Training history**")
            st.dataframe(pd.DataFrame(history), hide_index=True)
        versions = m.get("versions") or {}
        if versions:
            st.caption(escape_markdown(", ".join(f"{k} {v}" for k, v in versions.items())))
        st.markdown("**Raw manifest**")
        raw = json.dumps({k: v for k, v in m.items() if k != "path"}, default=str)
        st.json(report.redact_paths(raw, KNOWN_PATHS), expanded=False)

how_this_works(explain_report_views() + "\n\n" + explain_metrics())
