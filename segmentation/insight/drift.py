"""Is next month's file like the training data? Drift of features and segment mix (numpy only).

At fit time the model keeps a *drift reference* of its training table
(:func:`build_reference`): per numeric feature the range and the share of customers in
each training decile (plus missing), per categorical feature the share of each fitted
category (plus unseen and missing), the segment mix, and per segment the 95th percentile
of the training customers' distances to its centre. The reference is a plain JSON-safe
dict, stored on the model (``drift_reference_``) and in the compiled labeler.

Labeling a file counts the same bins, block by block (:class:`DriftCounts`: a few vector
comparisons and one ``bincount`` per feature and block), on the fast and the general
path alike, and :meth:`DriftCounts.report` compares them with the population stability
index, ``PSI = sum((a - e) * ln(a / e))`` over the bins.

This module imports only numpy: the fast labeler, which must not import pandas or
scikit-learn, uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

#: PSI from which a distribution has "some change", and a "major change".
PSI_SOME = 0.1
PSI_MAJOR = 0.25
#: Share standing in for an empty bin, so ln(a / e) stays finite.
PSI_EPSILON = 1e-4
#: Share of a feature's values outside the training range from which the feature is
#: listed as moved (a same-distribution file has about 2 / training rows there).
OUT_OF_RANGE_SOME = 0.01
#: Deciles: the bins of a numeric feature.
N_BINS = 10
#: A customer is an outlier beyond this many times the segment's typical far distance.
OUTLIER_FACTOR = 3.0
#: The quantile of a segment's training distances kept as its "typical far" distance.
DISTANCE_QUANTILE = 0.95
#: Below this many customers the shares of a file are too rough to read much into.
FEW_ROWS = 200

#: Code of a missing category, and of one not seen in training, in :meth:`add_categorical`.
MISSING_CODE = -2
UNSEEN_CODE = -1

VERDICTS = ("like the training data", "some change", "changed a lot")

#: Words in the names of columns that can never be negative (a conservative list: a
#: balance or a profit can be negative, so they are not here; "country" is not "count").
_NEVER_NEGATIVE = frozenset(
    {
        "age",
        "ages",
        "income",
        "salary",
        "spend",
        "spends",
        "spent",
        "spending",
        "purchase",
        "purchases",
        "amount",
        "amounts",
        "revenue",
        "monetary",
        "price",
        "prices",
        "count",
        "counts",
        "frequency",
        "orders",
        "quantity",
        "visits",
        "tenure",
    }
)
#: Oldest plausible customer age, in years.
MAX_AGE = 130


# -- the reference, at fit time ---------------------------------------------------------
def build_reference(
    numeric: Mapping[str, np.ndarray],
    categorical: Mapping[str, tuple[np.ndarray, Sequence[str]]],
    clusters: np.ndarray,
    k: int,
    *,
    train_clusters: np.ndarray,
    train_distances: np.ndarray,
) -> dict:
    """The drift reference of a training table.

    Parameters
    ----------
    numeric : dict
        ``{feature: float array of shape (n_rows,)}``, NaN where missing (raw units; dates
        as days before the reference date).
    categorical : dict
        ``{feature: (codes, categories)}``: codes index the fitted categories,
        :data:`UNSEEN_CODE` for others and :data:`MISSING_CODE` for missing cells.
    clusters : ndarray of int, shape (n_rows,)
        The segment of every training row.
    k : int
    train_clusters, train_distances : ndarray, shape (n_fit_rows,)
        Segment and distance to its centre of the rows the clusterer was fitted on.

    Returns
    -------
    dict
        JSON-safe: ``n_rows``, ``numeric`` ``{feature: {min, max, edges, shares}}``
        (``shares`` has ``len(edges) + 2`` entries: the bins, then missing),
        ``categorical`` ``{feature: {categories, shares}}`` (the categories, then unseen,
        then missing), ``segments`` (training share by cluster id) and ``distance_p95``
        (by cluster id; None for an empty segment).
    """
    n = len(clusters)
    counts = DriftCounts.empty_like(
        {
            "numeric": {
                name: {"edges": _edges(values), "min": 0.0, "max": 0.0}
                for name, values in numeric.items()
            },
            "categorical": {
                name: {"categories": list(cats)} for name, (_, cats) in categorical.items()
            },
            "segments": [0.0] * k,
        }
    )
    numeric_ref = {}
    for name, values in numeric.items():
        counts.add_numeric(name, values)
        present = values[~np.isnan(values)]
        numeric_ref[name] = {
            "min": float(present.min()) if len(present) else None,
            "max": float(present.max()) if len(present) else None,
            "edges": [float(e) for e in counts.edges[name]],
            "shares": _shares(counts.numeric[name]),
        }
    categorical_ref = {}
    for name, (codes, cats) in categorical.items():
        counts.add_categorical(name, codes)
        categorical_ref[name] = {
            "categories": list(cats),
            "shares": _shares(counts.categorical[name]),
        }
    p95 = []
    for c in range(k):
        mine = train_distances[train_clusters == c]
        p95.append(float(np.quantile(mine, DISTANCE_QUANTILE)) if len(mine) else None)
    return {
        "n_rows": int(n),
        "numeric": numeric_ref,
        "categorical": categorical_ref,
        "segments": _shares(np.bincount(clusters, minlength=k)[:k]),
        "distance_p95": p95,
    }


def _edges(values: np.ndarray) -> np.ndarray:
    """Inner decile edges of the present values, repeated edges merged (a column of few
    distinct values gets fewer bins)."""
    present = values[~np.isnan(values)]
    if not len(present):
        return np.empty(0)
    return np.unique(np.quantile(present, np.arange(1, N_BINS) / N_BINS))


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def permute_segments(reference: dict, order: Sequence[int]) -> dict:
    """The reference with segments renumbered: ``order[new id]`` is the current id."""
    out = dict(reference)
    out["segments"] = [reference["segments"][i] for i in order]
    out["distance_p95"] = [reference["distance_p95"][i] for i in order]
    return out


# -- counting a file, block by block ----------------------------------------------------
class DriftCounts:
    """Bin counts of a file being labeled, added block by block and merged.

    Parameters
    ----------
    reference : dict
        A drift reference (:func:`build_reference`).
    """

    def __init__(self, reference: dict) -> None:
        self.reference = reference
        self.edges = {
            name: np.asarray(ref["edges"], dtype=float)
            for name, ref in reference["numeric"].items()
        }
        self.numeric = {name: np.zeros(len(e) + 2, np.int64) for name, e in self.edges.items()}
        self.below = dict.fromkeys(self.edges, 0)
        self.above = dict.fromkeys(self.edges, 0)
        self.categorical = {
            name: np.zeros(len(ref["categories"]) + 2, np.int64)
            for name, ref in reference["categorical"].items()
        }
        self.segments = np.zeros(len(reference["segments"]), np.int64)

    @classmethod
    def empty_like(cls, reference: dict) -> DriftCounts:
        """Counts for ``reference`` (only its edges, categories and k are used)."""
        return cls(reference)

    def add_numeric(self, name: str, values: np.ndarray, missing: np.ndarray | None = None) -> None:
        """Count a block of a numeric feature (NaN, or ``missing``, marks missing cells)."""
        if name not in self.numeric:
            return
        edges = self.edges[name]
        missing = np.isnan(values) if missing is None else missing
        # The bin is the number of edges at or below the value (``searchsorted(...,
        # side="right")``); with at most 9 edges, comparing to each is ten times faster.
        bins = np.zeros(len(values), dtype=np.int8)
        for edge in edges:
            bins += values >= edge
        bins[missing] = len(edges) + 1
        self.numeric[name] += np.bincount(bins, minlength=len(edges) + 2)
        ref = self.reference["numeric"][name]
        if ref.get("min") is not None:
            self.below[name] += int(np.count_nonzero(values < ref["min"]))
            self.above[name] += int(np.count_nonzero(values > ref["max"]))

    def add_categorical(self, name: str, codes: np.ndarray) -> None:
        """Count a block of category codes (:data:`UNSEEN_CODE`, :data:`MISSING_CODE`)."""
        if name not in self.categorical:
            return
        n_cats = len(self.categorical[name]) - 2
        # -1 (unseen) -> n_cats, -2 (missing) -> n_cats + 1.
        slots = np.where(codes >= 0, codes, n_cats - 1 - codes)
        self.categorical[name] += np.bincount(slots, minlength=n_cats + 2)

    def add_segments(self, clusters: np.ndarray) -> None:
        """Count a block's segments."""
        self.segments += np.bincount(clusters, minlength=len(self.segments))[: len(self.segments)]

    def merge(self, other: DriftCounts) -> None:
        """Add another block's counts to these."""
        for name in self.numeric:
            self.numeric[name] += other.numeric[name]
            self.below[name] += other.below[name]
            self.above[name] += other.above[name]
        for name in self.categorical:
            self.categorical[name] += other.categorical[name]
        self.segments += other.segments

    def report(self, segment_names: Sequence[str] | None = None) -> DriftReport:
        """Compare the counts with the reference.

        Parameters
        ----------
        segment_names : list of str, optional
            By cluster id, for the segment mix (ids as names otherwise).
        """
        ref = self.reference
        n_rows = int(self.segments.sum())
        features = []
        for name, counts in self.numeric.items():
            r = ref["numeric"][name]
            present = int(counts[:-1].sum())
            outside = self.below[name] + self.above[name]
            features.append(
                FeatureDrift(
                    feature=name,
                    kind="numeric",
                    psi=psi(r["shares"], counts),
                    out_of_range=outside / present if present else 0.0,
                    below_min=self.below[name],
                    above_max=self.above[name],
                    unseen=0,
                    missing_share=float(counts[-1] / n_rows) if n_rows else 0.0,
                    training_min=r["min"],
                    training_max=r["max"],
                )
            )
        for name, counts in self.categorical.items():
            r = ref["categorical"][name]
            present = int(counts[:-1].sum())
            unseen = int(counts[-2])
            features.append(
                FeatureDrift(
                    feature=name,
                    kind="categorical",
                    psi=psi(r["shares"], counts),
                    out_of_range=unseen / present if present else 0.0,
                    below_min=0,
                    above_max=0,
                    unseen=unseen,
                    missing_share=float(counts[-1] / n_rows) if n_rows else 0.0,
                )
            )
        names = (
            list(segment_names) if segment_names else [str(i) for i in range(len(self.segments))]
        )
        file_shares = _shares(self.segments)
        mix = [
            SegmentShare(cluster=c, segment=names[c], training_share=t, file_share=f)
            for c, (t, f) in enumerate(zip(ref["segments"], file_shares, strict=True))
        ]
        return DriftReport(
            n_rows=n_rows,
            features=features,
            segment_psi=psi(ref["segments"], self.segments),
            segment_mix=mix,
        )


def psi(expected: Sequence[float], actual_counts: np.ndarray) -> float:
    """Population stability index of counts against expected shares.

    ``sum((a - e) * ln(a / e))`` over the bins, each share floored at
    :data:`PSI_EPSILON` so an empty bin counts as nearly empty rather than infinite.
    """
    actual_counts = np.asarray(actual_counts, dtype=float)
    total = actual_counts.sum()
    if not total:
        return 0.0
    e = np.maximum(np.asarray(expected, dtype=float), PSI_EPSILON)
    a = np.maximum(actual_counts / total, PSI_EPSILON)
    return float(((a - e) * np.log(a / e)).sum())


def status(psi_value: float) -> str:
    """One of :data:`VERDICTS` for a PSI."""
    if psi_value >= PSI_MAJOR:
        return VERDICTS[2]
    if psi_value >= PSI_SOME:
        return VERDICTS[1]
    return VERDICTS[0]


# -- the report -------------------------------------------------------------------------
@dataclass
class FeatureDrift:
    """How one feature of a file compares with training.

    Attributes
    ----------
    feature : str
    kind : {"numeric", "categorical"}
    psi : float
        Population stability index over the training deciles (or categories) and missing.
    out_of_range : float
        Share of the present values below the training minimum or above the maximum
        (numeric), or of categories never seen in training (categorical).
    below_min, above_max, unseen : int
        The counts behind ``out_of_range``.
    missing_share : float
    training_min, training_max : float or None
        Numeric features only.
    """

    feature: str
    kind: str
    psi: float
    out_of_range: float
    below_min: int
    above_max: int
    unseen: int
    missing_share: float
    training_min: float | None = None
    training_max: float | None = None

    @property
    def status(self) -> str:
        """The PSI's verdict (see :func:`status`)."""
        return status(self.psi)

    @property
    def moved(self) -> bool:
        """PSI of at least :data:`PSI_SOME`, or at least :data:`OUT_OF_RANGE_SOME` of the
        values outside what training saw."""
        return self.psi >= PSI_SOME or self.out_of_range >= OUT_OF_RANGE_SOME

    def to_dict(self) -> dict:
        return {**asdict(self), "psi": round(self.psi, 6), "status": self.status}


@dataclass
class SegmentShare:
    cluster: int
    segment: str
    training_share: float
    file_share: float


@dataclass
class DriftReport:
    """Is a labeled file like the model's training data?

    Attributes
    ----------
    n_rows : int
    features : list of FeatureDrift
        Every feature of the model, in the model's order (numeric, then categorical).
    segment_psi : float
        PSI of the file's segment mix against the training mix.
    segment_mix : list of SegmentShare
    """

    n_rows: int
    features: list[FeatureDrift] = field(default_factory=list)
    segment_psi: float = 0.0
    segment_mix: list[SegmentShare] = field(default_factory=list)

    @property
    def moved(self) -> list[FeatureDrift]:
        """The features that moved, the largest PSI first."""
        return sorted((f for f in self.features if f.moved), key=lambda f: -f.psi)

    @property
    def verdict(self) -> str:
        """``"like the training data"``, ``"some change"`` or ``"changed a lot"``: the
        worst PSI of a feature or of the segment mix; values outside the training range
        make it at least "some change"."""
        worst = max([self.segment_psi, *(f.psi for f in self.features)])
        verdict = status(worst)
        if verdict == VERDICTS[0] and any(
            f.out_of_range >= OUT_OF_RANGE_SOME for f in self.features
        ):
            verdict = VERDICTS[1]
        return verdict

    @property
    def few_rows(self) -> bool:
        """Whether the file is too small for its shares to mean much."""
        return self.n_rows < FEW_ROWS

    def summary(self) -> str:
        """One honest sentence for the page and the command line."""
        n = f"{self.n_rows:,} customer{'s' if self.n_rows != 1 else ''}"
        verdict = self.verdict
        if verdict == VERDICTS[0]:
            text = f"This file ({n}) looks like the training data."
        elif verdict == VERDICTS[1]:
            text = (
                f"This file ({n}) differs somewhat from the training data: the segments still "
                "apply, but check the features that moved."
            )
        else:
            text = (
                f"This file ({n}) has changed a lot from the training data: the segments "
                "were learned on different customers, so its labels are less reliable. "
                "Check the features that moved and consider retraining on recent data."
            )
        if self.few_rows:
            text += f" With under {FEW_ROWS} customers these shares are rough."
        return text

    def moved_rows(self) -> list[dict]:
        """The features that moved as table rows for the page: ``Feature``, ``Change``
        (the PSI's verdict), ``PSI`` and ``Outside training`` (share of values outside
        the training range, or of categories never seen in training)."""
        return [
            {
                "Feature": f.feature,
                "Change": f.status,
                "PSI": round(f.psi, 3),
                "Outside training": f.out_of_range,
            }
            for f in self.moved
        ]

    def to_dict(self) -> dict:
        """JSON-safe: ``n_rows``, ``verdict``, ``summary``, ``thresholds``, ``moved``
        (names), ``features`` (each :meth:`FeatureDrift.to_dict`), ``segment_psi`` and
        ``segment_mix``."""
        return {
            "n_rows": self.n_rows,
            "verdict": self.verdict,
            "summary": self.summary(),
            "thresholds": {
                "psi_some_change": PSI_SOME,
                "psi_major_change": PSI_MAJOR,
                "out_of_range": OUT_OF_RANGE_SOME,
            },
            "moved": [f.feature for f in self.moved],
            "features": [f.to_dict() for f in self.features],
            "segment_psi": round(self.segment_psi, 6),
            "segment_status": status(self.segment_psi),
            "segment_mix": [asdict(s) for s in self.segment_mix],
        }


# -- one customer -----------------------------------------------------------------------
def range_warnings(
    reference: dict, values: Mapping[str, float], dates: Sequence[str] = ()
) -> list[str]:
    """Sentences for the numeric fields of one customer outside the training range.

    Parameters
    ----------
    reference : dict
        A drift reference.
    values : dict
        ``{numeric feature: value}`` as the model reads it (NaN when missing).
    dates : list of str
        Features that are dates (values are days before the reference date).
    """
    out = []
    for name, value in values.items():
        ref = reference["numeric"].get(name)
        if ref is None or ref["min"] is None or value is None or math.isnan(value):
            continue
        low, high = ref["min"], ref["max"]
        if low <= value <= high:
            continue
        far = (
            "far "
            if (value - high if value > high else low - value) > max(high - low, 1e-12)
            else ""
        )
        if name in dates:  # more days before the reference date is earlier
            side = "earlier" if value > high else "later"
            out.append(f"{name} is {far}{side} than any date in the training data")
        elif value > high:
            out.append(
                f"{name} = {_number(value)} is {far}above anything in the training data "
                f"(max {_number(high)})"
            )
        else:
            out.append(
                f"{name} = {_number(value)} is {far}below anything in the training data "
                f"(min {_number(low)})"
            )
    return out


def outlier_sentence(reference: dict, cluster: int, distance: float, segment: str) -> str | None:
    """A sentence when a customer lies far beyond its segment's members, else None.

    Far means more than :data:`OUTLIER_FACTOR` times the segment's
    :data:`DISTANCE_QUANTILE` training distance.
    """
    typical = reference["distance_p95"][cluster]
    if typical is None or not distance > OUTLIER_FACTOR * max(typical, 1e-12):
        return None
    ratio = distance / max(typical, 1e-12)
    return (
        f"This customer is an outlier: about {ratio:.0f} times further from the centre of "
        f"{segment!r} than its members usually are (95% of them lie within "
        f"{typical:.2f}). The nearest segment is only a guess; check the record for typos "
        "before acting on it."
    )


def impossible_value(name: str, value: object) -> str | None:
    """Why ``value`` cannot be right for a column named ``name``, or None.

    Conservative: only a negative value in a column whose name says it counts or holds
    money or an age (``age``, ``income``, ``spend``, ``count``, ...), and an age over
    :data:`MAX_AGE`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    words = _words(name)
    if value < 0 and _NEVER_NEGATIVE.intersection(words):
        return f"{name} cannot be negative (got {_number(value)})"
    if "age" in words and value > MAX_AGE:
        return f"{name} = {_number(value)} is not a plausible age"
    return None


def _words(name: str) -> list[str]:
    """``"AnnualIncome_k"`` -> ``["annual", "income", "k"]``: camel case and separators."""
    spaced = "".join(
        f" {ch}" if ch.isupper() and i and name[i - 1].islower() else ch
        for i, ch in enumerate(name)
    )
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in spaced).split() if w]


def _number(value: float) -> str:
    """A readable number: ``150,000``, ``8,399,866``, ``1e+15``, ``3.25``."""
    if abs(value) >= 1e12:
        return f"{value:.3g}"
    if abs(value) >= 1e4 or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:.4g}"
