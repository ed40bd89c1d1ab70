"""Turn a transaction log into one row per customer, and score it with classic RFM."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from segmentation.data.read import parse_datetimes
from segmentation.data.rules import normalize_name
from segmentation.errors import DataError

__all__ = [
    "CUSTOMER_COLUMNS",
    "RFM_FALLBACK_SEGMENT",
    "RFM_SEGMENTS",
    "RFM_SEGMENT_ACTIONS",
    "RFM_SEGMENT_RULES",
    "TransactionReport",
    "customers_from_transactions",
    "dayfirst_note",
    "detect_transaction_columns",
    "looks_like_transactions",
    "purchase_days",
    "rfm_crosstab",
    "rfm_scores",
    "rfm_segment",
]

#: Columns of the table :func:`customers_from_transactions` returns, in order.
CUSTOMER_COLUMNS = ("CustomerID", "Recency", "Frequency", "Monetary", "AvgOrderValue", "Tenure")

ROLES = ("customer", "date", "invoice", "quantity", "price", "amount")

#: Command-line flag that names the column of each role.
ROLE_FLAGS = {role: f"--{role}-col" for role in ROLES}

# Column names per role, compared after lower-casing and dropping everything but letters and
# digits ("Customer ID", "customer_id" and "CustomerID" are all "customerid"). Earlier wins.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customerid",
        "customerno",
        "customernumber",
        "customercode",
        "customerkey",
        "customer",
        "custid",
        "custno",
        "clientid",
        "clientno",
        "clientnumber",
        "client",
        "memberid",
        "accountid",
        "userid",
        "buyerid",
        "shopperid",
        "consumerid",
    ),
    "date": (
        "invoicedate",
        "orderdate",
        "transactiondate",
        "purchasedate",
        "saledate",
        "salesdate",
        "orderdatetime",
        "transactiontime",
        "date",
        "datetime",
        "timestamp",
        "createdat",
        "orderedat",
        "purchasedat",
        "time",
    ),
    "invoice": (
        "invoiceno",
        "invoicenumber",
        "invoiceid",
        "invoice",
        "orderid",
        "orderno",
        "ordernumber",
        "order",
        "transactionid",
        "transactionno",
        "transaction",
        "receiptid",
        "receiptno",
        "receipt",
        "basketid",
        "billno",
        "txnid",
    ),
    "quantity": ("quantity", "qty", "units", "unitssold", "quantityordered", "qtyordered"),
    "price": ("unitprice", "price", "priceeach", "unitcost", "itemprice", "priceperunit"),
    "amount": (
        "amount",
        "total",
        "revenue",
        "sales",
        "linetotal",
        "totalprice",
        "totalamount",
        "totalsales",
        "salesamount",
        "lineamount",
        "netamount",
        "ordervalue",
        "ordertotal",
        "subtotal",
        "spend",
        "value",
    ),
}
_NUMERIC_ROLES = ("quantity", "price", "amount")
_SAMPLE = 1000  # values checked when deciding whether a text column holds dates or numbers
# A column named like a date is one if half its values parse (the rest count as bad dates);
# read_table, which has no name to go on, asks for 95%.
_DATE_FRACTION = 0.5

# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------

#: The classic RFM segments as ``(name, (R low, R high), (FM low, FM high))``, tried in order:
#: a customer gets the first segment whose ranges contain their R score and their FM score
#: (the mean of F and M, rounded half up). The rules cover every (R, FM) pair from 1 to 5;
#: :data:`RFM_FALLBACK_SEGMENT` is only a guard.
RFM_SEGMENT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("Champions", (4, 5), (4, 5)),
    ("Loyal Customers", (3, 5), (3, 5)),
    ("Potential Loyalists", (4, 5), (2, 3)),
    ("New Customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need Attention", (3, 3), (2, 3)),
    ("About to Sleep", (3, 3), (1, 2)),
    ("At Risk", (1, 2), (3, 4)),
    ("Can't Lose Them", (1, 2), (5, 5)),
    ("Hibernating", (2, 2), (1, 2)),
    ("Lost", (1, 1), (1, 2)),
)

#: Segment given when no rule matches (never, with the rules above).
RFM_FALLBACK_SEGMENT = "Need Attention"

#: Segment names in rule order.
RFM_SEGMENTS: tuple[str, ...] = tuple(dict.fromkeys(name for name, _, _ in RFM_SEGMENT_RULES))

#: One marketing action per segment.
RFM_SEGMENT_ACTIONS: dict[str, str] = {
    "Champions": "Reward them with early access and loyalty perks, and ask for reviews "
    "and referrals.",
    "Loyal Customers": "Upsell higher-value products and invite them into the loyalty programme.",
    "Potential Loyalists": "Offer a membership or a second-purchase incentive to turn recent "
    "buyers into regulars.",
    "New Customers": "Welcome them with onboarding emails and a small incentive for a second "
    "order.",
    "Promising": "Build the habit with personalised recommendations and a time-limited offer.",
    "Need Attention": "Send a personalised, limited-time offer based on what they bought before.",
    "About to Sleep": "Win them back now with popular products and a discount before they lapse.",
    "At Risk": "Reach out personally with a strong win-back offer and ask what went wrong.",
    "Can't Lose Them": "Make a high-touch win-back effort (a call, a premium offer) for these "
    "former best customers.",
    "Hibernating": "Re-engage cheaply with relevant new products and seasonal discounts.",
    "Lost": "Try one low-cost reactivation campaign, then stop spending on them.",
}


# --------------------------------------------------------------------------------------------
# Transaction logs
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TransactionReport:
    """What :func:`customers_from_transactions` did with a transaction log.

    Attributes
    ----------
    n_rows : int
        Rows in the input.
    n_used_rows : int
        Rows kept (with a customer id and a readable date).
    n_customers : int
        Customers in the result.
    n_orders : int
        Purchases counted over all customers (the sum of ``Frequency``).
    n_missing_customer : int
        Rows dropped because the customer id is empty.
    n_cancellations : int
        Kept rows that are cancellations or returns (invoice ``C...``, negative quantity or
        amount): subtracted from ``Monetary``, not counted as purchases.
    n_bad_dates : int
        Rows with a customer id dropped because their date is empty or unreadable.
    n_missing_amount : int
        Kept rows whose amount (or quantity or price) is empty or not a number; they add
        nothing to ``Monetary``.
    n_nonpositive_customers : int
        Customers kept although their net spend is zero or negative.
    date_min, date_max : pandas.Timestamp
        First and last date among the kept rows.
    as_of : pandas.Timestamp
        Day that ``Recency`` and ``Tenure`` are counted to.
    columns : dict
        Column used for each role (``customer``, ``date``, ``invoice``, ``quantity``,
        ``price``, ``amount``), ``None`` when unused.
    date_reading : str or None
        Set when every day-month date (``12/1/2010``) read both ways: which reading was
        used and how to choose the other. None when the column decided it (a value such
        as ``13/1/2010``), when the reading was chosen, or when the dates were typed.
    """

    n_rows: int
    n_used_rows: int
    n_customers: int
    n_orders: int
    n_missing_customer: int
    n_cancellations: int
    n_bad_dates: int
    n_missing_amount: int
    n_nonpositive_customers: int
    date_min: pd.Timestamp
    date_max: pd.Timestamp
    as_of: pd.Timestamp
    columns: dict[str, str | None]
    date_reading: str | None = None

    def summary(self) -> str:
        """Return a short human report, e.g. for ``st.info`` or the CLI.

        Returns
        -------
        str
            One or two sentences, with only the counts that are not zero.
        """
        head = (
            f"{self.n_rows:,} order lines from {self.n_customers:,} customers between "
            f"{self.date_min:%Y-%m-%d} and {self.date_max:%Y-%m-%d} "
            f"(recency counted to {self.as_of:%Y-%m-%d})"
        )
        notes = [
            (self.n_missing_customer, "without a customer id dropped", "row"),
            (self.n_bad_dates, "with an empty or unreadable date dropped", "row"),
            (
                self.n_cancellations,
                "(cancellations and returns) subtracted from spend, not counted as orders",
                "line",
            ),
            (self.n_missing_amount, "with no readable amount counted as 0", "row"),
            (self.n_nonpositive_customers, "with zero or negative net spend kept", "customer"),
        ]
        parts = [f"{n:,} {noun}{'s' if n != 1 else ''} {text}" for n, text, noun in notes if n]
        if self.date_reading:
            parts.append(self.date_reading)
        return head + ("; " + "; ".join(parts) if parts else "") + "."

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-safe values (dates as ISO strings).

        Returns
        -------
        dict
            One key per attribute.
        """
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif isinstance(value, dict):
                value = dict(value)
            elif value is None or isinstance(value, str):
                pass
            else:
                value = int(value)
            out[field.name] = value
        return out


def detect_transaction_columns(df: pd.DataFrame) -> dict[str, str | None]:
    """Find the columns of a transaction log by their names and types.

    Names are compared ignoring case, spaces and punctuation, so ``CustomerID``,
    ``customer_id`` and ``Customer ID`` all match the customer role. The date column must
    be ``datetime64`` or text that parses as dates; quantity, price and amount must be
    numeric. A column fills at most one role. When no column is named like a date, the
    first ``datetime64`` column is used.

    Parameters
    ----------
    df : pandas.DataFrame
        A table as read by :func:`segmentation.data.read.read_table`.

    Returns
    -------
    dict
        ``{"customer", "date", "invoice", "quantity", "price", "amount"}`` mapped to a column
        name, or ``None`` when not found.
    """
    by_key: dict[str, str] = {}
    for name in df.columns:
        by_key.setdefault(normalize_name(name), name)
    found: dict[str, str | None] = dict.fromkeys(ROLES)
    used: set[str] = set()
    for role in ("date", "customer", "invoice", "amount", "quantity", "price"):
        for key in _ROLE_NAMES[role]:
            name = by_key.get(key)
            if name is not None and name not in used and _fits_role(df[name], role):
                found[role] = name
                used.add(name)
                break
    if found["customer"] is None:  # "Customer Identifier", "client_ref", ...
        found["customer"] = _first_match(
            df, used, lambda key: key.startswith(("customer", "client")), "customer"
        )
        if found["customer"]:
            used.add(found["customer"])
    if found["date"] is None:
        found["date"] = _first_match(df, used, lambda key: "date" in key, "date") or next(
            (
                c
                for c in df.columns
                if c not in used and pd.api.types.is_datetime64_any_dtype(df[c])
            ),
            None,
        )
    return found


def looks_like_transactions(df: pd.DataFrame) -> bool:
    """Tell whether ``df`` is a transaction log rather than one row per customer.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.

    Returns
    -------
    bool
        True when it has a customer column whose ids repeat (1.5 rows per customer or more
        on average), a date column, and either an amount column or quantity and price.
    """
    roles = detect_transaction_columns(df)
    if roles["customer"] is None or roles["date"] is None:
        return False
    if roles["amount"] is None and (roles["quantity"] is None or roles["price"] is None):
        return False
    ids = df[roles["customer"]].dropna()
    return len(ids) > 0 and len(ids) / ids.nunique() >= 1.5


def might_be_transactions(df: pd.DataFrame) -> bool:
    """Tell whether ``df`` may be a transaction log that :func:`looks_like_transactions`
    could not read whole, so the app asks for its columns instead of guessing.

    Returns
    -------
    bool
        True for a log, and for a table whose customer or invoice ids repeat (1.5 rows per
        id or more), or with a date and an amount (or quantity and price) but no customer
        column found; False for one row per customer (ids unique, or nothing log-like).
    """
    if looks_like_transactions(df):
        return True
    roles = detect_transaction_columns(df)

    def repeats(column: str | None) -> bool:
        if column is None:
            return False
        ids = df[column].dropna()
        return len(ids) > 0 and len(ids) / ids.nunique() >= 1.5

    worth = roles["amount"] is not None or (
        roles["quantity"] is not None and roles["price"] is not None
    )
    return (
        repeats(roles["customer"])
        or repeats(roles["invoice"])
        or (roles["customer"] is None and roles["date"] is not None and worth)
    )


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
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, TransactionReport]:
    """Aggregate a transaction log into one row per customer (RFM plus order value and tenure).

    The aggregation runs as SQL in DuckDB (:mod:`segmentation.engines.logsql`); to read a log
    straight from disk without loading it, use
    :func:`segmentation.engines.local.customers_from_log`.

    Columns not given are found with :func:`detect_transaction_columns`. The spend of a row
    is ``amount`` when there is an amount column (or ``amount_col`` is given), otherwise
    ``quantity * price``.

    Cancellations and returns are rows whose invoice is ``C`` followed by a digit (as in the
    UCI Online Retail log; ignored if most invoices look like that), or whose quantity or
    amount is negative. They are **not** purchases, so they count neither towards
    ``Frequency`` nor ``Recency``, but their value is subtracted from ``Monetary`` (net
    spend): a customer who bought 100 and returned 30 has ``Monetary`` 70. Rows without a
    customer id, and rows whose date is empty or unreadable, are dropped and counted in the
    report. Customers whose net spend is zero or negative are kept and counted; a customer
    with only returns in the log has ``Frequency`` 0, ``AvgOrderValue`` 0, and
    ``Recency`` / ``Tenure`` counted from their returns.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per order line (or per order).
    customer_col, date_col, amount_col, quantity_col, price_col, invoice_col : str, optional
        Column names, overriding detection (the CLI flags ``--customer-col`` etc.).
    as_of : str, datetime or pandas.Timestamp, optional
        Day that recency and tenure are counted to. Defaults to the latest date in the log,
        so customers who bought on that day have ``Recency`` 0. Must not be before it.
    flags : bool, default=True
        Whether error messages name the command line's flags (``pass --date-col NAME``);
        the app, which asks for the columns with its own widgets, says "choose the date
        column" instead.
    dayfirst : bool, optional
        How to read text dates such as ``04/09/2012`` (True: 4 September). None decides
        from the whole column (see :func:`segmentation.data.read.parse_datetimes`); when
        every value reads both ways, day-first is used and ``report.date_reading`` says so.

    Returns
    -------
    customers : pandas.DataFrame
        One row per customer, columns :data:`CUSTOMER_COLUMNS`:

        - ``CustomerID`` (str; ``17850.0`` becomes ``"17850"``),
        - ``Recency`` (int): whole days from the last purchase to ``as_of``,
        - ``Frequency`` (int): distinct invoices among purchases; without an invoice
          column, distinct purchase timestamps,
        - ``Monetary`` (float): net spend, purchases minus returns,
        - ``AvgOrderValue`` (float): ``Monetary / Frequency`` (0 when ``Frequency`` is 0),
        - ``Tenure`` (int): whole days from the first purchase to ``as_of``.

        Sorted by customer id (numerically when every id is a number).
    report : TransactionReport
        Counts of what was dropped or adjusted, and the columns used.

    Raises
    ------
    DataError
        If a named column does not exist, a needed column cannot be found (the message
        names the flag to pass), the date column holds no dates, ``as_of`` is not a date or
        is before the last transaction, or no row is left.
    """
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
    from segmentation.engines.local import customers_from_frame

    return customers_from_frame(df, roles, as_of=as_of, dayfirst=dayfirst, ask=ask)


def purchase_days(
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
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Sum a transaction log's purchases per customer and calendar day.

    What the purchase models of :mod:`segmentation.insight.clv` count: several orders on
    one day are one purchase occasion. Columns, cancellations and returns are read as in
    :func:`customers_from_transactions` (same parameters); returns are left out here
    (they are not purchases), rows without a customer id or a date are dropped.

    Returns
    -------
    days : pandas.DataFrame
        One row per customer and day with a purchase: ``CustomerID`` (str, as in
        :func:`customers_from_transactions`), ``Day`` (``datetime64``, midnight) and
        ``Spend`` (float, the day's purchases; an unreadable amount counts as 0), sorted by
        customer and day.
    as_of : pandas.Timestamp
        The day the log is observed to: ``as_of`` if given, else the last day in the log
        (returns included, as for ``Recency``).

    Raises
    ------
    DataError
        As :func:`customers_from_transactions`, and when the log holds no purchase.
    """
    ask = _ask_flag if flags else _ask_choice
    given = {
        "customer": customer_col,
        "date": date_col,
        "amount": amount_col,
        "quantity": quantity_col,
        "price": price_col,
        "invoice": invoice_col,
    }
    roles = _resolve_roles(ask, df, given)
    from segmentation.engines.local import purchase_days_of_frame

    # The same SQL as customers_from_transactions reads the log with: one set of rules.
    days, date_max = purchase_days_of_frame(df, roles, dayfirst=dayfirst, ask=ask)
    if pd.isna(date_max):
        raise DataError(
            f"no usable rows: none has both a customer id in {roles['customer']!r} and a date "
            f"in {roles['date']!r}"
        )
    as_of_day = _as_of_day(as_of, date_max)
    if days.empty:
        raise DataError("the log holds no purchases (every usable row is a return)")
    days = pd.DataFrame(
        {
            "CustomerID": pd.Series(days["customer"].to_numpy(dtype=object), dtype=object),
            "Day": pd.to_datetime(days["day"]).to_numpy(),
            "Spend": days["spend"].astype("float64").to_numpy(),
        }
    ).sort_values(["CustomerID", "Day"], kind="stable", ignore_index=True)
    days["CustomerID"] = days["CustomerID"].astype(object)
    return days, as_of_day


def _ask_flag(role: str, verb: str = "pass") -> str:
    """How the command line's user names a column: ``"pass --date-col NAME"``."""
    return f"check {ROLE_FLAGS[role]}" if verb == "check" else f"pass {ROLE_FLAGS[role]} NAME"


def dayfirst_note(column: str, example: str | None, dayfirst: bool, ask: Any) -> str:
    """Say how ambiguous dates were read and how to choose the other reading.

    Parameters
    ----------
    column : str
        The date column.
    example : str or None
        One of its dates, such as ``12/1/2010``.
    dayfirst : bool
        The reading used.
    ask : callable
        ``_ask_flag`` (the command line: name the flag) or ``_ask_choice`` (the app).

    Returns
    -------
    str
        E.g. ``dates in 'InvoiceDate' such as '12/1/2010' read both ways: read day-first
        (12 January); pass --no-dayfirst to read them month-first``.
    """
    used, other = ("day-first", "month-first") if dayfirst else ("month-first", "day-first")
    shown = f" such as {example!r}" if example else ""
    if ask is _ask_flag:
        how = f"pass --{'no-' if dayfirst else ''}dayfirst to read them {other}"
    else:
        how = f"choose {other} under 'Dates like 12/1/2010' to read them {other}"
    return f"dates in {column!r}{shown} read both ways: read {used}; {how}"


#: The date forms the reader reads (see :func:`segmentation.data.read.parse_datetimes`), for
#: messages about a column whose values are not among them.
DATE_FORMS = (
    "2010-12-01, 2010/12/01, 01/12/2010, 12/01/2010, 01-12-2010 or 01.12.2010, "
    "each with an optional time such as 08:26 or 08:26:00 (two-digit years and month names "
    "are not read)"
)


def not_dates_message(column: str, example: Any, ask: Any) -> str:
    """Say that ``column`` does not hold dates, show one of its values, and say what to do.

    Parameters
    ----------
    column : str
        The date column, given or detected.
    example : object or None
        One of its values that does not read as a date.
    ask : callable
        ``_ask_flag`` (the command line) or ``_ask_choice`` (the app).

    Returns
    -------
    str
        E.g. ``column 'InvoiceDate' does not hold dates (e.g. '8/13/10 14:46'); dates are
        read as 2010-12-01, ...; pass the date column with --date-col, or write its dates in
        one of those forms``.
    """
    shown = "" if example is None or pd.isna(example) else f" (e.g. {str(example)!r})"
    what = "pass the date column with --date-col" if ask is _ask_flag else ask("date")
    return (
        f"column {column!r} does not hold dates{shown}; dates are read as {DATE_FORMS}; "
        f"{what}, or write its dates in one of those forms"
    )


def _ask_choice(role: str, verb: str = "pass") -> str:
    """How the app's user names a column: ``"choose the date column"``."""
    return f"{verb if verb == 'check' else 'choose'} the {_ROLE_WORDS[role]} column"


_ROLE_WORDS = {
    "customer": "customer id",
    "date": "date",
    "amount": "amount",
    "quantity": "quantity",
    "price": "price",
    "invoice": "invoice",
}


def _resolve_roles(
    ask: Any, df: pd.DataFrame, given: dict[str, str | None]
) -> dict[str, str | None]:
    """Merge explicit column names with detected ones and check that enough were found."""
    for role, name in given.items():
        if name is not None and name not in df.columns:
            given_with = f" (given with {ROLE_FLAGS[role]})" if ask is _ask_flag else ""
            raise DataError(
                f"column {name!r}{given_with} is not in the table; columns are: {_column_list(df)}"
            )
    detected = detect_transaction_columns(df)
    roles = {role: given.get(role) or detected[role] for role in ROLES}
    # Explicit quantity and price win over a detected amount column.
    if given["amount"] is None and given["quantity"] and given["price"]:
        roles["amount"] = None
    missing = []
    if roles["customer"] is None:
        missing.append(f"the customer id column ({ask('customer')})")
    if roles["date"] is None:
        named = _named_like_date(df, {name for name in roles.values() if name})
        why = ""
        if named is not None:
            why = (
                f"; {named!r} is named like it but does not hold dates "
                f"(e.g. {_unread_date(df[named])!r}): dates are read as {DATE_FORMS}"
            )
        missing.append(f"the date column ({ask('date')}{why})")
    if roles["amount"] is None and (roles["quantity"] is None or roles["price"] is None):
        worth = (
            "pass --amount-col NAME, or --quantity-col and --price-col"
            if ask is _ask_flag
            else "choose the amount column, or the quantity and price columns"
        )
        missing.append(f"what each line is worth ({worth})")
    if missing:
        raise DataError(
            f"this does not look like a transaction log: could not find {'; '.join(missing)}. "
            f"Columns are: {_column_list(df)}"
        )
    return roles


def _named_like_date(df: pd.DataFrame, used: set[str]) -> str | None:
    """The first column named like a date (as detection names them) that is not a date."""
    for name in df.columns:
        key = normalize_name(name)
        values = df[name]
        named = (key in _ROLE_NAMES["date"] or "date" in key) and name not in used
        # A date column's values are dates; an empty one has nothing to show.
        if named and not pd.api.types.is_datetime64_any_dtype(values) and values.notna().any():
            return name
    return None


def _unread_date(values: pd.Series) -> str:
    """One value of ``values`` that does not read as a date (the first value otherwise)."""
    present = values.dropna().head(_SAMPLE)
    if not pd.api.types.is_numeric_dtype(present):
        parsed = parse_datetimes(present.astype("str"), min_fraction=0.0)
        if parsed is not None and parsed.isna().any():
            return str(present[parsed.isna()].iloc[0])
    return str(present.iloc[0])


def _column_list(df: pd.DataFrame, limit: int = 20) -> str:
    names = [str(c) for c in df.columns[:limit]]
    more = f", ... ({len(df.columns) - limit} more)" if len(df.columns) > limit else ""
    return ", ".join(names) + more


def _first_match(df: pd.DataFrame, used: set[str], accept: Any, role: str) -> str | None:
    for name in df.columns:
        if name not in used and accept(normalize_name(name)) and _fits_role(df[name], role):
            return name
    return None


def _fits_role(values: pd.Series, role: str) -> bool:
    """Check the dtype: dates for ``date``, numbers for quantity/price/amount."""
    is_datetime = pd.api.types.is_datetime64_any_dtype(values)
    is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if role == "date":
        if is_datetime:
            return True
        if is_number:
            return False
        sample = values.dropna().head(_SAMPLE)
        return len(sample) > 0 and parse_datetimes(sample, min_fraction=_DATE_FRACTION) is not None
    if role in _NUMERIC_ROLES:
        if is_number:
            return True
        if is_datetime:
            return False
        sample = values.dropna().head(_SAMPLE)
        return len(sample) > 0 and pd.to_numeric(sample, errors="coerce").notna().mean() >= 0.95
    return not is_datetime


def _as_of_day(as_of: Any, date_max: pd.Timestamp) -> pd.Timestamp:
    if as_of is None:
        return date_max.normalize()
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise DataError(f"as-of date {as_of!r} is not a date; use YYYY-MM-DD") from None
    if day.tzinfo is not None:
        day = day.tz_convert(None)
    day = day.normalize()
    if day < date_max.normalize():
        raise DataError(
            f"as-of date {day:%Y-%m-%d} is before the last transaction ({date_max:%Y-%m-%d}); "
            "pick a later date or leave it out"
        )
    return day


def _sort_by_id(customers: pd.DataFrame) -> pd.DataFrame:
    """Sort by id (:func:`_id_order`)."""
    order = _id_order(customers["CustomerID"].to_numpy(dtype=object))
    return customers.iloc[order].reset_index(drop=True)


def _id_order(values: Any) -> np.ndarray:
    """The order that sorts the ids ``values`` (an array, or Arrow strings), numerically
    when every id is a number ("00123" before "123", equal as numbers, by their text), so
    the order never depends on the order rows came in.

    Sorted by Arrow's compute kernels (a million ids in a tenth of a second; sorting the
    Python strings took two): UTF-8 byte order is code point order, as Python compares."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.Array):
        ids = values
    else:
        try:
            ids = pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            ids = pa.array(pd.Series(values).astype("str").to_numpy(dtype=object), pa.string())
    if len(ids) and pc.all(pc.ascii_is_decimal(ids)).as_py():  # "^[0-9]+$"
        if pc.max(pc.utf8_length(ids)).as_py() <= 18:  # exact as int64
            number = pc.cast(ids, pa.int64())
            if not number.null_count and not pc.any(pc.starts_with(ids, "0")).as_py():
                # No leading zeros: equal numbers are equal texts, so the number alone
                # sorts (numpy's stable sort of int64: 0.08 s for a million, 0.12 s by
                # both keys in Arrow).
                return np.argsort(number.to_numpy(), kind="stable")
            keys = pa.table({"number": number, "text": ids})
            order = pc.sort_indices(
                keys, sort_keys=[("number", "ascending"), ("text", "ascending")]
            )
        else:
            text = ids.to_numpy(zero_copy_only=False)
            order = np.lexsort((text, pd.to_numeric(pd.Series(text)).to_numpy()))
    else:
        order = pc.sort_indices(ids)
    return np.asarray(order)


# --------------------------------------------------------------------------------------------
# RFM scores
# --------------------------------------------------------------------------------------------


def rfm_scores(
    customers: pd.DataFrame,
    *,
    recency_col: str = "Recency",
    frequency_col: str = "Frequency",
    monetary_col: str = "Monetary",
) -> pd.DataFrame:
    """Score customers 1-5 on recency, frequency and monetary value, and name their segment.

    Each score is the quintile of the customer's mid-rank: among ``n`` customers with a
    value, a value's rank is the average of the positions its ties take (``method=
    "average"``), and the score is ``floor(5 * (rank - 0.5) / n) + 1``. Customers with the
    same value therefore always get the same score (seven customers who bought today all
    have the same R), and distinct values are cut into five equal-count bins (1000
    distinct values give 200 per score). A value shared by many customers sits at the score
    of the middle of its block: when everyone has ``Frequency`` 1, everyone scores F 3.
    Fewer than five customers work too (three score 1, 3 and 5; a single one scores 3).
    Recency is reversed: the most recent customers score 5. Missing values score 1. The
    segment comes from :func:`rfm_segment`.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer, e.g. from :func:`customers_from_transactions`.
    recency_col, frequency_col, monetary_col : str
        Columns holding days since the last purchase, number of purchases and spend.

    Returns
    -------
    pandas.DataFrame
        A copy of ``customers`` with ``R_Score``, ``F_Score``, ``M_Score`` (int 1-5),
        ``RFM_Score`` (str such as ``"545"``) and ``RFM_Segment`` (str, exactly one per row).

    Raises
    ------
    DataError
        If a column is missing or not numeric.
    """
    for name, argument in (
        (recency_col, "recency_col"),
        (frequency_col, "frequency_col"),
        (monetary_col, "monetary_col"),
    ):
        if name not in customers.columns:
            raise DataError(
                f"column {name!r} is missing; RFM scores need recency, frequency and "
                f"monetary columns (set {argument}). Columns are: {_column_list(customers)}"
            )
        if not pd.api.types.is_numeric_dtype(customers[name]):
            raise DataError(f"column {name!r} must be numeric for RFM scores")

    out = customers.copy()
    r = _quintile(customers[recency_col], reverse=True)
    f = _quintile(customers[frequency_col], reverse=False)
    m = _quintile(customers[monetary_col], reverse=False)
    out["R_Score"] = r
    out["F_Score"] = f
    out["M_Score"] = m
    out["RFM_Score"] = (r.astype(str) + f.astype(str) + m.astype(str)).astype(object)
    out["RFM_Segment"] = pd.Series(rfm_segment(r, f, m), index=out.index, dtype=object)
    return out


def _quintile(values: pd.Series, *, reverse: bool) -> pd.Series:
    ranks = (-values if reverse else values).rank(method="average")  # NaN stays NaN
    valid = ranks.notna()
    scores = pd.Series(1, index=values.index, dtype="int64")  # missing values score 1
    n = int(valid.sum())
    if n:
        bins = np.floor(5 * (ranks[valid].to_numpy() - 0.5) / n).astype("int64") + 1
        scores[valid] = np.clip(bins, 1, 5)
    return scores


def rfm_segment(r_score: Any, f_score: Any, m_score: Any) -> np.ndarray:
    """Name the RFM segment of R, F and M scores with :data:`RFM_SEGMENT_RULES`.

    Parameters
    ----------
    r_score, f_score, m_score : int or array-like of int
        Scores from 1 to 5, one per customer (same length).

    Returns
    -------
    numpy.ndarray
        Segment names (object dtype), exactly one per customer. The FM score used by the
        rules is the mean of F and M rounded half up, ``(F + M + 1) // 2``.

    Examples
    --------
    >>> rfm_segment([5, 1], [5, 1], [4, 2]).tolist()
    ['Champions', 'Lost']
    """
    r = np.atleast_1d(np.asarray(r_score, dtype=np.int64))
    fm = (np.atleast_1d(np.asarray(f_score, dtype=np.int64)) + np.asarray(m_score) + 1) // 2
    conditions = [
        (r >= r_low) & (r <= r_high) & (fm >= fm_low) & (fm <= fm_high)
        for _, (r_low, r_high), (fm_low, fm_high) in RFM_SEGMENT_RULES
    ]
    names = [name for name, _, _ in RFM_SEGMENT_RULES]
    return np.select(conditions, names, default=RFM_FALLBACK_SEGMENT).astype(object)


def rfm_crosstab(rfm_segment: pd.Series, cluster_segment: pd.Series) -> pd.DataFrame:
    """Count customers per RFM segment (rows) and clustering segment (columns).

    Parameters
    ----------
    rfm_segment : pandas.Series
        RFM segment per customer, e.g. ``rfm_scores(...)["RFM_Segment"]``.
    cluster_segment : pandas.Series
        K-Means segment (label or name) per customer, aligned with ``rfm_segment`` on the
        index (or in the same order, if the indexes differ but the lengths match).

    Returns
    -------
    pandas.DataFrame
        Integer counts; rows and columns ordered from the largest to the smallest total
        (ties by name). The index is named after ``rfm_segment`` (default
        ``"RFM_Segment"``), the columns after ``cluster_segment`` (default ``"Segment"``).

    Raises
    ------
    ValueError
        If the two series do not have the same length.
    """
    if len(rfm_segment) != len(cluster_segment):
        raise ValueError(
            f"rfm_segment has {len(rfm_segment)} values but cluster_segment has "
            f"{len(cluster_segment)}; pass one value per customer in both"
        )
    same_rows = rfm_segment.index.equals(cluster_segment.index) or (
        rfm_segment.index.is_unique
        and cluster_segment.index.is_unique
        and rfm_segment.index.sort_values().equals(cluster_segment.index.sort_values())
    )
    clusters = cluster_segment.reindex(rfm_segment.index) if same_rows else cluster_segment
    table = pd.crosstab(
        rfm_segment.to_numpy(),
        clusters.to_numpy(),
        rownames=[rfm_segment.name or "RFM_Segment"],
        colnames=[cluster_segment.name or "Segment"],
    )
    return table.loc[_by_size(table.sum(axis=1)), _by_size(table.sum(axis=0))]


def _by_size(totals: pd.Series) -> list[Any]:
    order = sorted(range(len(totals)), key=lambda i: (-totals.iloc[i], str(totals.index[i])))
    return [totals.index[i] for i in order]
