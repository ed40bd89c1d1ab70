"""The DuckDB log aggregation gives today's customers and report on messy logs, from CSV,
Parquet and in-memory tables alike, and reads ambiguous dates as it says it does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.reference_transactions import customers_from_transactions as reference
from segmentation.data.read import read_table
from segmentation.data.transactions import customers_from_transactions
from segmentation.engines.local import customers_from_log
from segmentation.errors import DataError


def _uci(rng: np.random.Generator, n: int = 120) -> pd.DataFrame:
    """UCI Online Retail style: C invoices, negative quantities, missing customers, ids
    written as floats, day-month dates that all read both ways."""
    customers = rng.choice(["17850.0", "13047.0", "12346.0", "", "14911.0"], n)
    invoices = rng.integers(536365, 536400, n).astype(str)
    cancel = rng.random(n) < 0.1
    invoices = np.where(cancel, np.char.add("C", invoices), invoices)
    quantity = rng.integers(1, 12, n) * np.where(cancel | (rng.random(n) < 0.05), -1, 1)
    day = rng.integers(1, 13, n)
    month = rng.integers(1, 13, n)
    dates = [
        f"{m}/{d}/2010 {h}:{mi:02d}"
        for m, d, h, mi in zip(month, day, day + 7, month * 3, strict=True)
    ]
    return pd.DataFrame(
        {
            "InvoiceNo": invoices,
            "StockCode": "85123A",
            "Quantity": quantity,
            "InvoiceDate": dates,
            "UnitPrice": np.round(rng.uniform(0.3, 20, n), 2),
            "CustomerID": customers,
            "Country": "United Kingdom",
        }
    )


def _mixed_dates(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    spellings = ["2011-01-{:02d} 10:00", "2011/02/{:02d}", "{:02d}/03/2011", "{}.04.2011 09:30"]
    dates = [spellings[i % 4].format(int(d)) for i, d in enumerate(rng.integers(1, 29, n))]
    dates[3] = "not a date"
    dates[7] = ""
    dates[11] = "31/02/2011"  # no such day: unreadable, as the reader has it
    return pd.DataFrame(
        {
            "order_id": rng.integers(1, 30, n).astype(str),
            "Customer ID": rng.choice(["a", "b", "c", "N/A", " d "], n),
            "order_date": dates,
            "amount": rng.choice(["10.5", "-3", "n/a", "1,234.50", "7", "  null "], n),
        }
    )


def _amount_only(rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    return pd.DataFrame(
        {
            "client": rng.choice(["00123", "123.0", "00045", "NA", "9"], n),
            "Date": days.strftime("%Y-%m-%d"),
            "Total": np.round(rng.normal(20, 15, n), 2),
        }
    )


def _returns_only(rng: np.random.Generator, n: int = 40) -> pd.DataFrame:
    frame = _amount_only(rng, n)
    frame["client"] = rng.choice(["x", "y", "z"], n)
    frame.loc[frame["client"] == "z", "Total"] = -frame["Total"].abs() - 1
    frame["Qty"] = rng.integers(-2, 5, n)
    return frame


def _all_c_invoices(rng: np.random.Generator, n: int = 50) -> pd.DataFrame:
    frame = _uci(rng, n)
    frame["InvoiceNo"] = [f"C{500 + i}" for i in rng.integers(0, 20, n)]
    frame["InvoiceDate"] = [f"{15 + i % 10}/1/2011" for i in range(n)]  # day-first, decided
    return frame


def _blanks_and_tokens(rng: np.random.Generator, n: int = 70) -> pd.DataFrame:
    frame = _uci(rng, n)
    frame.loc[::7, "UnitPrice"] = np.nan
    frame["CustomerID"] = rng.choice(["12", "12.0", "#N/A", "?", "13", "-"], n)
    frame["InvoiceNo"] = np.where(rng.random(n) < 0.2, "", frame["InvoiceNo"])
    frame["InvoiceDate"] = np.where(rng.random(n) < 0.1, "NULL", frame["InvoiceDate"])
    return frame


LOGS = {
    "uci": (_uci, ","),
    "mixed-dates": (_mixed_dates, ","),
    "amount-only": (_amount_only, ","),
    "returns-only-customer": (_returns_only, ","),
    "all-c-invoices": (_all_c_invoices, ","),
    "blanks-and-tokens": (_blanks_and_tokens, ","),
    "uci-semicolons": (_uci, ";"),
    "tabs": (_mixed_dates, "\t"),
}


def _write(tmp_path, name: str, seed: int):
    make, sep = LOGS[name]
    frame = make(np.random.default_rng(seed))
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False, sep=sep)
    return path


def _assert_same(got, want):
    customers, report = got
    expected, expected_report = want
    pd.testing.assert_frame_equal(customers, expected, check_exact=False, rtol=1e-9)
    got_dict, want_dict = report.to_dict(), expected_report.to_dict()
    got_dict.pop("date_reading")
    want_dict.pop("date_reading")
    assert got_dict == want_dict


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(LOGS))
def test_csv_log_streamed_by_duckdb_equals_the_pandas_reference(tmp_path, name, seed):
    path = _write(tmp_path, name, seed)
    want = reference(read_table(path))

    _assert_same(customers_from_log(path), want)
    _assert_same(customers_from_transactions(read_table(path)), want)


@pytest.mark.parametrize("name", ["uci", "mixed-dates", "amount-only", "blanks-and-tokens"])
def test_parquet_log_equals_the_csv_log(tmp_path, name):
    path = _write(tmp_path, name, 5)
    table = read_table(path)
    want = reference(table)
    table.to_parquet(tmp_path / "log.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    half = len(table) // 2
    table.iloc[:half].to_parquet(folder / "part-0.parquet")
    table.iloc[half:].to_parquet(folder / "part-1.parquet")
    # Text cells in Parquet (as a CSV-to-Parquet export leaves them) are read like CSV cells.
    pd.read_csv(path, sep=LOGS[name][1], dtype=str, keep_default_na=False).to_parquet(
        tmp_path / "text.parquet"
    )

    _assert_same(customers_from_log(tmp_path / "log.parquet"), want)
    _assert_same(customers_from_log(folder), want)
    _assert_same(customers_from_log(tmp_path / "text.parquet"), want)


def test_excel_log_goes_through_the_reader(tmp_path):
    path = _write(tmp_path, "amount-only", 3)
    table = read_table(path)
    table.to_excel(tmp_path / "log.xlsx", index=False)

    _assert_same(customers_from_log(tmp_path / "log.xlsx"), reference(read_table(path)))


def test_ambiguous_dates_report_the_reading_and_how_to_choose_the_other(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {
            "CustomerID": ["1", "1", "2"],
            "InvoiceDate": ["12/1/2010", "1/1/2010", "3/1/2010"],
            "Amount": [10, 20, 30],
        }
    ).to_csv(path, index=False)

    customers, report = customers_from_log(path)
    assert report.date_max == pd.Timestamp("2010-01-12")  # day-first: 12 January
    assert "read day-first" in report.date_reading
    assert "--no-dayfirst" in report.date_reading and "such as '" in report.date_reading
    assert report.date_reading in report.summary()

    _, month_first = customers_from_log(path, dayfirst=False)
    assert month_first.date_max == pd.Timestamp("2010-12-01")
    assert month_first.date_reading is None

    _, app = customers_from_transactions(pd.read_csv(path, dtype=str), flags=False)
    assert "choose month-first" in app.date_reading


def test_one_unambiguous_date_anywhere_decides_the_whole_column(tmp_path):
    dates = ["1/2/2010"] * 3000 + ["1/13/2010"]  # the deciding value is far past any sample
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {"CustomerID": np.arange(len(dates)) % 7, "InvoiceDate": dates, "Amount": 1.0}
    ).to_csv(path, index=False)

    _, report = customers_from_log(path)

    assert report.date_min == pd.Timestamp("2010-01-02")  # month-first, from the last row
    assert report.date_reading is None


def test_unreadable_log_is_a_data_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text('CustomerID,InvoiceDate,Amount\n1,2010-01-01,5\n2,"2010-01-02,7\n')
    with pytest.raises(DataError):
        customers_from_log(path)


def test_date_column_without_dates_names_the_flag(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {"CustomerID": [1, 1, 2], "Date": ["x", "y", "2010-01-01"], "Amount": [1, 2, 3]}
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match="--date-col"):
        customers_from_log(path, date_col="Date")


def test_dates_the_reader_read_day_first_can_be_read_month_first(tmp_path):
    """An upload read by the reader (the app's path) offers the other reading too."""
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {
            "CustomerID": ["1", "1", "2"],
            "InvoiceDate": ["12/1/2010 08:30", "1/1/2010", "3/1/2010"],
            "Amount": [10, 20, 30],
        }
    ).to_csv(path, index=False)
    table = read_table(path)
    assert table.attrs["ambiguous_dates"] == {"InvoiceDate": "12/1/2010 08:30"}

    _, assumed = customers_from_transactions(table, flags=False)
    _, month_first = customers_from_transactions(table, dayfirst=False)

    assert "choose month-first" in assumed.date_reading
    assert assumed.date_max == pd.Timestamp("2010-01-12 08:30")
    assert month_first.date_max == pd.Timestamp("2010-12-01 08:30")
    assert month_first.date_reading is None
