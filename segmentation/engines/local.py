"""The local engine: transaction logs aggregated by DuckDB, streamed from disk."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from segmentation.data.checks import PARQUET_MAGIC
from segmentation.data.read import csv_layout, read_head, read_table
from segmentation.data.transactions import (
    _ask_choice,
    _ask_flag,
    _resolve_roles,
    dayfirst_note,
    not_dates_message,
)
from segmentation.engines import logsql
from segmentation.errors import DataError

__all__ = ["customers_from_frame", "customers_from_log", "is_parquet", "log_kinds"]

_HEAD_ROWS = 1000


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a Parquet file, or a folder holding ``.parquet`` files."""
    path = Path(path)
    if path.is_dir():
        return any(path.rglob("*.parquet"))
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def _connect() -> Any:
    import duckdb

    con = duckdb.connect()
    # Dates with offsets become UTC, as the reader makes them; order within the result is
    # never relied on, which lets DuckDB stream instead of buffering.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    return con


def _fetchers(con: Any) -> dict[str, Any]:
    """How the log SQL reads DuckDB's answers: one row as a dict, or a frame."""

    def fetch_row(sql: str) -> dict[str, Any]:
        cursor = con.execute(sql)
        names = [c[0] for c in cursor.description]
        (row,) = cursor.fetchall()  # all of it: a result left open blocks the next query
        return dict(zip(names, row, strict=True))

    def fetch_frame(sql: str) -> pd.DataFrame:
        # Through Arrow: fetch_df makes a Python string of every id (a million customers:
        # a quarter of a second), which the finish turns back into Arrow. A block per
        # column: consolidating them copied every column (0.17 s against 0.05 s).
        return con.sql(sql).to_arrow_table().to_pandas(split_blocks=True)

    return {"fetch_row": fetch_row, "fetch_frame": fetch_frame}


class _Unsplit(Exception):
    """DuckDB could not split a line of a CSV log into the header's fields."""


def _run(
    con: Any, source: logsql.LogSource, *, unsplit: bool = False, **options: Any
) -> tuple[pd.DataFrame, Any]:
    """:func:`segmentation.engines.logsql.aggregate` on DuckDB; with ``unsplit``, a line
    DuckDB's CSV reader cannot split raises :class:`_Unsplit` instead of a DataError."""
    import duckdb

    try:
        return logsql.aggregate(source, dialect="duckdb", **_fetchers(con), **options)
    except duckdb.Error as exc:  # a line the CSV reader cannot split, a file gone missing
        if unsplit and isinstance(exc, duckdb.InvalidInputException):
            raise _Unsplit from None
        message = str(exc).strip().splitlines()[0]
        raise DataError(f"could not read the log: {message}") from None


def log_kinds(dtypes: dict[str, Any], roles: dict[str, str | None]) -> dict[str, str]:
    """How each used role's column is stored, from pandas or Arrow types.

    Parameters
    ----------
    dtypes : dict
        Column name to a pandas dtype or a ``pyarrow.DataType``.
    roles : dict
        Column per role.

    Returns
    -------
    dict
        Role to ``"number"``, ``"timestamp"`` or ``"text"``.
    """
    kinds = {}
    for role, name in roles.items():
        if name is None:
            continue
        dtype = dtypes[name]
        if isinstance(dtype, pa.DataType):
            if (
                pa.types.is_integer(dtype)
                or pa.types.is_floating(dtype)
                or pa.types.is_decimal(dtype)
            ):
                kinds[role] = "number"
            elif pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
                kinds[role] = "timestamp"
            else:
                kinds[role] = "text"
        elif pd.api.types.is_bool_dtype(dtype):
            kinds[role] = "text"
        elif pd.api.types.is_numeric_dtype(dtype):
            kinds[role] = "number"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[role] = "timestamp"
        else:
            kinds[role] = "text"
    return kinds


def customers_from_frame(
    df: pd.DataFrame,
    roles: dict[str, str | None],
    *,
    as_of: Any = None,
    dayfirst: bool | None = None,
    ask: Any = _ask_flag,
) -> tuple[pd.DataFrame, Any]:
    """Aggregate a log already in memory with DuckDB (columns already resolved).

    Used by :func:`segmentation.data.transactions.customers_from_transactions`, which
    documents the result. Only the role columns are handed to DuckDB, as Arrow.
    """
    con, source, ambiguous = _frame_source(df, roles, dayfirst=dayfirst, ask=ask)
    customers, report = _run(con, source, as_of=as_of, ask=ask, dayfirst=dayfirst)
    if ambiguous is not None and dayfirst is None:
        note = dayfirst_note(roles["date"], ambiguous, True, ask)
        report = dataclasses.replace(report, date_reading=note)
    return customers, report


def purchase_days_of_frame(
    df: pd.DataFrame,
    roles: dict[str, str | None],
    *,
    dayfirst: bool | None = None,
    ask: Any = _ask_flag,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Each customer's purchases per day of a log in memory, by the same SQL as
    :func:`customers_from_frame` (see :func:`segmentation.engines.logsql.purchase_days`)."""
    import duckdb

    con, source, _ = _frame_source(df, roles, dayfirst=dayfirst, ask=ask)
    try:
        return logsql.purchase_days(
            source, dialect="duckdb", **_fetchers(con), ask=ask, dayfirst=dayfirst
        )
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise DataError(f"could not read the log: {message}") from None


def _frame_source(
    df: pd.DataFrame, roles: dict[str, str | None], *, dayfirst: bool | None, ask: Any
) -> tuple[Any, logsql.LogSource, Any]:
    """A DuckDB connection holding the role columns as Arrow, the log source over them,
    and the example of dates the reader found ambiguous (None when there were none)."""
    kinds = log_kinds(dict(df.dtypes), roles)
    if kinds["date"] == "number":
        example = df[roles["date"]].dropna().head(1).tolist()
        raise DataError(not_dates_message(roles["date"], example[0] if example else None, ask))
    # The reader read these dates day-first because every one reads both ways.
    ambiguous = (df.attrs.get("ambiguous_dates") or {}).get(roles["date"])
    if kinds["date"] != "timestamp":
        ambiguous = None
    columns = {}
    for role, name in roles.items():
        if name is None or name in columns:
            continue
        values = df[name]
        if role == "date" and ambiguous is not None and dayfirst is False:
            values = _swap_day_and_month(values)
        if kinds[role] == "timestamp":
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                values = values.dt.tz_convert(None)
            columns[name] = pa.array(values.astype("datetime64[us]"), from_pandas=True)
        elif kinds[role] == "number":
            columns[name] = pa.array(values.astype("float64"), from_pandas=True)
        else:
            text = values.astype(object).where(values.notna(), None)
            columns[name] = pa.array(
                [v if v is None or isinstance(v, str) else str(v) for v in text], pa.string()
            )
    con = _connect()
    con.register("log_lines", pa.table(columns))
    return con, logsql.LogSource(relation="log_lines", roles=dict(roles), kinds=kinds), ambiguous


def _swap_day_and_month(values: pd.Series) -> pd.Series:
    """Read dates the other way round (exact when every one read both ways)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert(None)
    swapped = pd.to_datetime(
        pd.DataFrame({"year": values.dt.year, "month": values.dt.day, "day": values.dt.month}),
        errors="coerce",
    )
    return swapped + (values - values.dt.normalize())


def customers_from_log(
    source: Any,
    *,
    customer_col: str | None = None,
    date_col: str | None = None,
    amount_col: str | None = None,
    quantity_col: str | None = None,
    price_col: str | None = None,
    invoice_col: str | None = None,
    as_of: Any = None,
    dayfirst: bool | None = None,
    flags: bool = True,
) -> tuple[pd.DataFrame, Any]:
    """Aggregate a transaction log file into one row per customer, streaming it from disk.

    CSV/TSV (plain UTF-8) and Parquet files, and folders of Parquet files, are read by
    DuckDB as the query runs, so the log never has to fit in memory: cells are cleaned in
    SQL by the reader's rules (missing-value spellings, thousands separators, dates, ids).
    Anything else (``.xlsx``, UTF-16 or Latin-1 text, standard input, bytes) is read with
    :func:`segmentation.data.read.read_table` first. Columns are detected from the first
    rows. The result is what
    :func:`segmentation.data.transactions.customers_from_transactions` gives for the
    table :func:`~segmentation.data.read.read_table` reads from the same file.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file-like
        The log; ``"-"`` is standard input.
    customer_col, date_col, amount_col, quantity_col, price_col, invoice_col : str, optional
        Column names, overriding detection.
    as_of : date-like, optional
        Day that recency and tenure are counted to (default: the last date in the log).
    dayfirst : bool, optional
        How to read ``04/09/2012``; None decides from the whole column.
    flags : bool, default True
        Whether messages name the command line's flags.

    Returns
    -------
    customers : pandas.DataFrame
        Columns :data:`segmentation.data.transactions.CUSTOMER_COLUMNS`.
    report : TransactionReport

    Raises
    ------
    DataError
        As :func:`~segmentation.data.transactions.customers_from_transactions`, and when the
        file cannot be read.
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
    options = {"as_of": as_of, "dayfirst": dayfirst}
    path = Path(source) if isinstance(source, (str, os.PathLike)) and str(source) != "-" else None
    if path is not None and path.exists() and is_parquet(path):
        return _from_parquet(path, given, ask=ask, **options)
    layout = csv_layout(path) if path is not None and path.is_file() else None

    def in_memory() -> tuple[pd.DataFrame, Any]:
        from segmentation.data.transactions import customers_from_transactions

        table = read_table(source if path is None else path)
        return customers_from_transactions(
            table, **{f"{r}_col": c for r, c in given.items()}, flags=flags, **options
        )

    if layout is None:
        return in_memory()
    delimiter, names, skip = layout
    head = read_head(path)
    roles = _resolve_roles(ask, head, given)
    relation = (
        f"read_csv({_literal(path)}, delim={_literal(delimiter)}, header=true, "
        f"skip={skip}, all_varchar=true, quote='\"', escape='\"', "
        f"names=[{', '.join(_literal(n) for n in names)}])"
    )
    kinds = {role: "text" for role, name in roles.items() if name is not None}
    log = logsql.LogSource(relation=relation, roles=roles, kinds=kinds)
    try:
        return _run(_connect(), log, unsplit=True, ask=ask, european=delimiter == ";", **options)
    except _Unsplit:
        # A line that does not split into the header's fields, such as one an export
        # wrapped whole in quotes ("1,""a, b"",2": the UCI Online Retail file has them):
        # the reader's rules decide, with the file in memory.
        return in_memory()


def _from_parquet(
    path: Path, given: dict[str, str | None], *, ask: Any, **options: Any
) -> tuple[pd.DataFrame, Any]:
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet")
    head = dataset.head(_HEAD_ROWS).to_pandas()
    # Typed columns pass as they are; text ones are typed as the reader types CSV cells.
    from segmentation.data.read import _convert_columns

    roles = _resolve_roles(ask, _convert_columns(head, delimiter=","), given)
    kinds = log_kinds({f.name: f.type for f in dataset.schema}, roles)
    files = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    log = logsql.LogSource(
        relation=f"read_parquet({_literal(files)}, union_by_name=true)", roles=roles, kinds=kinds
    )
    return _run(_connect(), log, ask=ask, **options)


def _literal(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"
