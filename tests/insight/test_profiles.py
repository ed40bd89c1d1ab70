"""Segment profiles, names and recommendations come from rules over the data."""

import numpy as np
import pandas as pd
import pytest

from segmentation.data.schema import infer_schema
from segmentation.insight.profiles import humanize, meaning_of, profile_segments
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.features import prepare_features


def test_profiles_complete(fitted):
    total = sum(p.size for p in fitted.profiles_)
    assert total == 1000
    assert sum(p.share for p in fitted.profiles_) == pytest.approx(1.0)
    for p in fitted.profiles_:
        # Describing columns (Age, Gender, Region by default) are profiled too.
        assert set(p.means) == set(fitted.schema_.with_descriptors().numeric)
        assert "Age" in p.means and "Age" not in fitted.schema_.features
        assert set(p.category_shares) == {"Gender", "Region"}
        assert 2 <= len(p.recommendations) <= 4
        assert p.traits
        assert "Income" in p.differences


def test_default_names_are_the_personas(fitted):
    names = {p.name for p in fitted.profiles_}
    assert names == {
        "Premium Big Spenders",
        "Budget-Conscious Shoppers",
        "Young Frequent Buyers",
        "Lapsed Customers",
        "Affluent Occasional Buyers",
    }


@pytest.mark.parametrize("k", [2, 3, 4, 6, 8])
def test_names_unique_for_any_k(customers, k):
    model = SegmentationModel(k=k).fit(customers[0])
    names = [p.name for p in model.profiles_]
    assert len(set(names)) == k


def test_unknown_columns_get_descriptive_names():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "BALANCE": np.r_[rng.normal(5000, 300, 100), rng.normal(500, 50, 100)],
            "WIDGET_X": np.r_[rng.normal(10, 1, 100), rng.normal(60, 3, 100)],
        }
    )
    schema = infer_schema(df)
    features, _ = prepare_features(df, schema)
    labels = np.r_[np.zeros(100, int), np.ones(100, int)]
    profiles = profile_segments(features, labels, schema)
    # Words, not the raw capitalised column names.
    assert profiles[0].name in ("High balance", "Low widget X")
    assert profiles[1].name in ("Low balance", "High widget X")
    assert profiles[0].name != profiles[1].name


def test_names_follow_the_data_not_the_cluster_id():
    rng = np.random.default_rng(2)
    lapsed = pd.DataFrame({"recency": rng.normal(300, 20, 60), "spend": rng.normal(50, 5, 60)})
    active = pd.DataFrame({"recency": rng.normal(10, 2, 60), "spend": rng.normal(60, 5, 60)})
    df = pd.concat([active, lapsed], ignore_index=True)
    schema = infer_schema(df)
    features, _ = prepare_features(df, schema)
    for lapsed_id in (0, 1):
        labels = np.r_[np.full(60, 1 - lapsed_id), np.full(60, lapsed_id)]
        profiles = profile_segments(features, labels, schema)
        assert profiles[lapsed_id].name == "Lapsed Customers"


@pytest.mark.parametrize(
    "column,expected",
    [
        ("Age", ("age", 1)),
        ("AverageOrderValue", ("spend", 1)),
        ("Year_Birth", ("age", -1)),
        ("days_since_last_purchase", ("recency", 1)),
        ("BALANCE", ("balance", 1)),
        ("PURCHASES", ("spend", 1)),
        ("PURCHASES_FREQUENCY", ("frequency", 1)),
        ("Kidhome", None),
    ],
)
def test_meaning_of(column, expected):
    assert meaning_of(column) == expected


def test_humanize():
    assert humanize("SpendingScore") == "Spending Score"
    assert humanize("avg_order_value") == "Avg Order Value"
