"""Segments keep their id and name when a version is retrained on next month's export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.synthetic import generate_customers
from segmentation.errors import ModelStoreError, SchemaError
from segmentation.store import ModelStore
from segmentation.workflows import compare_versions, train_and_save

#: Retraining on the same export with this share of customers dropped ...
DROPPED = 0.05
#: ... keeps at least this share of the rest in a segment with the same id and name.
KEPT = 0.95


def planted(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Six blobs of similar size (so size order, the fitted ids, shuffles between fits)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(6, 4))
    which = rng.integers(0, 6, n)
    values = centres[which] + rng.normal(0, 1.6, size=(n, 4))
    table = pd.DataFrame(values, columns=["Spend", "Visits", "Basket", "Tenure"])
    table.insert(0, "CustomerID", np.arange(100_000, 100_000 + n))
    return table


def _drop(table: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return table[rng.random(len(table)) >= DROPPED]


def _kept_share(store: ModelStore, old: str, new: str, kept: pd.DataFrame) -> float:
    """Of the customers in both trainings: the share whose segment id and name are equal."""
    before, _ = store.load(old)
    after, _ = store.load(new)
    full = store.training_data(old)
    position = pd.Series(np.arange(len(full)), index=full["CustomerID"])
    old_ids = before.labels_[position[kept["CustomerID"]].to_numpy()]
    old_names = np.array(list(before.segment_names.values()), dtype=object)[old_ids]
    new_names = np.array(list(after.segment_names.values()), dtype=object)[after.labels_]
    return float(((old_ids == after.labels_) & (old_names == new_names)).mean())


CASES = [
    ("planted-k6", lambda: planted(), {"k": 6}),
    ("planted-auto-k", lambda: planted(seed=1), {}),
    (
        "generator-k5",
        lambda: generate_customers(1500, seed=3).assign(CustomerID=range(1500)),
        {"k": 5},
    ),
    (
        "generator-auto-k",
        lambda: generate_customers(1500, seed=5).assign(CustomerID=range(1500)),
        {},
    ),
]


@pytest.mark.parametrize(("make", "params"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("drop_seed", [1, 2], ids=lambda s: f"drop{s}")
def test_five_percent_dropped_keeps_95_percent_in_the_same_segment(
    make, params, drop_seed, tmp_path
):
    store = ModelStore(tmp_path / "models")
    table = make()
    first, _ = train_and_save(table, data_name="export", store=store, random_state=0, **params)
    # A different seed too: the ids K-Means hands out are arbitrary between fits.
    kept = _drop(table, drop_seed).reset_index(drop=True)
    second, model = train_and_save(
        kept, data_name="export minus 5%", store=store, random_state=drop_seed, **params
    )
    identity = store.metadata(second)["identity"]
    assert identity["matched_against"] == first
    assert set(identity["fitted_ids"]) == {str(i) for i in range(model.k_)}
    share = _kept_share(store, first, second, kept)
    assert share >= KEPT, f"only {share:.1%} kept their segment's id and name"


def test_names_chosen_later_are_kept_and_new_segments_get_fresh_ids(tmp_path):
    """An analyst renamed a segment; the next version (one more segment) keeps the name,
    and its new segment takes id 5, which no earlier segment had."""
    store = ModelStore(tmp_path / "models")
    table = planted()
    first, model = train_and_save(table, data_name="export", store=store, k=5, random_state=0)
    # Renaming by hand is a new version of the same model: the store keeps names as saved.
    model.renumber_segments(range(5), names={2: "Our Best Friends"})
    renamed = store.save(model, data=table, data_name="renamed")
    second, after = train_and_save(table, data_name="export", store=store, k=6, random_state=0)
    identity = store.metadata(second)["identity"]
    assert identity["matched_against"] == renamed
    assert "Our Best Friends" in after.segment_names.values()
    matched = {
        s["cluster"]: s["matched_to"] for s in identity["segments"] if s["matched_to"] is not None
    }
    assert all(c == m for c, m in matched.items()), "a matched segment keeps its id"
    new = sorted(s["cluster"] for s in identity["segments"] if s["matched_to"] is None)
    gone = sorted(set(range(5)) - set(matched.values()))
    # Fresh ids first (5), then the ids of old segments that found no match.
    assert new == sorted([5, *gone[: len(new) - 1]])
    assert first == "v1" and renamed == "v2" and second == "v3"


def test_first_version_has_nothing_to_match(tmp_path):
    store = ModelStore(tmp_path / "models")
    version, _ = train_and_save(planted(300), data_name="x", store=store, k=3, random_state=0)
    assert "identity" not in store.metadata(version)


def test_tables_with_other_columns_are_matched_on_the_old_training_table(tmp_path):
    """The new export lacks a column the old model used: the old table is labeled by both."""
    store = ModelStore(tmp_path / "models")
    table = planted()
    train_and_save(table, data_name="export", store=store, k=6, random_state=0)
    _, model = train_and_save(
        table.drop(columns=["Tenure"]), data_name="less", store=store, k=6, random_state=3
    )
    identity = store.metadata(store.active_version())["identity"]
    assert identity["on"] == "the training table of v1"
    assert sum(s["matched_to"] is not None for s in identity["segments"]) >= 4


def test_compare_versions_on_the_newer_training_table(tmp_path):
    store = ModelStore(tmp_path / "models")
    table = planted()
    train_and_save(table, data_name="export", store=store, k=6, random_state=0)
    train_and_save(_drop(table, 1), data_name="export", store=store, k=6, random_state=1)
    result, where = compare_versions(store, "v1", "v2")
    assert where == "the training table of v2"
    assert result.n_customers == len(store.training_data("v2"))
    assert result.kept_share() >= KEPT
    with pytest.raises(ModelStoreError, match="v9 does not exist"):
        compare_versions(store, "v1", "v9")
    with pytest.raises(SchemaError):
        compare_versions(store, "v1", "v2", data=table.drop(columns=["Spend"]))


def test_match_undoes_any_reordering_of_the_fitted_ids(tmp_path):
    """Size order usually survives a 5% drop; when it does not, the match restores the ids."""
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.workflows import match_to_version

    store = ModelStore(tmp_path / "models")
    table = planted()
    train_and_save(table, data_name="export", store=store, k=6, random_state=0)
    kept = _drop(table, 1).reset_index(drop=True)
    model = SegmentationModel(k=6, random_state=1).fit(kept)
    model.renumber_segments([5, 4, 3, 2, 1, 0], names={i: f"Fitted {i}" for i in range(6)})
    result, identity = match_to_version(model, kept, store, "v1")
    assert identity["fitted_ids"] == {str(i): 5 - i for i in range(6)}
    assert result.kept_share() == 1.0
    assert model.segment_names == store.load("v1")[0].segment_names
