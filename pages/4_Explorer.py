"""Explorer: look through the dataset in use before training: rows, statistics, gaps, shapes."""

import streamlit as st

from segmentation.app import ui
from segmentation.data.schema import infer_schema
from segmentation.insight import explore
from segmentation.viz.style import fmt_int, fmt_share, md_bold

ui.require_frame()

ALL_COLUMNS = "All columns"


def rfm_view(customers, root: str, version: str | None):
    """RFM scores of a per-customer table, and their cross-tab with the segments of a model
    version when it can label this table (None otherwise, or without a version)."""
    return explore.rfm_view(customers, ui.labeler(root, version) if version else None)


def distribution_chart(df, column):
    return explore.distribution_chart(df[column], column)


def category_counts(df, column):
    return explore.category_counts(df[column])


st.title("Explorer")
dataset = ui.dataset_picker("explorer.upload")
df = dataset.frame

facts = ui.dataset_view(dataset, explore.overview)
cols = st.columns(4)
cols[0].metric("Customers (rows)", fmt_int(facts["rows"]))
cols[1].metric("Columns", fmt_int(facts["columns"]))
cols[2].metric("Numeric columns", fmt_int(facts["numeric_columns"]))
cols[3].metric("Empty cells", fmt_share(facts["missing_share"]))

tab_names = [
    "Table",
    "Summary",
    "Missing values",
    "Distributions",
    "Correlations",
    "Categories",
    "Column roles",
]
if dataset.transactions is not None:
    tab_names.append("RFM segments")
tabs = st.tabs(tab_names)
table_tab, stats_tab, missing_tab, dist_tab, corr_tab, cat_tab, roles_tab = tabs[:7]

with table_tab:
    cols = st.columns([3, 2])
    text = cols[0].text_input(
        "Find rows containing",
        key="explorer.search",
        placeholder="a customer ID, a region, a number...",
    )
    column = cols[1].selectbox(
        "In", [ALL_COLUMNS, *map(str, df.columns)], key="explorer.search_column"
    )
    found = ui.dataset_view(
        dataset, explore.filter_rows, text, None if column == ALL_COLUMNS else column
    )
    st.caption(explore.describe_filter(found, len(df)) + " Click a column header to sort.")
    numbers = found.rows.select_dtypes("number").columns
    st.dataframe(
        found.rows,
        hide_index=True,
        height=420,
        column_config={c: st.column_config.NumberColumn(format="localized") for c in numbers},
    )

with stats_tab:
    numbers = ui.dataset_view(dataset, explore.summary_statistics)
    if len(numbers):
        st.markdown("**Number columns**")
        st.dataframe(numbers, hide_index=True)
    texts = ui.dataset_view(dataset, explore.text_summary)
    if len(texts):
        st.markdown("**Other columns**")
        st.dataframe(texts, hide_index=True)

with missing_tab:
    missing = ui.dataset_view(dataset, explore.missing_values)
    if missing["Missing"].sum() == 0:
        st.success("No empty cells: every column is complete.")
    else:
        st.caption(
            "Empty cells are filled in before clustering: numbers with the median, "
            "categories with the most common value."
        )
        left, right = st.columns([3, 2])
        left.plotly_chart(explore.missing_values_chart(missing), config={"displayModeBar": False})
        right.dataframe(
            missing,
            hide_index=True,
            column_config={
                "Missing": st.column_config.NumberColumn("Empty cells", format="localized"),
                "Share": st.column_config.NumberColumn("Share", format="percent"),
            },
        )

with dist_tab:
    columns = [str(c) for c in df.columns]
    numeric = [c for c in columns if explore.is_numeric(df[c])]
    chosen = st.selectbox(
        "Column",
        columns,
        key="explorer.distribution_column",
        index=columns.index(numeric[0]) if numeric else 0,
    )
    st.plotly_chart(
        ui.dataset_view(dataset, distribution_chart, chosen), config={"displayModeBar": False}
    )

with corr_tab:
    corr = ui.dataset_view(dataset, explore.correlation_matrix)
    if corr.empty:
        st.info("The table needs at least two number columns that vary to show correlations.")
    else:
        st.caption(
            "How strongly two number columns move together: 1 always together, "
            "-1 always opposite, 0 unrelated."
        )
        st.plotly_chart(explore.correlation_heatmap(corr), config={"displayModeBar": False})

with cat_tab:
    ids = set(ui.dataset_view(dataset, infer_schema).names("id"))
    categorical = [c for c in df.columns if not explore.is_numeric(df[c]) and str(c) not in ids]
    if not categorical:
        st.info("The table has no category columns (identifiers are left out).")
    cols = st.columns(2)
    for i, name in enumerate(categorical):
        with cols[i % 2]:
            st.markdown(md_bold(name))
            st.plotly_chart(
                explore.category_chart(ui.dataset_view(dataset, category_counts, name), str(name)),
                config={"displayModeBar": False},
                key=f"explorer.cat.{name}",
            )

with roles_tab:
    st.caption(
        "What each column is used as when a model is trained on this table, and why. "
        "Change a role here or on the Retrain page: both show the same choice."
    )
    ui.column_roles_editor(dataset, "explorer.roles")

if dataset.transactions is not None:
    with tabs[7]:
        st.caption(
            "Classic RFM scoring: each customer gets 1-5 for Recency (5 = most recent), "
            "Frequency and Monetary by quintile, and a named segment from those scores."
        )
        active = ui.active_model_or_explain()
        version = active[1]["version"] if active else None
        view = ui.dataset_view(dataset, rfm_view, str(ui.store().root), version)
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(
                explore.rfm_segments_chart(view.counts), config={"displayModeBar": False}
            )
        with right:
            st.dataframe(
                view.counts,
                hide_index=True,
                column_config={"Share": st.column_config.NumberColumn(format="percent")},
            )
        if view.crosstab is not None:
            st.markdown(f"**RFM segments against the active model's segments** ({version})")
            st.dataframe(view.crosstab)
        elif active is not None:  # (without a usable model the error above says why)
            st.info(
                "The active model was not trained on per-customer RFM columns, so it cannot "
                "label this table. Train one on it on the Retrain page to compare its "
                "segments with the RFM segments here.",
                icon=":material/info:",
            )
