"""The algorithm registry: every clusterer by name, with what it can do.

Pages, the command line and the labeling code ask the registry, never an algorithm's
class: a new algorithm is one entry here, and everything that labels customers follows
its ``assigns_new_by``. K-Means is the default; Ward, a Gaussian mixture and
k-prototypes are there for tables where it is the wrong tool (docs/methods.md says when).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segmentation.errors import SegmentationError

if TYPE_CHECKING:  # the command line reads the registry before any numeric work
    import numpy as np

#: How an algorithm labels a customer it was not trained on: the nearest centre in model
#: space (Euclidean), ...
NEAREST_CENTROID = "nearest_centroid"
#: ... the nearest prototype by k-prototypes' distance (squared Euclidean over the numeric
#: columns plus gamma times the categories that differ), ...
NEAREST_PROTOTYPE = "nearest_prototype"
#: ... or the segment with the highest posterior probability.
MOST_PROBABLE = "most_probable"


@dataclass(frozen=True)
class Algorithm:
    """One clustering algorithm and its capabilities.

    Attributes
    ----------
    name : str
        Registry key, as given to ``SegmentationModel(algorithm=...)`` and the CLI.
    label : str
        Shown to users.
    fit : callable
        ``fit(X, k, random_state) -> fitted estimator`` with ``labels_`` (ids ordered by
        segment size, largest first) and, if ``has_centroids``, ``cluster_centers_``.
    needs_k : bool
        Whether the number of segments must be given or chosen by a sweep.
    has_centroids : bool
    gives_probabilities : bool
        Whether the fitted estimator has ``predict_proba`` (soft membership); labeled
        files then gain ``segment_probability``, the posterior of the assigned segment.
    preprocessing : str
        What the features need (see
        :data:`segmentation.modeling.preprocess.PREPROCESSINGS`): ``"scaled"`` (numeric
        scaled, categories one-hot), ``"numeric"`` (the scaled numeric block alone) or
        ``"mixed"`` (numeric scaled, categories as codes).
    assigns_new_by : str
        :data:`NEAREST_CENTROID`, :data:`NEAREST_PROTOTYPE` or :data:`MOST_PROBABLE`;
        the last two through the fitted estimator's ``assign(X) -> (clusters, distances)``.
        The fast labeler compiles all three.
    description : str
        When to pick it, in one sentence shown to users.
    """

    name: str
    label: str
    fit: Callable[[np.ndarray, int, int | None], object]
    needs_k: bool
    has_centroids: bool
    gives_probabilities: bool
    preprocessing: str
    assigns_new_by: str
    description: str = ""
    #: The fit of the model itself, when it should differ from the many refits behind the
    #: choice of k and stability (K-Means: more restarts on small tables); else ``fit``.
    final_fit: Callable[[np.ndarray, int, int | None], object] | None = None


def _fit_kmeans(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.selection import fit_kmeans

    return fit_kmeans(X, k, random_state=random_state)


def _fit_kmeans_final(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.selection import final_restarts, fit_kmeans

    return fit_kmeans(X, k, random_state=random_state, n_init=final_restarts(len(X)))


def _fit_ward(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.clusterers import WardClusterer

    return WardClusterer(n_clusters=k, random_state=random_state).fit(X)


def _fit_gmm(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.clusterers import GaussianMixtureClusterer

    return GaussianMixtureClusterer(n_clusters=k, random_state=random_state).fit(X)


def _fit_kprototypes(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.clusterers import KPrototypesClusterer

    return KPrototypesClusterer(n_clusters=k, random_state=random_state).fit(X)


ALGORITHMS: dict[str, Algorithm] = {
    "kmeans": Algorithm(
        name="kmeans",
        label="K-Means",
        fit=_fit_kmeans,
        final_fit=_fit_kmeans_final,
        needs_k=True,
        has_centroids=True,
        gives_probabilities=False,
        preprocessing="scaled",
        assigns_new_by=NEAREST_CENTROID,
        description="Compact segments of similar size; the default.",
    ),
    "ward": Algorithm(
        name="ward",
        label="Ward (hierarchical)",
        fit=_fit_ward,
        needs_k=True,
        has_centroids=True,
        gives_probabilities=False,
        preprocessing="scaled",
        assigns_new_by=NEAREST_CENTROID,
        description="Segments of very unequal sizes, or groups nested inside groups.",
    ),
    "gmm": Algorithm(
        name="gmm",
        label="Gaussian mixture",
        fit=_fit_gmm,
        needs_k=True,
        has_centroids=True,
        gives_probabilities=True,
        preprocessing="numeric",
        assigns_new_by=MOST_PROBABLE,
        description="Elongated or overlapping segments, with each customer's probability "
        "of belonging; uses the numeric columns only.",
    ),
    "kprototypes": Algorithm(
        name="kprototypes",
        label="K-Prototypes (mixed data)",
        fit=_fit_kprototypes,
        needs_k=True,
        has_centroids=True,
        gives_probabilities=False,
        preprocessing="mixed",
        assigns_new_by=NEAREST_PROTOTYPE,
        description="Mostly categorical tables: categories are compared as they are, "
        "not one-hot encoded.",
    ),
}


def get_algorithm(name: str) -> Algorithm:
    """The registry entry for ``name``.

    Raises
    ------
    SegmentationError
        For an unknown name; the message lists the known ones.
    """
    try:
        return ALGORITHMS[name]
    except (KeyError, TypeError):
        raise SegmentationError(
            f"unknown algorithm {name!r}; use one of {', '.join(ALGORITHMS)}"
        ) from None
