"""How the Model report reads and draws its sections (Streamlit); the data comes from
:mod:`.report`, which stays free of Streamlit."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

import recsys

from . import report
from .artifacts import Ctx, files_stamp, load_model, load_named
from .tables import metrics_table, protocol_label
from .text import escape_markdown


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


def taste_results(ctx: Ctx) -> dict[str, dict]:
    """:func:`taste_of` of every artifact that loads (the page's own model is loaded already),
    by name, in manifest order."""
    out = {}
    for name, entry in ctx.manifests.items():
        if name == ctx.name:
            if ctx.model is not None:
                out[name] = taste_of(entry["path"], ctx.stamp)
        elif load_named(ctx, name) is not None:
            out[name] = taste_of(entry["path"], files_stamp(entry["path"]))
    return out


def chart_section(
    frame: pd.DataFrame,
    empty: str,
    figure: Callable[[pd.DataFrame], object],
    key: str,
    caption: str,
    note: str | None = None,
) -> bool:
    """One figure of the report: ``empty`` in an info box when ``frame`` is empty, else the chart
    ``figure(frame)`` (element key ``key``), ``note`` as Markdown when given, then ``caption``.
    Texts must already be Markdown-safe. True when the chart was drawn."""
    if frame.empty:
        st.info(empty)
        return False
    st.plotly_chart(figure(frame), key=key)
    if note:
        st.markdown(note)
    st.caption(caption)
    return True


def comparison_charts(results: Mapping[str, Mapping], clean: Callable[[str], str]) -> None:
    """Every model against the baselines: one grouped bar chart per protocol of the evaluation
    files, each with its protocol's description (``clean`` makes text Markdown-safe)."""
    comparison = report.comparison_frame(results)
    if comparison.empty:
        st.info(
            "No evaluation files in `results/`. `python -m recsys evaluate --protocol users "
            "--json results/users.json` writes one (see the README)."
        )
        return
    st.caption(
        "On the grey band, the baselines without learned embeddings: **pop** (most-rated movies "
        "for everyone), **itemknn** (item-item cosine over co-ratings), **ease** (a closed-form "
        "linear item-item model). An embedding model is only worth its complexity above them."
    )
    for protocol in dict.fromkeys(comparison["protocol"]):
        st.plotly_chart(report.comparison_figure(comparison, protocol), key=f"compare_{protocol}")
        st.caption(clean(protocol_label(protocol, results[protocol])))


def evaluation_tables(manifests: Mapping[str, Mapping]) -> None:
    """The artifacts' own evaluation: one metrics table per protocol their manifests hold
    (users first), under the protocol's name and description."""
    protocols = report.manifest_protocols(manifests)
    if not protocols:
        st.info(
            "No evaluation results in these manifests. `python -m recsys train` records them "
            "(its `--eval` option, default users,random)."
        )
    for protocol in protocols:
        st.markdown(f"**Protocol: {escape_markdown(protocol)}**")
        example = report.protocol_example(manifests, protocol)
        st.caption(escape_markdown(protocol_label(protocol, example)))
        table = metrics_table(manifests, protocol)
        formats = {c: st.column_config.NumberColumn(format="%.4f") for c in table.columns}
        formats["train_seconds"] = st.column_config.NumberColumn("train seconds", format="%.1f")
        st.dataframe(table, column_config=formats)


def _headed(heading: str, text: str) -> str:
    return f"**{heading}**  \n" + escape_markdown(text)


def manifest_expander(
    name: str, manifest: Mapping, expanded: bool, known: Mapping[str, str] | None = None
) -> None:
    """One artifact's manifest in an expander: dataset, training and map in three columns, the
    hyper-parameters, the fold-in, the training command and history, the library versions and
    the raw manifest. ``known``: server path prefixes and their short names
    (:func:`.report.redact_paths`)."""
    model = manifest.get("model") or {}
    training = manifest.get("training") or {}
    summary = report.manifest_summary(manifest)
    with st.expander(escape_markdown(f"{name} · {model.get('name', '?')}"), expanded=expanded):
        for col, heading in zip(st.columns(3), ("Dataset", "Trained", "Map")):
            col.markdown(_headed(heading, summary[heading]))
        st.markdown("**Hyper-parameters**")
        st.dataframe(report.params_frame(model.get("params")), hide_index=True)
        st.markdown(_headed("Fold-in", summary["Fold-in"]))
        if training.get("command"):
            st.markdown("**Training command**")
            st.code(report.redact_paths(str(training["command"]), known), language="bash")
        if training.get("history"):
            st.markdown("**Training history**")
            st.dataframe(pd.DataFrame(training["history"]), hide_index=True)
        versions = report.versions_line(manifest)
        if versions:
            st.caption(escape_markdown(versions))
        st.markdown("**Raw manifest**")
        st.json(report.raw_manifest(manifest, known), expanded=False)
