"""Overview: the active model's segments at a glance - key numbers, sizes, map, personas."""

import pandas as pd
import streamlit as st

from segmentation.app import auth, ui
from segmentation.data.write import to_csv_bytes
from segmentation.insight import explore
from segmentation.insight.profiles import humanize
from segmentation.modeling.stability import stability_word
from segmentation.report import audiences
from segmentation.report.html import REPORT_POINTS, build_report_html
from segmentation.report.pdf import build_report_pdf
from segmentation.viz import charts
from segmentation.viz.style import fmt_int, fmt_metric, fmt_number, fmt_share, md_escape

ui.require_frame()

#: A confirmation shown after a segment was renamed (the page reruns to show the new name).
RENAMED = "overview.renamed"


@st.cache_data(show_spinner="Drawing the customer map...", max_entries=4)
def customer_map(root: str, version: str, edits: str, _model) -> pd.DataFrame:
    """The 2-D projection of (a sample of) a version's training customers."""
    return charts.pca_projection(_model, ui.labeled_training_data(root, version))


@st.cache_data(show_spinner=False, max_entries=4)
def spend_summary(root: str, version: str) -> tuple[str, float, float] | None:
    """``(column, total, mean)`` of the spend column of the training data, if it has one."""
    data = ui.labeled_training_data(root, version)
    column = charts.spend_column(data, ui.labeler(root, version).schema_.numeric)
    if column is None:
        return None
    return column, float(data[column].sum()), float(data[column].mean())


@st.cache_data(show_spinner=False, max_entries=2)
def report_points(root: str, version: str, edits: str, _model) -> pd.DataFrame:
    """The report's customer map: a smaller sample than the page's, for a light file."""
    labeled = ui.labeled_training_data(root, version)
    return charts.pca_projection(_model, labeled, max_points=REPORT_POINTS)


@st.cache_data(show_spinner="Writing the report...", max_entries=2)
def report_html(root: str, version: str, edits: str, _model, _meta: dict) -> bytes:
    """The version's report as one self-contained HTML file, built once per version."""
    return build_report_html(
        _model, _meta, points=report_points(root, version, edits, _model)
    ).encode()


@st.cache_data(show_spinner=False, max_entries=2)
def clustered_csv(root: str, version: str, edits: str) -> bytes:
    """The labeled training customers as a formula-safe CSV, built once per version."""
    return to_csv_bytes(ui.labeled_training_data(root, version))


@st.cache_data(show_spinner=False, max_entries=8)
def segment_csv(root: str, version: str, edits: str, segment: str) -> bytes:
    """One segment's training customers as a formula-safe CSV (built on the first click)."""
    return audiences.segment_csv_bytes(ui.labeled_training_data(root, version), segment)


@st.cache_data(show_spinner=False, max_entries=4)
def all_segments(root: str, version: str, edits: str, kind: str) -> bytes:
    """Every segment's training customers: a zip of CSVs or a workbook (on the first click)."""
    return audiences.split_to_bytes(clustered_csv(root, version, edits), kind)


st.title("Overview")
active = ui.active_model_or_explain()
if active is None:
    st.stop()
model, meta = active
root, version = str(ui.store().root), meta["version"]
edits = ui.edits_stamp(root, version)  # segment names can change within a version
profiles = model.profiles_
metrics = model.metrics_

if message := st.session_state.pop(RENAMED, None):
    st.success(md_escape(message), icon=":material/check_circle:")
    st.toast(md_escape(message), icon=":material/check_circle:")  # seen wherever one scrolled
st.caption(
    f"Model {version}: {model.k_} segments of {fmt_int(model.n_rows_)} customers "
    f"from {md_escape(meta.get('data_name', 'the training data'))}."
)

with ui.user_errors("The key numbers cannot be computed"):
    largest = max(profiles, key=lambda p: p.size)
    spend = spend_summary(root, version)
    # Two rows of three: wide enough for a segment name and a money amount.
    cards = st.columns(3) + st.columns(3)
    cards[0].metric("Customers", fmt_int(model.n_rows_), border=True)
    cards[1].metric("Segments", model.k_, border=True)
    cards[3].metric(
        "Silhouette",
        fmt_metric(metrics.silhouette),
        border=True,
        help="From -1 to 1: how much closer customers are to their own segment than to the "
        "next one. Above 0.25 is a usable structure, above 0.5 a strong one.",
    )
    cards[4].metric(
        "Davies-Bouldin",
        fmt_metric(metrics.davies_bouldin),
        border=True,
        help="0 or more: how much segments overlap. Lower is better; below 1 is good.",
    )
    cards[2].metric(
        "Largest segment",
        fmt_share(largest.share),
        delta=md_escape(largest.name),
        delta_color="off",
        delta_arrow="off",
        border=True,
        help=f"{md_escape(largest.name)}: {fmt_int(largest.size)} customers.",
    )
    if spend:
        column, total, mean = spend
        if charts.is_average(column):
            cards[5].metric(
                md_escape(humanize(column)),
                fmt_number(mean),
                border=True,
                help=f"Average of {md_escape(column)} over all customers.",
            )
        else:
            cards[5].metric(
                md_escape(humanize(column)),
                fmt_int(total),
                delta=f"{fmt_int(mean)} per customer",
                delta_color="off",
                delta_arrow="off",
                border=True,
                help=f"Sum of {md_escape(column)} over all customers.",
            )

st.subheader("Segment sizes")
left, right = st.columns(2)
left.plotly_chart(charts.segment_sizes_bar(profiles), key="sizes_bar")
right.plotly_chart(charts.segment_sizes_donut(profiles), key="sizes_donut")

st.subheader("Customer map")
with ui.user_errors("The customer map cannot be drawn"):
    points = customer_map(root, version, edits, model)
    st.plotly_chart(charts.pca_scatter(points), key="customer_map")
    first, second = points.attrs["explained_variance_ratio"]
    shown = (
        f"a sample of {fmt_int(len(points))} of {fmt_int(points.attrs['n_customers'])} customers"
        if points.attrs["sampled"]
        else f"all {fmt_int(len(points))} customers"
    )
    st.caption(
        f"Each dot is a customer ({shown}), placed so that similar customers sit close "
        f"together. The two axes summarise all features and capture {fmt_share(first, 0)} and "
        f"{fmt_share(second, 0)} of the variation between customers."
    )

st.subheader("The segments")
if meta.get("n_outliers_removed"):
    st.caption(
        f"Traits compare each segment's average with the average customer, leaving out the "
        f"{fmt_int(meta['n_outliers_removed'])} extreme customers screened out in training (they "
        "are still counted in the sizes and the key numbers above)."
    )
left_out = explore.outliers_table(model)
if not left_out.empty:
    with st.expander(f"Customers left out of the fit ({fmt_int(len(left_out))}) and why"):
        st.caption(md_escape(explore.outlier_note(model)))
        st.dataframe(left_out, hide_index=True)
if model.schema_.descriptors:
    st.caption(
        md_escape(
            f"Segments are formed by {', '.join(model.schema_.features)}; "
            f"{', '.join(model.schema_.descriptors)} only describe them (traits marked so)."
        )
    )
# Versions trained before stability was measured have none; their cards say nothing of it.
stability = getattr(model, "stability_", None)
rules = getattr(model, "rules_", None)  # likewise for versions saved before rules
lifetime = ui.segment_lifetime_value(root, version, meta)  # a model trained on a log's customers
if lifetime is not None:
    st.caption(
        "Lifetime value: each customer's expected spend over the next 12 months (clv_12m); "
        f"at risk: the chance they still buy (p_alive) is below 50%. {md_escape(lifetime[1])}"
    )
PER_ROW = 3
for start in range(0, len(profiles), PER_ROW):
    for column, profile in zip(
        st.columns(PER_ROW), profiles[start : start + PER_ROW], strict=False
    ):
        with column.container(border=True):
            st.markdown(f"#### {md_escape(profile.name)}")
            st.caption(
                f"{fmt_int(profile.size)} customers - {fmt_share(profile.share)} of all customers"
            )
            if stability is not None:
                value = stability.segments[profile.cluster]
                st.markdown(
                    f"**{stability_word(value).capitalize()}**",
                    help=f"Stability {value:.2f}: the share of this segment that reappears "
                    "when customers are resampled and segmented again (stable from 0.85, "
                    "fairly stable from 0.6, fragile below).",
                )
            if rules is not None:
                st.markdown(f"**Rule**: {md_escape(rules[profile.cluster].sentence())}")
            if lifetime is not None and profile.cluster in lifetime[0].index:
                value = lifetime[0].loc[profile.cluster]
                st.markdown(
                    f"**Lifetime value**: {fmt_int(value['total_clv'])} in all, "
                    f"{fmt_number(value['mean_clv'])} per customer; "
                    f"{fmt_share(value['at_risk_share'])} at risk",
                    help=f"{fmt_share(value['share_of_clv'])} of all customers' expected "
                    "spend over the next 12 months. At risk: p_alive below 0.5.",
                )
            st.markdown("**Key traits**\n" + ui.bullets(profile.traits))
            st.markdown("**What to do**\n" + ui.bullets(profile.recommendations))

# Renaming is an analyst's or admin's (the store refuses it too); viewers do not see it.
if auth.can("rename"):
    with st.expander("Rename or edit a segment", icon=":material/edit:"):
        st.caption(
            "Give a segment the name your team uses and your own recommendations. The change is "
            "saved with this model version, shows on every page and in predictions, and is "
            "carried to the matching segment when the model is retrained."
        )
        chosen = st.selectbox(
            "Segment",
            [p.cluster for p in profiles],
            format_func=lambda c: f"{c}: {profiles[c].name}",
            key="overview.edit_segment",
        )
        current = profiles[chosen]
        edited = getattr(model, "segment_edits_", {}).get(chosen, {})
        with st.form(f"overview.edit.{version}.{chosen}", border=False):
            new_name = st.text_input("Name", value=current.name, max_chars=60)
            new_recommendations = st.text_area(
                "Recommendations, one per line", value="\n".join(current.recommendations)
            )
            submitted = st.form_submit_button("Save", type="primary", icon=":material/save:")
        if edited:
            st.caption(f"Edited by hand: {' and '.join(sorted(edited))}.")
        if submitted:
            with ui.user_errors("The segment was not saved"):
                saved = ui.rename_segment(
                    version,
                    chosen,
                    name=new_name,
                    recommendations=new_recommendations.splitlines(),
                )
                st.session_state[RENAMED] = (
                    f'Saved: segment {chosen} is now "{saved["name"]}" on every page.'
                )
                st.rerun()


st.subheader("Download")
st.download_button(
    "Download the clustered customers (CSV)",
    data=lambda: clustered_csv(root, version, edits),
    file_name=f"segments_{version}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
st.caption(
    f"All {fmt_int(model.n_rows_)} training customers with their segment "
    "(columns segment, cluster and cluster_distance added)."
)

# -- audiences: one segment, or every segment in its own file ------------------------------
names = [p.name for p in profiles]
one, every = st.columns(2)
with one:
    chosen = st.selectbox("Segment to download", names, key=f"overview.audience.{version}")
    st.download_button(
        "Download this segment's customers (CSV)",
        data=lambda segment=chosen: segment_csv(root, version, edits, segment),
        file_name=audiences.safe_file_names([chosen])[chosen],
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
fits_excel = max(p.size for p in profiles) < audiences.XLSX_MAX_ROWS
formats = {"zip": "A zip of CSV files"} | ({"xlsx": "An Excel workbook"} if fits_excel else {})
with every:
    kind = st.radio(
        "All segments as",
        list(formats),
        format_func=formats.get,
        horizontal=True,
        key="overview.audience_format",
    )
    st.download_button(
        "Download all segments",
        data=lambda kind=kind: all_segments(root, version, edits, kind),
        file_name=f"segments_{version}.{kind}",
        mime="application/zip"
        if kind == "zip"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/folder_zip:",
        on_click="ignore",
    )
st.caption(
    "One file per segment for a campaign tool: a zip holds a CSV per segment and "
    "manifest.csv with the counts; a workbook has a sheet per segment after a summary."
    + ("" if fits_excel else " A segment has more customers than an Excel sheet holds.")
)

st.subheader("Download report")
st.caption(
    "Everything on this page and how the number of segments was chosen, for a meeting: an "
    "HTML file that opens in any browser with no internet, or an A4 PDF."
)
# The PDF takes several seconds (its charts are drawn in a browser): made only on request.
PDF_KEY = "overview.report_pdf"  # ((version, edits), bytes) of the PDF made in this session
html_col, pdf_col = st.columns(2)
with html_col:
    st.download_button(
        "Download the report (HTML)",
        data=lambda: report_html(root, version, edits, model, meta),
        file_name=f"segments_report_{version}.html",
        mime="text/html",
        icon=":material/download:",
        on_click="ignore",
    )
with pdf_col:
    made = st.session_state.get(PDF_KEY)
    if made is None or made[0] != (version, edits):
        if st.button("Prepare the PDF report", icon=":material/picture_as_pdf:"):
            with (
                st.spinner("Drawing the charts and laying out the pages..."),
                ui.user_errors("The PDF report cannot be made"),
            ):
                points = report_points(root, version, edits, model)
                st.session_state[PDF_KEY] = (
                    (version, edits),
                    build_report_pdf(model, meta, points=points),
                )
                st.rerun()
    else:
        st.download_button(
            "Download the report (PDF)",
            data=made[1],
            file_name=f"segments_report_{version}.pdf",
            mime="application/pdf",
            icon=":material/download:",
            on_click="ignore",
        )
