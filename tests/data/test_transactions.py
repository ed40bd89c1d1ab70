"""Tests for segmentation.data.transactions: transaction logs to customers, RFM scores."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.data.transactions import (
    CUSTOMER_COLUMNS,
    RFM_SEGMENT_ACTIONS,
    RFM_SEGMENT_RULES,
    RFM_SEGMENTS,
    customers_from_transactions,
    detect_transaction_columns,
    looks_like_transactions,
    purchase_days,
    rfm_crosstab,
    rfm_scores,
    rfm_segment,
)
from segmentation.errors import DataError

_NAN = float("nan")


@pytest.fixture
def log() -> pd.DataFrame:
    """A hand-made order log, UCI style, whose answers are worked out in the tests."""
    rows = [
        # invoice, date, customer, quantity, unit price
        ("1001", "2011-01-01 10:00", 17850.0, 2, 5.0),  # 10
        ("1001", "2011-01-01 10:00", 17850.0, 1, 10.0),  # 10, same order
        ("1002", "2011-01-10 09:00", 17850.0, 3, 2.0),  # 6
        ("C1003", "2011-01-12 11:00", 17850.0, -1, 5.0),  # cancellation: -5
        ("1004", "2011-01-05 12:00", 13047.0, 10, 1.5),  # 15
        ("1005", "2011-01-20 15:00", 13047.0, 1, 100.0),  # 100, the last date in the log
        ("1006", "2011-01-15 08:00", 13047.0, -2, 1.5),  # return without "C": -3
        ("1007", "2011-01-03 10:00", _NAN, 5, 1.0),  # no customer: dropped
        ("1008", "2011-01-04 10:00", 12346.0, 1, 20.0),  # 20
        ("C1009", "2011-01-18 10:00", 12346.0, -1, 20.0),  # cancelled: net 0
        ("1010", None, 12346.0, 1, 1.0),  # no date: dropped
    ]
    df = pd.DataFrame(
        rows, columns=["InvoiceNo", "InvoiceDate", "CustomerID", "Quantity", "UnitPrice"]
    )
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


def _by_id(customers: pd.DataFrame) -> dict[str, dict[str, float]]:
    return customers.set_index("CustomerID").to_dict("index")


# --------------------------------------------------------------------------------------------
# Transaction logs
# --------------------------------------------------------------------------------------------


def test_customers_from_transactions_known_answers(log):
    customers, report = customers_from_transactions(log)

    assert list(customers.columns) == list(CUSTOMER_COLUMNS)
    assert customers["CustomerID"].tolist() == ["12346", "13047", "17850"]
    got = _by_id(customers)
    assert got["17850"] == {
        "Recency": 10,
        "Frequency": 2,
        "Monetary": 21.0,
        "AvgOrderValue": 10.5,
        "Tenure": 19,
    }
    assert got["13047"] == {
        "Recency": 0,
        "Frequency": 2,
        "Monetary": 112.0,
        "AvgOrderValue": 56.0,
        "Tenure": 15,
    }
    assert got["12346"] == {
        "Recency": 16,
        "Frequency": 1,
        "Monetary": 0.0,
        "AvgOrderValue": 0.0,
        "Tenure": 16,
    }
    assert customers.dtypes.astype(str).tolist() == [
        "object",
        "int64",
        "int64",
        "float64",
        "float64",
        "int64",
    ]


def test_report_counts_what_was_dropped_and_adjusted(log):
    _, report = customers_from_transactions(log)

    assert (report.n_rows, report.n_used_rows, report.n_customers) == (11, 9, 3)
    assert report.n_missing_customer == 1
    assert report.n_bad_dates == 1
    assert report.n_cancellations == 3
    assert report.n_nonpositive_customers == 1
    assert report.n_orders == 5
    assert report.date_min == pd.Timestamp("2011-01-01 10:00")
    assert report.date_max == pd.Timestamp("2011-01-20 15:00")
    assert report.as_of == pd.Timestamp("2011-01-20")
    assert report.columns == {
        "customer": "CustomerID",
        "date": "InvoiceDate",
        "invoice": "InvoiceNo",
        "quantity": "Quantity",
        "price": "UnitPrice",
        "amount": None,
    }
    summary = report.summary()
    assert summary.startswith("11 order lines from 3 customers between 2011-01-01 and 2011-01-20")
    assert "1 row without a customer id dropped" in summary
    assert "3 lines (cancellations and returns) subtracted from spend" in summary
    assert json.loads(json.dumps(report.to_dict()))["as_of"] == "2011-01-20T00:00:00"


def test_report_is_frozen(log):
    _, report = customers_from_transactions(log)

    with pytest.raises(AttributeError):
        report.n_rows = 0  # type: ignore[misc]


def test_as_of_shifts_recency_and_tenure(log):
    customers, report = customers_from_transactions(log, as_of="2011-01-30")

    got = _by_id(customers)
    assert got["13047"]["Recency"] == 10 and got["17850"]["Tenure"] == 29
    assert report.as_of == pd.Timestamp("2011-01-30")


def test_as_of_before_the_last_transaction_is_refused(log):
    with pytest.raises(DataError, match="before the last transaction"):
        customers_from_transactions(log, as_of="2011-01-10")


def test_text_ids_and_dates_from_a_csv_file(tmp_path, log):
    path = tmp_path / "orders.csv"
    text = log.assign(
        CustomerID=log["CustomerID"].map(lambda v: "" if math.isnan(v) else f"{v:.1f}"),
        InvoiceDate=log["InvoiceDate"].dt.strftime("%d/%m/%Y %H:%M").fillna("not a date"),
    )
    text.to_csv(path, index=False)

    customers, report = customers_from_transactions(read_table(path))

    assert customers["CustomerID"].tolist() == ["12346", "13047", "17850"]
    assert _by_id(customers)["17850"]["Monetary"] == 21.0
    assert report.n_bad_dates == 1 and report.n_missing_customer == 1


def test_amount_column_without_invoice_counts_distinct_purchase_times():
    df = pd.DataFrame(
        {
            "Customer ID": ["a", "a", "a", "b", "b"],
            "order_date": pd.to_datetime(
                ["2020-01-01", "2020-01-01", "2020-01-05", "2020-01-02", "2020-01-03"]
            ),
            "amount": [10.0, 5.0, 20.0, 7.0, -2.0],
        }
    )

    customers, report = customers_from_transactions(df)

    got = _by_id(customers)
    assert got["a"] == {
        "Recency": 0,
        "Frequency": 2,
        "Monetary": 35.0,
        "AvgOrderValue": 17.5,
        "Tenure": 4,
    }
    assert got["b"]["Frequency"] == 1 and got["b"]["Monetary"] == 5.0
    assert got["b"]["Recency"] == 3  # the return on the 3rd is not a purchase
    assert report.columns["amount"] == "amount" and report.n_cancellations == 1


def test_explicit_columns_override_detection():
    df = pd.DataFrame(
        {
            "who": ["x", "x", "y"],
            "when": ["2020-01-01", "2020-01-02", "2020-01-02"],
            "n": [1, 2, 3],
            "each": [2.0, 2.0, 1.0],
        }
    )

    customers, report = customers_from_transactions(
        df, customer_col="who", date_col="when", quantity_col="n", price_col="each"
    )

    assert _by_id(customers)["x"]["Monetary"] == 6.0
    assert report.columns["customer"] == "who" and report.columns["date"] == "when"


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        (["InvoiceDate", "Quantity", "UnitPrice"], "--customer-col"),
        (["CustomerID", "Quantity", "UnitPrice"], "--date-col"),
        (["CustomerID", "InvoiceDate", "Quantity"], "--amount-col NAME, or --quantity-col"),
    ],
    ids=["no-customer", "no-date", "no-amount"],
)
def test_missing_roles_name_the_flag_to_pass(log, columns, match):
    with pytest.raises(DataError, match=match):
        customers_from_transactions(log[columns])


def test_unknown_explicit_column_is_refused(log):
    with pytest.raises(DataError, match="'Client' \\(given with --customer-col\\) is not in"):
        customers_from_transactions(log, customer_col="Client")


def test_date_column_without_dates_is_refused(log):
    with pytest.raises(DataError, match="does not hold dates") as caught:
        customers_from_transactions(log, date_col="InvoiceNo")
    # It shows one of the column's values, and what dates look like.
    assert repr(str(log["InvoiceNo"].iloc[0])) in str(caught.value)
    assert "2010-12-01" in str(caught.value)


def test_a_column_named_like_a_date_that_is_not_one_is_shown(log):
    """Detection cannot take a date column whose values do not read; the message names it,
    shows a value that failed and the forms that are read."""
    odd = log.assign(InvoiceDate=log["InvoiceDate"].dt.strftime("%-m/%-d/%y %H:%M"))
    odd.loc[0, "InvoiceDate"] = "2010-12-01 08:26"  # one that reads is not the one shown
    with pytest.raises(DataError, match="could not find the date column") as caught:
        customers_from_transactions(odd)
    message = str(caught.value)
    assert "'InvoiceDate' is named like it" in message
    assert repr(odd.loc[1, "InvoiceDate"]) in message and "two-digit years" in message


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ["InvoiceNo", "InvoiceDate", "CustomerID", "Quantity", "UnitPrice"],
            {"invoice": "InvoiceNo", "customer": "CustomerID", "quantity": "Quantity"},
        ),
        (
            ["order_id", "order_date", "Customer ID", "qty", "price"],
            {"invoice": "order_id", "customer": "Customer ID", "quantity": "qty", "price": "price"},
        ),
        (
            ["Order Number", "timestamp", "client", "Amount"],
            {"invoice": "Order Number", "customer": "client", "amount": "Amount"},
        ),
        (
            ["customer_id", "date", "line_total"],
            {"customer": "customer_id", "amount": "line_total"},
        ),
        (["CUSTOMER-ID", "Date", "Revenue"], {"customer": "CUSTOMER-ID", "amount": "Revenue"}),
    ],
    ids=["uci", "snake-case-and-spaces", "order-number-client", "line-total", "upper-case"],
)
def test_detect_transaction_columns_by_name(names, expected):
    values = {
        "date": pd.to_datetime(["2020-01-01", "2020-01-02"]),
        "text": ["a", "b"],
        "number": [1.0, 2.0],
    }
    kinds = {"InvoiceDate": "date", "order_date": "date", "timestamp": "date", "date": "date"}
    kinds |= {"Date": "date"}
    numeric = {"Quantity", "UnitPrice", "qty", "price", "Amount", "line_total", "Revenue"}
    df = pd.DataFrame(
        {
            n: values[kinds.get(n, "number" if n in numeric else "text")]
            for n in names  # one column per name
        }
    )

    found = detect_transaction_columns(df)

    assert set(found) == {"customer", "date", "invoice", "quantity", "price", "amount"}
    assert found["date"] == next(n for n in names if kinds.get(n) == "date")
    for role, name in expected.items():
        assert found[role] == name


def test_detection_checks_types():
    df = pd.DataFrame(
        {"CustomerID": ["a", "b"], "date": ["soon", "later"], "amount": ["lots", "few"]}
    )

    found = detect_transaction_columns(df)

    assert found["customer"] == "CustomerID"
    assert found["date"] is None and found["amount"] is None


def test_text_dates_are_detected():
    df = pd.DataFrame({"client": ["a", "a"], "Order Date": ["04/09/2012", "13/09/2012"]})

    assert detect_transaction_columns(df)["date"] == "Order Date"


def test_looks_like_transactions(log):
    assert looks_like_transactions(log)
    customers, _ = customers_from_transactions(log)
    assert not looks_like_transactions(customers)  # one row per customer, no dates
    one_row_each = log.drop_duplicates("CustomerID")
    assert not looks_like_transactions(one_row_each)  # ids do not repeat
    assert not looks_like_transactions(log.drop(columns=["UnitPrice"]))  # nothing to sum


# --------------------------------------------------------------------------------------------
# RFM scores and segments
# --------------------------------------------------------------------------------------------


def _random_customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Recency": rng.integers(0, 365, n),
            "Frequency": rng.integers(1, 6, n),  # few distinct values, many ties
            "Monetary": rng.gamma(2.0, 100.0, n),
        }
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 100, 1001], ids=lambda n: f"{n}-rows")
def test_rfm_scores_range_and_one_segment_per_row(n):
    customers = _random_customers(n)

    scored = rfm_scores(customers)

    for column in ("R_Score", "F_Score", "M_Score"):
        assert scored[column].dtype == "int64"
        assert scored[column].between(1, 5).all()
    assert scored["RFM_Segment"].isin(RFM_SEGMENTS).all()
    assert scored["RFM_Segment"].notna().all() and len(scored) == n
    expected = scored["R_Score"].astype(str) + scored["F_Score"].astype(str)
    assert (scored["RFM_Score"] == expected + scored["M_Score"].astype(str)).all()
    pd.testing.assert_frame_equal(scored[customers.columns], customers)


def test_quintiles_are_equal_sized_for_distinct_values():
    scored = rfm_scores(_random_customers(1000))

    assert scored["M_Score"].value_counts().tolist() == [200] * 5  # no two spends alike


@pytest.mark.parametrize("column", ["Recency", "Frequency", "Monetary"])
def test_equal_values_get_equal_scores(column):
    customers = _random_customers(1000)
    customers["Monetary"] = customers["Monetary"].round(-1)  # many ties in every column

    scored = rfm_scores(customers)

    score = {"Recency": "R_Score", "Frequency": "F_Score", "Monetary": "M_Score"}[column]
    assert (scored.groupby(column)[score].nunique() == 1).all()
    # Higher values never score lower (recency the other way round).
    order = scored.sort_values(column, ascending=column != "Recency")[score]
    assert order.is_monotonic_increasing


def test_customers_who_bought_on_the_same_day_share_their_r_score():
    """Seven customers bought today: all have R 5 and none is 'At Risk' (issue 11)."""
    customers = _random_customers(60, seed=3)
    customers.loc[:6, "Recency"] = 0

    scored = rfm_scores(customers)

    assert scored.loc[:6, "R_Score"].tolist() == [5] * 7
    assert not scored.loc[:6, "RFM_Segment"].isin(["At Risk", "Lost", "Hibernating"]).any()


def test_a_value_everyone_shares_scores_the_middle():
    customers = _random_customers(50).assign(Frequency=1)

    assert set(rfm_scores(customers)["F_Score"]) == {3}


def test_recent_frequent_big_spenders_are_champions_and_the_opposite_lost():
    n = 20
    customers = pd.DataFrame(
        {
            "CustomerID": [f"c{i}" for i in range(n)],
            "Recency": np.arange(n),  # c0 bought most recently
            "Frequency": np.arange(n, 0, -1),  # ... and most often
            "Monetary": np.linspace(1000.0, 10.0, n),  # ... and spent most
        }
    )

    scored = rfm_scores(customers).set_index("CustomerID")

    assert scored.loc["c0", "RFM_Score"] == "555"
    assert scored.loc["c0", "RFM_Segment"] == "Champions"
    assert scored.loc["c19", "RFM_Score"] == "111"
    assert scored.loc["c19", "RFM_Segment"] == "Lost"


def test_rfm_scores_with_other_column_names_and_missing_values():
    customers = pd.DataFrame(
        {"days": [1.0, np.nan, 30.0], "orders": [5, 2, 1], "spend": [100.0, 50.0, np.nan]}
    )

    scored = rfm_scores(customers, recency_col="days", frequency_col="orders", monetary_col="spend")

    # Two customers with a value: mid-ranks 1.5 and 0.5 of 2 give scores 4 and 2.
    assert scored["R_Score"].tolist() == [4, 1, 2]
    assert scored["M_Score"].tolist() == [4, 2, 1]


def test_rfm_scores_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="column 'Recency' is missing"):
        rfm_scores(pd.DataFrame({"Frequency": [1], "Monetary": [1.0]}))


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (4, 4, 3, "Champions"),
        (3, 5, 5, "Loyal Customers"),
        (5, 3, 3, "Loyal Customers"),
        (5, 2, 2, "Potential Loyalists"),
        (5, 1, 1, "New Customers"),
        (4, 1, 1, "Promising"),
        (3, 2, 2, "Need Attention"),
        (3, 1, 2, "Need Attention"),
        (3, 2, 3, "Loyal Customers"),
        (3, 1, 1, "About to Sleep"),
        (2, 4, 3, "At Risk"),
        (1, 5, 5, "Can't Lose Them"),
        (2, 1, 2, "Hibernating"),
        (1, 1, 1, "Lost"),
    ],
    ids=lambda v: str(v),
)
def test_rfm_segment_rules(r, f, m, segment):
    assert rfm_segment(r, f, m).tolist() == [segment]


def test_rules_cover_every_score_and_every_segment_has_an_action():
    for r in range(1, 6):
        for fm in range(1, 6):
            assert any(
                r_lo <= r <= r_hi and fm_lo <= fm <= fm_hi
                for _, (r_lo, r_hi), (fm_lo, fm_hi) in RFM_SEGMENT_RULES
            ), (r, fm)
    assert set(RFM_SEGMENT_ACTIONS) == set(RFM_SEGMENTS)
    assert all(text.endswith(".") for text in RFM_SEGMENT_ACTIONS.values())


def test_rfm_crosstab_shape_totals_and_order():
    rfm = pd.Series(["Lost", "Champions", "Lost", "Lost", "At Risk", "Champions"])
    clusters = pd.Series([0, 1, 1, 1, 2, 1], name="Segment")

    table = rfm_crosstab(rfm, clusters)

    assert table.shape == (3, 3)
    assert table.to_numpy().sum() == len(rfm)
    assert table.index.tolist() == ["Lost", "Champions", "At Risk"]
    assert table.columns.tolist() == [1, 0, 2]
    assert table.loc["Lost", 1] == 2 and table.loc["Champions", 1] == 2


def test_rfm_crosstab_aligns_on_the_index():
    rfm = pd.Series(["Lost", "Champions"], index=[10, 20])
    clusters = pd.Series(["B", "A"], index=[20, 10])

    table = rfm_crosstab(rfm, clusters)

    assert table.loc["Lost", "A"] == 1 and table.loc["Champions", "B"] == 1


def test_rfm_crosstab_length_mismatch():
    with pytest.raises(ValueError, match="one value per customer"):
        rfm_crosstab(pd.Series(["Lost"]), pd.Series([1, 2]))


@pytest.mark.parametrize(
    ("columns", "given", "match"),
    [
        (["InvoiceDate", "Quantity", "UnitPrice"], {}, "choose the customer id column"),
        (["CustomerID", "InvoiceDate", "Quantity"], {}, "choose the amount column, or the"),
        (None, {"date_col": "Quantity"}, "does not hold dates.*choose the date column"),
        (None, {"customer_col": "Client"}, "'Client' is not in the table"),
    ],
    ids=["no-customer", "no-amount", "not-dates", "unknown"],
)
def test_app_messages_ask_in_words_not_flags(log, columns, given, match):
    """The app asks for columns with its own widgets: its messages name no flag."""
    with pytest.raises(DataError, match=match) as caught:
        customers_from_transactions(log[columns] if columns else log, **given, flags=False)
    assert "--" not in str(caught.value)


def test_might_be_transactions_only_for_log_like_tables(log):
    from segmentation.data.transactions import might_be_transactions

    assert might_be_transactions(log)
    people = pd.DataFrame(
        {
            "CustomerID": [f"c{i}" for i in range(50)],
            "Dt_Customer": pd.date_range("2024-01-01", periods=50),
            "Income": np.arange(50) * 1000.0,
            "Education": ["a", "b"] * 25,
        }
    )
    assert not might_be_transactions(people)  # ids unique: one row per customer
    renamed = log.rename(columns={"CustomerID": "Kunde"})
    assert not looks_like_transactions(renamed)
    assert might_be_transactions(renamed)  # a date and quantity x price: ask for the rest


def test_purchase_days_merge_a_day_and_leave_returns_out():
    log = pd.DataFrame(
        {
            "InvoiceNo": ["1", "2", "3", "C4", "5"],
            "InvoiceDate": [
                "2024-01-01 09:00",
                "2024-01-01 17:00",
                "2024-01-05 10:00",
                "2024-01-06 10:00",
                "2024-01-09 10:00",
            ],
            "CustomerID": [7.0, 7.0, 7.0, 7.0, 8.0],
            "Amount": [10.0, 5.0, 20.0, 7.0, 3.0],
        }
    )
    days, as_of = purchase_days(log)
    assert as_of == pd.Timestamp("2024-01-09")
    assert days.to_dict("list") == {
        "CustomerID": ["7", "7", "8"],
        "Day": list(pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09"])),
        "Spend": [15.0, 20.0, 3.0],
    }


@pytest.mark.parametrize(
    "ids",
    [
        ["17850", "9", "123", "100000", "2", "555555555555555555"],  # no leading zeros
        ["00123", "123", "0", "45", "0045", "7"],  # equal as numbers: by text
        ["9", "10", "9"],  # repeated ids keep their order
        ["B2", "a1", "10", "9", "Ä"],  # not all numbers: by text
        ["1234567890123456789", "99", "1234567890123456788"],  # beyond int64's exact range
    ],
    ids=["numbers", "leading-zeros", "repeated", "text", "nineteen-digits"],
)
def test_customer_ids_sort_by_number_then_text(ids):
    """Customer tables come out in one order whatever order the rows came in: by number
    when every id is one (equal numbers by their text), else by text."""
    import pyarrow as pa

    from segmentation.data.transactions import _id_order

    if all(i.isdecimal() for i in ids):
        expected = sorted(range(len(ids)), key=lambda n: (int(ids[n]), ids[n]))
    else:
        expected = sorted(range(len(ids)), key=lambda n: ids[n])
    for values in (np.array(ids, dtype=object), pa.array(ids)):
        assert list(_id_order(values)) == expected
