"""The synthetic default data: deterministic, realistic, with work for preprocessing."""

import numpy as np
import pandas as pd
import pytest

from segmentation.data.synthetic import DEFAULT_COLUMNS, PERSONAS, generate_customers


def test_columns_and_size():
    df = generate_customers(500, seed=1)
    assert list(df.columns) == DEFAULT_COLUMNS
    assert len(df) == 500
    assert df["CustomerID"].is_unique


def test_same_seed_same_table_other_seed_other_table():
    pd.testing.assert_frame_equal(generate_customers(300, seed=5), generate_customers(300, seed=5))
    assert not generate_customers(300, seed=5).equals(generate_customers(300, seed=6))


def test_value_ranges():
    df = generate_customers(2000, seed=3)
    assert df["SpendingScore"].dropna().between(1, 100).all()
    assert set(df["Region"].dropna()) <= {"North", "South", "East", "West"}
    assert (df["Recency"] >= 0).all()
    assert (df["PurchaseFrequency"].dropna() >= 1).all()


def test_total_spend_is_frequency_times_order_value():
    df = generate_customers(2000, seed=3, outlier_rate=0, missing_rate=0)
    ratio = df["TotalSpend"] / (df["PurchaseFrequency"] * df["AvgOrderValue"])
    assert ratio.median() == pytest.approx(1.0, abs=0.02)


def test_missing_values_and_outliers_injected():
    df = generate_customers(5000, seed=2)
    missing = df.isna().mean()
    assert 0.02 < missing[["Age", "Income", "Region"]].mean() < 0.04
    clean = generate_customers(5000, seed=2, outlier_rate=0)
    assert df["Income"].max() > 5 * clean["Income"].max()


def test_personas_returned_not_a_column():
    df, personas = generate_customers(1000, seed=4, return_personas=True)
    assert personas.shape == (1000,)
    assert set(np.unique(personas)) == set(range(len(PERSONAS)))
    assert 3 <= len(PERSONAS) <= 6
    assert "persona" not in {c.lower() for c in df.columns}


def test_rejects_bad_size():
    with pytest.raises(ValueError, match="n_rows"):
        generate_customers(0)


def test_transaction_log_is_seeded_and_shaped_like_the_uci_export():
    from segmentation.data.synthetic import generate_transactions

    log = generate_transactions(5000, n_customers=300, seed=3)

    pd.testing.assert_frame_equal(log, generate_transactions(5000, n_customers=300, seed=3))
    assert not log.equals(generate_transactions(5000, n_customers=300, seed=4))
    assert len(log) == 5000 and log["CustomerID"].nunique() <= 300
    cancelled = log["InvoiceNo"].str.startswith("C")
    assert 0 < cancelled.mean() < 0.1 and (log.loc[cancelled, "Quantity"] < 0).all()
    assert 0 < log["CustomerID"].isna().mean() < 0.05
    assert log["InvoiceDate"].str.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}").all()
