"""Spark runs the same log-to-customers SQL as DuckDB and gets the same answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.engines import local
from segmentation.engines import spark as spark_engine
from tests.engines.test_local_logs import LOGS, _assert_same


# Two logs cover the messy cases (C invoices, negative quantities, tokens, float ids, text
# dates in four spellings, thousands separators); each Spark run costs seconds.
@pytest.mark.parametrize("name", ["blanks-and-tokens", "mixed-dates"])
def test_spark_equals_duckdb_on_a_messy_csv_log(spark, tmp_path, name):
    make, _ = LOGS[name]
    path = tmp_path / f"{name}.csv"
    make(np.random.default_rng(7)).to_csv(path, index=False)

    got = spark_engine.customers_from_log(spark, path)

    want = local.customers_from_log(path)
    _assert_same(got, want)
    assert got[1].date_reading == want[1].date_reading


def test_spark_reads_a_parquet_folder_with_typed_columns(spark, tmp_path):
    path = tmp_path / "log.csv"
    LOGS["amount-only"][0](np.random.default_rng(8)).to_csv(path, index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    table = read_table(path)
    table.iloc[:60].to_parquet(folder / "part-0.parquet")
    table.iloc[60:].to_parquet(folder / "part-1.parquet")

    _assert_same(spark_engine.customers_from_log(spark, folder), local.customers_from_log(path))


def test_spark_month_first_when_asked(spark, tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {"CustomerID": ["1", "1", "2"], "Date": ["12/1/2010", "1/1/2010", "3/1/2010"], "Amount": 1}
    ).to_csv(path, index=False)

    _, report = spark_engine.customers_from_log(spark, path, dayfirst=False)

    assert report.date_max == pd.Timestamp("2010-12-01")
