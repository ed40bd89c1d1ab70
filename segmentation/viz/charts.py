"""Segment charts: pure plotly figures, and the small tables and samples they are drawn from.

Every function takes data and returns a figure or a frame; nothing here imports streamlit.
Segments keep one colour everywhere (:func:`segment_colors`), and no chart sends more than
:data:`MAX_POINTS` customers to the browser: point charts draw a sample stratified by
segment (:func:`stratified_sample`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go
from sklearn.decomposition import PCA

from segmentation.insight.profiles import SegmentProfile, humanize, meaning_of, segment_statistics
from segmentation.modeling.features import prepare_features
from segmentation.viz.style import (
    CATEGORY_PALETTE,
    MISSING,
    PALETTE,
    fmt_int,
    fmt_rounded,
    fmt_share,
    plotly_text,
)

#: Most customers a point chart (scatter, box, violin) sends to the browser.
MAX_POINTS = 5_000

SEGMENT = "segment"

_FONT = {"size": 13}


# --------------------------------------------------------------------------------------------
# Colours, samples and tables
# --------------------------------------------------------------------------------------------


def segment_colors(names: Sequence[str]) -> dict[str, str]:
    """Map segment names, given in cluster order, to their fixed colours.

    Parameters
    ----------
    names : sequence of str
        Every segment name of the model in cluster order (cluster 0 first), so a segment
        keeps its colour when a chart shows only some of them.

    Returns
    -------
    dict
        ``{name: "#rrggbb"}``; colours repeat after ``len(PALETTE)`` segments.
    """
    return {str(name): PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


#: Longest segment name a chart shows as a label; longer names end in an ellipsis and are
#: shown whole in the hover.
LABEL_WIDTH = 28


def short_labels(names: Sequence[str], width: int = LABEL_WIDTH) -> list[str]:
    """Segment names cut to ``width`` characters (an ellipsis marks a cut), still unique.

    A chart whose labels are long names loses its plot to them (a donut shrinks to a dot,
    a heatmap to a strip); the full name goes in the hover instead.

    Parameters
    ----------
    names : sequence of str
    width : int, default=28
        At least 8.

    Returns
    -------
    list of str
        Same length and order as ``names``; a name of ``width`` characters or fewer is kept
        as it is; two names that would be cut to the same label get a number (``"...#2"``)
        so that a chart does not merge their bars.

    Raises
    ------
    ValueError
        If ``width`` is below 8.
    """
    if width < 8:
        raise ValueError(f"width must be at least 8, got {width}")
    labels = [str(n) if len(str(n)) <= width else str(n)[: width - 1].rstrip() + "…" for n in names]
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen or labels.count(label) > 1:
            seen[label] = seen.get(label, 0) + 1
            suffix = f" #{seen[label]}"
            labels[i] = label[: width - len(suffix) - 1].rstrip() + "…" + suffix
    return labels


def stratified_sample(
    df: pd.DataFrame, by: str, n: int = MAX_POINTS, random_state: int = 42
) -> pd.DataFrame:
    """At most ``n`` rows of ``df``, sampled within each group of column ``by``.

    Groups keep their share of the rows, except that every group gets at least
    ``n // (4 * n_groups)`` rows (or all of its rows) so that a small segment stays
    visible next to a large one.

    Parameters
    ----------
    df : DataFrame
    by : str
        The grouping column, usually ``"segment"``.
    n : int, default=5000
        Largest number of rows returned.
    random_state : int, default=42

    Returns
    -------
    DataFrame
        ``df`` itself when it has ``n`` rows or fewer, else the sampled rows in their
        original order.

    Raises
    ------
    ValueError
        If ``by`` is not a column of ``df`` or ``n`` is not positive.
    """
    if by not in df.columns:
        raise ValueError(f"column {by!r} is not in the table; its columns are {list(df.columns)}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if len(df) <= n:
        return df
    codes, _ = pd.factorize(df[by], use_na_sentinel=False)
    sizes = np.bincount(codes)
    allocation = _allocate(sizes, n)
    rng = np.random.default_rng(random_state)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    chosen = [
        rng.choice(order[start : start + size], size=take, replace=False)
        for start, size, take in zip(starts, sizes, allocation, strict=True)
        if take
    ]
    return df.iloc[np.sort(np.concatenate(chosen))]


def _allocate(sizes: np.ndarray, n: int) -> np.ndarray:
    """Split ``n < sizes.sum()`` draws over groups: a floor each, the rest by share."""
    floor = np.minimum(sizes, n // (4 * len(sizes)))
    remaining = sizes - floor
    share = remaining * (n - floor.sum()) / remaining.sum()
    allocation = floor + np.floor(share).astype(np.int64)
    # Largest remainders get the draws that rounding down left over.
    left = int(n - allocation.sum())
    allocation[np.argsort(-(share - np.floor(share)), kind="stable")[:left]] += 1
    return np.minimum(allocation, sizes)


def segment_column(model, labeled: pd.DataFrame) -> pd.Categorical:
    """The segment of every row as a categorical whose categories are in cluster order.

    Parameters
    ----------
    model : SegmentationModel
        The fitted model that labeled the rows.
    labeled : DataFrame
        Rows with a ``cluster`` or a ``segment`` column, as ``model.label(...).join``.

    Returns
    -------
    pandas.Categorical
    """
    names = [p.name for p in model.profiles_]
    if "cluster" in labeled.columns:
        return pd.Categorical.from_codes(labeled["cluster"].to_numpy(), categories=names)
    if SEGMENT in labeled.columns:
        return pd.Categorical(labeled[SEGMENT], categories=names)
    raise ValueError("the table has neither a 'cluster' nor a 'segment' column; label it first")


def analysis_frame(model, labeled: pd.DataFrame) -> pd.DataFrame:
    """The model's features of labeled customers, typed for filtering and charts.

    Parameters
    ----------
    model : SegmentationModel
    labeled : DataFrame
        Customers labeled by ``model`` (e.g. its training data with ``cluster`` and
        ``segment`` joined).

    Returns
    -------
    DataFrame
        Numeric features as floats (dates as days before the reference date), categorical
        features as pandas categoricals with missing values as ``"(missing)"`` and values
        ordered from most to least frequent, ``segment`` as a categorical in cluster order,
        and the id column first when the model has one. Same index as ``labeled``.
    """
    # Describing columns are filtered and charted like the segmenting ones.
    schema = model.schema_.with_descriptors()
    features, _ = prepare_features(labeled, schema)
    out = {}
    if schema.id_column and schema.id_column in labeled.columns:
        out[schema.id_column] = labeled[schema.id_column]
    for column in schema.features:
        values = features[column]
        if column in schema.categorical:
            text = values.fillna(MISSING)
            order = text.value_counts().index
            values = pd.Categorical(text, categories=order)
        out[column] = values
    out[SEGMENT] = segment_column(model, labeled)
    return pd.DataFrame(out, index=labeled.index)


#: Slider ends sit at these percentiles, so a handful of extreme customers do not stretch
#: a slider until typical values cannot be told apart; the ends are open (see filter_mask).
SLIDER_PERCENTILES = (0.5, 99.5)


def _slider_bounds(values: np.ndarray) -> tuple[float, float] | None:
    """``(low, high)`` of a numeric column's slider, or None when there is nothing to filter."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = (float(v) for v in np.percentile(values, SLIDER_PERCENTILES))
    if low == high:
        low, high = float(values.min()), float(values.max())
        if low == high:
            return None
    if np.all(values == np.round(values)):
        return float(np.floor(low)), float(np.ceil(high))
    return float(np.floor(low * 100) / 100), float(np.ceil(high * 100) / 100)


def numeric_ranges(df: pd.DataFrame, columns: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Slider bounds of numeric columns: whole numbers when every value is whole.

    The ends are the 0.5th and 99.5th percentiles (:data:`SLIDER_PERCENTILES`); a slider
    pulled to an end keeps every customer beyond it too.

    Returns
    -------
    dict
        ``{column: (low, high)}`` with ``low < high``; columns that are empty or constant
        are left out (there is nothing to filter).
    """
    ranges = {}
    for column in columns:
        values = df[column].to_numpy(dtype=float)
        bounds = _slider_bounds(values)
        if bounds is None:
            continue
        whole = np.all(values[np.isfinite(values)] == np.round(values[np.isfinite(values)]))
        ranges[column] = (int(bounds[0]), int(bounds[1])) if whole else bounds
    return ranges


def category_values(df: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """The values of categorical columns, most frequent first (missing as ``"(missing)"``)."""
    out = {}
    for column in columns:
        values = df[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = [str(v) for v in values.cat.categories]
        else:
            out[column] = [str(v) for v in values.fillna(MISSING).value_counts().index]
    return out


def filter_mask(
    df: pd.DataFrame,
    *,
    segments: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """Which rows pass the filters of the Cluster Analysis page.

    Parameters
    ----------
    df : DataFrame
        A frame from :func:`analysis_frame`.
    segments : sequence of str, optional
        Segments to keep; ``None`` keeps every segment, an empty list none.
    ranges : dict, optional
        ``{numeric column: (low, high)}``, both ends included. An end at or beyond the
        column's slider bound (:func:`numeric_ranges`) is open: customers beyond it stay.
        A range open at both ends filters nothing, so customers with a missing value stay.
    categories : dict, optional
        ``{categorical column: values to keep}`` (``"(missing)"`` keeps missing values).

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    mask = np.ones(len(df), dtype=bool)
    if segments is not None:
        mask &= df[SEGMENT].isin(list(segments)).to_numpy()
    for column, (low, high) in (ranges or {}).items():
        values = df[column].to_numpy(dtype=float)
        bounds = _slider_bounds(values)
        if bounds is not None:
            low = -np.inf if low <= bounds[0] else low
            high = np.inf if high >= bounds[1] else high
        if low == -np.inf and high == np.inf:
            continue
        with np.errstate(invalid="ignore"):
            mask &= (values >= low) & (values <= high)
    for column, keep in (categories or {}).items():
        values = df[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object).fillna(MISSING).astype(str)
        mask &= values.isin(list(keep)).to_numpy()
    return mask


def spend_column(df: pd.DataFrame, columns: Sequence[str] | None = None) -> str | None:
    """The numeric column that holds what customers spent, if the names say so.

    A column qualifies when :func:`segmentation.insight.profiles.meaning_of` reads it as spend,
    its name says total, monetary, spend, revenue or sales, and it is not a score.
    ``columns`` limits the search (to the model's features: an ignored column such as a
    constant ``Z_Revenue`` is not what customers spent).

    Returns
    -------
    str or None
        Totals (``TotalSpend``, ``Monetary``) are preferred over averages (``AvgSpend``).
    """
    candidates = []
    for column in df.columns if columns is None else [c for c in columns if c in df.columns]:
        name = str(column).lower()
        meaning = meaning_of(str(column))
        if meaning is None or meaning[0] != "spend" or "score" in name:
            continue
        if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
            continue
        if not re.search(r"total|monetary|spend|spent|revenue|sales", name):
            continue
        candidates.append((is_average(column), column))
    return min(candidates, key=lambda t: t[0])[1] if candidates else None


def is_average(column: str) -> bool:
    """Whether a column's name says it is an average (``AvgSpend``, ``mean_order``)."""
    return bool(re.search(r"avg|average|mean|per", str(column).lower()))


def summarize_segments(
    df: pd.DataFrame,
    names: Sequence[str],
    *,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    reference: pd.DataFrame | None = None,
) -> list[SegmentProfile]:
    """Profile the segments of some customers (e.g. those passing filters) for the charts.

    Parameters
    ----------
    df : DataFrame
        Rows of :func:`analysis_frame`.
    names : sequence of str
        All segment names in cluster order.
    numeric, categorical : sequence of str
        Features to describe.
    reference : DataFrame, optional
        The customers differences are measured against (default ``df``): standardized
        differences are (segment mean - reference mean) / reference standard deviation,
        and for a category value the same on its 0/1 indicator, as in
        :func:`segmentation.insight.profiles.profile_segments`.

    Returns
    -------
    list of SegmentProfile
        One per segment with at least one row, in cluster order; ``traits`` and
        ``recommendations`` are left empty.
    """
    names = [str(n) for n in names]
    labels = pd.Categorical(df[SEGMENT].astype(str), categories=names).codes
    stats = segment_statistics(
        df,
        labels,
        k=len(names),
        numeric=list(numeric),
        categorical=list(categorical),
        reference=reference,
    )
    sizes = np.bincount(labels[labels >= 0], minlength=len(names))
    return [
        stats.profile(c, name, size=int(sizes[c]), n_rows=len(df), traits=[], recommendations=[])
        for c, name in enumerate(names)
        if sizes[c]
    ]


def most_distinct_features(
    profiles: Sequence[SegmentProfile], features: Sequence[str], n: int = 2
) -> list[str]:
    """The ``n`` features on which segments differ most (spread of standardized differences).

    Parameters
    ----------
    profiles : sequence of SegmentProfile
    features : sequence of str
        Candidates, keys of ``profile.differences``.
    n : int, default=2

    Returns
    -------
    list of str
        In decreasing order of spread; ties keep the order of ``features``.
    """
    spread = {}
    for feature in features:
        values = pd.Series([p.differences.get(feature, np.nan) for p in profiles], dtype=float)
        std = values.std(ddof=0)
        spread[feature] = float(std) if np.isfinite(std) else 0.0
    return sorted(features, key=lambda f: -spread[f])[:n]


def segment_stats_table(labeled_df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Count, mean, median and standard deviation of numeric features, by segment.

    Parameters
    ----------
    labeled_df : DataFrame
        Customers with a ``segment`` column (a categorical keeps cluster order).
    features : sequence of str
        Numeric columns to describe.

    Returns
    -------
    DataFrame
        One row per segment and feature, columns ``Segment``, ``Feature`` (in words),
        ``Customers`` (with a value for that feature), ``Mean``, ``Median`` and
        ``Std. deviation``; segments in cluster order, features in the given order.
    """
    features = list(features)
    columns = ["Segment", "Feature", "Customers", "Mean", "Median", "Std. deviation"]
    if not features or labeled_df.empty:
        return pd.DataFrame(columns=columns)
    grouped = labeled_df.groupby(SEGMENT, observed=True, sort=True)
    parts = []
    for feature in features:
        stats = grouped[feature].agg(["count", "mean", "median", "std"])
        stats.insert(0, "Feature", humanize(feature))
        parts.append(stats)
    # Feature-major after the concat; a stable sort by segment keeps the feature order.
    tidy = pd.concat(parts).reset_index().sort_values(SEGMENT, kind="stable")
    tidy.columns = columns
    tidy["Segment"] = tidy["Segment"].astype(str)
    tidy["Customers"] = tidy["Customers"].astype("int64")
    return tidy.reset_index(drop=True)


def pca_projection(
    model, labeled_df: pd.DataFrame, max_points: int = MAX_POINTS, random_state: int = 42
) -> pd.DataFrame:
    """Place customers on a 2-D map of the model's feature space (PCA on a sample).

    Parameters
    ----------
    model : SegmentationModel
        The fitted model; its preprocessing defines the space.
    labeled_df : DataFrame
        Customers with the model's features and a ``cluster`` or ``segment`` column.
    max_points : int, default=5000
        Largest sample, stratified by segment; PCA is fitted and applied on it.
    random_state : int, default=42

    Returns
    -------
    DataFrame of shape (n_sampled, 3 or 4)
        ``pc1``, ``pc2``, ``segment`` (categorical in cluster order) and the id column
        when the model has one. ``attrs`` holds ``explained_variance_ratio`` (two floats),
        ``n_customers`` (rows of ``labeled_df``) and ``sampled`` (bool).

    Raises
    ------
    SchemaError
        When ``labeled_df`` lacks model features.
    """
    labels = pd.Series(segment_column(model, labeled_df), index=labeled_df.index)
    keyed = labeled_df.assign(**{"_segment_": labels})
    sample = stratified_sample(keyed, "_segment_", max_points, random_state)
    features, _ = prepare_features(sample, model.schema_)
    X = model.preprocess(features)
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=float)
    n_components = min(2, X.shape[1], len(X))
    ratios = [0.0, 0.0]
    coords = np.zeros((len(X), 2))
    if n_components >= 1:
        pca = PCA(n_components=n_components, random_state=random_state)
        coords[:, :n_components] = pca.fit_transform(X)
        ratios[:n_components] = [float(r) for r in pca.explained_variance_ratio_]
    out = pd.DataFrame(
        {"pc1": coords[:, 0], "pc2": coords[:, 1], SEGMENT: sample["_segment_"].array},
        index=sample.index,
    )
    id_column = model.schema_.id_column
    if id_column and id_column in sample.columns:
        out[id_column] = sample[id_column].to_numpy()
    out.attrs = {
        "explained_variance_ratio": tuple(ratios),
        "n_customers": len(labeled_df),
        "sampled": len(sample) < len(labeled_df),
    }
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _layout(fig: go.Figure, **kwargs) -> go.Figure:
    """House style: white background, readable font, legend on top, thousands separators."""
    settings = {
        "template": "plotly_white",
        "font": _FONT,
        "separators": ".,",
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
        "hoverlabel": {"namelength": -1},
    }
    settings.update(kwargs)
    fig.update_layout(**settings)
    return fig


def _profile_colors(profiles: Sequence[SegmentProfile]) -> dict[str, str]:
    return {p.name: PALETTE[p.cluster % len(PALETTE)] for p in profiles}


def _frame_colors(df: pd.DataFrame, colors: Mapping[str, str] | None) -> dict[str, str]:
    """Colours for the segments of a frame: its categories' order is the cluster order."""
    if colors is not None:
        return dict(colors)
    return segment_colors(_segment_order(df[SEGMENT]))


def _segment_order(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return sorted(str(v) for v in values.dropna().unique())


def _present_segments(df: pd.DataFrame) -> list[str]:
    """Segments with rows in ``df``, in cluster order."""
    present = set(df[SEGMENT].astype(str).unique())
    return [s for s in _segment_order(df[SEGMENT]) if s in present]


def _category_label(feature: str) -> str:
    """``"Region = East"`` -> ``"Region: East"``; numeric names in words."""
    column, sep, value = feature.partition(" = ")
    return f"{humanize(column)}: {value}" if sep else humanize(feature)


def _check_columns(df: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"column(s) {', '.join(map(repr, missing))} not in the table; "
            f"its columns are {list(df.columns)}"
        )


def segment_sizes_bar(profiles: Sequence[SegmentProfile]) -> go.Figure:
    """Horizontal bars of customers per segment, labeled with count and share.

    Parameters
    ----------
    profiles : sequence of SegmentProfile
        In cluster order (e.g. ``model.profiles_``).

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace; segments top to bottom in cluster order, labeled with
        :func:`short_labels` (the full name in the hover).
    """
    colors = _profile_colors(profiles)
    names = [p.name for p in profiles]
    fig = go.Figure(
        go.Bar(
            x=[p.size for p in profiles],
            y=[plotly_text(n) for n in short_labels(names)],
            customdata=[plotly_text(n) for n in names],
            orientation="h",
            marker_color=[colors[n] for n in names],
            text=[f"{fmt_int(p.size)} ({fmt_share(p.share)})" for p in profiles],
            textposition="auto",
            cliponaxis=False,
            hovertemplate="%{customdata}<br>%{x:,} customers<extra></extra>",
        )
    )
    _layout(fig, height=max(220, 70 + 42 * len(profiles)), showlegend=False)
    fig.update_xaxes(title="Customers", tickformat=",")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


#: Height in pixels of the donut's plot area, and of one legend line below it.
DONUT_SIZE = 300
LEGEND_ROW = 21


def segment_sizes_donut(profiles: Sequence[SegmentProfile]) -> go.Figure:
    """A donut of segment shares with the number of customers in the middle.

    Parameters
    ----------
    profiles : sequence of SegmentProfile

    Returns
    -------
    plotly.graph_objects.Figure
        One pie trace with a hole, slices clockwise in cluster order. The legend (one
        :func:`short_labels` label a line, the full name in the hover) sits below the
        donut in a margin of its own, so the donut keeps :data:`DONUT_SIZE` pixels however
        many and however long the names are.
    """
    colors = _profile_colors(profiles)
    total = sum(p.size for p in profiles)
    names = [p.name for p in profiles]
    legend_height = 24 + LEGEND_ROW * len(profiles)
    fig = go.Figure(
        go.Pie(
            labels=[plotly_text(n) for n in short_labels(names)],
            customdata=[plotly_text(n) for n in names],
            values=[p.size for p in profiles],
            hole=0.55,
            domain={"x": [0, 1], "y": [0, 1]},
            sort=False,
            direction="clockwise",
            marker={"colors": [colors[p.name] for p in profiles]},
            textinfo="percent",
            texttemplate="%{percent:.1%}",
            hovertemplate="%{customdata}<br>%{value:,} customers (%{percent:.1%})<extra></extra>",
        )
    )
    _layout(
        fig,
        height=DONUT_SIZE + 20 + legend_height,
        margin={"l": 10, "r": 10, "t": 20, "b": legend_height},
        showlegend=True,
        legend={
            "orientation": "v",
            "x": 0,
            "xanchor": "left",
            "y": -0.02,
            "yanchor": "top",
            "title": None,
        },
        annotations=[
            {
                "text": f"<b>{fmt_int(total)}</b><br>customers",
                "showarrow": False,
                "font": {"size": 15},
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
            }
        ],
    )
    return fig


def _points(
    df: pd.DataFrame,
    x: str,
    y: str,
    colors: Mapping[str, str],
    hover: str,
    customdata: str | None = None,
) -> list[go.Scattergl]:
    """One WebGL marker trace per segment, in cluster order (legend: :func:`short_labels`,
    hover: the full name)."""
    traces = []
    present = _present_segments(df)
    for segment, label in zip(present, short_labels(present), strict=True):
        rows = df[df[SEGMENT].astype(str) == segment]
        traces.append(
            go.Scattergl(
                x=rows[x].to_numpy(),
                y=rows[y].to_numpy(),
                mode="markers",
                name=plotly_text(label),
                marker={"color": colors.get(segment), "size": 6, "opacity": 0.7},
                customdata=rows[customdata].astype(str).map(plotly_text).to_numpy()
                if customdata
                else None,
                hovertemplate=f"<b>{plotly_text(segment)}</b><br>{hover}<extra></extra>",
            )
        )
    return traces


def pca_scatter(
    points_df: pd.DataFrame,
    *,
    max_points: int = MAX_POINTS,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """The customer map: the 2-D PCA projection, one colour per segment (WebGL).

    Parameters
    ----------
    points_df : DataFrame
        From :func:`pca_projection`: ``pc1``, ``pc2``, ``segment`` and maybe an id column
        (any fourth column is shown on hover); ``attrs["explained_variance_ratio"]`` puts
        the share of variance in the axis titles.
    max_points : int, default=5000
        Larger inputs are sampled, stratified by segment.
    colors : dict, optional
        ``{segment: colour}``; default from the categories of ``segment``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Scattergl`` trace per segment present.
    """
    _check_columns(points_df, "pc1", "pc2", SEGMENT)
    ratios = points_df.attrs.get("explained_variance_ratio", (None, None))
    shown = stratified_sample(points_df, SEGMENT, max_points)
    extra = [c for c in shown.columns if c not in ("pc1", "pc2", SEGMENT)]
    id_column = extra[0] if extra else None
    hover = f"{plotly_text(humanize(id_column))} %{{customdata}}" if id_column else ""
    fig = go.Figure(
        _points(shown, "pc1", "pc2", _frame_colors(points_df, colors), hover, id_column)
    )

    def title(i: int) -> str:
        ratio = ratios[i] if i < len(ratios) else None
        suffix = f" ({fmt_share(ratio, 0)} of the variation)" if ratio is not None else ""
        return f"Principal component {i + 1}{suffix}"

    _layout(fig, height=520)
    fig.update_xaxes(title=title(0), zeroline=False, showticklabels=False)
    fig.update_yaxes(title=title(1), zeroline=False, showticklabels=False)
    return fig


def radar_chart(
    profiles: Sequence[SegmentProfile],
    features: Sequence[str],
    *,
    scale_on: Sequence[SegmentProfile] = (),
) -> go.Figure:
    """Compare segment profiles on a radar: each segment's mean, scaled 0-1 per feature.

    0 is the lowest mean of a feature among all segments, 1 the highest; the hover shows
    the real means. "All segments" are ``profiles`` and ``scale_on`` together, so a page
    that shows a few segments passes every segment as ``scale_on`` and a segment keeps its
    shape when it is shown alone (scaled on itself, one segment would be a regular polygon).

    Parameters
    ----------
    profiles : sequence of SegmentProfile
        The segments drawn.
    features : sequence of str
        Numeric features (keys of ``profile.means``), at least one.
    scale_on : sequence of SegmentProfile, optional
        More segments that set the 0 and 1 of each spoke without being drawn (e.g. the
        model's ``profiles_``).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Scatterpolar`` trace per segment, named with :func:`short_labels`; the legend
        sits below the radar so that it never covers a spoke.

    Raises
    ------
    ValueError
        When ``features`` is empty.
    """
    features = list(features)
    if not features:
        raise ValueError("a radar chart needs at least one numeric feature")

    def table(group: Sequence[SegmentProfile]) -> pd.DataFrame:
        return pd.DataFrame(
            [[p.means.get(f, np.nan) for f in features] for p in group],
            index=[p.name for p in group],
            columns=features,
            dtype=float,
        )

    means = table(profiles)
    everyone = pd.concat([means, table(scale_on)]) if scale_on else means
    low, high = everyone.min(), everyone.max()
    span = (high - low).replace(0, np.nan)
    scaled = ((means - low) / span).fillna(0.5)
    theta = [plotly_text(humanize(f)) for f in features]
    colors = _profile_colors(profiles)
    names = [p.name for p in profiles]
    labels = dict(zip(names, short_labels(names), strict=True))
    fig = go.Figure()
    for p in profiles:
        r = scaled.loc[p.name].to_list()
        real = [fmt_rounded(v) for v in means.loc[p.name]]
        fig.add_trace(
            go.Scatterpolar(
                r=r + r[:1],
                theta=theta + theta[:1],
                customdata=real + real[:1],
                name=plotly_text(labels[p.name]),
                fill="toself",
                fillcolor=_with_alpha(colors[p.name], 0.12),
                line={"color": colors[p.name], "width": 2.5},
                marker={"size": 6},
                hovertemplate=f"<b>{plotly_text(p.name)}</b><br>%{{theta}}: %{{customdata}}"
                "<extra></extra>",
            )
        )
    # The page says what 0 and 1 mean; tick labels on the radial axis would sit on a spoke.
    # The legend goes below, in a margin as tall as its lines: on top, ten long names
    # covered the upper spoke.
    legend_height = 30 + LEGEND_ROW * len(profiles)
    _layout(
        fig,
        height=480 + legend_height,
        margin={"l": 90, "r": 90, "t": 50, "b": legend_height},
        legend={
            "orientation": "v",
            "x": 0,
            "xanchor": "left",
            "y": -0.02,
            "yanchor": "top",
            "title": None,
        },
        polar={
            "radialaxis": {"range": [0, 1.05], "tickvals": [0.5, 1], "showticklabels": False},
            "angularaxis": {"direction": "clockwise", "rotation": 90},
        },
    )
    return fig


def lower_is_better(feature: str) -> bool:
    """Whether a smaller value of a numeric feature is the better one for the business.

    Only recency is read so (days since the last purchase, per
    :func:`segmentation.insight.profiles.meaning_of`): a high value is a customer slipping
    away. A category value (``"column = value"``) has no better side.
    """
    if " = " in feature:
        return False
    meaning = meaning_of(str(feature))
    return meaning is not None and meaning[0] == "recency"


def _with_alpha(color: str, alpha: float) -> str:
    """``"#4C78A8"`` or ``"rgb(76, 120, 168)"`` -> ``"rgba(76, 120, 168, alpha)"``."""
    if color.startswith("#"):
        red, green, blue = pc.hex_to_rgb(color)
    else:
        red, green, blue = pc.unlabel_rgb(color)
    return f"rgba({red:.0f}, {green:.0f}, {blue:.0f}, {alpha})"


def difference_heatmap(
    profiles: Sequence[SegmentProfile], features: Sequence[str] | None = None
) -> go.Figure:
    """Segments x features heatmap of standardized differences from the average customer.

    Parameters
    ----------
    profiles : sequence of SegmentProfile
    features : sequence of str, optional
        Keys of ``profile.differences`` (numeric features and ``"column = value"``);
        default all of them.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Heatmap`` trace, diverging colours centred on 0, each cell annotated with the
        real difference. Blue is the good side: for a column where lower is better
        (:func:`lower_is_better`, e.g. recency) the colour is flipped, the number is not,
        and the column label says "(lower is better)". Segments are labeled with
        :func:`short_labels` (the full name in the hover), so long names do not squeeze
        the cells.
    """
    if features is None:
        features = list(profiles[0].differences) if profiles else []
    features = list(features)
    z = np.array([[p.differences.get(f, np.nan) for f in features] for p in profiles], dtype=float)
    z = np.round(z, 2) + 0.0  # no "-0.00" labels
    flip = np.array([-1.0 if lower_is_better(f) else 1.0 for f in features])
    colour = z * flip if features else z
    finite = np.abs(z[np.isfinite(z)])
    limit = float(np.clip(finite.max(), 0.5, 3.0)) if finite.size else 1.0
    names = [p.name for p in profiles]
    x = [
        plotly_text(_category_label(f)) + (" (lower is better)" if lower_is_better(f) else "")
        for f in features
    ]
    fig = go.Figure(
        go.Heatmap(
            z=colour,
            x=x,
            y=[plotly_text(n) for n in short_labels(names)],
            customdata=[[plotly_text(n)] * len(features) for n in names],
            text=[["" if np.isnan(v) else f"{v:+.2f}" for v in row] for row in z],
            colorscale="RdBu",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            texttemplate="%{text}",
            textfont={"size": 11},
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "Std. devs<br>better (blue) or<br>worse (red)", "side": "top"}
            },
            hovertemplate="%{customdata}<br>%{x}: %{text} standard deviations<extra></extra>",
        )
    )
    _layout(fig, height=max(280, 150 + 46 * len(profiles)))
    fig.update_xaxes(tickangle=-35, automargin=True, side="bottom")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def feature_scatter(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    max_points: int = MAX_POINTS,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """Scatter of two features, one colour per segment (WebGL, sampled to ``max_points``).

    Parameters
    ----------
    df : DataFrame
        Customers with columns ``x``, ``y`` and ``segment``.
    x, y : str
        Numeric columns.
    max_points : int, default=5000
    colors : dict, optional
        ``{segment: colour}``; default from the categories of ``segment``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Scattergl`` trace per segment present.
    """
    _check_columns(df, x, y, SEGMENT)
    shown = stratified_sample(df, SEGMENT, max_points)
    x_title, y_title = plotly_text(humanize(x)), plotly_text(humanize(y))
    hover = f"{x_title}: %{{x:,.2f}}<br>{y_title}: %{{y:,.2f}}"
    fig = go.Figure(_points(shown, x, y, _frame_colors(df, colors), hover))
    _layout(fig, height=480)
    fig.update_xaxes(title=x_title, tickformat=",")
    fig.update_yaxes(title=y_title, tickformat=",")
    return fig


def feature_box(
    df: pd.DataFrame,
    feature: str,
    kind: str = "box",
    *,
    max_points: int = MAX_POINTS,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """Distribution of one feature in each segment, as box plots or violins.

    Parameters
    ----------
    df : DataFrame
        Customers with columns ``feature`` and ``segment``.
    feature : str
        A numeric column.
    kind : {"box", "violin"}, default="box"
    max_points : int, default=5000
        Larger inputs are sampled first, stratified by segment.
    colors : dict, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Box`` or ``Violin`` trace per segment present.

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind not in ("box", "violin"):
        raise ValueError(f"kind must be 'box' or 'violin', got {kind!r}")
    _check_columns(df, feature, SEGMENT)
    shown = stratified_sample(df, SEGMENT, max_points)
    palette = _frame_colors(df, colors)
    fig = go.Figure()
    for segment in _present_segments(shown):
        values = shown.loc[shown[SEGMENT].astype(str) == segment, feature].to_numpy(dtype=float)
        common = {"y": values, "name": plotly_text(segment), "marker_color": palette.get(segment)}
        if kind == "box":
            fig.add_trace(go.Box(**common, boxmean=True, boxpoints="outliers"))
        else:
            fig.add_trace(
                go.Violin(**common, box_visible=True, meanline_visible=True, points=False)
            )
    _layout(fig, height=460, showlegend=False)
    fig.update_yaxes(title=plotly_text(humanize(feature)), tickformat=",")
    fig.update_xaxes(automargin=True)
    return fig


def category_mix_chart(
    df: pd.DataFrame, column: str, *, max_values: int = len(CATEGORY_PALETTE)
) -> go.Figure:
    """Stacked 100% bars: the share of each value of a categorical column in each segment.

    Parameters
    ----------
    df : DataFrame
        Customers with ``column`` and ``segment`` (any size: only counts are drawn).
    column : str
        A categorical column; missing values count as ``"(missing)"``.
    max_values : int, default=21
        The most frequent values get their own colour; the rest are grouped as "Other".

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal ``Bar`` trace per category value.
    """
    _check_columns(df, column, SEGMENT)
    values = df[column].astype(object).where(df[column].notna(), MISSING).astype(str)
    order = values.value_counts().index.tolist()
    if len(order) > max_values:
        keep = set(order[: max_values - 1])
        values = values.where(values.isin(keep), "Other")
        order = order[: max_values - 1] + ["Other"]
    segments = _present_segments(df)
    table = pd.crosstab(df[SEGMENT].astype(str), values, normalize="index")
    table = table.reindex(index=segments, columns=order).fillna(0.0) * 100
    fig = go.Figure()
    for i, value in enumerate(order):
        shares = table[value].to_numpy()
        fig.add_trace(
            go.Bar(
                x=shares,
                y=[plotly_text(s) for s in segments],
                name=plotly_text(value),
                orientation="h",
                marker_color=CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)],
                text=[f"{s:.0f}%" if s >= 5 else "" for s in shares],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"%{{y}}<br>{plotly_text(value)}: %{{x:.1f}}%<extra></extra>",
            )
        )
    _layout(
        fig,
        barmode="stack",
        margin={"l": 10, "r": 30, "t": 40, "b": 10},  # room for the "100%" tick label
        height=max(260, 110 + 44 * len(segments)),
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "title": {"text": plotly_text(humanize(column))},
            "traceorder": "normal",
        },
    )
    fig.update_xaxes(
        range=[0, 100.5],
        tickvals=list(range(0, 101, 20)),
        ticktext=[f"{v}%" for v in range(0, 101, 20)],
        title="Share of the segment",
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def migration_sankey(
    counts: np.ndarray,
    old_names: Sequence[str],
    new_names: Sequence[str],
    *,
    sides: tuple[str, str] = ("Before", "After"),
) -> go.Figure:
    """Where each segment's customers go between two segmentations, as a Sankey diagram.

    Parameters
    ----------
    counts : ndarray of shape (k_old, k_new)
        Customers per old segment x new segment
        (:attr:`segmentation.modeling.matching.Migration.counts`).
    old_names, new_names : sequence of str
        Segment names by id.
    sides : (str, str), default=("Before", "After")
        What each side is, e.g. the version names; shown in the node labels.

    Returns
    -------
    plotly.graph_objects.Figure
        One Sankey trace: old segments on the left, new ones on the right, coloured by
        id, so a segment that keeps its id keeps its colour; each flow has its source's
        colour.
    """
    counts = np.asarray(counts)
    k_old, k_new = counts.shape
    labels = [f"{sides[0]}: {i} {n}" for i, n in enumerate(old_names)]
    labels += [f"{sides[1]}: {j} {n}" for j, n in enumerate(new_names)]
    colors = [PALETTE[i % len(PALETTE)] for i in range(k_old)]
    colors += [PALETTE[j % len(PALETTE)] for j in range(k_new)]
    source, target = np.nonzero(counts)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [plotly_text(t) for t in labels],
                "color": colors,
                "pad": 12,
                "thickness": 16,
                "hovertemplate": "%{label}<br>%{value:,} customers<extra></extra>",
            },
            link={
                "source": source.tolist(),
                "target": (target + k_old).tolist(),
                "value": counts[source, target].tolist(),
                "color": [_with_alpha(colors[s], 0.35) for s in source],
                "hovertemplate": "%{source.label} → %{target.label}<br>"
                "%{value:,} customers<extra></extra>",
            },
        )
    )
    return _layout(fig, height=max(300, 60 + 38 * max(k_old, k_new)))


def dendrogram_chart(merges: np.ndarray, names: Sequence[str]) -> go.Figure:
    """How the segments merge, from the closest pair up to one group (Ward's tree).

    Parameters
    ----------
    merges : ndarray of shape (k - 1, 4)
        A scipy linkage matrix whose leaves are the segment ids
        (``SegmentationModel.segment_merges()``).
    names : sequence of str
        Segment names in cluster order.

    Returns
    -------
    plotly.graph_objects.Figure
        One line trace for the tree, segments down the left (in the tree's order, each
        with a dot of its colour), the merge cost (Ward's increase in within-segment
        spread) along the bottom.
    """
    from scipy.cluster.hierarchy import dendrogram

    tree = dendrogram(np.asarray(merges, dtype=float), no_plot=True)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for icoord, dcoord in zip(tree["icoord"], tree["dcoord"], strict=True):
        xs += [*dcoord, None]
        ys += [*icoord, None]
    leaves = [int(leaf) for leaf in tree["leaves"]]
    positions = [5 + 10 * i for i in range(len(leaves))]
    colors = segment_colors(names)
    labels = [plotly_text(names[leaf]) for leaf in leaves]
    fig = go.Figure(
        [
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": PALETTE[0], "width": 2},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=[0.0] * len(leaves),
                y=positions,
                mode="markers",
                marker={"size": 12, "color": [colors[str(names[leaf])] for leaf in leaves]},
                text=labels,
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            ),
        ]
    )
    _layout(fig, height=max(220, 60 + 40 * len(leaves)))
    fig.update_yaxes(tickvals=positions, ticktext=labels, automargin=True, showgrid=False)
    fig.update_xaxes(title="Merge cost (increase in within-segment spread)", rangemode="tozero")
    return fig
