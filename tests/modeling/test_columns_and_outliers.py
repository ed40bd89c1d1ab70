"""Which columns form segments, how much each weighs, and which customers are outliers.

Every table here is built with a known answer (issue 9, sections 1 and 3).
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.insight.profiles import DESCRIBES_MARK
from segmentation.modeling.estimator import SegmentationModel

#: Income x spending centres of the five textbook mall groups.
MALL_GROUPS = [(25, 20), (25, 80), (55, 50), (88, 18), (88, 82)]


def mall(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A mall-like export: five planted income x spending groups; Gender and Age random."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, len(MALL_GROUPS), n)
    centres = np.array(MALL_GROUPS, dtype=float)[group]
    return (
        pd.DataFrame(
            {
                "CustomerID": np.arange(1, n + 1),
                "Gender": rng.choice(["Male", "Female"], n, p=[0.44, 0.56]),
                "Age": rng.integers(18, 71, n),
                "Annual Income (k$)": np.round(centres[:, 0] + rng.normal(0, 7, n)),
                "Spending Score (1-100)": np.clip(
                    np.round(centres[:, 1] + rng.normal(0, 7, n)), 1, 100
                ),
            }
        ),
        group,
    )


def test_mall_defaults_describe_age_and_gender_and_find_the_five_groups():
    """As an analyst I train on the mall export with the defaults and get the textbook
    five income x spending groups, with Age and Gender still in the profiles."""
    df, planted = mall()
    model = SegmentationModel(k=5).fit(df)
    assert model.schema_.features == ["Annual Income (k$)", "Spending Score (1-100)"]
    assert model.schema_.descriptors == ["Gender", "Age"]
    assert adjusted_rand_score(planted, model.labels_) >= 0.9
    profile = model.profiles_[0]
    assert "Age" in profile.means and "Gender" in profile.category_shares
    described = [t for p in model.profiles_ for t in p.traits if t.endswith(DESCRIBES_MARK)]
    # Traits of describing columns are marked as such, and only theirs.
    assert all(t.startswith("Age") or "(Gender)" in t for t in described)
    # Labeling needs only the segmenting columns.
    labels = model.predict(df[["Annual Income (k$)", "Spending Score (1-100)"]])
    np.testing.assert_array_equal(labels, model.labels_)
    summary = model.summary()
    assert summary["features"] == model.schema_.features
    assert summary["descriptors"] == ["Gender", "Age"]
    assert {c["name"]: c["purpose"] for c in summary["columns"]}["Age"] == "describe"


def test_segmenting_on_demographics_is_one_override_away():
    df, _ = mall()
    model = SegmentationModel(k=5, purposes={"Age": "segment", "gender": "segment"}).fit(df)
    assert model.schema_.descriptors == []
    assert model.get_params()["purposes"] == {"Age": "segment", "gender": "segment"}


def test_bad_purpose_is_one_clear_error():
    from segmentation.errors import SchemaError

    with pytest.raises(SchemaError, match="unknown purpose 'both' for column 'Age'"):
        SegmentationModel(purposes={"Age": "both"}).fit(mall()[0])


def test_a_rare_flag_does_not_take_a_segment():
    """A Complain flag with 1% ones used to sit 10 SD away and take a segment of its own."""
    rng = np.random.default_rng(4)
    n = 1000
    group = rng.integers(0, 3, n)
    df = pd.DataFrame(
        {
            "Spend": np.array([100.0, 500.0, 900.0])[group] + rng.normal(0, 60, n),
            "Visits": np.array([2.0, 6.0, 10.0])[group] + rng.normal(0, 1, n),
            "Flagged": (rng.random(n) < 0.01).astype(int),
        }
    )
    model = SegmentationModel(k=3, purposes={"Flagged": "segment"}).fit(df)
    assert "Flagged" in model.schema_.features
    assert adjusted_rand_score(group, model.labels_) >= 0.9
    scaled = model.preprocess(model.prepare(df)[0])
    column = model.schema_.features.index("Flagged")
    assert np.ptp(scaled[:, column]) <= np.sqrt(2) + 1e-9


def test_one_categorical_column_does_not_outweigh_the_numeric_ones():
    """A random three-valued column beside a real two-group numeric column: the segments
    follow the numbers, not the categories."""
    rng = np.random.default_rng(3)
    n = 600
    group = np.repeat([0, 1], n // 2)
    df = pd.DataFrame(
        {
            "Balance": np.where(group == 1, 900.0, 100.0) + rng.normal(0, 60, n),
            "Credit limit": rng.normal(5000, 500, n),
            "Plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )
    model = SegmentationModel(k_range=(2, 5)).fit(df)
    assert model.k_ == 2
    assert adjusted_rand_score(group, model.labels_) >= 0.95
    scaled = model.preprocess(model.prepare(df)[0])
    plan_block = scaled[:, 2:]
    assert plan_block.var(axis=0).sum() == pytest.approx(0.5, rel=0.05)


def test_one_extreme_customer_is_flagged_and_a_skewed_column_is_not():
    """The richest ordinary customers stay; a x20 typo is left out, with the reason."""
    df, _ = mall(n=300, seed=2)
    df["Balance"] = np.random.default_rng(2).lognormal(3, 1.2, len(df)).round(2)  # skewed
    typo = 17
    df.loc[typo, "Annual Income (k$)"] = df["Annual Income (k$)"].max() * 20
    model = SegmentationModel(k=5).fit(df)
    assert model.outliers_["row"].tolist() == [typo]
    assert model.outliers_["id"].tolist() == [typo + 1]
    assert model.outliers_["reason"].iloc[0].startswith("far from typical on Annual Income")
    assert model.n_outliers_removed_ == 1 and model.n_train_rows_ == len(df) - 1
    richest = df["Annual Income (k$)"].drop(index=typo).nlargest(3).index
    assert not set(richest) & set(model.outliers_["row"])
    summary = model.summary()["outliers"]
    assert summary["method"] == "iqr" and summary["n_removed"] == 1
    assert summary["rows"][0]["row"] == typo and "extreme" in summary["note"]


def test_the_screen_is_left_out_when_it_would_flag_many():
    """A long tail is not outliers: nobody is removed and the note says why."""
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame({f"Amount{i}": rng.standard_cauchy(n) for i in range(6)})
    model = SegmentationModel(k=3).fit(df)
    assert model.n_outliers_removed_ == 0 and model.outliers_.empty
    assert model.outlier_screen_["n_flagged"] == 0
    assert model.outlier_screen_["note"].startswith("screen left out")
    assert model.summary()["outliers"]["note"].startswith("screen left out")


def test_no_screen_with_method_none():
    df, _ = mall()
    model = SegmentationModel(k=5, outlier_method="none").fit(df)
    assert model.outliers_.empty and model.summary()["outliers"]["n_removed"] == 0
