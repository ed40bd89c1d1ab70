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


def wrapped_log(tmp_path, n: int, at: int):
    """A UCI-style log of ``n`` lines where lines ``at`` and ``at + 1`` (1 is the first
    after the header) were wrapped whole in quotes by the export, their StockCode holding
    a comma and a quote."""
    lines = _uci(np.random.default_rng(3), n=n).to_csv(index=False).splitlines()
    for i in (at, at + 1):
        cells = lines[i].split(",")
        cells[1] = '"LOUNGE,METAL SIGN 7"" "'
        lines[i] = '"' + ",".join(cells).replace('"', '""') + '"'
    path = tmp_path / "wrapped.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("where", ["first-rows", "after-the-sniffed-rows"])
def test_rows_wrapped_whole_in_quotes_give_the_readers_customers(tmp_path, where):
    """Some exports wrap a whole row in quotes when a cell has a comma or a quote (the
    UCI Online Retail file does). DuckDB cannot split those lines; the reader re-splits
    them, so the log gives the reader's customers, wherever the rows are."""
    n = 30_000 if where == "after-the-sniffed-rows" else 60
    path = wrapped_log(tmp_path, n, at=n - 1 if where == "after-the-sniffed-rows" else 2)
    table = read_table(path)
    assert (table["StockCode"] == 'LOUNGE,METAL SIGN 7"').sum() == 2  # re-split, trimmed

    _assert_same(customers_from_log(path), reference(table))


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


# Values next to a clean form that DuckDB's strptime or TRY_CAST would accept but the
# reader's rules do not (or read otherwise): the fast branches must give what the
# general rules give on every one of them.
_NEAR_DATES = [
    "12/5/2010 8:5",
    "12/05/10 15:02",
    "12/05/201 15:02",
    "12/05/02010 15:02",
    "12/05/2010  15:02",
    "12/05/2010\t15:02",
    " 12/05/2010 15:02",
    "12/05/2010 15:02 ",
    "\u00a012/05/2010 15:02",
    "12/05/2010 15:02\u202f",
    "1/ 5/2010 8:05",
    "1/5/+010 8:05",
    "+1/5/2010 8:05",
    "12/05/2010 15:02:33",
    "12/05/2010",
    "12-05-2010 15:02",
    "12/05.2010 15:02",
    "02/30/2010 10:00",
    "12/05/2010 24:00",
    "2010-12-05 15:02",
    "2010/12/05",
    "012/05/2010 15:02",
    "12/05/2010T15:02",
    "NA",
    " null ",
    "",
    "nan",
    "12/05/2010 15:0",
    "12/05/2010 1502",
]
_NEAR_NUMBERS = [
    " 4",
    "4 ",
    "\t4",
    "4\u00a0",
    "\u202f4",
    "1e3",
    "1E3",
    "1.5e2",
    "+5",
    ".5",
    "5.",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "Infinity",
    "1e400",
    "1_000",
    "0x10",
    "1,5",
    "1.234",
    "1.234,5",
    "1,234.5",
    "(3.5)",
    "$4.20",
    "4.20 ",
    " 4.200",
    "12.",
    "NA",
    "n/a",
    "-",
    "?",
    "",
    " null",
    "4.5.6",
    "--1",
    "١٢",
]


# So many odd cells that the columns are not detected by their values: named.
_NAMED = {"customer_col": "CustomerID", "date_col": "InvoiceDate", "invoice_col": "InvoiceNo",
          "quantity_col": "Quantity", "price_col": "UnitPrice"}  # fmt: skip


def _near_misses(rng: np.random.Generator, dates: list[str], n: int = 400) -> pd.DataFrame:
    """Mostly clean lines (the fast branches' form), then every near miss."""
    clean_dates = [
        f"{m}/{d:02d}/2010 {h}:{mi:02d}"
        for m, d, h, mi in zip(
            rng.integers(1, 13, n), rng.integers(1, 29, n), rng.integers(0, 24, n),
            rng.integers(0, 60, n), strict=True,
        )
    ]  # fmt: skip
    odd = len(dates) + len(_NEAR_NUMBERS)
    return pd.DataFrame(
        {
            "InvoiceNo": [str(i) for i in rng.integers(1000, 1100, n + odd)],
            "CustomerID": [str(c) for c in rng.integers(1, 40, n + odd)],
            "InvoiceDate": clean_dates + dates + clean_dates[: len(_NEAR_NUMBERS)],
            "Quantity": [str(q) for q in rng.integers(1, 9, n + len(dates))] + _NEAR_NUMBERS,
            "UnitPrice": [f"{p:.2f}" for p in rng.uniform(0.5, 9, n)]
            + _NEAR_NUMBERS[: len(dates)]
            + [f"{p:.2f}" for p in rng.uniform(0.5, 9, len(dates) + len(_NEAR_NUMBERS))][
                : odd - len(_NEAR_NUMBERS[: len(dates)])
            ],
        }
    )


def _forms_used(monkeypatch) -> list:
    """Record the day-month forms the fast date branch was given."""
    from segmentation.engines import logsql

    forms, decide = [], logsql.decide

    def spy(*args, **kwargs):
        profile = decide(*args, **kwargs)
        forms.append(profile.dmy_form)
        return profile

    monkeypatch.setattr(logsql, "decide", spy)
    return forms


def _general_only(monkeypatch):
    """The log SQL without its fast branches (what they must agree with)."""
    from segmentation.engines import logsql

    monkeypatch.setattr(logsql, "_dmy_form", lambda example: None)
    monkeypatch.setattr(logsql, "_fast_branch", lambda source, profile, role: False)


# How the clean form is rewritten (none: month-first 12/5/2010 08:26), and the form the
# fast branch must then have been given.
_FORMS = {
    "month-first": (None, None, ("/", 1)),
    # Read the other way round, and decided by a day above 12.
    "day-first": (r"^(\d+)/(\d+)/", lambda m: f"{m[2]}/{m[1]}/", ("/", 1)),
    "dashes-and-seconds": (r"^(\d+)/(\d+)/(\d{4}) (\d+):(\d\d)$", r"\1-\2-\3 \4:\5:07", ("-", 2)),
}  # fmt: skip


@pytest.mark.parametrize("form", list(_FORMS))
def test_fast_branches_read_near_miss_dates_as_the_general_branch(tmp_path, monkeypatch, form):
    pattern, replacement, expected = _FORMS[form]
    frame = _near_misses(np.random.default_rng(11), _NEAR_DATES)
    if pattern:
        frame["InvoiceDate"] = frame["InvoiceDate"].str.replace(pattern, replacement, regex=True)
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    forms = _forms_used(monkeypatch)

    fast = customers_from_log(path, **_NAMED)
    assert forms and all(used == expected for used in forms)
    _general_only(monkeypatch)
    _assert_same(fast, customers_from_log(path, **_NAMED))


def test_fast_number_branch_reads_near_miss_numbers_as_the_general_branch(tmp_path, monkeypatch):
    frame = _near_misses(np.random.default_rng(13), [])
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)

    fast = customers_from_log(path, **_NAMED)
    _general_only(monkeypatch)
    _assert_same(fast, customers_from_log(path, **_NAMED))


def test_padded_and_special_numbers_read_as_the_reader_reads_them(tmp_path):
    """Cells a number column's reader still types as numbers: white space of every kind
    around them, NaN and infinities, missing-value spellings (the fast branch's cases)."""
    rng = np.random.default_rng(14)
    frame = _near_misses(rng, [])
    odd = [" 4", "4 ", "\t4", "4\u00a0", "\u202f4", " 4.20 ", "nan", "NaN", "inf", "1e3", "NA",
           " null", "", "-", ".5", "5.", "+5", "4.200"]  # fmt: skip
    frame["Quantity"] = [str(q) for q in rng.integers(1, 9, len(frame))]
    frame.loc[: len(odd) - 1, "Quantity"] = odd
    frame.loc[len(odd) : 2 * len(odd) - 1, "UnitPrice"] = odd
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    assert read_table(path)["Quantity"].dtype.kind == "f"

    _assert_same(customers_from_log(path, **_NAMED), reference(read_table(path), **_NAMED))


# Past the first rows (logsql._head), where the first guess of the decimal mark is made.
_PAST_HEAD = 10_500


@pytest.mark.parametrize(
    ("late", "mark"),
    [
        # Plain numbers with "." outvote the late "," values, which then do not read.
        (["4.36", "12.5"], "."),
        # Only whole numbers before: the late "," values decide the mark.
        (["3", "12"], ","),
    ],
)
def test_decimal_commas_after_the_first_rows_are_weighed_against_every_number(
    tmp_path, monkeypatch, late, mark
):
    """The first pass counts only the numbers that are not plain (a clean log's plain
    numbers need no vote); values read only with "," past the first rows bring every
    number into the count, and the result is the reader's."""
    from segmentation.engines import logsql

    rng = np.random.default_rng(21)
    n = _PAST_HEAD + 40
    prices = rng.choice(late, n).astype(object)
    prices[-20:] = rng.choice(["1,5", "2,25", "10,75"], 20)
    frame = pd.DataFrame(
        {
            "InvoiceNo": [str(i) for i in rng.integers(1000, 3000, n)],
            "CustomerID": [str(c) for c in rng.integers(1, 200, n)],
            "InvoiceDate": [f"{m}/{d}/2011 10:{d:02d}" for m, d in
                            zip(rng.integers(1, 13, n), rng.integers(13, 29, n), strict=True)],
            "Quantity": rng.integers(1, 5, n),
            "UnitPrice": prices,
        }
    )  # fmt: skip
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    profiles, decide = [], logsql.decide

    def spy(*args, **kwargs):
        profiles.append(decide(*args, **kwargs))
        return profiles[-1]

    monkeypatch.setattr(logsql, "decide", spy)

    got = customers_from_log(path, **_NAMED)
    assert profiles[0].plain_votes == ()  # the first rows had no "," value
    assert any("price" in p.plain_votes for p in profiles[1:])
    assert profiles[-1].european["price"] is (mark == ",")
    _assert_same(got, reference(read_table(path), **_NAMED))


def test_one_order_spelled_several_ways_is_one_order(tmp_path):
    """Lines are summed per raw customer, invoice and date before those cells are cleaned:
    an order whose lines spell the customer three ways, or straddle a minute, is still one
    order, and a return inside it is netted."""
    path = tmp_path / "log.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1001,17850,12/13/2010 08:26,2,1.5\n"
        "1001,17850.0,12/13/2010 08:26,1,4\n"
        '1001," 17850 ",12/13/2010 08:27,1,1\n'
        "1001,17850,12/13/2010 08:26,-1,4\n"
        "C1002,17850,12/14/2010 09:00,-1,1.5\n"
        "1003,17850,12/15/2010 10:00,1,n/a\n"
        "1004,,12/15/2010 10:00,1,1\n"
        "1005,13047,12/14/2010 11:00,3,2\n"
    )
    customers, report = customers_from_log(path)
    row = customers.set_index("CustomerID").loc["17850"]
    assert row["Frequency"] == 2  # 1001 and 1003
    assert row["Monetary"] == pytest.approx(3 + 4 + 1 - 4 - 1.5)
    assert (row["Recency"], row["Tenure"]) == (0, 2)
    assert list(customers["CustomerID"]) == ["13047", "17850"]
    assert (report.n_rows, report.n_missing_customer, report.n_cancellations) == (8, 1, 2)
    assert (report.n_missing_amount, report.n_orders) == (1, 3)
    _assert_same((customers, report), reference(read_table(path)))
