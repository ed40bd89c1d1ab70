"""K-Means clustering, quality metrics, and the choice of k by prediction strength."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances_argmin,
    silhouette_score,
)
from threadpoolctl import threadpool_limits

from segmentation.types import Progress

#: Silhouette is quadratic in rows: above this many rows it is computed on a sample.
SILHOUETTE_SAMPLE = 4000
#: The sweep fits every candidate k on at most this many rows (a seeded sample).
SWEEP_SAMPLE = 20000
#: Random restarts of k-means++ for every fit: with 4, a skewed credit-card-like table at
#: k = 6 gave a different segmentation for half the seeds, 10 still differed at k = 4 and 8;
#: 25 agree (seed-to-seed ARI >= 0.98,
#: see benchmarks/k_choice_suite.py).
N_INIT = 25
#: The final fit of a model gets more restarts on small tables, up to this many rows times
#: restarts: on a real 2,240-customer export at k = 8, 25 restarts found five optima whose
#: inertia differs by 0.07% (seed-to-seed ARI 0.80); 300 agree (0.995) in a second.
FINAL_RESTART_BUDGET = 1_000_000
#: ... and at most this many.
MAX_FINAL_RESTARTS = 300
#: Above this many rows the restarts run on a seeded sample of this size and the best
#: centres are refined once on all rows: the same answer as restarts on everything,
#: at the cost of one fit.
RESTART_SAMPLE = 50_000


@dataclass(frozen=True)
class Metrics:
    """Quality of one clustering.

    Attributes
    ----------
    k : int
    inertia : float
        Sum of squared distances to the nearest centroid (lower is tighter; the elbow).
    silhouette : float
        -1 to 1, higher is better separated (on a sample above :data:`SILHOUETTE_SAMPLE`).
    davies_bouldin : float
        0 and up, lower is better.
    calinski_harabasz : float
        Higher is better.
    """

    k: int
    inertia: float
    silhouette: float
    davies_bouldin: float
    calinski_harabasz: float

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return asdict(self)


def evaluate(
    X: np.ndarray, labels: np.ndarray, inertia: float, *, random_state: int | None
) -> Metrics:
    """Compute the four metrics of a clustering of ``X`` (rows) into ``labels``."""
    k = int(labels.max()) + 1
    if len(np.unique(labels)) < 2:
        return Metrics(k, float(inertia), float("nan"), float("nan"), float("nan"))
    sample = SILHOUETTE_SAMPLE if len(X) > SILHOUETTE_SAMPLE else None
    return Metrics(
        k=k,
        inertia=float(inertia),
        silhouette=float(
            silhouette_score(X, labels, sample_size=sample, random_state=random_state)
        ),
        davies_bouldin=float(davies_bouldin_score(X, labels)),
        calinski_harabasz=float(calinski_harabasz_score(X, labels)),
    )


def final_restarts(n_rows: int) -> int:
    """Restarts of a model's final K-Means fit: :data:`N_INIT`, more on small tables."""
    rows = min(n_rows, RESTART_SAMPLE)
    return int(np.clip(FINAL_RESTART_BUDGET // max(rows, 1), N_INIT, MAX_FINAL_RESTARTS))


def fit_kmeans(X: np.ndarray, k: int, *, random_state: int | None, n_init: int = N_INIT) -> KMeans:
    """Fit K-Means with ``k`` clusters, cluster ids ordered by size (largest is 0).

    Ties in size are broken by the centroid's coordinates, so the same data and seed
    always give the same ids.
    """
    if len(X) > RESTART_SAMPLE:
        rng = np.random.default_rng(random_state)
        sample = X[rng.choice(len(X), size=RESTART_SAMPLE, replace=False)]
        start = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(sample)
        model = KMeans(
            n_clusters=k, init=start.cluster_centers_, n_init=1, random_state=random_state
        ).fit(X)
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(X)
    order = size_order(model.labels_, model.cluster_centers_)
    model.cluster_centers_ = model.cluster_centers_[order]
    model.labels_ = relabel(model.labels_, order)
    return model


def size_order(labels: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """The old ids in their new order: largest segment first, ties broken by the centre's
    coordinates, so the same data and seed always give the same ids (every algorithm).

    Parameters
    ----------
    labels : ndarray of int, shape (n_rows,)
    centers : ndarray of shape (k, n_features)

    Returns
    -------
    ndarray of int, shape (k,)
        ``order[new id] = old id``.
    """
    sizes = np.bincount(labels, minlength=len(centers))
    return np.lexsort((*np.asarray(centers, dtype=float).T[::-1], -sizes))


def relabel(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``labels`` with old ids replaced by new ones (see :func:`size_order`)."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[labels].astype(np.asarray(labels).dtype)


def evaluate_fitted(X: np.ndarray, model, *, random_state: int | None) -> Metrics:
    """:func:`evaluate` of a fitted clusterer of any registered algorithm on its rows ``X``.

    Separation is measured in the space where the algorithm's own distance is Euclidean:
    the clusterer's ``metric_space(X)`` when it has one (k-prototypes: codes become
    weighted one-hot columns), else ``X`` itself. Every registered clusterer has
    ``inertia_``: its within-segment sum of squared distances in that space.
    """
    space = model.metric_space(X) if hasattr(model, "metric_space") else X
    return evaluate(space, model.labels_, model.inertia_, random_state=random_state)


#: The smallest segment a recommended k may produce: this share of customers ...
MIN_SEGMENT_SHARE = 0.02
#: ... and at least this many customers.
MIN_SEGMENT_SIZE = 5
#: Fewer usable customers than this and no segmentation is attempted.
MIN_CUSTOMERS = 30
#: Prediction strength a k needs to pass (Tibshirani & Walther suggest 0.8 to 0.9) ...
PS_THRESHOLD = 0.8
#: ... and to pass clearly rather than weakly.
PS_CLEAR = 0.9
#: Another passing k whose silhouette is within this of the chosen k's is a near-tie.
NEAR_TIE = 0.02
#: Prediction strength is computed on at most this many rows (a seeded sample) ...
CHOICE_SAMPLE = 2000
#: ... over this many random splits in halves.
N_SPLITS = 2
#: The many small refits behind the evidence run on one thread each: on a busy machine,
#: OpenMP threads on a 1,000-row fit wait for each other (a 0.07 s fit took 1.7 s).
SMALL_FITS = "one thread"
#: Structureless reference tables for the gap (Tibshirani, Walther & Hastie, 2001).
GAP_REFERENCES = 5
#: How much tighter (log of the within-segment sum of squares) k segments must make the
#: customers than a structureless table, beyond the gap's standard error: on a uniform
#: cube, k = 2 beat it by 0.003, by sampling noise alone.
GAP_MARGIN = 0.05

VERDICTS = ("clear", "weak", "none")

RULE = (
    "prediction strength (Tibshirani & Walther, 2005): the customers are split in random "
    "halves, segments are found in each half, and a k passes when, in every segment of "
    f"one half, at least {PS_THRESHOLD:.0%} of pairs of customers are also put together by "
    "the other half's segments, and its segments tighten the customers more than they "
    "tighten a structureless table of the same spread (the gap statistic, beyond its "
    "standard error and a margin); of the k that pass, the one with the highest "
    "silhouette (segments best separated) is recommended, clear at prediction strength "
    f"{PS_CLEAR:.0%} or more; a k that leaves a segment smaller than "
    f"{MIN_SEGMENT_SHARE:.0%} of customers (or {MIN_SEGMENT_SIZE}) is not recommended. "
    "When no k passes, the table has no clear segments"
)


@dataclass(frozen=True)
class Candidate:
    """The evidence for one k.

    Attributes
    ----------
    k : int
    silhouette : float
        Separation (-1 to 1, higher is better), as in :class:`Metrics`.
    prediction_strength : float
        0 to 1: the worst segment's share of customer pairs that a model trained on the
        other half of the customers also keeps together; mean over the splits.
    stability : float
        Agreement (adjusted Rand index, 1 is identical) between the segments of the two
        halves on the same customers; mean over the splits.
    gap_gain : float
        How much more the k segments tighten the customers than one segment does,
        measured against structureless reference tables: gap(k) - gap(1) - se(k) of the
        gap statistic. Above 0, the k segments find structure a structureless table of
        the same spread does not have.
    min_segment_share : float
        The smallest segment's share of customers.
    too_small : bool
        Whether the smallest segment is under :func:`min_segment_size`.
    passes : bool
        Whether the rule accepts this k: prediction strength at least
        :data:`PS_THRESHOLD`, ``gap_gain`` above :data:`GAP_MARGIN`, and no segment
        too small.
    """

    k: int
    silhouette: float
    prediction_strength: float
    stability: float
    gap_gain: float
    min_segment_share: float
    too_small: bool
    passes: bool

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return asdict(self)


@dataclass(frozen=True)
class KChoice:
    """How many segments, with the evidence and a verdict.

    Attributes
    ----------
    k : int
        The recommended k (for ``verdict == "none"``, what the table would give anyway:
        the candidate with the highest prediction strength).
    verdict : {"clear", "weak", "none"}
        ``clear``: k passes with prediction strength at least :data:`PS_CLEAR`; ``weak``:
        it passes with less; ``none``: no k passes, the table has no clear segments.
    at_edge : bool
        The recommended k is an end of the range tried (a larger or smaller k might be
        better); never for a k given by hand.
    near_ties : tuple of int
        Other passing k with a silhouette within :data:`NEAR_TIE` of the recommended
        one's: as defensible a choice.
    candidates : tuple of Candidate
        One per k tried (one only for a k given by hand).
    rule : str
    n_rows : int
        Rows the evidence was computed on.
    """

    k: int
    verdict: str
    at_edge: bool
    near_ties: tuple[int, ...]
    candidates: tuple[Candidate, ...]
    rule: str
    n_rows: int

    def candidate(self, k: int) -> Candidate:
        """The evidence for ``k``."""
        return next(c for c in self.candidates if c.k == k)

    def to_dict(self) -> dict:
        """JSON-safe form (the train JSON's ``k_choice``)."""
        return {
            "rule": self.rule,
            "k": self.k,
            "verdict": self.verdict,
            "at_edge": self.at_edge,
            "near_ties": list(self.near_ties),
            "candidates": [c.to_dict() for c in self.candidates],
            "n_rows": self.n_rows,
        }

    def describe(self) -> str:
        """The verdict in one or two plain sentences, for the app and the command line."""
        c = self.candidate(self.k)
        strength = f"prediction strength {c.prediction_strength:.2f}"
        if self.verdict == "none":
            text = (
                f"This table has no clear segments: no number of segments passed the rule "
                f"(best: k = {self.k}, {strength}, below {PS_THRESHOLD:.2f}). The {self.k} "
                "segments shown are what the data would give anyway; treat them as a way "
                "to slice customers, not as groups that exist in the data."
            )
        elif self.verdict == "weak":
            text = (
                f"Weak evidence for k = {self.k} ({strength}, passing the "
                f"{PS_THRESHOLD:.2f} bar but under {PS_CLEAR:.2f}): the segments are only "
                "partly reproducible."
            )
        else:
            text = f"Clear evidence for k = {self.k} ({strength})."
        if self.at_edge:
            text += f" k = {self.k} is at the end of the range tried; try a wider range."
        if self.near_ties:
            others = ", ".join(str(k) for k in self.near_ties)
            text += f" Nearly as good: k = {others}."
        return text


def _predict_with(model, X_train: np.ndarray, X_new: np.ndarray) -> np.ndarray:
    """Label ``X_new`` with a model fitted on ``X_train``, for any registered algorithm:
    its own ``predict`` when it has one, else the nearest centre of its segments."""
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X_new))
    centres = getattr(model, "cluster_centers_", None)
    if centres is None:
        labels = np.asarray(model.labels_)
        centres = np.vstack([X_train[labels == j].mean(axis=0) for j in np.unique(labels)])
    return pairwise_distances_argmin(X_new, centres)


def _pair_share(test_labels: np.ndarray, predicted: np.ndarray) -> float:
    """The smallest share, over the test segments, of pairs that ``predicted`` keeps
    together (the prediction strength of one split, one direction)."""
    worst = 1.0
    for j in np.unique(test_labels):
        counts = np.bincount(predicted[test_labels == j])
        n = counts.sum()
        if n < 2:
            continue
        worst = min(worst, float((counts * (counts - 1)).sum() / (n * (n - 1))))
    return worst


def prediction_strength(
    X: np.ndarray,
    k: int,
    *,
    fit: Callable[[np.ndarray, int, int | None], object],
    random_state: int | None,
    n_splits: int = N_SPLITS,
) -> tuple[float, float]:
    """Prediction strength and split-half agreement of ``k`` segments of ``X``.

    Each split cuts the rows in random halves A and B and fits ``k`` segments on each;
    B's segments are then judged by how A's model labels B's customers (and the other
    way round): for each segment, the share of its pairs of customers the other model
    puts in one segment; the worst segment's share is the prediction strength
    (Tibshirani & Walther, 2005).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    k : int
    fit : callable
        ``fit(X, k, random_state)`` of the algorithm (its registry entry's ``fit``).
    random_state : int or None
        Seeds the splits and the fits.
    n_splits : int, default=3

    Returns
    -------
    (float, float)
        Mean prediction strength and mean adjusted Rand index between the two halves'
        segments of the same customers, over both directions of every split.
    """
    rng = np.random.default_rng(random_state)
    strengths, agreements = [], []
    with threadpool_limits(limits=1):  # see SMALL_FITS
        for _ in range(n_splits):
            order = rng.permutation(len(X))
            halves = [X[order[: len(X) // 2]], X[order[len(X) // 2 :]]]
            seed = int(rng.integers(2**31 - 1))
            models = [fit(half, k, seed) for half in halves]
            for test, train in ((0, 1), (1, 0)):
                own = np.asarray(models[test].labels_)
                other = _predict_with(models[train], halves[train], halves[test])
                strengths.append(_pair_share(own, other))
                agreements.append(adjusted_rand_score(own, other))
    return float(np.mean(strengths)), float(np.mean(agreements))


def _log_dispersion(X: np.ndarray, labels: np.ndarray) -> float:
    """log of the within-segment sum of squares around each segment's mean."""
    total = 0.0
    for j in np.unique(labels):
        members = X[labels == j]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return float(np.log(max(total, 1e-300)))


class _Gap:
    """The gap statistic's structureless references for one table (a sample of it):
    uniform tables in the box of the table's principal components."""

    def __init__(self, X: np.ndarray, random_state: int | None) -> None:
        rng = np.random.default_rng(random_state)
        centred = X - X.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        rotated = centred @ vt.T
        low, high = rotated.min(axis=0), rotated.max(axis=0)
        self.refs = [rng.uniform(low, high, size=rotated.shape) @ vt for _ in range(GAP_REFERENCES)]
        self.X = centred
        self.seed = int(rng.integers(2**31 - 1))
        self.gap1 = self.gap(1)[0]

    def gap(self, k: int, labels: np.ndarray | None = None, fit: Callable | None = None):
        """gap(k) and its standard error, ``labels`` being the table's k segments."""
        one = np.zeros(len(self.X), dtype=int)
        own = _log_dispersion(self.X, one if k == 1 else labels)
        refs = np.array(
            [
                _log_dispersion(r, one if k == 1 else np.asarray(fit(r, k, self.seed).labels_))
                for r in self.refs
            ]
        )
        return float(refs.mean() - own), float(refs.std() * np.sqrt(1 + 1 / len(self.refs)))


def _choice_sample(X: np.ndarray, random_state: int | None) -> np.ndarray:
    """The rows the evidence for k is computed on: all, or a seeded sample."""
    if len(X) <= CHOICE_SAMPLE:
        return X
    rng = np.random.default_rng(random_state)
    return X[rng.choice(len(X), size=CHOICE_SAMPLE, replace=False)]


def min_segment_size(n_customers: int) -> int:
    """The smallest segment a recommended k may leave, in customers."""
    return max(MIN_SEGMENT_SIZE, int(np.ceil(MIN_SEGMENT_SHARE * n_customers)))


def _candidate(
    X: np.ndarray,
    k: int,
    labels: np.ndarray,
    silhouette: float,
    *,
    n_customers: int,
    fit: Callable,
    random_state: int | None,
    gap: _Gap | None = None,
) -> Candidate:
    """The evidence for ``k``, from the labels of a fit on ``X`` and split-half refits."""
    sample = _choice_sample(X, random_state)
    strength, agreement = prediction_strength(sample, k, fit=fit, random_state=random_state)
    share = float(np.bincount(labels, minlength=k).min() / len(labels))
    too_small = share * n_customers < min_segment_size(n_customers)
    gain = np.nan
    if strength >= PS_THRESHOLD and not too_small:
        # The gap only decides between passing and not: skip its refits otherwise.
        gap = gap or _Gap(sample, random_state)
        with threadpool_limits(limits=1):  # see SMALL_FITS
            value, se = gap.gap(k, np.asarray(fit(gap.X, k, gap.seed).labels_), fit)
        gain = value - gap.gap1 - se
    return Candidate(
        k=k,
        silhouette=float(silhouette),
        prediction_strength=strength,
        stability=agreement,
        gap_gain=float(gain),
        min_segment_share=share,
        too_small=bool(too_small),
        passes=bool(np.isfinite(gain) and gain > GAP_MARGIN),
    )


def choose_k(
    candidates: list[Candidate] | tuple[Candidate, ...],
    *,
    n_rows: int,
    forced: bool = False,
) -> KChoice:
    """Apply the rule (:data:`RULE`) to the evidence for each k.

    Of the passing k, the best separated (highest silhouette, ties to the smaller k) is
    recommended: on the evaluation suite (``benchmarks/k_choice_suite.py``) the largest
    passing k, Tibshirani & Walther's own choice, overshot on nested structure (two
    groups each split in two, a category that follows the groups). When none passes,
    the candidate of adequate segment size with the highest prediction strength (then
    silhouette) is what the table would give anyway, with verdict ``none``.
    """
    candidates = tuple(sorted(candidates, key=lambda c: c.k))
    passing = [c for c in candidates if c.passes]
    if passing:
        best = max(passing, key=lambda c: (round(_finite(c.silhouette), 6), -c.k))
        verdict = "clear" if best.prediction_strength >= PS_CLEAR else "weak"
        near = tuple(
            c.k
            for c in passing
            if c.k != best.k and _finite(c.silhouette) >= _finite(best.silhouette) - NEAR_TIE
        )
    else:
        pool = [c for c in candidates if not c.too_small] or list(candidates)
        best = max(
            pool,
            key=lambda c: (round(c.prediction_strength, 6), _finite(c.silhouette), -c.k),
        )
        verdict = "none"
        near = ()
    k_min, k_max = candidates[0].k, candidates[-1].k
    at_edge = not forced and k_max > k_min and (best.k == k_max or (best.k == k_min > 2))
    return KChoice(best.k, verdict, bool(at_edge), near, candidates, RULE, n_rows)


def _finite(value: float) -> float:
    return value if np.isfinite(value) else -np.inf


def assess_k(
    X: np.ndarray,
    k: int,
    *,
    labels: np.ndarray,
    silhouette: float,
    random_state: int | None = 42,
    fit: Callable | None = None,
) -> KChoice:
    """The verdict for a k given by hand: its prediction strength on a sample of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    k : int
    labels : ndarray of int, shape (n_rows,)
        The final segments of ``X``.
    silhouette : float
    random_state, fit
        As in :func:`sweep_k`.
    """
    fit = fit or _default_fit
    candidate = _candidate(
        X, k, labels, silhouette, n_customers=len(X), fit=fit, random_state=random_state
    )
    return choose_k([candidate], n_rows=min(len(X), CHOICE_SAMPLE), forced=True)


def _default_fit(X: np.ndarray, k: int, random_state: int | None):
    return fit_kmeans(X, k, random_state=random_state)


@dataclass(frozen=True)
class Sweep:
    """The result of trying every k of a range.

    Attributes
    ----------
    metrics : tuple of Metrics
        One per candidate k, ascending.
    recommended_k : int
    rule : str
        The rule that picked ``recommended_k``, in words shown to users.
    n_rows : int
        Rows the sweep was fitted on (a sample for large tables).
    choice : KChoice
        The evidence per k and the verdict.
    """

    metrics: tuple[Metrics, ...]
    recommended_k: int
    rule: str
    n_rows: int
    choice: KChoice

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {
            "metrics": [m.to_dict() for m in self.metrics],
            "recommended_k": self.recommended_k,
            "rule": self.rule,
            "n_rows": self.n_rows,
            "k_choice": self.choice.to_dict(),
        }


def recommend_k(metrics: list[Metrics] | tuple[Metrics, ...]) -> int:
    """The highest silhouette, ties to the smaller k: the former rule, kept as the
    baseline the evaluation suite compares prediction strength with.

    Parameters
    ----------
    metrics : sequence of Metrics
        The sweep's metrics; NaN silhouettes are skipped.

    Returns
    -------
    int
    """
    valid = [m for m in metrics if np.isfinite(m.silhouette)]
    if not valid:
        return metrics[0].k
    return max(valid, key=lambda m: (round(m.silhouette, 6), -m.k)).k


def sweep_k(
    X: np.ndarray,
    k_range: tuple[int, int] = (2, 10),
    *,
    random_state: int | None = 42,
    sample_size: int = SWEEP_SAMPLE,
    fit: Callable[[np.ndarray, int, int | None], KMeans] | None = None,
    progress: Progress | None = None,
) -> Sweep:
    """Fit every k in ``k_range``, gather the evidence for each, and recommend one.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Preprocessed training rows.
    k_range : (int, int), default=(2, 10)
        Smallest and largest k, both included.
    random_state : int, optional
        Seeds the sample, every fit, the splits and the silhouette sample.
    sample_size : int, default=20000
        Tables larger than this are swept on a seeded random sample of this many rows:
        cluster structure that exists shows in 20,000 rows, and the sweep stays fast.
        Prediction strength uses at most :data:`CHOICE_SAMPLE` of them.
    fit : callable, optional
        ``fit(X, k, random_state)`` of the algorithm swept (its registry entry's ``fit``);
        K-Means by default.
    progress : callable, optional
        Called as ``progress(fraction, message)`` after each k ("Tried 3 of 9: k = 4:
        prediction strength 0.91").

    Returns
    -------
    Sweep
        Metrics and evidence for every k, the recommended one and the verdict (see
        :func:`choose_k`).
    """
    k_min, k_max = k_range
    k_max = min(k_max, len(X) - 1)
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"cannot sweep k from {k_min} to {k_max} on {len(X)} rows")
    fit = fit or _default_fit
    n_customers = len(X)
    rng = np.random.default_rng(random_state)
    if len(X) > sample_size:
        X = X[rng.choice(len(X), size=sample_size, replace=False)]
    ks = list(range(k_min, k_max + 1))
    gap = _Gap(_choice_sample(X, random_state), random_state)  # no fits until needed
    metrics, candidates = [], []
    for i, k in enumerate(ks, start=1):
        model = fit(X, k, random_state)
        labels = np.asarray(model.labels_)
        metrics.append(evaluate_fitted(X, model, random_state=random_state))
        candidates.append(
            _candidate(
                X,
                k,
                labels,
                metrics[-1].silhouette,
                n_customers=n_customers,
                fit=fit,
                random_state=random_state,
                gap=gap,
            )
        )
        if progress:
            progress(
                i / len(ks),
                f"Tried {i} of {len(ks)}: k = {k}: prediction strength "
                f"{candidates[-1].prediction_strength:.2f}",
            )
    choice = choose_k(candidates, n_rows=min(len(X), CHOICE_SAMPLE))
    return Sweep(tuple(metrics), choice.k, RULE, len(X), choice)
