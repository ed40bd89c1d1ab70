"""Segment profiles, and rule-based segment names and marketing recommendations."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from segmentation.data.rules import normalize_name
from segmentation.data.schema import Schema
from segmentation.viz.style import MISSING, fmt_rounded, fmt_share

#: Meanings recognised from column names: (meaning, sign, name fragments). A sign of -1
#: means the column grows the opposite way (a later birth year is a younger customer).
#: A fragment in angle brackets must be a whole word ("age", not "average").
_MEANINGS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("recency", 1, ("recency", "dayssince", "lastpurchase", "lastorder", "inactive")),
    ("age", -1, ("yearbirth", "birthyear", "yearofbirth")),
    ("age", 1, ("<age>",)),
    ("income", 1, ("income", "salary", "wage", "earning")),
    (
        "frequency",
        1,
        (
            "frequency",
            "freq",
            "numpurchases",
            "purchases",
            "orders",
            "transactions",
            "visits",
            "numorders",
        ),
    ),
    (
        "spend",
        1,
        (
            "spend",
            "spent",
            "monetary",
            "revenue",
            "sales",
            "amount",
            "mnt",
            "ordervalue",
            "aov",
            "basket",
            "spendingscore",
            "totalspend",
        ),
    ),
    ("tenure", 1, ("tenure", "membersince", "dtcustomer", "customersince", "seniority")),
)

#: Rule-based archetypes, tried for every segment: name, score function over the
#: segment's meaning scores (standardized differences), 2-4 recommendations. A
#: segment takes the best-scoring archetype no other segment scores higher on; the
#: first :data:`_N_SPECIFIC` archetypes (combinations of signals, and lapsing) are
#: handed out before the single-signal ones.
_ARCHETYPES: tuple[tuple[str, object, tuple[str, ...]], ...] = (
    (
        "Lapsed Customers",
        lambda s: s["recency"] if s["recency"] >= 0.8 else 0,
        (
            "Run a win-back campaign with a time-limited incentive",
            "Ask why they left with a short survey and fix the top reason",
            "Suppress them from full-price campaigns to cut wasted spend",
        ),
    ),
    (
        "Premium Big Spenders",
        lambda s: s["spend"] + s["income"] if s["spend"] >= 0.5 and s["income"] >= 0.5 else 0,
        (
            "Enrol them in a VIP or loyalty tier with exclusive perks",
            "Offer early access to new and premium products",
            "Assign account care and personal recommendations",
            "Protect the relationship: watch for any drop in activity",
        ),
    ),
    (
        "Young Frequent Buyers",
        lambda s: s["frequency"] - s["age"] if s["age"] <= -0.7 and s["frequency"] >= 0.5 else 0,
        (
            "Reach them on mobile and social channels",
            "Use bundles and volume discounts to grow basket size",
            "Reward streaks with a points programme",
        ),
    ),
    (
        "Affluent Occasional Buyers",
        lambda s: (
            s["income"] - s["frequency"]
            if s["income"] >= 0.5 and s["frequency"] <= -0.2 and s["spend"] < 0.5
            else 0
        ),
        (
            "Send curated premium selections rather than discounts",
            "Remind them on occasions and seasons to buy more often",
            "Highlight quality, service and guarantees",
        ),
    ),
    (
        "Budget-Conscious Shoppers",
        lambda s: (
            -s["spend"] - min(s["income"], 0) if s["spend"] <= -0.4 and s["income"] <= 0.2 else 0
        ),
        (
            "Lead with value: promotions, coupons and price-match messages",
            "Promote the value range and multi-buy offers",
            "Nudge to the next tier with free-shipping thresholds",
        ),
    ),
    (
        "Big Spenders",
        lambda s: s["spend"] if s["spend"] >= 0.6 else 0,
        (
            "Reward them with loyalty perks and thank-you offers",
            "Cross-sell complementary premium items",
            "Watch for any drop in activity and act early",
        ),
    ),
    (
        "Frequent Loyal Buyers",
        lambda s: s["frequency"] if s["frequency"] >= 0.6 else 0,
        (
            "Recognise their loyalty with points and member pricing",
            "Ask for reviews and referrals",
            "Upsell to higher-value items",
        ),
    ),
    (
        "Recently Active Customers",
        lambda s: -s["recency"] if s["recency"] <= -0.6 else 0,
        (
            "Follow up on their recent purchase with related products",
            "Invite them into the loyalty programme while engaged",
        ),
    ),
    (
        "Young Shoppers",
        lambda s: -s["age"] if s["age"] <= -0.8 else 0,
        (
            "Reach them on mobile and social channels",
            "Test trend-led products and creator partnerships",
        ),
    ),
    (
        "Mature Customers",
        lambda s: s["age"] if s["age"] >= 0.8 else 0,
        (
            "Use clear, service-led messaging and email",
            "Emphasise reliability, quality and easy returns",
        ),
    ),
    (
        "Occasional Shoppers",
        lambda s: -s["frequency"] if s["frequency"] <= -0.5 else 0,
        ("Send reminders and replenishment prompts", "Give a first-repeat-purchase incentive"),
    ),
    (
        "Long-Standing Customers",
        lambda s: s["tenure"] if s["tenure"] >= 0.8 else 0,
        ("Thank them for their loyalty with anniversary offers", "Invite them to refer friends"),
    ),
)

_N_SPECIFIC = 5

#: Added to a trait that comes from a describing column, so nobody reads it as the
#: reason a customer is in the segment.
DESCRIBES_MARK = " (describing column, not used to form segments)"

_GENERIC_RECOMMENDATIONS = (
    "Test a tailored offer on this segment against a control group",
    "Track its size and spend month by month to see it move",
)


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


def humanize(name: str) -> str:
    """Column name in words: ``"SpendingScore"`` -> ``"Spending Score"``."""
    text = re.sub(r"[_\-.]+", " ", str(name))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    words = text.split()
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in words) or str(name)


def meaning_of(column: str) -> tuple[str, int] | None:
    """The business meaning a column's name says, with its direction, or None."""
    normalized = normalize_name(column)
    words = set(humanize(column).lower().split())
    for meaning, sign, fragments in _MEANINGS:
        for fragment in fragments:
            whole = fragment.startswith("<")
            if (fragment.strip("<>") in words) if whole else (fragment in normalized):
                return meaning, sign
    return None


def _format(value: float, column: str) -> str:
    """A column's value in a trait: money (income, spend) without decimals."""
    meaning = meaning_of(column)
    money = (
        meaning is not None and meaning[0] in ("income", "spend") and "score" not in column.lower()
    )
    return fmt_rounded(value, whole=money)


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

    meaning_scores = [
        _meaning_scores(stats.z.loc[c]) if numeric else _empty_scores() for c in range(k)
    ]
    describes = frozenset(schema.descriptors)
    names, recommendations = _name_segments(meaning_scores, stats.z, stats.cat_z, describes)
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


def _empty_scores() -> dict[str, float]:
    return {meaning: 0.0 for meaning, _, _ in _MEANINGS}


def _meaning_scores(z_row: pd.Series) -> dict[str, float]:
    """Average standardized difference per business meaning (0 when no column has it)."""
    collected: dict[str, list[float]] = {}
    for column, value in z_row.items():
        found = meaning_of(str(column))
        if found:
            collected.setdefault(found[0], []).append(found[1] * float(value))
    scores = _empty_scores()
    scores.update({m: float(np.mean(v)) for m, v in collected.items()})
    return scores


def _describe(
    z_row: pd.Series,
    cat_row: dict[str, pd.Series],
    n_traits: int,
    describes: frozenset[str] = frozenset(),
) -> str:
    """A descriptive name from the strongest traits, e.g. ``"High Balance, Low Purchases"``;
    traits of segmenting columns come before those of describing ones."""
    candidates = [
        (c in describes, abs(v), f"{'High' if v > 0 else 'Low'} {humanize(c)}")
        for c, v in z_row.items()
    ]
    for column, row in cat_row.items():
        for value, v in row.items():
            if v > 0:
                candidates.append((column in describes, v, f"Mostly {value} ({humanize(column)})"))
    candidates.sort(key=lambda t: (t[0], -t[1]))
    strong = [text for _, score, text in candidates if score >= 0.3][:n_traits]
    return ", ".join(strong) if strong else "Typical Customers"


def _name_segments(
    scores: list[dict[str, float]],
    z: pd.DataFrame,
    cat_z: dict[str, pd.DataFrame],
    describes: frozenset[str] = frozenset(),
) -> tuple[list[str], list[list[str]]]:
    """Give every segment a unique name and 2-4 recommendations, by rules over its profile."""
    k = len(scores)
    candidates = []
    for c in range(k):
        for tier, (name, score_fn, recs) in enumerate(_ARCHETYPES):
            score = float(score_fn(scores[c]))
            if score > 0:
                candidates.append((tier >= _N_SPECIFIC, score, c, name, recs))
    # Specific archetypes first, then the strongest match: each archetype goes to the
    # segment that fits it best.
    candidates.sort(key=lambda t: (t[0], -t[1], t[2]))
    names: list[str | None] = [None] * k
    recommendations: list[list[str]] = [[] for _ in range(k)]
    for _, _, c, name, recs in candidates:
        if names[c] is None and name not in names:
            names[c] = name
            recommendations[c] = list(recs)
    for c in range(k):
        if names[c] is not None:
            continue
        cat_row = {col: table.loc[c] for col, table in cat_z.items()}
        for n_traits in (2, 3, 4):
            name = _describe(
                z.loc[c] if len(z.columns) else pd.Series(dtype=float),
                cat_row,
                n_traits,
                describes,
            )
            if name not in names:
                break
        else:
            name = f"{name} (Segment {c + 1})"
        names[c] = name
        recommendations[c] = _recommendations_from_signals(scores[c])
    return [str(n) for n in names], recommendations


def _recommendations_from_signals(score: dict[str, float]) -> list[str]:
    """2-4 recommendations for a segment no archetype fits, from its strongest signals."""
    recs = []
    if score["recency"] >= 0.5:
        recs.append("Re-engage with a reminder and a time-limited incentive")
    if score["spend"] >= 0.5:
        recs.append("Reward their value with loyalty perks")
    elif score["spend"] <= -0.5:
        recs.append("Lead with value offers and bundles")
    if score["frequency"] <= -0.5:
        recs.append("Prompt repeat purchases with replenishment reminders")
    elif score["frequency"] >= 0.5:
        recs.append("Recognise their frequent visits with member pricing")
    recs.extend(_GENERIC_RECOMMENDATIONS)
    return recs[:4]


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
