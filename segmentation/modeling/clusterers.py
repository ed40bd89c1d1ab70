"""The clusterers besides K-Means: Ward, a Gaussian mixture and k-prototypes.

Each is fitted by its registry entry (:mod:`segmentation.modeling.algorithms`) and ends
up as the ``cluster`` step of the model's ``Pipeline``. They share the K-Means contract:
``labels_`` ordered by segment size (largest is 0), ``cluster_centers_`` in model space and
``inertia_`` (the within-segment sum of squared distances to those centres), so choosing
k, profiles, names and the fast labeler treat every algorithm alike.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from segmentation.errors import SegmentationError
from segmentation.modeling.selection import N_INIT, relabel, size_order

#: Ward is fitted on at most this many rows (a seeded sample) and the other rows join
#: their nearest segment centre: the merge tree holds n^2 / 2 pairwise distances, 100 MB
#: at 5,000 rows, and segments that exist show in 5,000 customers.
WARD_SAMPLE = 5000
#: A Gaussian mixture's EM is fitted on at most this many rows; the rest are predicted.
GMM_SAMPLE = 50_000
#: A Gaussian mixture is fitted on the numeric columns with at least this many distinct
#: values. A flag or a count of children is not Gaussian: a component where it is constant
#: gets a near-zero variance and every posterior becomes 1 (on the marketing export one
#: segment was "never accepted campaign 1"). Such columns describe the segments instead.
GMM_MIN_DISTINCT = 5
#: k-prototypes (the ``kmodes`` package) moves one row at a time in Python: it is fitted
#: on at most this many rows and the rest are assigned by its own distance.
KPROTOTYPES_SAMPLE = 3000
#: ... and with this many restarts (K-Means' 25 would take 13 s a fit on 1,000 rows; the
#: choice of k and the stability refit it some 20 times).
KPROTOTYPES_N_INIT = 2


def _sample(n_rows: int, size: int, random_state: int | None) -> np.ndarray | None:
    """Seeded row indices to fit on, or None when every row fits."""
    if n_rows <= size:
        return None
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _segment_means(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sizes = np.bincount(labels, minlength=k).astype(float)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels, X)
    return sums / np.maximum(sizes, 1)[:, None]


def _nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and the Euclidean distance to it, computed directly."""
    from sklearn.metrics import pairwise_distances_argmin

    clusters = pairwise_distances_argmin(X, centers)
    return clusters.astype(np.int64), np.sqrt(((X - centers[clusters]) ** 2).sum(axis=1))


class _Clusterer(ClusterMixin, BaseEstimator):
    """Shared parameters: ``n_clusters`` and ``random_state``."""

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_clusters: int = 5, random_state: int | None = None) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def _check_rows(self, X: np.ndarray) -> None:
        if len(X) <= self.n_clusters:
            raise SegmentationError(
                f"{len(X)} rows cannot form {self.n_clusters} segments; load more customers"
            )


class WardClusterer(_Clusterer):
    """Agglomerative clustering with Ward's linkage; customers join the nearest segment centre.

    The merge tree is built on at most :data:`WARD_SAMPLE` rows (scipy's ``linkage``, the
    routine scikit-learn's ``AgglomerativeClustering(linkage="ward")`` runs) and cut into
    ``n_clusters``: the tree proposes the segments and their centres (the means of the
    cut's segments). Every customer, those of the sample too, then belongs to the nearest
    centre, as a new customer does, so labeling the training table again gives exactly
    the segments profiled. (Ward's tree segments are not shaped by nearest centre: on the
    marketing export 11% of customers sat nearer another segment's centre, and a labeled
    file disagreed with the profile sizes by that much. On planted 70/25/5% segments the
    nearest-centre segments agree with the truth as well as the cut, better than K-Means.)

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_rows,)
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The mean of each segment of the tree's cut, in model space.
    inertia_ : float
        Sum of squared distances to those centres.
    linkage_ : ndarray of shape (n_clusters - 1, 4)
        The last merges of the tree, between the segments: a scipy linkage matrix whose
        leaves are the segment ids (for the dendrogram); its heights are Ward's merge
        costs, its counts the segments under each merge.
    """

    def fit(self, X: np.ndarray, y=None) -> WardClusterer:
        """Build the tree on (a sample of) ``X``, cut it, and assign by nearest centre."""
        from scipy.cluster.hierarchy import cut_tree, linkage

        self._validate_params()
        X = np.asarray(X, dtype=float)
        self._check_rows(X)
        k = self.n_clusters
        rows = _sample(len(X), WARD_SAMPLE, self.random_state)
        fitted = X if rows is None else X[rows]
        tree = linkage(fitted, method="ward")
        cut = cut_tree(tree, n_clusters=k).ravel().astype(np.int64)
        centers = _segment_means(fitted, cut, k)
        labels, distances = _nearest(X, centers)
        order = size_order(labels, centers)
        self.labels_ = relabel(labels, order)
        self.cluster_centers_ = centers[order]
        self.inertia_ = float((distances**2).sum())
        self.linkage_ = _segment_merges(tree, relabel(cut, order), k)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        return _nearest(np.asarray(X, dtype=float), self.cluster_centers_)[0]


def _segment_merges(tree: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The top ``k - 1`` merges of a linkage tree over ``len(labels)`` leaves, restated
    with the ``k`` segments (their ids in ``labels``) as leaves."""
    n = len(labels)
    # One leaf under every node, found in one pass (children precede their parent).
    leaf = np.empty(2 * n - 1, dtype=np.int64)
    leaf[:n] = np.arange(n)
    for i, left in enumerate(tree[:, 0].astype(np.int64)):
        leaf[n + i] = leaf[left]
    top = tree[len(tree) - (k - 1) :]
    first_top = n + len(tree) - (k - 1)
    merges = top.copy()
    segments = np.ones(2 * k - 1)  # segments under each node of the restated tree
    for row in range(k - 1):
        for side in (0, 1):
            node = int(top[row, side])
            merges[row, side] = k + (node - first_top) if node >= first_top else labels[leaf[node]]
        segments[k + row] = segments[int(merges[row, 0])] + segments[int(merges[row, 1])]
        merges[row, 3] = segments[k + row]
    return merges


class GaussianMixtureClusterer(_Clusterer):
    """A Gaussian mixture (full covariances), segments by the most probable component.

    EM runs on at most :data:`GMM_SAMPLE` rows, initialised by K-Means, with
    :data:`segmentation.modeling.selection.N_INIT` restarts, on the columns with at least
    :data:`GMM_MIN_DISTINCT` distinct values (all columns when none has).

    Attributes
    ----------
    columns_ : ndarray of int
        The columns of ``X`` the mixture is fitted on.
    mixture_ : sklearn.mixture.GaussianMixture
        The fitted mixture, components in scikit-learn's order.
    order_ : ndarray of int, shape (n_clusters,)
        ``order_[segment id] = component``: segments are ordered by size.
    labels_ : ndarray of int, shape (n_rows,)
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The mean of each segment's customers in model space (every column).
    inertia_ : float
        Within-segment sum of squared distances to those means.
    """

    def fit(self, X: np.ndarray, y=None) -> GaussianMixtureClusterer:
        """Fit the mixture on (a sample of) ``X`` and order its components by size."""
        from sklearn.mixture import GaussianMixture

        self._validate_params()
        X = np.asarray(X, dtype=float)
        self._check_rows(X)
        if X.shape[1] == 0:
            raise SegmentationError(
                "a Gaussian mixture needs at least one numeric column; with only categories "
                "use kprototypes"
            )
        rows = _sample(len(X), GMM_SAMPLE, self.random_state)
        fitted = X if rows is None else X[rows]
        distinct = np.array([len(np.unique(column)) for column in fitted.T])
        wide = np.flatnonzero(distinct >= GMM_MIN_DISTINCT)
        self.columns_ = wide if len(wide) else np.arange(X.shape[1])
        mixture = GaussianMixture(
            n_components=self.n_clusters,
            covariance_type="full",
            n_init=N_INIT,
            random_state=self.random_state,
        )
        # EM works on features x features matrices, too small for threaded BLAS: its
        # threads cost more than they save (a 2,240-row table fitted 12x faster in one).
        with threadpool_limits(limits=1, user_api="blas"):
            self.mixture_ = mixture.fit(fitted[:, self.columns_])
        labels = self.mixture_.predict(X[:, self.columns_])
        self.order_ = size_order(labels, self.mixture_.means_)
        self.labels_ = relabel(labels, self.order_)
        self.cluster_centers_ = _segment_means(X, self.labels_, self.n_clusters)
        self.inertia_ = float(((X - self.cluster_centers_[self.labels_]) ** 2).sum())
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Posterior of every segment, shape (n_rows, n_clusters), columns by segment id."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=float)[:, self.columns_]
        return self.mixture_.predict_proba(X)[:, self.order_]

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Most probable segment, and the Euclidean distance to its mean."""
        X = np.asarray(X, dtype=float)
        clusters = self.predict_proba(X).argmax(axis=1).astype(np.int64)
        return clusters, np.sqrt(((X - self.cluster_centers_[clusters]) ** 2).sum(axis=1))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.assign(X)[0]


class KPrototypesClusterer(_Clusterer):
    """k-prototypes (Huang 1997, the ``kmodes`` package) on the ``mixed`` model space.

    The distance of a row to a prototype is the squared Euclidean distance over the
    scaled numeric columns plus ``gamma_`` times the number of categories that differ from
    the prototype's modes; ``cluster_distance`` is its square root (with no category, the
    K-Means distance). ``gamma_`` is kmodes' default, half the mean standard deviation of
    the numeric columns. Fitted on at most :data:`KPROTOTYPES_SAMPLE` rows.

    Attributes
    ----------
    n_numeric_ : int
        Leading numeric columns; the rest are category codes.
    gamma_ : float
    labels_ : ndarray of int, shape (n_rows,)
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Numeric means, then the category code of each mode.
    inertia_ : float
        The k-prototypes cost: the sum over rows of the squared distance.
    """

    def fit(self, X: np.ndarray, y=None) -> KPrototypesClusterer:
        """Fit on (a sample of) ``X``, a :class:`~segmentation.modeling.preprocess.MixedMatrix`."""
        self._validate_params()
        n_categorical = getattr(X, "n_categorical", 0)
        if n_categorical == 0:
            raise SegmentationError(
                "kprototypes needs at least one categorical feature column; with only "
                "numeric columns use kmeans"
            )
        X = np.asarray(X, dtype=float)
        self._check_rows(X)
        self.n_numeric_ = X.shape[1] - n_categorical
        rows = _sample(len(X), KPROTOTYPES_SAMPLE, self.random_state)
        fitted = X if rows is None else X[rows]
        if self.n_numeric_ == 0:
            from kmodes.kmodes import KModes

            modes = KModes(
                n_clusters=self.n_clusters,
                init="Cao",
                n_init=KPROTOTYPES_N_INIT,
                random_state=self.random_state,
            ).fit(fitted)
            self.gamma_ = 1.0
            centers = np.asarray(modes.cluster_centroids_, dtype=float)
        else:
            from kmodes.kprototypes import KPrototypes

            model = KPrototypes(
                n_clusters=self.n_clusters,
                init="Cao",
                n_init=KPROTOTYPES_N_INIT,
                random_state=self.random_state,
            ).fit(fitted, categorical=list(range(self.n_numeric_, X.shape[1])))
            self.gamma_ = float(model.gamma)
            centers = np.asarray(model.cluster_centroids_, dtype=float)
        if len(centers) < self.n_clusters:
            raise SegmentationError(
                f"the table has only {len(centers)} distinct customers; choose k of at most that"
            )
        self.cluster_centers_ = centers
        labels, distances = self.assign(X)
        order = size_order(labels, centers)
        self.labels_ = relabel(labels, order)
        self.cluster_centers_ = centers[order]
        self.inertia_ = float((distances**2).sum())
        return self

    def _cost(self, X: np.ndarray) -> np.ndarray:
        """Squared k-prototypes distance of every row to every prototype, (n_rows, k)."""
        p = self.n_numeric_
        centers = self.cluster_centers_
        cost = np.empty((len(X), len(centers)))
        for c, center in enumerate(centers):
            diff = X[:, :p] - center[:p]
            cost[:, c] = (diff * diff).sum(axis=1) + self.gamma_ * (X[:, p:] != center[p:]).sum(
                axis=1
            )
        return cost

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest prototype and the distance to it (see the class docstring)."""
        check_is_fitted(self, "cluster_centers_")
        cost = self._cost(np.asarray(X, dtype=float))
        clusters = cost.argmin(axis=1)
        return clusters.astype(np.int64), np.sqrt(cost[np.arange(len(cost)), clusters])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.assign(X)[0]

    def metric_space(self, X: np.ndarray) -> np.ndarray:
        """Rows where the k-prototypes distance is the Euclidean one: numeric columns,
        then each category one-hot times sqrt(gamma / 2) (two differing bits add gamma)."""
        check_is_fitted(self, "cluster_centers_")
        X = np.asarray(X, dtype=float)
        p = self.n_numeric_
        blocks = [X[:, :p]]
        weight = np.sqrt(self.gamma_ / 2)
        for j in range(p, X.shape[1]):
            codes = X[:, j]
            known = np.unique(np.concatenate([codes, self.cluster_centers_[:, j]]))
            blocks.append((codes[:, None] == known[None, :]) * weight)
        return np.hstack(blocks)
