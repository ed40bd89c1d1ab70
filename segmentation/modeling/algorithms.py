"""The algorithm registry: every clusterer by name, with what it can do.

Pages, the command line and the labeling code ask the registry, never an algorithm's
class: a new algorithm is one entry here, and everything that labels customers follows
its ``assigns_new_by``. K-Means is the only entry so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segmentation.errors import SegmentationError

if TYPE_CHECKING:  # the command line reads the registry before any numeric work
    import numpy as np

#: How an algorithm labels a customer it was not trained on.
NEAREST_CENTROID = "nearest_centroid"


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
        Whether the fitted estimator has ``predict_proba`` (soft membership).
    preprocessing : str
        What the features need: ``"scaled"`` (numeric scaled, categories one-hot).
    assigns_new_by : str
        :data:`NEAREST_CENTROID` (the fast labeler can compile it), or ``"predict"`` (the
        fitted estimator's own ``predict`` on the preprocessed rows).
    """

    name: str
    label: str
    fit: Callable[[np.ndarray, int, int | None], object]
    needs_k: bool
    has_centroids: bool
    gives_probabilities: bool
    preprocessing: str
    assigns_new_by: str


def _fit_kmeans(X: np.ndarray, k: int, random_state: int | None):
    from segmentation.modeling.selection import fit_kmeans

    return fit_kmeans(X, k, random_state=random_state)


ALGORITHMS: dict[str, Algorithm] = {
    "kmeans": Algorithm(
        name="kmeans",
        label="K-Means",
        fit=_fit_kmeans,
        needs_k=True,
        has_centroids=True,
        gives_probabilities=False,
        preprocessing="scaled",
        assigns_new_by=NEAREST_CENTROID,
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
