"""Cluster Analysis: compare segments feature by feature, on the customers the filters keep."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from segmentation.app import ui
from segmentation.data.write import to_csv_bytes
from segmentation.errors import SegmentationError
from segmentation.insight import clv, explain
from segmentation.insight.profiles import humanize
from segmentation.viz import charts
from segmentation.viz.style import fmt_int, fmt_share, md_bold, md_escape

ui.require_frame()

#: Widgets keep their values for the whole session (``persist_state``), so the filters are
#: still there after a visit to another page. The version is part of every key: another
#: model has other segments and features.
PREFIX = "cluster_analysis."


@st.cache_data(show_spinner="Preparing the customers...", max_entries=2)
def customers(root: str, version: str, edits: str, _model) -> pd.DataFrame:
    """A version's training customers, typed for filtering (see ``charts.analysis_frame``)."""
    return charts.analysis_frame(_model, ui.labeled_training_data(root, version))


@st.cache_data(show_spinner=False, max_entries=4)
def filter_choices(root: str, version: str, edits: str, _model) -> tuple[dict, dict, int]:
    """Slider bounds, category values and the number of customers of a version."""
    frame = customers(root, version, edits, _model)
    schema = _model.schema_.with_descriptors()
    return (
        charts.numeric_ranges(frame, schema.numeric),
        charts.category_values(frame, schema.categorical),
        len(frame),
    )


@st.cache_data(show_spinner=False, max_entries=2)
def every_segment(root: str, version: str, edits: str, _model) -> list:
    """Summaries of every segment over all customers: the radar's scale, whatever is shown."""
    frame = customers(root, version, edits, _model)
    schema = _model.schema_.with_descriptors()
    return charts.summarize_segments(
        frame,
        [p.name for p in _model.profiles_],
        numeric=schema.numeric,
        categorical=schema.categorical,
    )


@st.cache_data(show_spinner="Applying the filters...", max_entries=16)
def filtered_view(root: str, version: str, edits: str, _model, filters: dict):
    """``(matching customers, segment summaries, statistics table, point sample)``."""
    frame = customers(root, version, edits, _model)
    subset = frame[charts.filter_mask(frame, **filters)]
    schema = _model.schema_.with_descriptors()
    profiles = charts.summarize_segments(
        subset,
        [p.name for p in _model.profiles_],
        numeric=schema.numeric,
        categorical=schema.categorical,
        reference=frame,
    )
    stats = charts.segment_stats_table(subset, schema.numeric)
    return len(subset), profiles, stats, charts.stratified_sample(subset, "segment")


@st.cache_data(show_spinner=False, max_entries=16)
def lifetime_value(root: str, version: str, edits: str, _model, filters: dict):
    """Lifetime value per segment of the customers the filters keep (None without it)."""
    frame = customers(root, version, edits, _model)
    if not {"clv_12m", "p_alive"} <= set(frame.columns):  # e.g. set to "ignored" in training
        return None
    subset = frame[charts.filter_mask(frame, **filters)]
    return clv.segment_summary(subset["segment"], subset).rename_axis("Segment").reset_index()


@st.cache_data(show_spinner=False, max_entries=16)
def category_mix(
    root: str, version: str, edits: str, _model, filters: dict, column: str
) -> go.Figure:
    """The make-up of each segment by one categorical column, for the filtered customers."""
    frame = customers(root, version, edits, _model)
    return charts.category_mix_chart(frame[charts.filter_mask(frame, **filters)], column)


@st.cache_data(show_spinner=False, max_entries=4)
def filtered_csv(root: str, version: str, edits: str, _model, filters: dict) -> bytes:
    """The training customers the filters keep, every column and their segment, as a
    formula-safe CSV (built when the download is clicked)."""
    keep = charts.filter_mask(customers(root, version, edits, _model), **filters)
    return to_csv_bytes(ui.labeled_training_data(root, version)[keep])


def reset_filters(keys: list[str]) -> None:
    """Forget the filter widgets' values: they come back at their defaults."""
    for key in keys:
        st.session_state.pop(key, None)


st.title("Cluster Analysis")
active = ui.active_model_or_explain()
if active is None:
    st.stop()
model, meta = active
root, version = str(ui.store().root), meta["version"]
edits = ui.edits_stamp(root, version)  # segment names can change within a version
try:
    ranges, category_options, n_total = filter_choices(root, version, edits, model)
except SegmentationError as exc:  # e.g. a version saved without its training customers
    ui.show_error(exc, "The active model's customers cannot be analysed")
    st.stop()
schema = model.schema_.with_descriptors()  # describing columns are compared too
names = [p.name for p in model.profiles_]
persist = {"persist_state": "session"}
ns = f"{PREFIX}{version}."  # namespace of this page's widget keys for the active version

# -- filters ----------------------------------------------------------------------------------
filter_keys = [ns + "segments"]
filter_keys += [ns + f"range.{c}" for c in ranges]
filter_keys += [ns + f"category.{c}" for c in category_options]
with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
    segments = st.multiselect("Segments", names, default=names, key=ns + "segments", **persist)
    chosen_categories = {}
    grid = st.columns(2)
    for i, column in enumerate(category_options):
        chosen_categories[column] = grid[i % 2].multiselect(
            md_escape(humanize(column)),
            category_options[column],
            default=category_options[column],
            key=ns + f"category.{column}",
            wrap=True,
            **persist,
        )
    chosen_ranges = {}
    grid = st.columns(4)
    for i, (column, (low, high)) in enumerate(ranges.items()):
        chosen_ranges[column] = grid[i % 4].slider(
            md_escape(humanize(column)),
            min_value=low,
            max_value=high,
            value=(low, high),
            format="localized",
            key=ns + f"range.{column}",
            **persist,
        )
    if ranges:
        low, high = charts.SLIDER_PERCENTILES
        st.caption(
            f"Each slider ends at the {low:g}th and {high:g}th percentiles of its column, so "
            "a few extreme customers do not stretch it; a slider left at an end keeps the "
            "customers beyond it too."
        )
    st.button(
        "Reset filters", on_click=reset_filters, args=(filter_keys,), icon=":material/restart_alt:"
    )

filters = {
    "segments": list(segments),
    "ranges": {c: (float(lo), float(hi)) for c, (lo, hi) in chosen_ranges.items()},
    "categories": {c: list(v) for c, v in chosen_categories.items()},
}
n_matching, profiles, stats, sample = filtered_view(root, version, edits, model, filters)
st.markdown(f"**{fmt_int(n_matching)} of {fmt_int(n_total)} customers** match the filters.")
if n_matching:
    st.download_button(
        "Download the filtered customers (CSV)",
        data=lambda filters=filters: filtered_csv(root, version, edits, model, filters),
        file_name=f"filtered_customers_{version}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        help="Exactly the customers the filters keep, with all their columns and segment.",
    )
if n_matching == 0:
    st.warning(
        "No customer matches these filters. Widen a range, select more segments or values, "
        "or reset the filters.",
        icon=":material/filter_alt_off:",
    )
    st.stop()
sampled = len(sample) < n_matching
sample_note = (
    f"Showing a sample of {fmt_int(len(sample))} of the {fmt_int(n_matching)} "
    "matching customers, drawn from every segment."
    if sampled
    else ""
)
numeric = list(schema.numeric)

# -- segment profiles ---------------------------------------------------------------------
st.subheader("How the segments compare")
if numeric:
    radar, note = st.columns([3, 2])
    radar.plotly_chart(
        charts.radar_chart(profiles, numeric, scale_on=every_segment(root, version, edits, model)),
        key="radar",
    )
    note.markdown(
        "Each spoke is a feature. A segment reaches the outer ring on the features where "
        "its average is the highest of all segments, and the centre where it is the lowest; "
        "the scale is set by all the model's segments, so a segment keeps its shape when "
        "the filters show it alone. Hover over a point to see the segment's average."
    )
else:
    st.info("The model has no numeric features, so there is no radar to draw.")

st.subheader("Differences from the average customer")
st.plotly_chart(charts.difference_heatmap(profiles), key="heatmap")
st.caption(
    "The numbers are differences from the average of all customers, in standard deviations "
    "(0.5 is a clear difference, 1 or more a strong one). Blue is above the average and "
    'red below, except on columns marked "lower is better" (such as days since the last '
    "purchase), where blue is below the average. For a category value the difference is in "
    "the share of customers that have it."
)

st.subheader("Rules that describe the segments")
rules = explain.rules_table(model, [i for i, name in enumerate(names) if name in segments])
if rules.empty:
    st.caption("This version was saved before rules were found; retrain it to get them.")
else:
    for row in rules.itertuples():
        st.markdown(
            f"{md_bold(row.Segment)}: {md_escape(row.Rule)}  \n"
            f"Precision {fmt_share(row.Precision, 0)}, recall {fmt_share(row.Recall, 0)}: "
            f"{md_escape(row.Trust)}." + (f" {md_escape(row.Note)}" if row.Note else "")
        )
    st.caption(
        "Each rule is a short test on the customer columns, found by a decision tree and "
        "measured on the training customers. Precision: of the customers the rule matches, "
        "the share in the segment; recall: of the segment's customers, the share it finds."
    )

if (merges := model.segment_merges()) is not None:
    st.subheader("How the segments merge")
    st.plotly_chart(charts.dendrogram_chart(merges, [p.name for p in model.profiles_]), key="tree")
    st.caption(
        "The model's method builds a tree of customers; these are its last joins, down to "
        "the segments. Segments joined low down are close relatives."
    )

valued = ui.segment_lifetime_value(root, version, meta)  # a model trained on a log's customers
by_segment = lifetime_value(root, version, edits, model, filters) if valued else None
if by_segment is not None:
    st.subheader("Lifetime value by segment")
    st.dataframe(
        # Whole money, as the Overview cards show it (localized keeps the thousands marks).
        by_segment.assign(total_clv=by_segment["total_clv"].round()),
        hide_index=True,
        column_config={
            "customers": st.column_config.NumberColumn("Customers", format="localized"),
            "customers_valued": st.column_config.NumberColumn(
                "With an estimate", format="localized", help="Customers with a purchase"
            ),
            "total_clv": st.column_config.NumberColumn("Total CLV", format="localized"),
            "mean_clv": st.column_config.NumberColumn("Average CLV", format="%.2f"),
            "at_risk_share": st.column_config.NumberColumn(
                "At risk", format="percent", help="Share with p_alive below 0.5"
            ),
            "share_of_clv": st.column_config.NumberColumn("Share of CLV", format="percent"),
        },
    )
    st.caption(
        "CLV: expected spend over the next 12 months (clv_12m), of the customers the filters "
        "keep; at risk: the chance they still buy (p_alive) is below 50%. " + md_escape(valued[1])
    )

# -- one or two features -----------------------------------------------------------------
default_pair = charts.most_distinct_features(model.profiles_, numeric, n=2)
st.subheader("Two features side by side")
if len(numeric) >= 2:
    left, right = st.columns(2)
    x = left.selectbox(
        "Horizontal axis",
        numeric,
        index=numeric.index(default_pair[0]),
        format_func=humanize,
        key=ns + "scatter_x",
        **persist,
    )
    y = right.selectbox(
        "Vertical axis",
        numeric,
        index=numeric.index(default_pair[1]),
        format_func=humanize,
        key=ns + "scatter_y",
        **persist,
    )
    st.plotly_chart(charts.feature_scatter(sample, x, y), key="scatter")
    if sampled:
        st.caption(sample_note)
else:
    st.info("A scatter needs two numeric features; the model has fewer.")

st.subheader("Distribution of one feature")
if numeric:
    left, right = st.columns([3, 1])
    feature = left.selectbox(
        "Feature",
        numeric,
        index=numeric.index(default_pair[0]),
        format_func=humanize,
        key=ns + "distribution_feature",
        **persist,
    )
    kind = right.radio(
        "Chart", ["Box", "Violin"], horizontal=True, key=ns + "distribution_kind", **persist
    )
    st.plotly_chart(charts.feature_box(sample, feature, kind.lower()), key="distribution")
    if sampled:
        st.caption(sample_note)
else:
    st.info("The model has no numeric features.")

st.subheader("Make-up of each segment")
categorical = list(schema.categorical)
if categorical:
    column = st.selectbox(
        "Categorical column",
        categorical,
        format_func=humanize,
        key=ns + "category_column",
        **persist,
    )
    st.plotly_chart(category_mix(root, version, edits, model, filters, column), key="category_mix")
else:
    st.info("The model uses no categorical columns, so there is no make-up to show.")

# -- statistics ----------------------------------------------------------------------------
st.subheader("Statistics by segment")
if numeric:
    st.dataframe(
        stats.round(2),
        hide_index=True,
        column_config={
            "Customers": st.column_config.NumberColumn(
                format="localized", help="Customers of the segment with a value for the feature"
            ),
            **{
                name: st.column_config.NumberColumn(format="localized")
                for name in ("Mean", "Median", "Std. deviation")
            },
        },
    )
    st.download_button(
        "Download the statistics (CSV)",
        data=to_csv_bytes(stats),
        file_name=f"segment_statistics_{version}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
else:
    st.info("The model has no numeric features to describe.")
