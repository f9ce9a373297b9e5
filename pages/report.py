"""Model report: every artifact's manifest (data, hyper-parameters, training), its evaluation
tables with the protocol named, and pick quality against the number of ratings a visitor gives."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from pages.ui.artifacts import default_name, load_named
from pages.ui.frame import page_context
from pages.ui.tables import metrics_table, profile_size_frame, protocol_label
from pages.ui.teaching import explain_metrics
from pages.ui.text import escape_markdown
from pages.ui.widgets import embedding_dim, how_this_works

ctx = page_context()
manifests = ctx.manifests
default = default_name(str(ctx.root))

st.title("Model report")
st.write(
    f"{len(manifests)} trained model(s) in `{str(ctx.root).replace('`', '')}`. Manifests are shown as "
    "written at export; the files they list are verified (sha256) whenever a model is loaded."
)
for problem in ctx.problems:
    st.error(escape_markdown(problem))

# -- overview -----------------------------------------------------------------------------------
rows = []
for name, m in manifests.items():
    model = m.get("model") or {}
    training = m.get("training") or {}
    rows.append(
        {
            "artifact": name,
            "model": model.get("name"),
            "kind": model.get("kind"),
            "dimensions": embedding_dim(load_named(ctx, name)),
            "fold-in": (m.get("fold_in") or {}).get("method"),
            "items": m.get("n_items"),
            "train seconds": training.get("seconds"),
            "created": m.get("created"),
            "default": name == default,
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)

# -- evaluation tables --------------------------------------------------------------------------
st.header("Evaluation")
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
    st.subheader(f"Protocol: {escape_markdown(protocol)}")
    st.caption(escape_markdown(protocol_label(protocol, example)))
    table = metrics_table(manifests, protocol)
    formats = {c: st.column_config.NumberColumn(format="%.4f") for c in table.columns}
    formats["train_seconds"] = st.column_config.NumberColumn("train seconds", format="%.1f")
    st.dataframe(table, column_config=formats)

# -- quality by number of ratings ---------------------------------------------------------------
st.header("How many movies must a visitor rate?")
frame = profile_size_frame(manifests)
missing = [
    n
    for n, m in manifests.items()
    if not ((m.get("metrics") or {}).get("users") or {}).get("metrics", {}).get("by_profile_size")
]
if frame.empty:
    st.info(
        "No pick-quality-by-profile-size results: they come from the users protocol "
        "(metrics['users']['metrics']['by_profile_size'] in the manifest). Train with "
        "`--eval users` to record them."
    )
else:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metrics = [m for m in ("ndcg@10", "recall@10") if m in set(frame["metric"])]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=metrics, shared_xaxes=True)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for i, artifact in enumerate(sorted(set(frame["artifact"]))):
        for j, metric in enumerate(metrics, start=1):
            part = frame[(frame["artifact"] == artifact) & (frame["metric"] == metric)]
            fig.add_trace(
                go.Scatter(
                    x=part["ratings"],
                    y=part["value"],
                    mode="lines+markers",
                    name=artifact,
                    legendgroup=artifact,
                    showlegend=j == 1,
                    line={"color": palette[i % len(palette)]},
                ),
                row=1,
                col=j,
            )
    sizes = sorted(set(frame["ratings"]))
    fig.update_xaxes(
        type="log", tickvals=sizes, ticktext=[str(s) for s in sizes], title="ratings given"
    )
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    st.plotly_chart(fig, key="profile_size_chart")
    st.caption(
        "Each held-out user of the users protocol folds in only 1, 2, 5, 10 or 20 of their "
        "ratings (chosen at random, seeded); the rest of their positives are what the picks "
        "should find."
    )
    if missing:
        st.caption(escape_markdown(f"No by-profile-size results for: {', '.join(missing)}."))

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
            st.code(str(training["command"]), language="bash")
        history = training.get("history")
        if history:
            st.markdown("**Training history**")
            st.dataframe(pd.DataFrame(history), hide_index=True)
        versions = m.get("versions") or {}
        if versions:
            st.caption(escape_markdown(", ".join(f"{k} {v}" for k, v in versions.items())))
        st.markdown("**Raw manifest**")
        st.json({k: v for k, v in m.items() if k != "path"}, expanded=False)

how_this_works(explain_metrics())
