"""K-Means clustering, quality metrics, and the automatic choice of k."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmentation.types import Progress

#: Silhouette is quadratic in rows: above this many rows it is computed on a sample.
SILHOUETTE_SAMPLE = 4000
#: The sweep fits every candidate k on at most this many rows (a seeded sample).
SWEEP_SAMPLE = 20000
#: Random restarts of k-means++ for every fit.
N_INIT = 4


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


def fit_kmeans(X: np.ndarray, k: int, *, random_state: int | None) -> KMeans:
    """Fit K-Means with ``k`` clusters, cluster ids ordered by size (largest is 0).

    Ties in size are broken by the centroid's coordinates, so the same data and seed
    always give the same ids.
    """
    model = KMeans(n_clusters=k, n_init=N_INIT, random_state=random_state).fit(X)
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
    """

    metrics: tuple[Metrics, ...]
    recommended_k: int
    rule: str
    n_rows: int

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {
            "metrics": [m.to_dict() for m in self.metrics],
            "recommended_k": self.recommended_k,
            "rule": self.rule,
            "n_rows": self.n_rows,
        }


RULE = (
    "the k with the highest silhouette score (how much closer customers are to their own "
    "segment than to the next one); on a tie, the smaller k"
)


def recommend_k(metrics: list[Metrics] | tuple[Metrics, ...]) -> int:
    """Pick one k from a sweep: the highest silhouette, ties to the smaller k.

    Silhouette is the one of the four metrics that does not drift with k by
    construction (inertia always falls, Calinski-Harabasz and Davies-Bouldin favour
    few clusters on real data), so it alone decides; the others are shown beside it.

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
    """Fit K-Means for every k in ``k_range`` and recommend one.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Preprocessed training rows.
    k_range : (int, int), default=(2, 10)
        Smallest and largest k, both included.
    random_state : int, optional
        Seeds the sample, every fit and the silhouette sample.
    sample_size : int, default=20000
        Tables larger than this are swept on a seeded random sample of this many rows:
        cluster structure that exists shows in 20,000 rows, and the sweep stays fast.
    fit : callable, optional
        ``fit(X, k, random_state)`` of the algorithm swept (its registry entry's ``fit``);
        K-Means by default.
    progress : callable, optional
        Called as ``progress(fraction, message)`` after each k ("Tried 3 of 9: k = 4:
        silhouette 0.412").

    Returns
    -------
    Sweep
        Metrics for every k and the recommended one (see :func:`recommend_k`).
    """
    k_min, k_max = k_range
    k_max = min(k_max, len(X) - 1)
    if k_min < 2 or k_max < k_min:
        raise ValueError(f"cannot sweep k from {k_min} to {k_max} on {len(X)} rows")
    rng = np.random.default_rng(random_state)
    if len(X) > sample_size:
        X = X[rng.choice(len(X), size=sample_size, replace=False)]
    ks = list(range(k_min, k_max + 1))
    metrics = []
    for i, k in enumerate(ks, start=1):
        model = fit(X, k, random_state) if fit else fit_kmeans(X, k, random_state=random_state)
        metrics.append(evaluate_fitted(X, model, random_state=random_state))
        if progress:
            progress(
                i / len(ks),
                f"Tried {i} of {len(ks)}: k = {k}: silhouette {metrics[-1].silhouette:.3f}",
            )
    return Sweep(tuple(metrics), recommend_k(metrics), RULE, len(X))
