"""K-Means, metrics and the automatic choice of k."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.errors import DataError
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.selection import (
    Candidate,
    Metrics,
    choose_k,
    fit_kmeans,
    min_segment_size,
    recommend_k,
    sweep_k,
)


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
    assert "prediction strength" in sweep.rule
    assert sweep.choice.verdict == "clear" and not sweep.choice.at_edge


def test_former_silhouette_rule_ties_to_smaller_k():
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
    assert calls[0][1].startswith("Tried 1 of 3: k = 2: prediction strength ")
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


def _structureless(kind: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if kind == "uniform":
        return rng.uniform(size=(600, 3))
    cov = np.array([[3.0, 1.2, 0.0], [1.2, 1.0, 0.2], [0.0, 0.2, 0.5]])
    return rng.multivariate_normal(np.zeros(3), cov, size=600)


@pytest.mark.parametrize("kind", ["uniform", "gaussian"], ids=["uniform", "one-gaussian"])
def test_structureless_table_has_verdict_none(kind):
    """A table with no clusters gets 'none', never ten invented segments."""
    sweep = sweep_k(_structureless(kind), (2, 8), random_state=0)
    assert sweep.choice.verdict == "none"
    assert "no clear segments" in sweep.choice.describe()
    assert not any(c.passes for c in sweep.choice.candidates)


def test_planted_k_is_clear_with_evidence_per_candidate():
    X, _ = make_blobs(800, centers=[[0, 0, 0], [9, 0, 0], [0, 9, 0], [0, 0, 9]], random_state=5)
    choice = sweep_k(X, (2, 7), random_state=1).choice
    assert (choice.k, choice.verdict) == (4, "clear")
    best = choice.candidate(4)
    assert best.prediction_strength >= 0.9 and best.gap_gain > 0
    assert choice.to_dict()["candidates"][0].keys() >= {
        "k",
        "silhouette",
        "stability",
        "prediction_strength",
        "min_segment_share",
    }


def test_candidate_with_a_tiny_segment_is_not_recommended():
    """Three clear groups, one of 4 customers: k = 3 leaves a segment under the minimum."""
    X, _ = make_blobs([300, 300, 4], centers=[[0, 0], [12, 0], [6, 30]], random_state=0)
    assert min_segment_size(len(X)) == 13
    choice = sweep_k(X, (2, 5), random_state=0).choice
    assert choice.candidate(3).too_small and not choice.candidate(3).passes
    assert choice.k == 2


def _cand(k, ps, sil=0.5, gain=1.0, small=False):
    return Candidate(k, sil, ps, 0.9, gain, 0.1, small, ps >= 0.8 and gain > 0.05 and not small)


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([_cand(2, 0.99, 0.4), _cand(3, 0.95, 0.6), _cand(4, 0.5, 0.7)], (3, "clear", False, ())),
        ([_cand(2, 0.99, 0.4), _cand(3, 0.83, 0.6), _cand(4, 0.5, 0.3)], (3, "weak", False, ())),
        ([_cand(2, 0.99, 0.4), _cand(3, 0.97, 0.5), _cand(4, 0.9, 0.6)], (4, "clear", True, ())),
        ([_cand(2, 0.99, 0.59), _cand(3, 0.95, 0.6), _cand(4, 0.5)], (3, "clear", False, (2,))),
        ([_cand(2, 0.7), _cand(3, 0.6, small=True)], (2, "none", False, ())),
        ([_cand(2, 0.95, gain=-0.1), _cand(3, 0.6)], (2, "none", False, ())),
    ],
    ids=["best-separated-passing", "weak", "at-edge", "near-tie", "none", "gap-guard"],
)
def test_choose_k_verdicts(candidates, expected):
    choice = choose_k(candidates, n_rows=100)
    assert (choice.k, choice.verdict, choice.at_edge, choice.near_ties) == expected


def test_same_table_same_segments_for_any_seed():
    """Five seeds at k = 6 on overlapping groups give the same segmentation (ARI >= 0.95)."""
    X, _ = make_blobs(3000, centers=6, n_features=4, cluster_std=2.5, random_state=11)
    labels = [fit_kmeans(X, 6, random_state=seed).labels_ for seed in range(5)]
    aris = [adjusted_rand_score(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
    assert np.mean(aris) >= 0.95


def test_fewer_than_30_customers_refused(customers):
    with pytest.raises(DataError, match="at least 30"):
        SegmentationModel(k=2).fit(customers[0].head(29))


def test_forced_k_still_gets_a_verdict(customers):
    model = SegmentationModel(k=3).fit(customers[0].head(300))
    choice = model.k_choice_
    assert [c.k for c in choice.candidates] == [3] and not choice.at_edge
    assert choice.verdict in {"clear", "weak", "none"}
    assert model.summary()["k_choice"]["verdict"] == choice.verdict
