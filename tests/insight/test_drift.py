"""Is next month's file like the training data? Drift per feature and of the segment mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.data.synthetic import generate_customers
from segmentation.errors import DataError
from segmentation.insight import drift
from segmentation.modeling import labeling
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.labeling import CompiledLabeler, label_file
from segmentation.store import ModelStore


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return generate_customers(3000, seed=0)


@pytest.fixture(scope="module")
def model(training) -> SegmentationModel:
    # Age, Gender and Region describe by default; here they segment too, so the check
    # covers categorical features and a demographic range.
    purposes = {"Age": "segment", "Gender": "segment", "Region": "segment"}
    return SegmentationModel(k=5, random_state=0, purposes=purposes).fit(training)


def _label(model, df: pd.DataFrame, tmp_path) -> labeling.LabelReport:
    path = tmp_path / "next_month.csv"
    df.to_csv(path, index=False)
    report = label_file(model, path, tmp_path / "labeled.csv")
    assert report.fast, "a clean export takes the fast path"
    return report


def _feature(report: drift.DriftReport, name: str) -> drift.FeatureDrift:
    return next(f for f in report.features if f.feature == name)


def test_reference_is_json_safe_and_complete(model):
    import json

    reference = model.drift_reference_
    assert json.loads(json.dumps(reference)) == reference
    assert set(reference["numeric"]) == set(model.schema_.numeric)
    assert set(reference["categorical"]) == set(model.schema_.categorical)
    income = reference["numeric"]["Income"]
    assert len(income["shares"]) == len(income["edges"]) + 2  # the bins, then missing
    assert sum(income["shares"]) == pytest.approx(1.0)
    assert sum(reference["segments"]) == pytest.approx(1.0)
    assert len(reference["distance_p95"]) == model.k_


def test_same_distribution_is_like_the_training_data(model, tmp_path):
    report = _label(model, generate_customers(2000, seed=1), tmp_path).drift
    assert report.verdict == "like the training data"
    assert all(f.psi < drift.PSI_SOME for f in report.features), report.to_dict()
    assert report.segment_psi < drift.PSI_SOME
    assert report.moved == []


def test_shifted_income_is_flagged_with_its_out_of_range_share(model, training, tmp_path):
    shifted = generate_customers(2000, seed=1)
    shifted["Income"] = shifted["Income"] * 4
    report = _label(model, shifted, tmp_path).drift
    income = _feature(report, "Income")
    assert income.psi > drift.PSI_MAJOR
    # The share is of the values present (the generator leaves some incomes empty).
    expected = (shifted["Income"] > training["Income"].max()).sum() / shifted[
        "Income"
    ].notna().sum()
    assert expected > 0
    assert income.out_of_range == pytest.approx(expected)
    assert income.above_max == (shifted["Income"] > training["Income"].max()).sum()
    assert report.verdict == "changed a lot"
    assert "Income" in [f.feature for f in report.moved]
    assert _feature(report, "Recency").psi < drift.PSI_SOME  # the rest did not move


def test_unseen_and_missing_categories_are_counted(model, tmp_path):
    df = generate_customers(1000, seed=2).astype({"Region": object, "Gender": object})
    df.loc[:99, "Region"] = "Atlantis"
    df.loc[100:149, "Gender"] = ""
    report = _label(model, df, tmp_path).drift
    region = _feature(report, "Region")
    present = df["Region"].notna().sum()  # the generator leaves some regions empty
    assert region.unseen == 100 and region.out_of_range == pytest.approx(100 / present)
    gender = _feature(report, "Gender")
    empty = (df["Gender"].isna() | (df["Gender"] == "")).mean()
    assert gender.unseen == 0 and gender.missing_share == pytest.approx(empty) and empty >= 0.05
    assert "Region" in [f.feature for f in report.moved]


def test_segment_mix_shift_is_detected(model, training, tmp_path):
    one_segment = training[model.labels_ == 0]
    report = _label(model, one_segment, tmp_path).drift
    assert report.segment_psi > drift.PSI_MAJOR
    assert report.verdict == "changed a lot"
    mix = {s.cluster: s for s in report.segment_mix}
    assert mix[0].file_share == 1.0
    assert mix[0].training_share == pytest.approx(np.mean(model.labels_ == 0))


def test_fast_and_general_drift_reports_agree_across_blocks(model, tmp_path, monkeypatch):
    """Counted block by block in threads or all at once by pandas: one report."""
    df = generate_customers(3000, seed=4)
    df["Income"] = df["Income"] * 2
    df = df.astype({"Region": object, "Income": object})
    df.loc[::7, "Region"] = "Atlantis"
    df.loc[::11, "Income"] = "NA"
    path = tmp_path / "blocks.csv"
    df.to_csv(path, index=False)
    monkeypatch.setattr(labeling, "STREAM_BLOCK_BYTES", 16_384)  # many blocks
    fast = label_file(model, path, tmp_path / "fast.csv")
    assert fast.fast
    general = model.label(read_table(path))
    assert fast.drift.to_dict() == general.drift.to_dict()
    empty = (df["Income"].isna() | (df["Income"] == "NA")).mean()
    assert _feature(fast.drift, "Income").missing_share == pytest.approx(empty)


def test_labeler_saves_the_reference_and_old_labelers_fall_back(model, training, tmp_path):
    store = ModelStore(tmp_path / "models")
    version = store.save(model, data=training, data_name="train.csv")
    labeler, _ = store.load_labeler(version)
    assert isinstance(labeler, CompiledLabeler) and labeler.drift == model.drift_reference_
    # A labeler saved before drift (format 1) still labels; it has no reference to check
    # a file against, and says so by having none.
    path = store.root / version / "labeler.npz"
    with np.load(path) as arrays:
        saved = dict(arrays)
    import json

    meta = json.loads(str(saved["meta"]))
    meta["format"] = 1
    del meta["drift"]
    saved["meta"] = np.array(json.dumps(meta))
    np.savez(path, **saved)
    assert CompiledLabeler.load(path).drift is None


def test_model_without_a_reference_labels_without_drift(model, tmp_path):
    """A version fitted before drift references were kept still labels files."""
    import copy

    old = copy.deepcopy(model)
    del old.drift_reference_
    report = label_file(old, generate_customers(50, seed=3), tmp_path / "out.csv")
    assert report.drift is None
    assert "outlier" in old.predict_one({"Age": 30}) and not old.predict_one({"Age": 30})["outlier"]


def test_renumbered_segments_keep_their_reference(training):
    model = SegmentationModel(k=3, random_state=0).fit(training)
    before = model.drift_reference_
    ids = [2, 0, 1]
    model.renumber_segments(ids)
    after = model.drift_reference_
    for old, new in enumerate(ids):
        assert after["segments"][new] == before["segments"][old]
        assert after["distance_p95"][new] == before["distance_p95"][old]
    assert after["segments"][0] == pytest.approx(np.mean(model.labels_ == 0))


# -- one customer ----------------------------------------------------------------------
def test_typo_income_is_an_outlier_not_a_vip(model, training):
    record = training.drop(columns=["CustomerID"]).iloc[0].to_dict()
    assert model.predict_one(record)["outlier"] is False
    record["Income"] = 1e15
    result = model.predict_one(record)
    assert result["outlier"] is True
    assert result["recommendations"] == []
    top = f"{training['Income'].max():,.0f}"
    assert (
        f"Income = 1e+15 is far above anything in the training data (max {top})"
        in (result["warnings"])
    )
    assert any("outlier" in w for w in result["warnings"])


def test_slightly_out_of_range_field_is_named_but_not_far(model, training):
    record = training.drop(columns=["CustomerID"]).iloc[0].to_dict()
    record["Age"] = float(training["Age"].max() + 1)
    warnings = model.predict_one(record)["warnings"]
    assert any(w.startswith("Age = ") and "is above anything" in w for w in warnings)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("Age", -5, "Age cannot be negative"),
        ("Income", -1, "Income cannot be negative"),
        ("PurchaseFrequency", -2, "PurchaseFrequency cannot be negative"),
        ("Age", 400, "not a plausible age"),
    ],
    ids=["negative-age", "negative-income", "negative-count", "age-400"],
)
def test_impossible_values_are_refused(model, column, value, match):
    with pytest.raises(DataError, match=match):
        model.predict_one({column: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [("Balance", -50.0), ("Country", -1), ("ProfitMargin", -0.2), ("Age", 44), ("Age", None)],
    ids=["balance", "country-is-not-count", "profit", "fine-age", "missing"],
)
def test_possible_values_pass(name, value):
    assert drift.impossible_value(name, value) is None


def test_psi_of_identical_shares_is_zero_and_grows_with_change():
    assert drift.psi([0.5, 0.5], np.array([50, 50])) == 0.0
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert drift.psi([0.5, 0.5], np.array([80, 20])) == pytest.approx(expected)
    assert np.isfinite(drift.psi([1.0, 0.0], np.array([0, 10])))  # empty bins: epsilon
