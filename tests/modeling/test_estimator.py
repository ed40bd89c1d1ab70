"""Training and prediction of the segmentation model on any table."""

import numpy as np
import pandas as pd
import pytest

from segmentation.errors import DataError, SchemaError
from segmentation.modeling.estimator import OUTPUT_COLUMNS, SegmentationModel

RECORD = {
    "age": 35,
    "gender": "Male",
    "income": 65000,
    "spending_score": 75,
    "region": "North",
    "purchase_frequency": 24,
    "avg_order_value": 450,
    "recency": 15,
}


def test_summary(fitted):
    s = fitted.summary()
    for key in (
        "k",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "inertia",
        "n_rows",
        "n_train_rows",
        "n_outliers_removed",
        "features",
        "segments",
    ):
        assert key in s
    assert s["n_rows"] == s["n_train_rows"] + s["n_outliers_removed"]
    assert s["n_outliers_removed"] > 0
    assert "CustomerID" not in s["features"]


def test_outliers_still_get_a_segment(customers, fitted):
    assert (fitted.labels_ >= 0).all()
    assert len(fitted.labels_) == len(customers[0])


def test_predict_table_adds_three_columns_and_keeps_the_rest(customers, fitted):
    df = customers[0].head(50).copy()
    df["note"] = "kept"
    pred = fitted.label(df)
    out = pred.join(df)
    assert list(out.columns) == [*df.columns, *OUTPUT_COLUMNS]
    assert out["cluster"].dtype.kind == "i"
    assert (out["cluster_distance"] >= 0).all()
    assert set(out["segment"]) <= set(fitted.segment_names.values())
    np.testing.assert_array_equal(out["cluster"], fitted.labels_[:50])


def test_predict_matches_renamed_columns(customers, fitted):
    df = customers[0].head(20)
    renamed = df.rename(
        columns={"SpendingScore": "spending_score", "AvgOrderValue": "Avg Order Value"}
    )
    pd.testing.assert_frame_equal(fitted.label(renamed).labels, fitted.label(df).labels)


def test_predict_reports_unparseable_values_and_imputes(customers, fitted):
    df = customers[0].head(10).astype({"Income": object})
    df.loc[2, "Income"] = "lots"
    pred = fitted.label(df)
    assert pred.report.bad_values["Income"] == (1, [3])
    assert pred.labels["cluster"].notna().all()


def test_predict_missing_column_is_named(customers, fitted):
    with pytest.raises(SchemaError, match="Income"):
        fitted.label(customers[0].drop(columns=["Income"]))


def test_predict_one(fitted):
    result = fitted.predict_one(RECORD)
    assert set(result) == {
        "cluster",
        "segment",
        "cluster_distance",
        "characteristics",
        "recommendations",
        "outlier",
        "warnings",
        "why",
    }
    assert result["segment"] == fitted.segment_names[result["cluster"]]
    assert result["why"]["segment"] == result["segment"]
    assert any("TotalSpend" in w for w in result["warnings"])


def test_predict_one_rejects_non_mapping(fitted):
    with pytest.raises(DataError, match="JSON object"):
        fitted.predict_one([1, 2])


def test_any_table_not_only_the_default():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "acct": [f"A{i}" for i in range(n)],
            "BALANCE": np.r_[rng.normal(100, 10, n // 2), rng.normal(900, 50, n // 2)],
            "CREDIT LIMIT ($)": rng.normal(5000, 500, n),
            "segment_code": rng.choice(list("xyz"), n),
        }
    )
    model = SegmentationModel(k_range=(2, 5)).fit(df)
    assert model.k_ == 2
    assert model.schema_.id_column == "acct"


@pytest.mark.parametrize(
    "df,error,match",
    [
        (pd.DataFrame({"id": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}), DataError, "at least 30"),
        (
            pd.DataFrame({"id": [f"a{i}" for i in range(30)], "c": 1.0}),
            SchemaError,
            "nothing to cluster",
        ),
        (pd.DataFrame({"x": []}), DataError, "no rows"),
    ],
    ids=["too-few-rows", "nothing-to-cluster", "empty"],
)
def test_bad_tables(df, error, match):
    with pytest.raises(error, match=match):
        SegmentationModel(k=3).fit(df)


def test_fixed_k_and_progress(customers):
    seen = []
    model = SegmentationModel(k=3).fit(customers[0], progress=lambda f, m: seen.append(f))
    assert model.k_ == 3 and model.sweep_ is None
    assert seen[-1] == 1.0 and seen == sorted(seen)
