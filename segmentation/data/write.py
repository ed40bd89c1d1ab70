"""Write CSVs safe to open in a spreadsheet, atomically: never a half-written file."""

from __future__ import annotations

import io
import os
import sys
import uuid
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from segmentation.data.rules import FORMULA_PREFIXES
from segmentation.errors import DataError

__all__ = ["FORMULA_PREFIXES", "neutralize_formulas", "to_csv_bytes", "write_csv"]

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
    dest : str, pathlib.Path or binary file-like
        A path, ``"-"`` for standard output, or an open binary stream. A path is written to
        a temporary file in the same folder, flushed to disk, then renamed over ``dest``,
        so a crash never leaves a half-written file; missing parent folders are created.

    Raises
    ------
    DataError
        If ``dest`` is a folder or cannot be written.
    """
    safe = neutralize_formulas(df)
    if isinstance(dest, str) and dest == "-":
        _write_csv_stream(safe, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    if not isinstance(dest, (str, os.PathLike)):
        if isinstance(dest, io.TextIOBase):
            buffer = io.BytesIO()
            _write_csv_stream(safe, buffer)
            dest.write(buffer.getvalue().decode("utf-8"))
        else:
            _write_csv_stream(safe, dest)
        return

    path = Path(dest)
    if path.is_dir():
        raise DataError(f"{str(dest)!r} is a folder; give a file name such as out.csv")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            _write_csv_stream(safe, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"cannot write {str(dest)!r}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
