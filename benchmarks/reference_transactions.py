"""The pandas log-to-customers path as it was before issue 11, kept only as a reference.

Not production code: the benchmark times it against the DuckDB path
(``segmentation.engines.local``), and ``tests/engines/test_logsql_equality.py`` checks that
the new path gives the same customers and report on many messy logs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segmentation.data.read import parse_datetimes
from segmentation.data.transactions import (
    _DATE_FRACTION,
    TransactionReport,
    _as_of_day,
    _ask_choice,
    _ask_flag,
    _resolve_roles,
    _sort_by_id,
)
from segmentation.errors import DataError

__all__ = ["customers_from_transactions"]


def customers_from_transactions(
    df: pd.DataFrame,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    quantity_col: str | None = None,
    price_col: str | None = None,
    invoice_col: str | None = None,
    as_of: Any = None,
    flags: bool = True,
) -> tuple[pd.DataFrame, TransactionReport]:
    """The pre-issue-11 ``segmentation.data.transactions.customers_from_transactions``."""
    ask = _ask_flag if flags else _ask_choice
    roles = _resolve_roles(
        ask,
        df,
        {
            "customer": customer_col,
            "date": date_col,
            "amount": amount_col,
            "quantity": quantity_col,
            "price": price_col,
            "invoice": invoice_col,
        },
    )
    n_rows = len(df)

    ids = _normalize_ids(df[roles["customer"]])
    dates = _as_datetimes(df[roles["date"]], roles["date"], ask)
    if roles["amount"] is not None:
        quantity = _as_numbers(df[roles["quantity"]]) if roles["quantity"] else None
        spend = _as_numbers(df[roles["amount"]])
    else:
        quantity = _as_numbers(df[roles["quantity"]])
        spend = quantity * _as_numbers(df[roles["price"]])

    returns = spend < 0
    if quantity is not None:
        returns |= quantity < 0
    orders: pd.Series = dates
    if roles["invoice"] is not None:
        invoices = _normalize_ids(df[roles["invoice"]])
        cancelled = invoices.str.match(r"[Cc][0-9]", na=False).astype(bool)
        if cancelled.mean() < 0.5:  # "C123" everywhere is a numbering scheme, not a flag
            returns |= cancelled
        # An order line without an invoice number still is a purchase: key it by its date.
        orders = invoices.where(invoices.notna(), "date:" + dates.astype(str))

    has_customer = ids.notna()
    has_date = dates.notna()
    keep = has_customer & has_date
    if not keep.any():
        raise DataError(
            f"no usable rows: none has both a customer id in {roles['customer']!r} and a date "
            f"in {roles['date']!r}; {ask('customer', 'check')} and {ask('date', 'check')}"
        )
    rows = pd.DataFrame(
        {
            "customer": ids[keep],
            "date": dates[keep],
            "day": dates[keep].dt.normalize(),
            "spend": spend[keep].abs().where(~returns[keep], -spend[keep].abs()),
            "is_return": returns[keep],
            "order": orders[keep],
        }
    )

    date_min, date_max = rows["date"].min(), rows["date"].max()
    as_of_day = _as_of_day(as_of, date_max)

    everything = rows.groupby("customer", sort=False)
    purchases = rows[~rows["is_return"]].groupby("customer", sort=False)
    monetary = everything["spend"].sum()
    index = monetary.index
    frequency = purchases["order"].nunique().reindex(index, fill_value=0)
    last_day = purchases["day"].max().reindex(index).fillna(everything["day"].max())
    first_day = purchases["day"].min().reindex(index).fillna(everything["day"].min())
    safe_frequency = frequency.where(frequency > 0, 1)

    customers = pd.DataFrame(
        {
            "CustomerID": index.astype(object),
            "Recency": (as_of_day - last_day).dt.days.astype("int64").to_numpy(),
            "Frequency": frequency.astype("int64").to_numpy(),
            "Monetary": monetary.astype("float64").to_numpy(),
            "AvgOrderValue": (monetary / safe_frequency).where(frequency > 0, 0.0).to_numpy(),
            "Tenure": (as_of_day - first_day).dt.days.astype("int64").to_numpy(),
        }
    )
    customers = _sort_by_id(customers)

    report = TransactionReport(
        n_rows=n_rows,
        n_used_rows=int(keep.sum()),
        n_customers=len(customers),
        n_orders=int(customers["Frequency"].sum()),
        n_missing_customer=int((~has_customer).sum()),
        n_cancellations=int(rows["is_return"].sum()),
        n_bad_dates=int((has_customer & ~has_date).sum()),
        n_missing_amount=int(spend[keep].isna().sum()),
        n_nonpositive_customers=int((customers["Monetary"] <= 0).sum()),
        date_min=date_min,
        date_max=date_max,
        as_of=as_of_day,
        columns=dict(roles),
    )
    return customers, report


def _normalize_ids(values: pd.Series) -> pd.Series:
    """Return ids as stripped strings (object dtype, NaN for missing); ``17850.0`` -> ``17850``."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        present = numbers.notna()
        out = pd.Series(np.nan, index=values.index, dtype=object)
        valid = numbers[present]
        if (valid == np.round(valid)).all():
            out[present] = valid.astype("int64").astype(str).astype(object)
        else:
            out[present] = valid.astype(str).astype(object)
        return out
    text = values.astype("str").str.strip()
    text = text.mask(text == "")
    text = text.str.replace(r"^([0-9]+)\.0+$", r"\1", regex=True)
    return text.astype(object)


def _as_datetimes(values: pd.Series, name: str, ask: Any = _ask_flag) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert(None)
        return values
    parsed = None
    if not pd.api.types.is_numeric_dtype(values):
        parsed = parse_datetimes(values, min_fraction=_DATE_FRACTION)
    if parsed is None:
        example = values.dropna().head(1).tolist()
        raise DataError(
            f"column {name!r} does not hold dates (e.g. {example[0] if example else ''!r}); "
            + ("pass the date column with --date-col" if ask is _ask_flag else ask("date"))
        )
    return parsed


def _as_numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return pd.to_numeric(values, errors="coerce").astype("float64")
