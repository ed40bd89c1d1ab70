"""K-Means, metrics and the automatic choice of k."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.selection import Metrics, fit_kmeans, recommend_k, sweep_k


@pytest.mark.parametrize("centers", [3, 4, 6], ids=["3-blobs", "4-blobs", "6-blobs"])
def test_sweep_recovers_number_of_blobs(centers):
    angles = np.linspace(0, 2 * np.pi, centers, endpoint=False)
    points = np.c_[8 * np.cos(angles), 8 * np.sin(angles)]
    X, _ = make_blobs(600, centers=points, cluster_std=0.8, random_state=centers)
    sweep = sweep_k(X, (2, 8), random_state=0)
    assert sweep.recommended_k == centers
    assert [m.k for m in sweep.metrics] == list(range(2, 9))
    assert all(
        np.isfinite([m.inertia, m.silhouette, m.davies_bouldin, m.calinski_harabasz]).all()
        for m in sweep.metrics
    )
    assert "silhouette" in sweep.rule


def test_recommend_rule_highest_silhouette_ties_to_smaller_k():
    ms = [Metrics(2, 10, 0.5, 1, 1), Metrics(3, 8, 0.6, 1, 1), Metrics(4, 7, 0.6, 1, 1)]
    assert recommend_k(ms) == 3


def test_sweep_on_sample_for_large_tables_and_progress():
    X, _ = make_blobs(3000, centers=[[0, 0], [10, 0], [0, 10]], random_state=1)
    calls = []
    sweep = sweep_k(
        X, (2, 4), random_state=0, sample_size=500, progress=lambda f, msg: calls.append((f, msg))
    )
    assert sweep.n_rows == 500
    assert [f for f, _ in calls] == [1 / 3, 2 / 3, 1.0]
    assert calls[0][1].startswith("Tried 1 of 3: k = 2: silhouette ")
    assert sweep.recommended_k == 3


def test_cluster_ids_ordered_by_size_and_deterministic():
    X, _ = make_blobs([50, 300, 120], random_state=2)
    a = fit_kmeans(X, 3, random_state=7)
    b = fit_kmeans(X, 3, random_state=7)
    assert list(np.bincount(a.labels_)) == sorted(np.bincount(a.labels_), reverse=True)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(X), a.labels_)


def test_default_data_recovers_personas(customers, fitted):
    """On the default data the recommended k is the number of personas and ARI >= 0.8."""
    df, personas = customers
    assert fitted.k_ == len(np.unique(personas))
    assert adjusted_rand_score(personas, fitted.labels_) >= 0.8


def test_same_data_same_seed_same_ids_and_names(customers, fitted):
    again = SegmentationModel(random_state=42).fit(customers[0])
    assert again.segment_names == fitted.segment_names
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
