"""Column roles are inferred for any table, with reasons, and can be overridden."""

import numpy as np
import pandas as pd
import pytest

from segmentation.data.rules import normalize_name
from segmentation.data.schema import default_purpose, infer_schema
from segmentation.errors import SchemaError
from segmentation.modeling.features import prepare_features


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "client ref": [f"X{i}" for i in range(n)],
            "BALANCE": rng.gamma(2, 1000, n),
            "Tenure": rng.integers(1, 12, n).astype(float),
            "Plan": rng.choice(["basic", "plus", "pro"], n),
            "Constant": 1.0,
            "Notes": [f"free text note number {i} about this account" for i in range(n)],
            "Mostly empty": [1.0] * 10 + [np.nan] * (n - 10),
        }
    )


def test_roles_and_reasons(table):
    schema = infer_schema(table)
    roles = {c.name: (c.role, c.reason) for c in schema.columns}
    assert roles["client ref"] == ("id", "identifier: unique per row")
    assert roles["BALANCE"][0] == "numeric"
    assert roles["Plan"] == ("categorical", "categorical: 3 values")
    assert roles["Constant"] == ("ignored", "ignored: constant (one value)")
    assert roles["Notes"][0] == "ignored"
    assert roles["Mostly empty"] == ("ignored", "ignored: 95% missing")
    assert schema.features == ["BALANCE", "Tenure", "Plan"]
    assert schema.id_column == "client ref"


def test_default_columns_roles(customers):
    schema = infer_schema(customers[0])
    assert schema.id_column == "CustomerID"
    # Demographics describe the segments by default; behaviour and value form them.
    assert schema.categorical == []
    assert schema.descriptors == ["Age", "Gender", "Region"]
    assert schema.with_descriptors().categorical == ["Gender", "Region"]
    assert set(schema.numeric) == {
        "Income",
        "SpendingScore",
        "PurchaseFrequency",
        "AvgOrderValue",
        "Recency",
        "TotalSpend",
    }


def test_integer_running_number_is_an_id():
    df = pd.DataFrame({"No": range(1, 101), "x": np.random.default_rng(1).normal(size=100)})
    assert infer_schema(df).id_column == "No"


def test_overrides(table):
    schema = infer_schema(table, roles={"tenure": "categorical"}, exclude=["plan"])
    assert schema.spec("Tenure").role == "categorical"
    assert schema.spec("Plan").role == "ignored"
    assert schema.spec("Tenure").reason == "categorical: chosen by the user"


@pytest.mark.parametrize(
    "roles,match",
    [
        ({"nope": "numeric"}, "column 'nope' is not in the table"),
        ({"BALANCE": "weird"}, "unknown role 'weird'"),
    ],
    ids=["unknown-column", "unknown-role"],
)
def test_bad_overrides(table, roles, match):
    with pytest.raises(SchemaError, match=match):
        infer_schema(table, roles=roles)


@pytest.mark.parametrize(
    "name", ["spending_score", "SpendingScore", "Spending Score", " spending-score "]
)
def test_normalize_name(name):
    assert normalize_name(name) == "spendingscore"


def test_prepare_features_matches_renamed_columns_and_reports_bad_values(table):
    schema = infer_schema(table)
    new = table.rename(columns={"BALANCE": "balance", "Plan": "PLAN"}).astype({"balance": object})
    new.loc[[3, 7], "balance"] = "n/a?"
    new["extra"] = 1
    features, report = prepare_features(new, schema)
    assert list(features.columns) == ["BALANCE", "Tenure", "Plan"]
    assert report.renamed == {"BALANCE": "balance", "Plan": "PLAN"}
    assert report.bad_values["BALANCE"] == (2, [4, 8])
    assert np.isnan(features.loc[3, "BALANCE"])
    assert "extra" in report.extra_columns
    assert any("rows 4, 8" in w for w in report.warnings())


def test_prepare_features_missing_columns_named(table):
    schema = infer_schema(table)
    with pytest.raises(SchemaError, match="lacks column.*BALANCE, Plan"):
        prepare_features(table.drop(columns=["BALANCE", "Plan"]), schema)


def test_schema_round_trips_through_dict(table):
    schema = infer_schema(table)
    from segmentation.data.schema import Schema

    assert Schema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    "name, purpose",
    [
        ("Age", "describe"),
        ("Gender", "describe"),
        ("Marital_Status", "describe"),
        ("Year_Birth", "describe"),
        ("Kidhome", "describe"),
        ("AcceptedCmp3", "describe"),
        ("Complain", "describe"),
        ("Response", "describe"),
        ("churned", "describe"),
        ("home city", "describe"),
        # Estimates from the purchase history (the clv command's columns) describe it.
        ("clv_12m", "describe"),
        ("p_alive", "describe"),
        ("expected_purchases_90d", "describe"),
        ("Annual Income (k$)", "segment"),
        ("MntWines", "segment"),
        ("NumWebPurchases", "segment"),
        ("BALANCE_FREQUENCY", "segment"),
        ("Recency", "segment"),
        # Word matching, not substrings: none of these is an age, a sex or a city.
        ("AverageOrderValue", "segment"),
        ("Usage", "segment"),
        ("Percentage", "segment"),
        ("Sexton", "segment"),
        ("Capacity", "segment"),
    ],
)
def test_default_purpose_by_name_words(name, purpose):
    got, reason = default_purpose(name)
    assert got == purpose and reason.startswith(purpose + ":")


def test_purposes_overrides_reasons_and_descriptors(table):
    table = table.assign(Age=np.arange(len(table)) % 60 + 18)
    schema = infer_schema(table)
    assert schema.descriptors == ["Age"] and "Age" not in schema.features
    assert schema.with_descriptors().features == ["BALANCE", "Tenure", "Plan", "Age"]
    schema = infer_schema(table, purposes={"age": "segment", "Plan": "describe"})
    assert schema.spec("Age").purpose_reason == "segment: chosen by the user"
    assert schema.features == ["BALANCE", "Tenure", "Age"] and schema.descriptors == ["Plan"]
    assert schema.spec("client ref").purpose is None
    restored = type(schema).from_dict(schema.to_dict())
    assert restored.features == schema.features and restored.descriptors == ["Plan"]


def test_nothing_to_segment_falls_back_to_every_column():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"Age": rng.integers(18, 80, 100), "Gender": rng.choice(["F", "M"], 100)})
    schema = infer_schema(df)
    assert schema.features == ["Age", "Gender"] and schema.descriptors == []
    assert "no behaviour or value column" in schema.spec("Age").purpose_reason


@pytest.mark.parametrize(
    "purposes, match",
    [
        ({"BALANCE": "cluster"}, "unknown purpose 'cluster'"),
        ({"nope": "segment"}, "column 'nope' is not in the table"),
        ({"Notes": "segment"}, "'Notes' is not used as a feature"),
    ],
    ids=["bad-purpose", "unknown-column", "not-a-feature"],
)
def test_bad_purposes(table, purposes, match):
    with pytest.raises(SchemaError, match=match):
        infer_schema(table, purposes=purposes)
