"""Spark runs the same log-to-customers SQL as DuckDB and gets the same answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.engines import local
from segmentation.engines import spark as spark_engine
from segmentation.errors import DataError
from tests.engines.test_local_logs import LOGS, _assert_same, wrapped_log


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


@pytest.mark.parametrize("name", ["uci-semicolons", "tabs"])
def test_spark_detects_the_delimiter_as_the_reader_does(spark, tmp_path, name):
    """A ";" or tab separated export (often still named .csv) is split on its delimiter,
    and a ";" file's numbers read as the local engine reads them."""
    make, sep = LOGS[name]
    path = tmp_path / f"{name}.csv"
    make(np.random.default_rng(9)).to_csv(path, index=False, sep=sep)

    _assert_same(spark_engine.customers_from_log(spark, path), local.customers_from_log(path))


def test_spark_splits_rows_wrapped_whole_in_quotes_as_the_reader_does(spark, tmp_path):
    """Spark reads a wrapped row as one cell; it is split again, so the customers are the
    local engine's (which hands such a file to the reader), not two lines short of a
    customer id."""
    path = wrapped_log(tmp_path, 60, at=2)

    _assert_same(spark_engine.customers_from_log(spark, path), local.customers_from_log(path))
    cells = spark_engine.read_table(spark, path).toPandas()
    assert (cells["StockCode"] == 'LOUNGE,METAL SIGN 7" ').sum() == 2
    assert cells["CustomerID"].notna().sum() == read_table(path)["CustomerID"].notna().sum()


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


def test_spark_shows_a_date_it_cannot_read(spark, tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {"CustomerID": ["1", "2", "3"], "Date": ["8/13/10", "11/20/10", "2010-12-01"], "Amount": 1}
    ).to_csv(path, index=False)

    with pytest.raises(DataError, match="'Date' does not hold dates") as spark_error:
        spark_engine.customers_from_log(spark, path, date_col="Date")
    with pytest.raises(DataError) as duckdb_error:
        local.customers_from_log(path, date_col="Date")
    assert "(e.g. '11/20/10')" in str(spark_error.value)
    assert str(spark_error.value) == str(duckdb_error.value)
