"""How stable each segment is: bootstrap Jaccard agreement (Hennig's ``clusterboot``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

#: Stability is computed on at most this many customers (a seeded sample) ...
STABILITY_SAMPLE = 2000
#: ... resampled this many times.
N_RESAMPLES = 15
#: At or above this a segment is "stable" ...
STABLE = 0.85
#: ... at or above this "fairly stable", below it "fragile" (Hennig suggests 0.6 and 0.85).
FAIRLY_STABLE = 0.6

METHOD = (
    "bootstrap Jaccard agreement: customers are resampled with replacement and segmented "
    "again; a segment's stability is the mean, over the resamples, of its best overlap "
    "(Jaccard: shared customers over customers in either) with a segment of the resample; "
    "overall stability is the mean adjusted Rand index between the segments and the "
    "resample's. 1 means the segment reappears every time"
)


def stability_word(value: float | None) -> str:
    """The stability of a segment or a model in words: ``"stable"`` (0.85 and up),
    ``"fairly stable"`` (0.6 to 0.85), ``"fragile"`` (below 0.6), ``"unknown"`` (None
    or NaN, e.g. a version trained before stability was measured)."""
    if value is None or not np.isfinite(value):
        return "unknown"
    if value >= STABLE:
        return "stable"
    if value >= FAIRLY_STABLE:
        return "fairly stable"
    return "fragile"


@dataclass(frozen=True)
class Stability:
    """The stability of a segmentation.

    Attributes
    ----------
    overall : float
        Mean adjusted Rand index between the segments and the resamples' segments, on
        the resampled customers (1 is identical, about 0 is chance).
    segments : tuple of float
        Per cluster id: mean over the resamples of the segment's best Jaccard overlap with
        a resample's segment (0 to 1).
    n_rows : int
        Customers the resamples were drawn from.
    n_resamples : int
    """

    overall: float
    segments: tuple[float, ...]
    n_rows: int
    n_resamples: int

    def word(self, cluster: int | None = None) -> str:
        """:func:`stability_word` of a segment, or of the whole model when ``cluster`` is
        None."""
        return stability_word(self.overall if cluster is None else self.segments[cluster])

    def to_dict(self) -> dict:
        """JSON-safe form (the train JSON's ``stability``)."""
        return {
            "overall": self.overall,
            "overall_word": self.word(),
            "segments": [
                {"cluster": j, "stability": value, "word": stability_word(value)}
                for j, value in enumerate(self.segments)
            ],
            "method": METHOD,
            "n_rows": self.n_rows,
            "n_resamples": self.n_resamples,
        }


def segment_stability(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    *,
    fit: Callable[[np.ndarray, int, int | None], object],
    random_state: int | None,
    n_resamples: int = N_RESAMPLES,
    sample_size: int = STABILITY_SAMPLE,
) -> Stability:
    """Bootstrap stability of every segment of ``X`` (Hennig, 2007).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The preprocessed training rows.
    labels : ndarray of int, shape (n_rows,)
        Their segments (ids 0 to k-1).
    k : int
    fit : callable
        ``fit(X, k, random_state)`` of the algorithm (its registry entry's ``fit``), so
        any registered algorithm is judged by refitting itself.
    random_state : int or None
        Seeds the sample, the resamples and the refits.
    n_resamples : int, default=15
    sample_size : int, default=2000
        Larger tables are judged on a seeded sample of this many rows, so training stays
        fast.

    Returns
    -------
    Stability
    """
    rng = np.random.default_rng(random_state)
    labels = np.asarray(labels)
    if len(X) > sample_size:
        rows = rng.choice(len(X), size=sample_size, replace=False)
        X, labels = X[rows], labels[rows]
    n = len(X)
    jaccard = np.full((n_resamples, k), np.nan)
    agreement = []
    for b in range(n_resamples):
        drawn = rng.integers(0, n, size=n)
        # Small refits on one thread: see segmentation.modeling.selection.SMALL_FITS.
        with threadpool_limits(limits=1):
            refit = np.asarray(fit(X[drawn], k, int(rng.integers(2**31 - 1))).labels_)
        # Each customer drawn at least once, with the resample's segment for it.
        unique, first = np.unique(drawn, return_index=True)
        original, again = labels[unique], refit[first]
        agreement.append(adjusted_rand_score(original, again))
        table = np.zeros((k, int(again.max()) + 1))
        np.add.at(table, (original, again), 1)
        sizes_a, sizes_b = table.sum(axis=1), table.sum(axis=0)
        union = sizes_a[:, None] + sizes_b[None, :] - table
        with np.errstate(invalid="ignore", divide="ignore"):
            best = (table / union).max(axis=1)
        # A segment none of whose customers was drawn says nothing this time.
        jaccard[b] = np.where(sizes_a > 0, best, np.nan)
    per_segment = [float(np.nanmean(col)) if np.isfinite(col).any() else 0.0 for col in jaccard.T]
    return Stability(float(np.mean(agreement)), tuple(per_segment), n, n_resamples)
