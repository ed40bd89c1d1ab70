"""Bootstrap stability of segments and its words."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from segmentation.modeling.selection import fit_kmeans
from segmentation.modeling.stability import segment_stability, stability_word


def _fit(X, k, random_state):
    return fit_kmeans(X, k, random_state=random_state)


def _stability(X, k, seed=0):
    labels = fit_kmeans(X, k, random_state=seed).labels_
    return segment_stability(X, labels, k, fit=_fit, random_state=seed, n_resamples=8)


def test_well_separated_segments_are_stable():
    X, _ = make_blobs(600, centers=[[0, 0], [10, 0], [0, 10]], random_state=0)
    result = _stability(X, 3)
    assert result.overall > 0.95 and min(result.segments) > 0.95
    assert [result.word(j) for j in range(3)] == ["stable"] * 3


def test_structureless_segments_are_less_stable():
    X = np.random.default_rng(0).uniform(size=(600, 3))
    result = _stability(X, 6)
    assert result.overall < 0.85 and min(result.segments) < 0.85


def test_stability_is_seeded():
    X, _ = make_blobs(400, centers=4, random_state=1)
    assert _stability(X, 4, seed=3) == _stability(X, 4, seed=3)


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (0.97, "stable"),
        (0.85, "stable"),
        (0.7, "fairly stable"),
        (0.6, "fairly stable"),
        (0.3, "fragile"),
        (None, "unknown"),
        (float("nan"), "unknown"),
    ],
    ids=["high", "at-0.85", "mid", "at-0.6", "low", "none", "nan"],
)
def test_stability_words(value, word):
    assert stability_word(value) == word


def test_model_stores_stability_in_summary(customers):
    from segmentation.modeling.estimator import SegmentationModel

    model = SegmentationModel(k=3, random_state=0).fit(customers[0].head(300))
    summary = model.summary()
    assert 0 <= summary["stability"]["overall"] <= 1
    assert len(model.stability_.segments) == 3
    assert {"stability", "stability_word"} <= set(summary["segments"][0])
    assert summary["segments"][0]["stability_word"] in {"stable", "fairly stable", "fragile"}
