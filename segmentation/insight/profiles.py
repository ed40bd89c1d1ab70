"""Segment profiles; names and recommendations come from :mod:`segmentation.insight.naming`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from segmentation.data.schema import Schema
from segmentation.insight.naming import (  # humanize is re-exported for the pages
    column_meaning,
    humanize,
    is_money,
    meaning_scores,
    name_segments,
)
from segmentation.viz.style import MISSING, fmt_rounded, fmt_share

#: Added to a trait that comes from a describing column, so nobody reads it as the
#: reason a customer is in the segment.
DESCRIBES_MARK = " (describing column, not used to form segments)"


@dataclass(frozen=True)
class SegmentProfile:
    """Everything known about one segment.

    Attributes
    ----------
    cluster : int
    name : str
        Unique human-readable name, e.g. ``"Premium Big Spenders"``.
    size : int
    share : float
        Fraction of all customers, 0 to 1.
    means, medians : dict
        ``{numeric feature: value}``.
    category_shares : dict
        ``{categorical feature: {value: share}}``.
    differences : dict
        ``{feature: standardized difference}``: (segment mean - overall mean) / overall
        standard deviation; for a category value, the same on its 0/1 indicator.
    traits : list of str
        The strongest differences, in words.
    recommendations : list of str
        2 to 4 marketing actions.
    """

    cluster: int
    name: str
    size: int
    share: float
    means: dict[str, float]
    medians: dict[str, float]
    category_shares: dict[str, dict[str, float]]
    differences: dict[str, float]
    traits: list[str]
    recommendations: list[str]

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return asdict(self)


def meaning_of(column: str) -> tuple[str, int] | None:
    """The business meaning a column's name says, with its direction, or None
    (see :func:`segmentation.insight.naming.column_meaning`)."""
    found = column_meaning(column)
    return None if found is None else (found.meaning, found.sign)


def _format(value: float, column: str) -> str:
    """A column's value in a trait: money (income, spend, balances) without decimals."""
    return fmt_rounded(value, whole=is_money(column))


def profile_segments(
    data: pd.DataFrame,
    labels: np.ndarray,
    schema: Schema,
    *,
    k: int | None = None,
    typical: np.ndarray | None = None,
) -> list[SegmentProfile]:
    """Profile every segment of a labeled table and give each a name and recommendations.

    Parameters
    ----------
    data : DataFrame
        Feature frame from :func:`segmentation.modeling.features.prepare_features` (numeric columns
        as floats, categorical as text), one row per customer.
    labels : ndarray of int, shape (n_rows,)
        Cluster id of every row, 0 to k-1.
    schema : Schema
        Its numeric and categorical columns are profiled: pass
        ``schema.with_descriptors()`` to profile the describing columns too. Traits from
        describing columns are marked (:data:`DESCRIBES_MARK`), and descriptive names use
        them only after the segmenting columns.
    k : int, optional
        Number of clusters (so empty ones still get a profile); defaults to max label + 1.
    typical : ndarray of bool, optional
        Rows that describe the segments (outliers left out); sizes and shares always
        count every row, means, medians and differences only these.

    Returns
    -------
    list of SegmentProfile
        One per cluster id, in id order. Names come from rules over the profile (never
        from the cluster id) and are unique.
    """
    k = int(k if k is not None else labels.max() + 1)
    n_rows = len(data)
    numeric = [c for c in schema.numeric if c in data.columns]
    categorical = [c for c in schema.categorical if c in data.columns]
    labels = np.asarray(labels)
    sizes = np.bincount(labels, minlength=k)
    if typical is not None and typical.any():
        data, labels = data[typical], labels[typical]
    stats = segment_statistics(data, labels, k=k, numeric=numeric, categorical=categorical)

    scores = [meaning_scores(stats.z.loc[c]) for c in range(k)]
    describes = frozenset(schema.descriptors)
    names, recommendations = name_segments(
        scores, stats.z, stats.cat_z, describes=describes, data=data[numeric]
    )
    return [
        stats.profile(
            c,
            names[c],
            size=int(sizes[c]),
            n_rows=n_rows,
            traits=_traits(
                c,
                stats.z,
                stats.means,
                stats.overall_mean,
                stats.shares,
                stats.cat_z,
                describes=describes,
            ),
            recommendations=recommendations[c],
        )
        for c in range(k)
    ]


@dataclass(frozen=True)
class SegmentStatistics:
    """Per-segment numbers behind :class:`SegmentProfile`, indexed by cluster id.

    ``z`` and ``cat_z`` are standardized differences from the reference customers: (segment
    mean - reference mean) / reference standard deviation, and the same on each category
    value's 0/1 indicator.
    """

    numeric: list[str]
    categorical: list[str]
    means: pd.DataFrame
    medians: pd.DataFrame
    overall_mean: pd.Series
    z: pd.DataFrame
    shares: dict[str, pd.DataFrame]
    cat_z: dict[str, pd.DataFrame]

    def profile(
        self,
        c: int,
        name: str,
        *,
        size: int,
        n_rows: int,
        traits: list[str],
        recommendations: list[str],
    ) -> SegmentProfile:
        """The :class:`SegmentProfile` of cluster ``c``."""
        differences = {col: float(self.z.at[c, col]) for col in self.numeric}
        for column in self.categorical:
            for value in self.shares[column].columns:
                differences[f"{column} = {value}"] = float(self.cat_z[column].at[c, value])
        return SegmentProfile(
            cluster=c,
            name=name,
            size=size,
            share=float(size / n_rows) if n_rows else 0.0,
            means={col: _finite(self.means.at[c, col]) for col in self.numeric},
            medians={col: _finite(self.medians.at[c, col]) for col in self.numeric},
            category_shares={
                col: {str(v): float(s) for v, s in self.shares[col].loc[c].items() if s > 0}
                for col in self.categorical
            },
            differences=differences,
            traits=traits,
            recommendations=recommendations,
        )


def segment_statistics(
    data: pd.DataFrame,
    labels: np.ndarray,
    *,
    k: int,
    numeric: list[str],
    categorical: list[str],
    reference: pd.DataFrame | None = None,
) -> SegmentStatistics:
    """Means, medians, category shares and standardized differences of every segment.

    Parameters
    ----------
    data : DataFrame
        The customers to describe (numeric columns as numbers, categorical as text).
    labels : ndarray of int, shape (n_rows,)
        Cluster id of every row, 0 to k-1.
    k : int
    numeric, categorical : list of str
    reference : DataFrame, optional
        The customers differences are measured against (default ``data``), e.g. everyone
        when ``data`` holds only the customers passing some filters.
    """
    reference = data if reference is None else reference
    num = data[numeric].astype(float) if numeric else pd.DataFrame(index=data.index)
    grouped = num.groupby(labels)
    means = grouped.mean().reindex(range(k))
    medians = grouped.median().reindex(range(k))
    ref = reference[numeric].astype(float) if numeric else pd.DataFrame(index=reference.index)
    overall_mean = ref.mean()
    overall_std = ref.std(ddof=0).replace(0, np.nan)
    z = ((means - overall_mean) / overall_std).fillna(0.0)

    shares: dict[str, pd.DataFrame] = {}
    cat_z: dict[str, pd.DataFrame] = {}
    for column in categorical:
        table = pd.crosstab(labels, _category_text(data[column]), normalize="index")
        table = table.reindex(range(k)).fillna(0.0)
        if isinstance(data[column].dtype, pd.CategoricalDtype):
            # Keep the order the categories were given in (e.g. most frequent first).
            order = dict.fromkeys([*map(str, data[column].cat.categories), MISSING])
            table = table[[c for c in order if c in table.columns]]
        overall = _category_text(reference[column]).value_counts(normalize=True)
        overall = overall.reindex(table.columns).fillna(0.0)
        std = np.sqrt(overall * (1 - overall)).replace(0, np.nan)
        shares[column] = table
        cat_z[column] = ((table - overall) / std).fillna(0.0)
    return SegmentStatistics(
        list(numeric), list(categorical), means, medians, overall_mean, z, shares, cat_z
    )


def _category_text(values: pd.Series) -> pd.Series:
    """Category values as text, missing ones as ``"(missing)"``."""
    return values.astype(object).fillna(MISSING).astype(str)


def _finite(value: object) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def _traits(
    c: int,
    z: pd.DataFrame,
    means: pd.DataFrame,
    overall_mean: pd.Series,
    shares: dict[str, pd.DataFrame],
    cat_z: dict[str, pd.DataFrame],
    limit: int = 4,
    describes: frozenset[str] = frozenset(),
) -> list[str]:
    """The segment's strongest differences from the whole population, in words (those of
    describing columns marked with :data:`DESCRIBES_MARK`)."""
    items = []
    for column in z.columns:
        v = float(z.at[c, column])
        if abs(v) >= 0.3:
            direction = "higher" if v > 0 else "lower"
            strength = "much " if abs(v) >= 1 else ""
            items.append(
                (
                    abs(v),
                    f"{humanize(column)} {strength}{direction} than average "
                    f"({_format(means.at[c, column], column)} vs "
                    f"{_format(overall_mean[column], column)})"
                    + (DESCRIBES_MARK if column in describes else ""),
                )
            )
    for column, table in cat_z.items():
        row = table.loc[c]
        value = row.idxmax() if len(row) else None
        if value is not None and row[value] >= 0.5:
            share = shares[column].at[c, value]
            mark = DESCRIBES_MARK if column in describes else ""
            items.append(
                (float(row[value]), f"{fmt_share(share, 0)} {value} ({humanize(column)}){mark}")
            )
    items.sort(key=lambda t: -t[0])
    return [text for _, text in items[:limit]] or ["Close to the average customer on every feature"]
