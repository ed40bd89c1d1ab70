"""Explore a customer table and compare models: pure tables and plotly figures for the pages.

Everything here takes data and returns a table or a figure; nothing imports streamlit.
Functions stay fast on a million rows: histograms are binned with numpy and drawn as
bars, correlations use the numeric columns only, and row-level output is capped.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmentation.data.rules import LABEL_COLUMNS, FeatureReport
from segmentation.data.schema import FEATURE_ROLES, Schema, default_purpose
from segmentation.insight.profiles import humanize
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.features import prepare_features, table_columns
from segmentation.modeling.selection import PS_THRESHOLD, Sweep
from segmentation.modeling.stability import stability_word
from segmentation.types import Progress
from segmentation.viz.style import (
    ACCENT,
    MISSING,
    PRIMARY,
    SECONDARY,
    fmt_datetime,
    fmt_int,
    fmt_metric,
    fmt_number,
    fmt_share,
    plotly_text,
)

#: Rows of a table shown at most; the rest are counted, not sent to the browser.
ROW_LIMIT = 1000
#: Bars of a histogram.
BINS = 30
#: Categories shown per column before the rest are grouped as "Other".
TOP_CATEGORIES = 15
#: Numeric columns in the correlation heatmap at most (the first ones of the table).
MAX_HEATMAP_COLUMNS = 30
#: Rows searched at a time by :func:`filter_rows`, which stops once it has enough.
SEARCH_CHUNK = 200_000

#: Human labels for the outlier methods of :data:`segmentation.modeling.preprocess.OUTLIER_METHODS`.
OUTLIER_LABELS = {
    "iqr": "Leave out customers far from everybody (distance fence)",
    "isolation_forest": "Leave out clear anomalies (isolation forest)",
    "none": "Keep every customer",
}
#: Human labels for :data:`segmentation.modeling.preprocess.SCALERS`.
SCALER_LABELS = {
    "standard": "Standard (mean and standard deviation)",
    "robust": "Robust (median and interquartile range)",
}


# --------------------------------------------------------------------------------------
# Figure style
# --------------------------------------------------------------------------------------


def _style(fig: go.Figure, *, height: int = 360, title: str | None = None) -> go.Figure:
    """The house look: white background, compact margins, thousands separators."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        separators=".,",
        title=title,
        bargap=0.05,
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"align": "left"},
    )
    return fig


def is_numeric(values: pd.Series) -> bool:
    """True for number columns (yes/no flags count as categories, dates do not count)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _is_date(values: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(values)


# --------------------------------------------------------------------------------------
# A table at a glance
# --------------------------------------------------------------------------------------


def overview(df: pd.DataFrame) -> dict[str, int | float]:
    """Rows, columns, numeric and other columns, and the share of empty cells.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``numeric_columns``, ``other_columns``,
        ``missing_share`` (0 to 1).
    """
    n_numeric = sum(is_numeric(df[c]) for c in df.columns)
    cells = df.shape[0] * df.shape[1]
    missing = int(df.isna().to_numpy().sum()) if cells else 0
    return {
        "rows": len(df),
        "columns": df.shape[1],
        "numeric_columns": n_numeric,
        "other_columns": df.shape[1] - n_numeric,
        "missing_share": missing / cells if cells else 0.0,
    }


def summary_statistics(df: pd.DataFrame) -> pd.DataFrame:
    """Summary statistics of every numeric column, formatted for reading.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame
        One row per numeric column: ``Column``, ``Filled``, ``Missing``, ``Average``,
        ``Spread (std)``, ``Lowest``, ``25%``, ``Median``, ``75%``, ``Highest``, as text
        with thousands separators. Empty when the table has no numeric column.
    """
    columns = [c for c in df.columns if is_numeric(df[c])]
    header = [
        "Column",
        "Filled",
        "Missing",
        "Average",
        "Spread (std)",
        "Lowest",
        "25%",
        "Median",
        "75%",
        "Highest",
    ]
    if not columns:
        return pd.DataFrame(columns=header)
    stats = df[columns].describe().T
    rows = []
    for name, row in stats.iterrows():
        rows.append(
            [
                str(name),
                fmt_int(row["count"]),
                fmt_int(len(df) - row["count"]),
                fmt_number(row["mean"]),
                fmt_number(row["std"]),
                fmt_number(row["min"]),
                fmt_number(row["25%"]),
                fmt_number(row["50%"]),
                fmt_number(row["75%"]),
                fmt_number(row["max"]),
            ]
        )
    return pd.DataFrame(rows, columns=header)


def text_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Distinct values and the most common value of every non-numeric column.

    Returns
    -------
    DataFrame
        ``Column``, ``Filled``, ``Missing``, ``Distinct values``, ``Most common``,
        ``Share of most common`` (text). Empty when every column is numeric.
    """
    header = [
        "Column",
        "Filled",
        "Missing",
        "Distinct values",
        "Most common",
        "Share of most common",
    ]
    rows = []
    for name in df.columns:
        values = df[name]
        if is_numeric(values):
            continue
        counts = values.value_counts(dropna=True)
        filled = int(counts.sum())
        top = counts.index[0] if len(counts) else "-"
        top_share = fmt_share(counts.iloc[0] / filled) if filled else "-"
        if _is_date(values) and len(counts):
            top = pd.Timestamp(top).strftime("%Y-%m-%d")
        rows.append(
            [
                str(name),
                fmt_int(filled),
                fmt_int(len(values) - filled),
                fmt_int(len(counts)),
                str(top),
                top_share,
            ]
        )
    return pd.DataFrame(rows, columns=header)


def missing_values(df: pd.DataFrame) -> pd.DataFrame:
    """Empty cells per column, most first.

    Returns
    -------
    DataFrame
        ``Column`` (str), ``Missing`` (int), ``Share`` (float, 0 to 1), one row per column.
    """
    counts = df.isna().sum()
    table = pd.DataFrame(
        {
            "Column": [str(c) for c in counts.index],
            "Missing": counts.to_numpy(dtype=np.int64),
            "Share": counts.to_numpy(dtype=float) / len(df) if len(df) else 0.0,
        }
    )
    return table.sort_values(
        ["Missing", "Column"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def missing_values_chart(missing: pd.DataFrame) -> go.Figure:
    """Horizontal bars of the share of empty cells per column (from :func:`missing_values`)."""
    shown = missing[missing["Missing"] > 0].iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=shown["Share"],
            y=[plotly_text(c) for c in shown["Column"]],
            orientation="h",
            marker_color=PRIMARY,
            customdata=shown["Missing"],
            text=[fmt_share(s) for s in shown["Share"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{customdata:,} empty cells (%{x:.1%})<extra></extra>",
        )
    )
    top = float(shown["Share"].max()) if len(shown) else 1.0
    fig.update_xaxes(
        title="Share of customers with the value missing", tickformat=".0%", range=[0, top * 1.2]
    )
    fig.update_yaxes(title=None)
    return _style(fig, height=max(220, 28 * len(shown) + 90))


# --------------------------------------------------------------------------------------
# Distributions, categories, correlations
# --------------------------------------------------------------------------------------


def category_counts(values: pd.Series, top: int = TOP_CATEGORIES) -> pd.DataFrame:
    """How many customers have each value of a column, the most common first.

    Parameters
    ----------
    values : Series
    top : int, default=15
        Values listed one by one; the others are summed into one "Other" row.

    Returns
    -------
    DataFrame
        ``Value`` (str), ``Customers`` (int), ``Share`` (float, 0 to 1). Empty cells are
        counted as ``(missing)``.
    """
    counts = values.value_counts(dropna=False)
    labels = [MISSING if pd.isna(v) else _category_label(v) for v in counts.index]
    table = pd.DataFrame({"Value": labels, "Customers": counts.to_numpy(dtype=np.int64)})
    if len(table) > top:
        rest = table.iloc[top:]
        other = pd.DataFrame(
            {
                "Value": [f"Other ({len(rest):,} values)"],
                "Customers": [int(rest["Customers"].sum())],
            }
        )
        table = pd.concat([table.iloc[:top], other], ignore_index=True)
    table["Share"] = table["Customers"] / max(len(values), 1)
    return table


def _category_label(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _count_bars(labels, customers, shares, *, digits: int = 0) -> go.Figure:
    """Horizontal bars of customers per label, annotated with count and share."""
    return go.Figure(
        go.Bar(
            x=customers,
            y=[plotly_text(label) for label in labels],
            orientation="h",
            marker_color=PRIMARY,
            customdata=shares,
            text=[
                f"{fmt_int(n)} ({fmt_share(s, digits)})"
                for n, s in zip(customers, shares, strict=True)
            ],
            textposition="auto",
            hovertemplate="%{y}: %{x:,} customers (%{customdata:.1%})<extra></extra>",
        )
    )


def category_chart(counts: pd.DataFrame, column: str) -> go.Figure:
    """Horizontal bars of a :func:`category_counts` table, the most common on top."""
    shown = counts.iloc[::-1]
    fig = _count_bars(shown["Value"], shown["Customers"], shown["Share"])
    fig.update_xaxes(title="Customers", tickformat=",")
    fig.update_yaxes(title=plotly_text(humanize(column)), type="category")
    return _style(fig, height=max(220, 26 * len(shown) + 90))


def histogram(values: pd.Series, bins: int = BINS) -> pd.DataFrame:
    """Bin a numeric column with numpy, for drawing as bars.

    Integer columns with few distinct values get one bar per value. A long tail is
    folded into the last bar (and a long head into the first) so the bulk stays
    readable: the range drawn is the 0.5th to 99.5th percentile when that is less than
    half the full range.

    Returns
    -------
    DataFrame
        ``left``, ``right`` (bin edges), ``Customers`` (int), and the attribute
        ``attrs["clipped"]``: ``(low, high)`` when values beyond the range were folded in,
        else ``None``.
    """
    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    data = data[np.isfinite(data)]
    if len(data) == 0:
        out = pd.DataFrame({"left": [], "right": [], "Customers": []})
        out.attrs["clipped"] = None
        return out
    low, high = float(data.min()), float(data.max())
    clipped = None
    integer = bool(np.all(data == np.round(data)))
    if integer and high - low <= 60:
        edges = np.arange(low - 0.5, high + 1.5, 1.0)
    else:
        p_low, p_high = (float(p) for p in np.percentile(data, [0.5, 99.5]))
        if p_high > p_low and (p_high - p_low) < 0.5 * (high - low):
            clipped = (p_low, p_high)
            data = np.clip(data, p_low, p_high)
            low, high = p_low, p_high
        if high == low:
            edges = np.array([low - 0.5, high + 0.5])
        else:
            edges = np.histogram_bin_edges(data, bins=bins, range=(low, high))
            if integer:
                edges = np.unique(np.round(edges))
    counts, edges = np.histogram(data, bins=edges)
    out = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "Customers": counts})
    out.attrs["clipped"] = clipped
    return out


def distribution_chart(values: pd.Series, column: str | None = None) -> go.Figure:
    """The distribution of one column: a histogram for numbers and dates, else category bars.

    Parameters
    ----------
    values : Series
        Any column; a million rows are fine (binned with ``np.histogram``).
    column : str, optional
        The name shown on the axis (defaults to the series name).

    Returns
    -------
    Figure
    """
    column = str(column if column is not None else values.name)
    if _is_date(values):
        return _date_histogram(values, column)
    if not is_numeric(values):
        return category_chart(category_counts(values), column)
    bins = histogram(values)
    width = bins["right"] - bins["left"]
    ranges = [
        f"{fmt_number(a)} to {fmt_number(b)}"
        for a, b in zip(bins["left"], bins["right"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=(bins["left"] + bins["right"]) / 2,
            y=bins["Customers"],
            width=width * 0.95,
            marker_color=PRIMARY,
            customdata=ranges,
            hovertemplate="%{customdata}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title=plotly_text(humanize(column)), tickformat=",")
    fig.update_yaxes(title="Customers", tickformat=",")
    title = None
    if bins.attrs.get("clipped"):
        low, high = bins.attrs["clipped"]
        title = (
            f"<sup>The rare values below {fmt_number(low)} and above {fmt_number(high)} "
            "are counted in the first and last bars</sup>"
        )
    return _style(fig, title=title)


def _date_histogram(values: pd.Series, column: str) -> go.Figure:
    dates = values.dropna()
    if dates.empty:
        return _style(go.Figure())
    stamps = dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    counts, edges = np.histogram(stamps, bins=BINS)
    left = pd.to_datetime(edges[:-1])
    right = pd.to_datetime(edges[1:])
    fig = go.Figure(
        go.Bar(
            x=left + (right - left) / 2,
            y=counts,
            marker_color=PRIMARY,
            customdata=[f"{a:%Y-%m-%d} to {b:%Y-%m-%d}" for a, b in zip(left, right, strict=True)],
            hovertemplate="%{customdata}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title=plotly_text(humanize(column)))
    fig.update_yaxes(title="Customers", tickformat=",")
    return _style(fig)


def correlation_matrix(df: pd.DataFrame, max_columns: int = MAX_HEATMAP_COLUMNS) -> pd.DataFrame:
    """Pearson correlations between the numeric columns (constant ones left out).

    Returns
    -------
    DataFrame of shape (n, n)
        Empty when fewer than two numeric columns vary.
    """
    columns = [c for c in df.columns if is_numeric(df[c]) and df[c].nunique(dropna=True) > 1]
    columns = columns[:max_columns]
    if len(columns) < 2:
        return pd.DataFrame()
    return df[columns].astype(float).corr()


def correlation_heatmap(corr: pd.DataFrame) -> go.Figure:
    """A red-blue heatmap of a :func:`correlation_matrix`, values written in the cells."""
    labels = [plotly_text(humanize(str(c))) for c in corr.columns]
    values = corr.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=False,
            text=np.vectorize(lambda v: "" if np.isnan(v) else f"{v:.2f}")(values),
            texttemplate="%{text}",
            hovertemplate="%{y} and %{x}: %{z:.2f}<extra></extra>",
            colorbar={"title": {"text": "Correlation"}},
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title=None, tickangle=-30)
    return _style(fig, height=max(360, 40 * len(labels) + 140))


# --------------------------------------------------------------------------------------
# Finding rows
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilteredRows:
    """The rows shown for a search.

    Attributes
    ----------
    rows : DataFrame
        At most ``limit`` matching rows, in table order.
    n_matched : int
        Matching rows found; all of them when ``complete``.
    complete : bool
        False when the search stopped early because it had enough rows to show.
    """

    rows: pd.DataFrame
    n_matched: int
    complete: bool


def filter_rows(
    df: pd.DataFrame, text: str = "", column: str | None = None, limit: int = ROW_LIMIT
) -> FilteredRows:
    """Rows whose cells contain ``text`` (case-insensitive), at most ``limit`` of them.

    Parameters
    ----------
    df : DataFrame
    text : str
        What to look for; empty keeps every row.
    column : str, optional
        Search this column only; by default every text column, and the number columns
        too when ``text`` is a number.
    limit : int, default=1000

    Returns
    -------
    FilteredRows
        The search goes through the table in chunks and stops once it has ``limit``
        rows and knows there are more, so it is quick on a million rows.
    """
    text = text.strip()
    if not text:
        return FilteredRows(df.head(limit), len(df), True)
    if column is not None:
        columns = [column]
    else:
        # Number columns are searched only for a number: turning them into text is slow.
        number_like = bool(re.fullmatch(r"[-+]?[0-9][0-9.,]*", text))
        columns = [c for c in df.columns if number_like or not is_numeric(df[c])]
    needle = text.lower()
    found: list[pd.DataFrame] = []
    n_found = 0
    for start in range(0, len(df), SEARCH_CHUNK):
        chunk = df.iloc[start : start + SEARCH_CHUNK]
        hit = np.zeros(len(chunk), dtype=bool)
        for name in columns:
            cells = chunk[name]
            cells = cells.dt.strftime("%Y-%m-%d") if _is_date(cells) else cells.astype(str)
            hit |= cells.str.lower().str.contains(needle, regex=False, na=False).to_numpy()
        n_found += int(hit.sum())
        if len(found) == 0 or sum(len(f) for f in found) < limit:
            found.append(chunk[hit])
        if n_found > limit and start + SEARCH_CHUNK < len(df):
            return FilteredRows(pd.concat(found).head(limit), n_found, False)
    rows = pd.concat(found).head(limit) if found else df.head(0)
    return FilteredRows(rows, n_found, True)


def describe_filter(result: FilteredRows, n_rows: int, limit: int = ROW_LIMIT) -> str:
    """One sentence saying what a :func:`filter_rows` result shows."""
    shown = len(result.rows)
    if result.n_matched == n_rows and result.complete:
        if shown < n_rows:
            return f"Showing the first {shown:,} of {n_rows:,} rows."
        return f"Showing all {n_rows:,} rows."
    if not result.complete:
        return f"Showing the first {shown:,} matching rows; there are more than {limit:,}."
    if result.n_matched == 0:
        return "No row matches."
    if shown < result.n_matched:
        return f"Showing the first {shown:,} of {result.n_matched:,} matching rows."
    return f"{result.n_matched:,} matching rows."


# --------------------------------------------------------------------------------------
# Column roles
# --------------------------------------------------------------------------------------


def roles_table(
    schema: Schema,
    overrides: Mapping[str, str] | None = None,
    purposes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The inferred role and purpose of every column, with the reasons, for showing or
    editing.

    Parameters
    ----------
    schema : Schema
        From :func:`segmentation.data.schema.infer_schema`.
    overrides : dict, optional
        ``{column: role}`` the user chose earlier; they replace the inferred role.
    purposes : dict, optional
        ``{column: purpose}`` the user chose earlier; they replace the default purpose.

    Returns
    -------
    DataFrame
        ``column``, ``role``, ``reason``, ``purpose`` (``segment`` or ``describe``; None
        for columns that are not features) and ``purpose_reason``, one row per column in
        table order.
    """
    overrides, purposes = dict(overrides or {}), dict(purposes or {})
    roles = [overrides.get(str(c.name), c.role) for c in schema.columns]
    chosen, why = [], []
    for column, role in zip(schema.columns, roles, strict=True):
        name = str(column.name)
        default, reason = _default_purpose(column)
        if role not in FEATURE_ROLES:
            chosen.append(None)
            why.append("")
        elif name in purposes:
            chosen.append(purposes[name])
            why.append(reason if purposes[name] == default else f"{purposes[name]}: chosen by you")
        else:
            chosen.append(default)
            why.append(reason)
    return pd.DataFrame(
        {
            "column": [str(c.name) for c in schema.columns],
            "role": roles,
            "reason": [c.reason for c in schema.columns],
            "purpose": chosen,
            "purpose_reason": why,
        }
    )


def _default_purpose(column) -> tuple[str, str]:
    """A column's purpose and reason when the user leaves it alone."""
    if column.purpose is not None:
        return column.purpose, column.purpose_reason
    return default_purpose(column.name)


def outliers_table(model: SegmentationModel) -> pd.DataFrame:
    """The customers a fitted model left out of its fit, and why, for showing.

    Returns
    -------
    DataFrame
        ``Row`` (1-based, as in the file), the id column when the model has one,
        ``How far`` (distance in units of the screen's threshold) and ``Why``; empty when
        nobody was left out (or the model predates the record).
    """
    table = getattr(model, "outliers_", None)
    if table is None or table.empty:
        return pd.DataFrame(columns=["Row", "How far", "Why"])
    out = pd.DataFrame({"Row": table["row"].to_numpy() + 1})
    if "id" in table:
        out[str(model.schema_.id_column or "id")] = table["id"].astype(str).to_numpy()
    out["How far"] = table["score"].map(lambda v: f"{v:.1f} x the threshold").to_numpy()
    out["Why"] = table["reason"].to_numpy()
    return out


def outlier_note(model: SegmentationModel) -> str:
    """What the outlier screen of a fitted model did, in a sentence."""
    screen = getattr(model, "outlier_screen_", None)
    if not screen:
        return ""
    return f"Outlier screen: {screen['note']}."


def changed_purposes(edited: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """The purposes the user changed in a :func:`roles_table`: ``{column: purpose}``, for
    ``SegmentationModel(purposes=...)``. Only feature columns have one."""
    specs = {str(c.name): c for c in schema.columns}
    changed = {}
    for name, role, purpose in zip(
        edited["column"], edited["role"], edited["purpose"], strict=True
    ):
        name = str(name)
        if role in FEATURE_ROLES and purpose and purpose != _default_purpose(specs[name])[0]:
            changed[name] = str(purpose)
    return changed


def every_column_segments(schema: Schema) -> dict[str, str]:
    """``{column: "segment"}`` for every describing column: segmenting on demographics
    and outcome flags too, in one choice."""
    return {name: "segment" for name in schema.descriptors}


def column_kind(values: pd.Series) -> str:
    """What a column holds, in words: number, whole number, date, yes/no or text."""
    if pd.api.types.is_bool_dtype(values):
        return "yes/no"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_integer_dtype(values):
        return "whole number"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    return "text"


def column_kinds(df: pd.DataFrame) -> dict[str, str]:
    """:func:`column_kind` of every column, by column name."""
    return {str(c): column_kind(df[c]) for c in df.columns}


def changed_roles(edited: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """The roles the user changed in a :func:`roles_table`: ``{column: role}``.

    Only changes are returned, so columns the user left alone keep the inferred role
    and its reason (and the log scale chosen for skewed numbers).
    """
    inferred = {str(c.name): c.role for c in schema.columns}
    return {
        str(name): str(role)
        for name, role in zip(edited["column"], edited["role"], strict=True)
        if role and inferred.get(str(name)) != role
    }


# --------------------------------------------------------------------------------------
# The k sweep
# --------------------------------------------------------------------------------------


def sweep_frame(sweep: Sweep | Mapping) -> tuple[pd.DataFrame, int]:
    """A sweep (object or its metadata dict) as a table of metrics per k, and the chosen k."""
    if isinstance(sweep, Sweep):
        sweep = sweep.to_dict()
    table = pd.DataFrame(sweep["metrics"])
    candidates = (sweep.get("k_choice") or {}).get("candidates")
    if candidates:  # versions saved before the choice of k had evidence lack them
        evidence = pd.DataFrame(candidates)[["k", "prediction_strength", "stability"]]
        table = table.merge(evidence, on="k", how="left")
    table = table.sort_values("k").reset_index(drop=True)
    return table, int(sweep["recommended_k"])


def _from_zero(values: pd.Series) -> list[float]:
    """An axis range from 0 (or the lowest value, if negative) to a little above the top."""
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return [0.0, 1.0]
    low, high = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
    pad = 0.08 * (high - low) or 1.0
    return [low - (pad if low < 0 else 0.0), high + pad]


def sweep_chart(sweep: Sweep | Mapping) -> go.Figure:
    """Elbow (inertia), silhouette, Davies-Bouldin and stability (prediction strength)
    against k, the recommended k marked; every y axis starts at zero.

    Parameters
    ----------
    sweep : Sweep or dict
        A :class:`segmentation.modeling.selection.Sweep` or its ``to_dict()`` form (as kept in
        a version's metadata).

    Returns
    -------
    Figure
        Small charts side by side (stability only when the sweep has it); a dashed line
        and a larger orange marker show the recommended k on each.
    """
    table, best = sweep_frame(sweep)
    panels = (
        ("inertia", "Elbow: inertia (lower is tighter)", ",.0f"),
        ("silhouette", "Silhouette (higher is better)", ".3f"),
        ("davies_bouldin", "Davies-Bouldin (lower is better)", ".3f"),
    )
    if "prediction_strength" in table:
        panels += (("prediction_strength", "Stability: prediction strength", ".2f"),)
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[1] for p in panels], horizontal_spacing=0.06
    )
    chosen = table[table["k"] == best]
    for col, (metric, title, fmt) in enumerate(panels, start=1):
        fig.add_trace(
            go.Scatter(
                x=table["k"],
                y=table[metric],
                mode="lines+markers",
                line={"color": PRIMARY},
                name=title,
                showlegend=False,
                hovertemplate=f"k = %{{x}}: %{{y:{fmt}}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=chosen["k"],
                y=chosen[metric],
                mode="markers",
                marker={"color": ACCENT, "size": 13, "line": {"color": "white", "width": 2}},
                name=f"Recommended k = {best}",
                showlegend=col == 1,
                hovertemplate=f"Recommended k = %{{x}}: %{{y:{fmt}}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_vline(x=best, line_dash="dash", line_color=ACCENT, row=1, col=col)
        fig.update_xaxes(title_text="Number of segments (k)", dtick=1, row=1, col=col)
        # From zero, so a small difference between k does not look like a large one. The
        # range is set, not left to rangemode: in the page the silhouette axis started at
        # 0.28 all the same.
        fig.update_yaxes(
            tickformat="," if metric == "inertia" else ".2f",
            rangemode="tozero",
            range=[0, 1.05] if metric == "prediction_strength" else _from_zero(table[metric]),
            row=1,
            col=col,
        )
    if "prediction_strength" in table:
        fig.add_hline(y=PS_THRESHOLD, line_dash="dot", line_color="grey", row=1, col=len(panels))
    fig.update_yaxes(title_text="Inertia", row=1, col=1)
    fig.update_yaxes(title_text="Silhouette", row=1, col=2)
    fig.update_yaxes(title_text="Davies-Bouldin", row=1, col=3)
    fig.update_annotations(font_size=13)
    _style(fig, height=340)
    fig.update_layout(margin={"t": 40}, legend={"orientation": "h", "y": -0.3, "x": 0})
    return fig


# --------------------------------------------------------------------------------------
# One customer: form fields and the comparison with the segment
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureStats:
    """What the training customers looked like, per model feature.

    Attributes
    ----------
    numeric : DataFrame
        Indexed by numeric feature (date features as days before the reference date):
        ``min``, ``max``, ``median``, ``mean``, ``std`` (float) and ``integer`` (bool).
    categories : dict
        ``{categorical feature: values seen in training, most common first}``.
    segment_means : DataFrame
        Indexed by cluster, one column per numeric feature.
    segment_modes : DataFrame
        Indexed by cluster, the most common value of each categorical feature.
    overall_modes : dict
        ``{categorical feature: most common value}``.
    typical_distance : dict
        ``{cluster: median distance of its customers to the segment centre}``; empty
        when the training customers were not available.
    roles : dict
        ``{feature: role}``.
    reference_date : str or None
    """

    numeric: pd.DataFrame
    categories: dict[str, list[str]]
    segment_means: pd.DataFrame
    segment_modes: pd.DataFrame
    overall_modes: dict[str, str]
    typical_distance: dict[int, float]
    roles: dict[str, str]
    reference_date: str | None = None


def feature_stats(model: SegmentationModel, training: pd.DataFrame | None) -> FeatureStats:
    """Ranges, typical values and segment averages of a model's features.

    Parameters
    ----------
    model : SegmentationModel
        A fitted model.
    training : DataFrame or None
        Its training customers labeled by :meth:`SegmentationModel.predict` (with the
        ``cluster`` and ``cluster_distance`` columns), e.g. ``ui.labeled_training_data``.
        ``None`` falls back to the segment profiles kept in the model (no ranges then).

    Returns
    -------
    FeatureStats
    """
    schema = model.schema_
    roles = {f: schema.spec(f).role for f in schema.features}
    if training is None:
        return _stats_from_profiles(model, roles)
    features, _ = prepare_features(training, schema, allow_missing=True)
    clusters = training["cluster"].to_numpy()
    numeric = features[schema.numeric]
    rows = {}
    for name in schema.numeric:
        values = numeric[name].dropna()
        if values.empty:
            rows[name] = dict.fromkeys(("min", "max", "median", "mean", "std"), np.nan)
            rows[name]["integer"] = False
            continue
        rows[name] = {
            "min": float(values.min()),
            "max": float(values.max()),
            "median": float(values.median()),
            "mean": float(values.mean()),
            "std": float(values.std(ddof=0)),
            "integer": bool(np.all(values.to_numpy() == np.round(values.to_numpy()))),
        }
    categories, overall_modes = {}, {}
    for name in schema.categorical:
        counts = features[name].value_counts()
        categories[name] = [str(v) for v in counts.index]
        overall_modes[name] = categories[name][0] if len(counts) else ""
    grouped = features.assign(_cluster=clusters).groupby("_cluster")
    segment_means = grouped[schema.numeric].mean() if schema.numeric else pd.DataFrame()
    segment_modes = (
        grouped[schema.categorical].agg(lambda s: s.mode().iloc[0] if s.notna().any() else "")
        if schema.categorical
        else pd.DataFrame()
    )
    typical = {}
    if "cluster_distance" in training:
        medians = training.groupby("cluster")["cluster_distance"].median()
        typical = {int(c): float(d) for c, d in medians.items()}
    return FeatureStats(
        numeric=pd.DataFrame.from_dict(rows, orient="index"),
        categories=categories,
        segment_means=segment_means,
        segment_modes=segment_modes,
        overall_modes=overall_modes,
        typical_distance=typical,
        roles=roles,
        reference_date=schema.reference_date,
    )


def _stats_from_profiles(model: SegmentationModel, roles: dict[str, str]) -> FeatureStats:
    """Approximate stats from the profiles, for a version whose training data is gone."""
    schema = model.schema_
    profiles = model.profiles_
    sizes = np.array([p.size for p in profiles], dtype=float)
    weights = sizes / sizes.sum() if sizes.sum() else np.full(len(sizes), 1 / len(sizes))
    means = pd.DataFrame([p.means for p in profiles], index=[p.cluster for p in profiles])
    medians = pd.DataFrame([p.medians for p in profiles], index=[p.cluster for p in profiles])
    rows = {}
    for name in schema.numeric:
        overall = float(np.nansum(means[name].to_numpy() * weights))
        # differences = (segment mean - overall mean) / overall std, so the std follows.
        stds = [
            (p.means[name] - overall) / p.differences[name]
            for p in profiles
            if abs(p.differences.get(name, 0.0)) > 1e-6
        ]
        rows[name] = {
            "min": np.nan,
            "max": np.nan,
            "median": float(np.nansum(medians[name].to_numpy() * weights)),
            "mean": overall,
            "std": float(np.median(stds)) if stds else np.nan,
            "integer": False,
        }
    categories, overall_modes, modes = {}, {}, {}
    for name in schema.categorical:
        shares: dict[str, float] = {}
        for p, w in zip(profiles, weights, strict=True):
            for value, share in p.category_shares.get(name, {}).items():
                if value != MISSING:
                    shares[value] = shares.get(value, 0.0) + share * w
        categories[name] = sorted(shares, key=shares.get, reverse=True)
        overall_modes[name] = categories[name][0] if categories[name] else ""
        modes[name] = {
            p.cluster: max(
                (v for v in p.category_shares.get(name, {}) if v != MISSING),
                key=p.category_shares[name].get,
                default="",
            )
            for p in profiles
        }
    return FeatureStats(
        numeric=pd.DataFrame.from_dict(rows, orient="index"),
        categories=categories,
        segment_means=means[schema.numeric] if schema.numeric else pd.DataFrame(),
        segment_modes=pd.DataFrame(modes),
        overall_modes=overall_modes,
        typical_distance={},
        roles=roles,
        reference_date=schema.reference_date,
    )


@dataclass(frozen=True)
class FormField:
    """One input of the single-customer form.

    Attributes
    ----------
    name : str
        The model's column name (the key of the record passed to ``predict_one``).
    label : str
        Human label.
    kind : {"integer", "number", "date", "category"}
    default : int, float, datetime.date or str
    min_value, max_value : number, date or None
        The range seen in training (None when unknown).
    step : number or None
    options : list of str
        The categories seen in training (``kind == "category"``).
    help : str
    """

    name: str
    label: str
    kind: str
    default: object
    min_value: object = None
    max_value: object = None
    step: object = None
    options: list[str] = field(default_factory=list)
    help: str = ""


def form_fields(stats: FeatureStats) -> list[FormField]:
    """The inputs of the single-customer form, in the model's feature order.

    Numbers start at the training median within the training range; categories list the
    values seen in training, the most common first; dates start at the median date.
    """
    fields = []
    reference = pd.Timestamp(stats.reference_date) if stats.reference_date else None
    for name, role in stats.roles.items():
        label = humanize(name)
        if role == "categorical":
            options = stats.categories.get(name) or [""]
            fields.append(
                FormField(
                    name,
                    label,
                    "category",
                    options[0],
                    options=options,
                    help=f"{len(options):,} values seen in training; the most common is first.",
                )
            )
            continue
        row = stats.numeric.loc[name] if name in stats.numeric.index else None
        if row is None or not np.isfinite(row["median"]):
            fields.append(FormField(name, label, "number", 0.0, step=1.0))
            continue
        if role == "date" and reference is not None:
            # Dates are days before the reference date: the earliest date is the most days.
            def to_date(days: float) -> object:
                return (reference - pd.Timedelta(days=float(days))).date()

            fields.append(
                FormField(
                    name,
                    label,
                    "date",
                    to_date(row["median"]),
                    min_value=to_date(row["max"]) if np.isfinite(row["max"]) else None,
                    max_value=to_date(row["min"]) if np.isfinite(row["min"]) else None,
                    help="Starts at the median date of the training customers.",
                )
            )
            continue
        low, high, median = row["min"], row["max"], row["median"]
        known = np.isfinite(low) and np.isfinite(high)
        span = f"from {fmt_number(low)} to {fmt_number(high)}" if known else "unknown"
        help_text = f"Training customers range {span}; the field starts at the median."
        # A customer may lie beyond the training range (the model labels them all the
        # same, and says so). No floor either: an impossible value (a negative age) is
        # refused with a message by ``predict_one``, where a widget floor would silently
        # keep the previous value.
        floor = None
        if bool(row["integer"]):
            fields.append(
                FormField(
                    name,
                    label,
                    "integer",
                    int(round(median)),
                    min_value=floor,
                    max_value=None,
                    step=1,
                    help=help_text,
                )
            )
        else:
            # The step follows the typical value, not the range: a few extreme customers
            # would otherwise make it jump by thousands.
            scale = max(abs(float(median)), 1.0) if np.isfinite(median) else 1.0
            step = float(10 ** math.floor(math.log10(scale / 20))) if scale >= 20 else 0.1
            fields.append(
                FormField(
                    name,
                    label,
                    "number",
                    round(float(median), 2) if np.isfinite(median) else 0.0,
                    min_value=float(floor) if floor is not None else None,
                    max_value=None,
                    step=step,
                    help=help_text,
                )
            )
    return fields


def customer_comparison(
    model: SegmentationModel, stats: FeatureStats, record: Mapping[str, object], cluster: int
) -> pd.DataFrame:
    """One customer beside their segment's average and the average customer.

    Parameters
    ----------
    model : SegmentationModel
    stats : FeatureStats
        From :func:`feature_stats` for the same model.
    record : dict
        The customer, as passed to :meth:`SegmentationModel.predict_one`.
    cluster : int
        The customer's segment.

    Returns
    -------
    DataFrame
        One row per feature: ``Feature``, ``kind`` ("numeric"/"categorical"),
        ``customer``, ``segment``, ``overall`` (values), ``customer_z``, ``segment_z``
        (numeric features: difference from the average customer in standard
        deviations, NaN when unknown).
    """
    frame = pd.DataFrame({str(k): [v] for k, v in record.items()})
    features, _ = prepare_features(frame, model.schema_, allow_missing=True)
    rows = []
    for name, role in stats.roles.items():
        if role == "categorical":
            segment = (
                stats.segment_modes.loc[cluster, name]
                if name in stats.segment_modes and cluster in stats.segment_modes.index
                else ""
            )
            value = features[name].iloc[0]
            rows.append(
                {
                    "Feature": humanize(name),
                    "kind": "categorical",
                    "customer": "" if pd.isna(value) else str(value),
                    "segment": str(segment),
                    "overall": stats.overall_modes.get(name, ""),
                    "customer_z": np.nan,
                    "segment_z": np.nan,
                }
            )
            continue
        mean = stats.numeric.loc[name, "mean"] if name in stats.numeric.index else np.nan
        std = stats.numeric.loc[name, "std"] if name in stats.numeric.index else np.nan
        value = float(features[name].iloc[0])
        segment = (
            float(stats.segment_means.loc[cluster, name])
            if name in stats.segment_means and cluster in stats.segment_means.index
            else np.nan
        )
        scale = std if np.isfinite(std) and std > 0 else np.nan
        rows.append(
            {
                "Feature": humanize(name) + (" (days ago)" if role == "date" else ""),
                "kind": "numeric",
                "customer": value,
                "segment": segment,
                "overall": mean,
                "customer_z": (value - mean) / scale,
                "segment_z": (segment - mean) / scale,
            }
        )
    return pd.DataFrame(rows)


def comparison_display(comparison: pd.DataFrame) -> pd.DataFrame:
    """A :func:`customer_comparison` as a readable table of text."""

    def show(value: object, kind: str) -> str:
        return fmt_number(value) if kind == "numeric" else str(value or "-")

    return pd.DataFrame(
        {
            "Feature": comparison["Feature"],
            "This customer": [
                show(v, k) for v, k in zip(comparison["customer"], comparison["kind"], strict=True)
            ],
            "Segment average": [
                show(v, k) for v, k in zip(comparison["segment"], comparison["kind"], strict=True)
            ],
            "All customers": [
                show(v, k) for v, k in zip(comparison["overall"], comparison["kind"], strict=True)
            ],
        }
    )


def customer_vs_segment_chart(comparison: pd.DataFrame, segment: str) -> go.Figure:
    """The customer and their segment's average against the average customer.

    Every numeric feature is put on one scale, the difference from the average customer
    in standard deviations, so income and age read alike: 0 is average, +1 is one
    standard deviation above. The hover gives the actual values.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`customer_comparison`.
    segment : str
        The segment's name, for the legend.

    Returns
    -------
    Figure
    """
    shown = comparison[(comparison["kind"] == "numeric") & comparison["customer_z"].notna()]
    shown = shown.iloc[::-1]
    fig = go.Figure()
    for column, name, color, values in (
        ("segment_z", f"{plotly_text(segment)} (average)", SECONDARY, "segment"),
        ("customer_z", "This customer", PRIMARY, "customer"),
    ):
        fig.add_trace(
            go.Bar(
                x=shown[column],
                y=[plotly_text(f) for f in shown["Feature"]],
                orientation="h",
                name=name,
                marker_color=color,
                customdata=np.column_stack(
                    [
                        [fmt_number(v) for v in shown[values]],
                        [fmt_number(v) for v in shown["overall"]],
                    ]
                )
                if len(shown)
                else None,
                hovertemplate=(
                    f"{name}<br>%{{y}}: %{{customdata[0]}} "
                    "(all customers: %{customdata[1]})<br>"
                    "%{x:+.2f} standard deviations from the average<extra></extra>"
                ),
            )
        )
    fig.add_vline(x=0, line_color="#1F2A37", line_width=1)
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    # Symmetric around 0, so above and below average read at a glance.
    reach = np.nanmax(np.abs(shown[["customer_z", "segment_z"]].to_numpy())) if len(shown) else 1
    reach = max(1.0, float(reach) * 1.1) if np.isfinite(reach) else 1.0
    fig.update_xaxes(
        title="Difference from the average customer (standard deviations)",
        zeroline=False,
        tickformat="+.1f",
        range=[-reach, reach],
    )
    fig.update_yaxes(title=None)
    return _style(fig, height=max(260, 48 * len(shown) + 110))


# --------------------------------------------------------------------------------------
# A file of customers
# --------------------------------------------------------------------------------------


def column_check(
    model: SegmentationModel,
    df: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    report: FeatureReport | None = None,
    imputed: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Which of the model's columns a file has, and what is wrong with their values.

    Parameters
    ----------
    model : SegmentationModel
    df : DataFrame
        The uploaded table.
    mapping : dict, optional
        ``{model column: file column}`` matched by hand.
    report : FeatureReport, optional
        From a :class:`~segmentation.modeling.estimator.Prediction` of ``df``: adds empty cells and
        values that are not numbers, with their row numbers.

    Returns
    -------
    table : DataFrame
        One row per model column: ``Model column``, ``Column in the file``, ``Status``,
        ``Empty cells``, ``Not numbers``, and ``First rows with values that are not
        numbers`` when the report found any.
    missing : list of str
        Model columns not found.

    ``imputed`` (``LabelReport.imputed``) marks the missing columns that labeling filled.
    """
    mapping = dict(mapping or {})
    imputed = dict(imputed or {})
    found, missing = table_columns(df, model.schema_, mapping)
    rows = []
    for feature in model.schema_.features:
        column = found.get(feature)
        if column is None:
            status = "Imputed" if feature in imputed else "Missing"
        elif column == feature:
            status = "Found"
        elif mapping.get(feature) == column:
            status = "Matched by hand"
        else:
            status = "Found under another name"
        bad_count, bad_rows = report.bad_values.get(feature, (0, [])) if report else (0, [])
        empty = report.missing_values.get(feature, 0) - bad_count if report else None
        rows.append(
            {
                "Model column": feature,
                "Column in the file": "-" if column is None else str(column),
                "Status": status,
                "Empty cells": "-" if empty is None else fmt_int(max(empty, 0)),
                "Not numbers": "-" if report is None else fmt_int(bad_count),
                "First rows with values that are not numbers": ", ".join(f"{r:,}" for r in bad_rows)
                + (" ..." if bad_count > len(bad_rows) else ""),
            }
        )
    table = pd.DataFrame(rows)
    if report is None or not report.bad_values:
        table = table.drop(columns=["First rows with values that are not numbers"])
    return table, missing


def file_warnings(report: FeatureReport) -> list[str]:
    """The problems of a labeled file worth a warning: values that are not numbers.

    Renamed and hand-matched columns are left out: the column check table shows them.
    """
    return replace(report, renamed={}).warnings()


@dataclass
class LabeledFile:
    """A labeled customer file kept on disk for download, with what labeling found.

    Attributes
    ----------
    path : Path
        The labeled CSV (the input's columns plus ``cluster``, ``segment``,
        ``cluster_distance``); the caller deletes it when done (:meth:`discard`).
    result : LabelReport
        Rows, whether the fast path ran, the validation report, customers per segment.
    preview : DataFrame
        The first rows of the labeled file, labels first.
    """

    path: Path
    result: object
    preview: pd.DataFrame

    def read_bytes(self) -> bytes:
        """The labeled CSV, for a download button (read only when asked)."""
        return self.path.read_bytes()

    def discard(self) -> None:
        """Delete the labeled file."""
        self.path.unlink(missing_ok=True)


def label_upload(
    model: SegmentationModel,
    source: bytes | pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    preview_rows: int = 20,
    impute_missing: bool = False,
    explain: bool = False,
) -> LabeledFile:
    """Label an uploaded file through the command line's entry point (the fast path when
    the file allows), into a temporary CSV rather than memory.

    Parameters
    ----------
    model : SegmentationModel
    source : bytes or DataFrame
        The upload as it came, or a table derived from it (a transaction log's customers).
    mapping : dict, optional
        ``{model column: file column}`` matched by hand.
    progress : callable, optional
        ``progress(fraction, message)``, told how many customers are labeled so far.
    impute_missing : bool, default=False
        Fill model columns missing from the file and ``mapping`` for every customer (see
        :func:`segmentation.modeling.labeling.label_file`); ``result.imputed`` says with what.
    explain : bool, default=False
        Add ``runner_up_segment`` and ``margin`` (``predict --explain``).

    Raises
    ------
    SchemaError
        When model columns are missing from the file and ``mapping`` and
        ``impute_missing`` is false.
    """
    from segmentation.data.read import read_head
    from segmentation.insight.explain import EXPLAIN_COLUMNS
    from segmentation.modeling.labeling import label_file

    with tempfile.NamedTemporaryFile(prefix="labeled-", suffix=".csv", delete=False) as handle:
        path = Path(handle.name)
    try:
        result = label_file(
            model,
            source,
            path,
            mapping=dict(mapping or {}) or None,
            progress=progress,
            impute_missing=impute_missing,
            explain=explain,
        )
        preview = read_head(path, max_bytes=1 << 16).head(preview_rows)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    written = [*LABEL_COLUMNS, *(EXPLAIN_COLUMNS if explain else ())]
    labels = [c for c in written if c in preview.columns]
    preview = preview[[*labels, *preview.columns.drop(labels)]]
    return LabeledFile(path, result, preview)


def segment_mix(counts: Mapping[str, int], segment_names: Mapping[int, str]) -> pd.DataFrame:
    """Customers per segment, every segment listed (zero included).

    Parameters
    ----------
    counts : dict
        ``{segment name: customers}`` (``LabelReport.segment_counts``).
    segment_names : dict
        ``{cluster: name}`` (``SegmentationModel.segment_names``).

    Returns
    -------
    DataFrame
        ``Segment`` (str), ``Customers`` (int), ``Share`` (float, 0 to 1), in cluster order.
    """
    clusters = sorted(segment_names)
    customers = [int(counts.get(segment_names[c], 0)) for c in clusters]
    total = max(sum(customers), 1)
    return pd.DataFrame(
        {
            "Segment": [segment_names[c] for c in clusters],
            "Customers": customers,
            "Share": [n / total for n in customers],
        }
    )


def segment_mix_chart(mix: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Horizontal bars of a :func:`segment_mix`, the first segment on top."""
    shown = mix.iloc[::-1]
    fig = _count_bars(shown["Segment"], shown["Customers"], shown["Share"], digits=1)
    fig.update_xaxes(title="Customers", tickformat=",")
    fig.update_yaxes(title=None)
    return _style(fig, height=max(220, 40 * len(shown) + 90), title=title)


def format_mix(mix: pd.DataFrame) -> pd.DataFrame:
    """A :func:`segment_mix` with counts and shares as text."""
    return pd.DataFrame(
        {
            "Segment": mix["Segment"],
            "Customers": [fmt_int(n) for n in mix["Customers"]],
            "Share": [fmt_share(s) for s in mix["Share"]],
        }
    )


# --------------------------------------------------------------------------------------
# Models side by side, and the model history
# --------------------------------------------------------------------------------------


def model_metadata(
    model: SegmentationModel, data_name: str, data_fingerprint: str | None = None
) -> dict:
    """The metadata a fitted model would be saved with (as far as the pages show it).

    ``data_fingerprint`` (:func:`segmentation.store.frame_fingerprint` of its training
    table) lets :func:`comparison_table` tell whether it saw the active version's data.
    """
    return {
        **model.summary(),
        "version": "new (not saved)",
        "data_name": data_name,
        "created_at": None,
        "sweep": model.sweep_.to_dict() if model.sweep_ else None,
        "params": model.get_params(),
        "data_fingerprint": data_fingerprint,
    }


def _stability_text(stability: Mapping | None) -> str:
    """Overall stability in words with the number, e.g. ``"stable (0.93)"``."""
    if not stability:
        return "-"
    return f"{stability_word(stability['overall'])} ({fmt_metric(stability['overall'])})"


def _algorithm_label(name: object) -> str:
    """The registry's label of an algorithm name (K-Means for versions saved without one)."""
    from segmentation.modeling.algorithms import ALGORITHMS

    algorithm = ALGORITHMS.get(str(name or "kmeans"))
    return algorithm.label if algorithm else str(name)


def _overall(stability: Mapping | None) -> float | None:
    return stability.get("overall") if stability else None


def _verdict_rank(choice: Mapping | None) -> float | None:
    verdict = (choice or {}).get("verdict")
    return {"none": 0.0, "weak": 1.0, "clear": 2.0}.get(verdict) if verdict else None


#: Rows of :func:`comparison_table`: label, metadata key, formatter, and for a measure of
#: quality the direction that is better (+1 higher, -1 lower) and how to read it as a number.
_COMPARED: tuple[tuple[str, str, Callable[[object], str], int, Callable | None], ...] = (
    ("Version", "version", lambda v: str(v or "-"), 0, None),
    ("Method", "algorithm", lambda v: _algorithm_label(v), 0, None),
    ("Segments (k)", "k", fmt_int, 0, None),
    ("Silhouette", "silhouette", fmt_metric, 1, None),
    ("Davies-Bouldin", "davies_bouldin", fmt_metric, -1, None),
    ("Calinski-Harabasz", "calinski_harabasz", fmt_metric, 1, None),
    ("Inertia", "inertia", fmt_metric, -1, None),
    ("Stability", "stability", _stability_text, 1, _overall),
    ("Choice of k", "k_choice", lambda v: (v or {}).get("verdict") or "-", 1, _verdict_rank),
    ("Customers", "n_rows", fmt_int, 0, None),
    ("Used to fit", "n_train_rows", fmt_int, 0, None),
    ("Outliers left out", "n_outliers_removed", fmt_int, 0, None),
    ("Features", "features", lambda v: fmt_int(len(v)) if v else "-", 0, None),
    ("Data", "data_name", lambda v: str(v or "-"), 0, None),
    ("Trained (UTC)", "created_at", lambda v: fmt_datetime(v) or "not saved yet", 0, None),
)


#: Retrain's settings in words, for :func:`stale_settings`.
_SETTING_WORDS = {
    "algorithms": "method",
    "outlier_method": "outlier screen",
    "scaler": "scaling",
    "mode": "way of choosing k",
    "k_range": "range of k",
}


def stale_settings(trained: Mapping | None, current: Mapping, trained_k: int) -> str | None:
    """What makes a trained model shown on Retrain out of date with the settings above it.

    Parameters
    ----------
    trained, current : dict
        The settings the model was trained with and those chosen now: ``algorithms``,
        ``outlier_method``, ``scaler``, ``mode``, ``k`` (None when k is found
        automatically) and ``k_range``.
    trained_k : int
        The k of the model shown.

    Returns
    -------
    str or None
        Sentences such as ``"The result shown is for k = 4, not the slider's k = 6."``;
        None when nothing changed (or ``trained`` is unknown).
    """
    if not trained:
        return None
    sentences = []
    if current.get("k") is not None and current.get("k") != trained_k:
        sentences.append(
            f"The result shown is for k = {trained_k}, not the slider's k = {current['k']}."
        )
    changed = [
        words
        for key, words in _SETTING_WORDS.items()
        if key in trained and _setting(trained.get(key)) != _setting(current.get(key))
    ]
    if changed:
        sentences.append(f"It was trained with another {', '.join(changed)} than chosen above.")
    return " ".join(sentences) or None


def _setting(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def not_comparable(meta_a: Mapping | None, meta_b: Mapping | None) -> str | None:
    """Why two models' quality measures cannot be compared, or None when they can.

    Silhouette, Davies-Bouldin and the rest are measured on a model's own training
    customers in its own scaled space: on other customers, other columns or another
    scaling they describe other data, and a higher number says nothing about which model
    is better.

    Returns
    -------
    str or None
        A clause such as ``"they were trained on different data (1,000 and 800
        customers)"``; None when either model is missing or they saw the same customers
        (same number of rows, same columns, same scaling and, when both are known, the
        same training table fingerprint).
    """
    if not meta_a or not meta_b:
        return None
    rows = meta_a.get("n_rows"), meta_b.get("n_rows")
    if rows[0] != rows[1]:
        return (
            f"they were trained on different data ({fmt_int(rows[0])} and "
            f"{fmt_int(rows[1])} customers)"
        )
    if sorted(meta_a.get("features") or []) != sorted(meta_b.get("features") or []):
        return "they were trained on different columns"
    prints = meta_a.get("data_fingerprint"), meta_b.get("data_fingerprint")
    if all(prints) and prints[0] != prints[1]:
        return "they were trained on different data (same number of customers, other values)"
    scalers = [(m.get("params") or {}).get("scaler") for m in (meta_a, meta_b)]
    if all(scalers) and scalers[0] != scalers[1]:
        return f"their features were scaled differently ({scalers[0]} and {scalers[1]})"
    return None


def _better(
    key: str, direction: int, value_of: Callable | None, meta_a: Mapping, meta_b: Mapping
) -> int | None:
    """0 or 1 for the model that is better on a measure, -1 for a tie, None if unknown."""
    values = [meta.get(key) for meta in (meta_a, meta_b)]
    if value_of is not None:
        values = [value_of(v) for v in values]
    if any(v is None or not np.isfinite(float(v)) for v in values):
        return None
    first, second = (round(float(v) * direction, 6) for v in values)
    if first == second:
        return -1
    return 0 if first > second else 1


def comparison_table(
    meta_a: Mapping | None,
    meta_b: Mapping | None,
    names: Sequence[str] = ("Active model", "New model"),
) -> pd.DataFrame:
    """Two models' metrics side by side, as text (metrics to 3 decimals).

    Parameters
    ----------
    meta_a, meta_b : dict or None
        Version metadata (see :class:`segmentation.store.ModelStore`) or
        :func:`model_metadata`; ``None`` shows dashes (e.g. no active model).
    names : (str, str)
        Column titles.

    Returns
    -------
    DataFrame
        ``Measure``, the two model columns, and ``Which is better``: on each quality
        measure the name of the better model (higher silhouette, lower Davies-Bouldin,
        ...), ``"equal"``, or ``"not comparable"`` when :func:`not_comparable` finds they
        were trained on different data (and for inertia, which always falls as k grows,
        when their k differ); empty on the other rows and when a model is missing.
    """
    reason = not_comparable(meta_a, meta_b)
    rows = []
    for label, key, fmt, direction, value_of in _COMPARED:
        verdict = ""
        if direction and meta_a and meta_b:
            if reason is not None or (key == "inertia" and meta_a.get("k") != meta_b.get("k")):
                verdict = "not comparable"
            else:
                winner = _better(key, direction, value_of, meta_a, meta_b)
                verdict = {None: "-", -1: "equal"}.get(winner) or names[winner]
        rows.append(
            {
                "Measure": label,
                names[0]: fmt(meta_a.get(key)) if meta_a else "-",
                names[1]: fmt(meta_b.get(key)) if meta_b else "-",
                "Which is better": verdict,
            }
        )
    return pd.DataFrame(rows)


def segments_table(meta: Mapping) -> pd.DataFrame:
    """A model's segments from its metadata: ``Segment``, ``Customers``, ``Share`` and
    ``Stability`` (in words with the number; "unknown" for older versions), as text."""
    segments = list(meta.get("segments") or [])
    total = sum(s["size"] for s in segments) or 1
    return pd.DataFrame(
        {
            "Segment": [s["name"] for s in segments],
            "Customers": [fmt_int(s["size"]) for s in segments],
            "Share": [fmt_share(s["size"] / total) for s in segments],
            "Stability": [
                f"{stability_word(s.get('stability'))}"
                + (f" ({fmt_metric(s['stability'])})" if s.get("stability") is not None else "")
                for s in segments
            ],
        }
    )


def history_table(versions: Iterable) -> pd.DataFrame:
    """Every saved version for the model history, newest first.

    Parameters
    ----------
    versions : iterable of VersionInfo
        From :meth:`segmentation.store.ModelStore.list`.

    Returns
    -------
    DataFrame
        ``Version``, ``Active`` (bool), ``Trained (UTC)``, ``Data``, ``Segments``,
        ``Silhouette``, ``Davies-Bouldin`` (text, 3 decimals), ``Customers`` (text),
        ``Trained by``, ``Problem`` (why a damaged version cannot be used, else empty).
    """
    rows = []
    for info in versions:
        meta = info.metadata
        rows.append(
            {
                "Version": info.version,
                "Active": bool(info.active),
                "Trained (UTC)": fmt_datetime(meta.get("created_at")),
                "Trained by": str(meta.get("trained_by") or "-"),
                "Data": str(meta.get("data_name") or "-"),
                "Segments": fmt_int(meta.get("k")),
                "Silhouette": fmt_metric(meta.get("silhouette")),
                "Davies-Bouldin": fmt_metric(meta.get("davies_bouldin")),
                "Customers": fmt_int(meta.get("n_rows")),
                "Problem": getattr(info, "damaged", None) or "",
            }
        )
    columns = [
        "Version",
        "Active",
        "Trained (UTC)",
        "Trained by",
        "Data",
        "Segments",
        "Silhouette",
        "Davies-Bouldin",
        "Customers",
        "Problem",
    ]
    return pd.DataFrame(rows, columns=columns)


#: How the audit log names each action.
AUDIT_ACTIONS = {
    "save": "saved",
    "activate": "activated",
    "rollback": "rolled back to",
    "rename": "renamed a segment of",
    "delete": "deleted",
}


def audit_table(events: Iterable[dict]) -> pd.DataFrame:
    """The store's audit log for the Retrain page, newest first.

    Parameters
    ----------
    events : iterable of dict
        From :meth:`segmentation.store.ModelStore.history` (oldest first).

    Returns
    -------
    DataFrame
        ``Time (UTC)``, ``User``, ``Action``, ``Version``, ``Details``.
    """
    rows = []
    for event in reversed(list(events)):
        details = []
        if event.get("data_name"):
            details.append(f"from {event['data_name']}")
        if event.get("previous"):
            details.append(f"replacing {event['previous']}")
        if event.get("segment") is not None:
            details.append(f"segment {event['segment']} ({', '.join(event.get('changed', []))})")
        rows.append(
            {
                "Time (UTC)": fmt_datetime(event.get("time")),
                "User": str(event.get("user") or "-"),
                "Action": AUDIT_ACTIONS.get(event.get("action"), str(event.get("action"))),
                "Version": str(event.get("version") or "-"),
                "Details": "; ".join(details),
            }
        )
    return pd.DataFrame(rows, columns=["Time (UTC)", "User", "Action", "Version", "Details"])


def version_label(info) -> str:
    """``"v3: 5 segments, customers.csv, 2024-05-01 10:00"`` for a version picker.

    The label does not say which version is active: a picker keeps showing the label it
    was created with, and the active version changes (the history table marks it).
    """
    meta = info.metadata
    if getattr(info, "damaged", None):
        return f"{info.version}: damaged (can be deleted)"
    return (
        f"{info.version}: {fmt_int(meta.get('k'))} segments, "
        f"{meta.get('data_name') or 'unknown data'}, {fmt_datetime(meta.get('created_at'))}"
    )


# --------------------------------------------------------------------------------------
# RFM beside K-Means
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfmView:
    """RFM segment counts of a per-customer table, and their cross-tab with K-Means.

    Attributes
    ----------
    counts : DataFrame
        ``RFM segment``, ``Customers``, ``Share``, ``What to do``, largest first.
    crosstab : DataFrame or None
        RFM segments (rows) x the model's segments (columns), customer counts; None when
        the model cannot label the table (it was trained on other columns).
    """

    counts: pd.DataFrame
    crosstab: pd.DataFrame | None


def rfm_view(customers: pd.DataFrame, model=None) -> RfmView:
    """Score classic RFM on a per-customer table and compare with a model's segments."""
    from segmentation.data.transactions import RFM_SEGMENT_ACTIONS, rfm_crosstab, rfm_scores
    from segmentation.errors import SchemaError

    scored = rfm_scores(customers)
    counts = scored["RFM_Segment"].value_counts()
    table = pd.DataFrame(
        {
            "RFM segment": counts.index.astype(str),
            "Customers": counts.to_numpy(),
            "Share": counts.to_numpy() / max(len(scored), 1),
            "What to do": [RFM_SEGMENT_ACTIONS.get(s, "") for s in counts.index],
        }
    )
    crosstab = None
    if model is not None:
        try:
            labels = model.label(customers).labels["segment"]
        except SchemaError:
            labels = None
        if labels is not None:
            crosstab = rfm_crosstab(scored["RFM_Segment"], labels)
    return RfmView(table, crosstab)


def rfm_segments_chart(counts: pd.DataFrame) -> go.Figure:
    """Horizontal bars of customers per RFM segment, largest on top."""
    shown = counts.iloc[::-1]
    fig = _count_bars(shown["RFM segment"], shown["Customers"], shown["Share"])
    fig.update_xaxes(title="Customers", tickformat=",")
    fig.update_yaxes(title=None)
    return _style(fig, height=max(220, 34 * len(shown) + 90), title="Customers per RFM segment")
