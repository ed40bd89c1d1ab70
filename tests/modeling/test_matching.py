"""Matching segments across versions: permutations recovered, splits, merges, new and gone."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.modeling.matching import (
    jaccard,
    match_segments,
    migration,
    migration_matrix,
    stable_ids,
    unique_names,
)

NAMES = ["A", "B", "C", "D"]


def _labels(sizes, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return labels[rng.permutation(len(labels))]


def test_migration_matrix_counts_every_pair():
    old = np.array([0, 0, 1, 1, 1, 2])
    new = np.array([1, 1, 0, 0, 2, 2])
    counts = migration_matrix(old, new, 3, 3)
    assert counts.tolist() == [[0, 2, 0], [2, 0, 1], [0, 0, 1]]
    assert jaccard(counts)[0, 1] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_permuted_ids_are_recovered_with_a_little_noise(seed):
    rng = np.random.default_rng(seed)
    old = _labels([400, 300, 200, 100], seed)
    perm = rng.permutation(4)
    new = perm[old]
    noisy = rng.random(len(new)) < 0.05
    new[noisy] = rng.integers(0, 4, noisy.sum())
    matches = match_segments(migration_matrix(old, new, 4, 4))
    assert matches == {int(perm[i]): i for i in range(4)}
    ids = stable_ids(matches, 4, 4)
    assert (ids[new] == old).mean() > 0.94


def test_a_split_is_detected_and_its_smaller_part_gets_a_fresh_id():
    """Old B splits 60/40 into new 1 and 2; C is renumbered 3 and loses a tenth to A."""
    old = np.array([0] * 100 + [1] * 100 + [2] * 100)
    new = np.array([0] * 100 + [1] * 60 + [2] * 40 + [3] * 90 + [0] * 10)
    result = migration(old, new, ["A", "B", "C"], ["a", "b", "c", "d"])
    assert result.matches == {0: 0, 1: 1, 3: 2}
    before, after = result.statuses()
    assert [s["status"] for s in before] == ["matched", "split", "matched"]
    assert [s["status"] for s in after] == ["matched", "matched", "split", "matched"]
    assert [p["cluster"] for p in before[1]["into"]] == [1, 2]
    ids = stable_ids(result.matches, 3, 4)
    assert ids.tolist() == [0, 1, 3, 2], "the unmatched part takes the first id C never had"


def test_a_new_segment_that_takes_from_everyone_is_new():
    old = np.array([0] * 100 + [1] * 100)
    new = np.array([0] * 85 + [2] * 15 + [1] * 85 + [2] * 15)
    _, after = migration(old, new, ["A", "B"], ["a", "b", "c"]).statuses()
    assert [s["status"] for s in after] == ["matched", "matched", "new"]


def test_merged_and_gone():
    old = np.array([0] * 100 + [1] * 50 + [2] * 50 + [3] * 30)
    new = np.array([0] * 100 + [1] * 50 + [1] * 50 + [0] * 10 + [1] * 10 + [2] * 10)
    result = migration(old, new, NAMES, ["a", "b", "c"])
    before, after = result.statuses()
    assert before[1]["status"] == before[2]["status"] == "merged"
    assert after[1]["status"] == "merged"
    assert before[3]["status"] == "split"  # a third each: scattered
    assert 3 not in result.matches.values()


def test_weak_overlap_is_not_a_match():
    old = np.array([0] * 100 + [1] * 100)
    new = np.array([0] * 40 + [1] * 60 + [1] * 40 + [0] * 60)
    assert match_segments(migration_matrix(old, new, 2, 2)) == {}
    before, after = migration(old, new, ["A", "B"], ["a", "b"]).statuses()
    assert {s["status"] for s in before} == {"split"}
    assert {s["status"] for s in after} == {"split"}


def test_gone_segment_id_is_reused_only_after_fresh_ones():
    # Old 4 segments, new 4: old 1 matched nowhere; new segment 3 is new.
    ids = stable_ids({0: 0, 1: 2, 2: 3}, 4, 4)
    assert ids.tolist() == [0, 2, 3, 1]
    ids = stable_ids({0: 0, 1: 2, 2: 3}, 4, 5)
    assert sorted(ids.tolist()) == [0, 1, 2, 3, 4] and ids[3] == 4


def test_a_match_to_an_id_beyond_k_takes_a_free_id():
    ids = stable_ids({0: 4, 1: 0}, 5, 3)
    assert sorted(ids.tolist()) == [0, 1, 2] and ids[1] == 0


def test_kept_share_counts_only_same_id_and_same_name():
    old = np.array([0, 0, 1, 1])
    new = np.array([0, 0, 1, 0])
    assert migration(old, new, ["A", "B"], ["A", "B"]).kept_share() == 0.75
    assert migration(old, new, ["A", "B"], ["A", "X"]).kept_share() == 0.5


def test_unique_names_keep_inherited_ones():
    assert unique_names(["Lapsed", "Lapsed", "VIP"], {0}) == ["Lapsed", "Lapsed (new)", "VIP"]
    assert unique_names(["X", "X", "X"], {2}) == ["X (new)", "X (new 2)", "X"]


def test_to_dict_shape():
    result = migration(np.array([0, 1, 1]), np.array([1, 0, 0]), ["A", "B"], ["b", "a"])
    data = result.to_dict()
    assert set(data) == {"n_customers", "kept_share", "min_jaccard", "migration", "segments"}
    assert data["migration"]["counts"] == [[0, 1], [2, 0]]
    assert data["segments"]["to"][0] | {"from": None} == {
        "cluster": 0,
        "name": "b",
        "customers": 2,
        "status": "matched",
        "matched_to": 1,
        "from": None,
    }
