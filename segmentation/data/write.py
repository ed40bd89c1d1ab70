"""Write CSVs safe to open in a spreadsheet, atomically: never a half-written file."""

from __future__ import annotations

import io
import os
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from segmentation.data.files import (
    atomic_write_bytes,
    atomic_write_text,
    is_broken_pipe,
    open_output,
)
from segmentation.data.rules import FORMULA_PREFIXES
from segmentation.errors import DataError

__all__ = [
    "FORMULA_PREFIXES",
    "atomic_write_bytes",
    "atomic_write_text",
    "is_broken_pipe",
    "neutralize_formulas",
    "open_output",
    "to_csv_bytes",
    "write_csv",
]

_WRITE_CHUNK_ROWS = 100_000


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Defuse spreadsheet formulas in text cells and column names (OWASP CSV injection).

    A text value starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading single quote, so Excel or LibreOffice shows it instead of evaluating it.
    Numeric, boolean and date columns are left untouched: a negative number stays a number.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table. It is not modified.

    Returns
    -------
    pandas.DataFrame
        A copy with the same dtypes and index; column names are neutralized the same way.

    Examples
    --------
    >>> neutralize_formulas(pd.DataFrame({"x": ["=1+1", "ok"]}))["x"].tolist()
    ["'=1+1", 'ok']
    """
    out = df.copy(deep=False)  # copy-on-write: untouched columns are shared, never mutated
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = column.cat.categories
            safe_categories = _neutralize_labels(categories)
            if not safe_categories.equals(categories) and safe_categories.is_unique:
                out.isetitem(position, column.cat.rename_categories(safe_categories))
            elif not safe_categories.equals(categories):  # "=a" and "'=a" both present
                out.isetitem(position, _neutralize_text(column.astype(object)))
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.isetitem(position, _neutralize_text(column))
    out.columns = _neutralize_labels(out.columns)
    return out


def _neutralize_text(column: pd.Series) -> pd.Series:
    try:
        risky = column.str.startswith(FORMULA_PREFIXES, na=False).astype(bool)
    except AttributeError:  # an object column holding no strings at all
        return column
    if not risky.any():
        return column
    return column.mask(risky, "'" + column.where(risky, "").astype(str))


def _neutralize_labels(labels: pd.Index) -> pd.Index:
    """Neutralize column names or category labels (few values, so a comprehension is fine)."""
    return pd.Index(
        ["'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v for v in labels],
        name=labels.name,
    )


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Return ``df`` as a formula-safe UTF-8 CSV: header, no index, empty cells for missing.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to export (typically for ``st.download_button``).

    Returns
    -------
    bytes
        The CSV text, neutralized with :func:`neutralize_formulas`. Dates without a time of
        day are written as ``YYYY-MM-DD``; text is quoted. :func:`read_table` reads it back.
    """
    buffer = io.BytesIO()
    _write_csv_stream(neutralize_formulas(df), buffer)
    return buffer.getvalue()


def write_csv(df: pd.DataFrame, dest: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write ``df`` as a formula-safe UTF-8 CSV, atomically when ``dest`` is a path.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to write.
    dest : str, pathlib.Path or file-like
        A path, ``"-"`` for standard output, or an open stream (binary, or text). A path
        goes through :func:`open_output`: a regular file (or a symlink's target) is replaced
        atomically, never left half-written; a FIFO or device is written straight through.

    Raises
    ------
    DataError
        If ``dest`` is a folder or cannot be written.
    BrokenPipeError
        If the reader of a pipe closed it (``... | head``), unchanged: that is a normal end.
    """
    safe = neutralize_formulas(df)
    if isinstance(dest, io.TextIOBase):
        buffer = io.BytesIO()
        _write_csv_stream(safe, buffer)
        dest.write(buffer.getvalue().decode("utf-8"))
        return
    try:
        with open_output(dest) as out:
            _write_csv_stream(safe, out)
    except OSError as exc:
        if is_broken_pipe(exc):
            raise
        if isinstance(exc, IsADirectoryError):
            raise DataError(
                f"{str(dest)!r} is a folder; give a file name such as out.csv"
            ) from None
        raise DataError(
            f"cannot write {str(dest)!r}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None


def _write_csv_stream(df: pd.DataFrame, sink: IO[bytes]) -> None:
    """Stream ``df`` (already neutralized) to ``sink`` in row batches with pyarrow's writer."""
    try:
        if df.shape[1] == 1 and df.iloc[:, 0].isna().any():
            # pyarrow writes a missing value alone on its row as a blank line, which readers
            # skip; Python's csv module (behind pandas) writes '""' instead.
            raise ValueError("single column with missing values")
        prepared, schema = _arrow_ready(df)
    except (pa.ArrowException, TypeError, ValueError):
        sink.write(df.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        return
    options = pa_csv.WriteOptions(include_header=True)
    with pa_csv.CSVWriter(sink, schema, write_options=options) as writer:
        if len(prepared) == 0:
            return
        for start in range(0, len(prepared), _WRITE_CHUNK_ROWS):
            chunk = prepared.iloc[start : start + _WRITE_CHUNK_ROWS]
            writer.write_batch(
                pa.RecordBatch.from_pandas(chunk, schema=schema, preserve_index=False)
            )


def _arrow_ready(df: pd.DataFrame) -> tuple[pd.DataFrame, pa.Schema]:
    """Return a table pyarrow can write, and its schema (fixed once for every batch)."""
    if df.columns.has_duplicates:
        raise ValueError("duplicate column names")  # pandas fallback writes them as they are
    prepared = df.copy(deep=False)
    prepared.columns = [str(c) for c in df.columns]
    date_only, whole_seconds = [], []  # written as 2012-09-04 / 2012-09-04 08:26:00
    for position in range(prepared.shape[1]):
        column = prepared.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in (
            "string",
            "empty",
        ):
            column = column.where(column.isna(), column.astype(str))  # mixed types: as text
        if pd.api.types.is_datetime64_dtype(column):  # naive; aware ones keep their offset
            valid = column.dropna()
            if len(valid) and (valid == valid.dt.normalize()).all():
                date_only.append(position)
            elif (valid == valid.dt.floor("s")).all():
                whole_seconds.append(position)
        prepared.isetitem(position, column)
    schema = pa.Schema.from_pandas(prepared, preserve_index=False)
    for positions, arrow_type in ((date_only, pa.date32()), (whole_seconds, pa.timestamp("s"))):
        for position in positions:
            schema = schema.set(position, pa.field(schema.field(position).name, arrow_type))
    return prepared, schema
