"""The model store: immutable versions, atomic writes, an active pointer."""

import json
import os

import numpy as np
import pytest

from segmentation.errors import ModelStoreError
from segmentation.modeling.estimator import SegmentationModel
from segmentation.store import ModelStore


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


@pytest.fixture(scope="module")
def small_model(customers):
    return SegmentationModel(k=3).fit(customers[0].head(300))


def test_save_list_load_activate_delete(store, small_model, customers):
    data = customers[0].head(300)
    v1 = store.save(small_model, data=data, data_name="a.csv")
    v2 = store.save(small_model, data=data, data_name="b.csv")
    assert (v1, v2) == ("v1", "v2")
    assert store.active_version() == "v2"
    listed = store.list()
    assert [i.version for i in listed] == ["v2", "v1"] and listed[0].active
    meta = listed[0].metadata
    for key in (
        "created_at",
        "k",
        "features",
        "schema",
        "silhouette",
        "n_rows",
        "data_fingerprint",
        "library_versions",
        "segments",
        "data_name",
    ):
        assert key in meta
    store.activate("v1")
    model, meta = store.load()
    assert meta["version"] == "v1"
    assert model.segment_names == small_model.segment_names
    with pytest.raises(ModelStoreError, match="active"):
        store.delete("v1")
    store.delete("v2")
    assert store.versions() == ["v1"]
    assert store.save(small_model, data=data, data_name="c.csv") == "v3"


def test_metadata_is_strict_json(store, small_model, customers):
    v = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    text = (store.root / v / "metadata.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_crash_mid_save_leaves_no_version_and_keeps_active(
    store, small_model, customers, monkeypatch
):
    data = customers[0].head(300)
    store.save(small_model, data=data, data_name="a.csv")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("joblib.dump", boom)
    with pytest.raises(OSError, match="disk full"):
        store.save(small_model, data=data, data_name="b.csv")
    assert store.versions() == ["v1"]
    assert store.active_version() == "v1"
    leftovers = [p.name for p in store.root.iterdir() if p.name.startswith((".staging", ".trash"))]
    assert leftovers == []


def test_other_sklearn_version_gives_clear_message(store, small_model, customers):
    v = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    path = store.root / v / "metadata.json"
    meta = json.loads(path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.24.2"
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelStoreError, match="saved with scikit-learn 0.24.2.*retrain"):
        store.load(v)


@pytest.mark.parametrize(
    "version",
    ["../etc", "v1/../../x", "model.joblib", "", "v99"],
    ids=["traversal", "nested", "file", "empty", "absent"],
)
def test_only_versions_of_the_store_load(store, version):
    with pytest.raises(ModelStoreError):
        store.load(version)


def test_no_model_yet(store):
    assert store.active_version() is None
    with pytest.raises(ModelStoreError, match="no model"):
        store.load()


def test_ensure_active_model_trains_default_once(tmp_path, monkeypatch):
    from segmentation.workflows import ensure_active_model

    store = ModelStore(tmp_path / "m")
    assert ensure_active_model(store) == "v1"
    assert ensure_active_model(store) == "v1"
    assert store.load()[1]["data_name"].startswith("customers.csv")
    os.remove(store.root / "ACTIVE")
    # A read never repoints ACTIVE on its own: it says what is wrong and how to choose.
    with pytest.raises(ModelStoreError, match="ACTIVE file is missing.*activate --model"):
        ensure_active_model(store)
    assert not (store.root / "ACTIVE").exists() and store.versions() == ["v1"]


def test_training_data_kept_with_version(store, small_model, customers):
    data = customers[0].head(300)
    v = store.save(small_model, data=data, data_name="a.csv")
    back = store.training_data(v)
    assert list(back.columns) == list(data.columns) and len(back) == 300
    assert back["Income"].equals(data["Income"])


def test_version_saved_by_the_previous_layout_asks_for_a_retrain(store, small_model, customers):
    """Versions from before the one-Pipeline estimator have no store_format: never unpickle
    them (their classes moved), say what to do instead."""
    v = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    meta_path = store.root / v / "metadata.json"
    meta = json.loads(meta_path.read_text())
    del meta["store_format"]
    meta_path.write_text(json.dumps(meta))
    (store.root / v / "labeler.npz").unlink()
    for load in (store.load, store.load_labeler):
        with pytest.raises(ModelStoreError, match="earlier version of the studio; retrain it"):
            load(v)


def test_saved_params_are_all_of_the_estimators(store, small_model, customers):
    v = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    params = json.loads((store.root / v / "metadata.json").read_text())["params"]
    assert set(params) == set(small_model.get_params())
    model, _ = store.load(v)
    assert model.get_params() == small_model.get_params()


def test_version_without_a_labeler_is_compiled_on_load(store, small_model, customers):
    v = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    (store.root / v / "labeler.npz").write_bytes(b"not an npz")
    labeler, _ = store.load_labeler(v)
    np.testing.assert_array_equal(labeler.centers, small_model.clusterer_.cluster_centers_)
