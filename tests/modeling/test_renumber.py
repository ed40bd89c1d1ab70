"""Renumbering a fitted model's segments: every path that labels follows the new ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.synthetic import generate_customers
from segmentation.errors import SegmentationError
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.labeling import CompiledLabeler, label_file
from segmentation.store import ModelStore

IDS = [2, 0, 3, 1]


@pytest.fixture(scope="module", params=["kmeans", "ward", "gmm", "kprototypes"])
def pair(request):
    """The same model twice: as fitted, and with its segments renumbered and one renamed;
    for every registered algorithm (each keeps other per-segment arrays)."""
    data = generate_customers(500, seed=4)
    params = {
        "k": 4,
        "random_state": 0,
        "algorithm": request.param,
        "purposes": {"Gender": "segment", "Region": "segment"},
    }
    before = SegmentationModel(**params).fit(data)
    after = SegmentationModel(**params).fit(data)
    after.renumber_segments(IDS, names={0: "Analyst's Favourites"})
    return data, before, after


def test_ids_names_labels_and_profiles_follow(pair):
    data, before, after = pair
    ids = np.array(IDS)
    np.testing.assert_array_equal(after.labels_, ids[before.labels_])
    np.testing.assert_array_equal(after.predict(data), ids[before.predict(data)])
    assert [p.cluster for p in after.profiles_] == [0, 1, 2, 3]
    for old, new in enumerate(IDS):
        assert after.profiles_[new].size == before.profiles_[old].size
        if new != 0:
            assert after.profiles_[new].name == before.profiles_[old].name
    assert after.profiles_[0].name == "Analyst's Favourites"
    for old, new in enumerate(IDS):  # each segment's stability travels with it
        assert after.stability_.segments[new] == before.stability_.segments[old]
    assert after.profile(0).name == after.segment_names[0]
    labels = after.label(data).labels
    assert (labels["segment"] == labels["cluster"].map(after.segment_names)).all()
    np.testing.assert_allclose(
        labels["cluster_distance"], before.label(data).labels["cluster_distance"]
    )
    if after.algorithm_.gives_probabilities:  # the posterior of the same segment
        np.testing.assert_allclose(
            labels["segment_probability"], before.label(data).labels["segment_probability"]
        )
    if (merges := after.segment_merges()) is not None:  # Ward's tree names the same segments
        old = before.segment_merges()
        leaves = old[:, :2] < 4
        np.testing.assert_array_equal(merges[:, :2][leaves], ids[old[:, :2][leaves].astype(int)])
    one = after.predict_one(data.iloc[0].to_dict())
    assert one["cluster"] == IDS[before.predict_one(data.iloc[0].to_dict())["cluster"]]
    assert after.summary()["segments"][0]["name"] == "Analyst's Favourites"


def test_fast_and_general_paths_agree_after_renumbering(pair, tmp_path):
    """The labeler saved with a renumbered version gives what the model itself gives."""
    data, _, after = pair
    store = ModelStore(tmp_path / "models")
    store.save(after, data=data, data_name="train")
    labeler, _ = store.load_labeler()
    assert isinstance(labeler, CompiledLabeler)
    fresh = generate_customers(300, seed=9)
    path = tmp_path / "new.csv"
    fresh.to_csv(path, index=False)
    out = tmp_path / "labeled.csv"
    assert label_file(labeler, path, out).fast
    fast = pd.read_csv(out, keep_default_na=False, dtype={"segment": str})
    general = after.label(fresh).labels
    np.testing.assert_array_equal(fast["cluster"].to_numpy(), general["cluster"].to_numpy())
    assert (fast["segment"].to_numpy() == general["segment"].to_numpy()).all()
    np.testing.assert_allclose(fast["cluster_distance"], general["cluster_distance"], atol=1e-6)
    reloaded, _ = store.load()
    np.testing.assert_array_equal(reloaded.predict(fresh), general["cluster"].to_numpy())


@pytest.mark.parametrize(
    ("ids", "names", "match"),
    [
        ([0, 1, 2], None, "reordering of 0 to 3"),
        ([0, 1, 1, 2], None, "reordering of 0 to 3"),
        ([0, 1, 2, 4], None, "reordering of 0 to 3"),
        ([0, 1, 2, 3], {0: "X", 1: "X"}, "names must be unique"),
    ],
    ids=["short", "repeated", "out-of-range", "clashing-names"],
)
def test_bad_renumbering_is_refused(ids, names, match):
    model = SegmentationModel(k=4, random_state=0).fit(generate_customers(300, seed=1))
    with pytest.raises(SegmentationError, match=match):
        model.renumber_segments(ids, names=names)
