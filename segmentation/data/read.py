"""Read the tables analysts actually have (CSV, TSV, Excel), typing numbers and dates."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from segmentation import config
from segmentation.data.checks import (
    _BINARY_HEAD,
    _UTF16_BOMS,
    _ZIP_MAGIC,
    LARGEST_NUMBER,
    PARQUET_MAGIC,
    _check_size,
    _file_size,
    _limit,
    _read_stream,
    _reject_binary,
    _reject_nul,
    _utf16_encoding,
    check_input,
    check_input_size,
    output_column_clashes,
    read_bounded,
)
from segmentation.data.rules import (
    _ZERO_PADDED,
    ARROW_NULL_VALUES,
    NA_LOWER,
    NA_TOKENS,
    zero_padded_columns,
)
from segmentation.errors import DataError

__all__ = [
    "ARROW_NULL_VALUES",
    "LARGEST_NUMBER",
    "NA_TOKENS",
    "check_input",
    "check_input_size",
    "clean_numeric",
    "csv_layout",
    "output_column_clashes",
    "parse_datetimes",
    "read_bounded",
    "read_header",
    "read_table",
    "zero_padded_columns",
]


#: Delimiters tried, in order of preference when two fit equally well.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

#: Share of non-missing values that must parse for a text column to become numbers or dates.
PARSE_THRESHOLD = 0.95


def _digits(pattern: str) -> str:
    return pattern.replace(r"\d", "[0-9]")


_SAMPLE_BYTES = 1 << 16  # enough for ~50 lines of almost any export
_SNIFF_RECORDS = 50
_CHECK_VALUES = 1000  # values looked at before committing to a full-column conversion
_SINGLE_COLUMN_SEP = "\x1f"  # ASCII unit separator: never in real text, so nothing is split

# The csv module refuses fields over 128 KiB, and with a delimiter that does not split it a
# header of tens of thousands of columns is one such field. Raising the limit affects only
# how long a field may be, in this process: nothing else reads CSV with a smaller one in mind.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


# Numbers as analysts type them. "Unambiguous" patterns decide, per column, whether "," or
# "." is the decimal mark; "1,234" and "1.234" alone say nothing. Patterns used on columns
# spell digits [0-9] and list whitespace explicitly: pandas runs them in pyarrow's RE2 only
# then (``\d`` on non-ASCII text and ``\s`` fall back to a per-row Python loop).
_US_UNAMBIGUOUS = _digits(
    r"[+-]?\d{1,3}(,\d{3}){2,}(\.\d*)?|[+-]?\d{1,3}(,\d{3})+\.\d*|[+-]?\d*\.(\d{1,2}|\d{4,})"
)
_EU_UNAMBIGUOUS = _digits(
    r"[+-]?\d{1,3}(\.\d{3}){2,}(,\d*)?|[+-]?\d{1,3}(\.\d{3})+,\d*|[+-]?\d*,(\d{1,2}|\d{4,})"
)
_US_GROUPED = _digits(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_EU_GROUPED = _digits(r"[+-]?\d{1,3}(\.\d{3})+(,\d+)?|[+-]?\d+,\d+")
_NUMBER_NOISE = "[ \t\n\r\u00a0\u202f'\u2019$\u20ac\u00a3\u00a5%]"  # real characters, not escapes
_HAS_DIGIT = "[0-9]"

# Date shapes; each maps to the explicit formats tried for it (vectorized, no per-row guess).
_ISO_DATE = _digits(
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
)
_YMD_SLASH = _digits(r"\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?")
_DMY = _digits(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}( \d{1,2}:\d{2}(:\d{2})?)?")
_DMY_PARTS = _digits(r"^(?P<first>\d{1,2})(?P<sep>[-/.])(?P<second>\d{1,2})")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_table(source: Any, *, max_bytes: int | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Excel table the way an analyst exported it.

    The format is found from the content, not the file name: an ``.xlsx`` workbook (first
    sheet) or delimited text in UTF-8 (with or without BOM), UTF-16 (with or without BOM), or
    Latin-1 / Windows-1252. The delimiter is detected among ``,`` ``;`` tab and ``|``.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file-like
        A path (``"-"`` reads standard input), the raw bytes, or an object with
        ``getvalue()`` or ``read()`` such as Streamlit's ``UploadedFile``, ``io.BytesIO``
        or ``sys.stdin.buffer``. The content is read once.
    max_bytes : int, optional
        Largest accepted payload. Defaults to ``segmentation.config.MAX_UPLOAD_MB`` MiB.

    Returns
    -------
    pandas.DataFrame
        One column per header field, with a fresh ``RangeIndex``:

        - header names stripped (also of a BOM), inner whitespace collapsed, empty names
          replaced by ``column_<position>`` and duplicates numbered (``Name``, ``Name_2``);
        - cells equal to one of :data:`NA_TOKENS` (any case, surrounding spaces ignored)
          are missing;
        - numbers are ``int64`` or ``float64``. Infinite values and magnitudes above
          :data:`LARGEST_NUMBER` (``inf``, ``1e400``, a 400-digit number) are treated like
          values that do not parse (see :func:`clean_numeric`). Text columns become numbers
          when at least 95% of their values parse after removing thousands separators (``1,234``,
          ``1 234``, ``1'234``, ``1.234,5``), currency symbols, ``%`` (kept as written:
          ``12%`` -> 12.0) and accounting parentheses (``(5)`` -> -5). Whether ``,`` or
          ``.`` is the decimal mark is decided per column from values that can only be read
          one way; when every value is ambiguous, ``,`` is the decimal mark in ``;``-separated
          files and ``.`` otherwise. A column is left as text if a value that does not parse
          contains a digit (``C536379``, ``85123A``): it is a code, not a number with typos;
        - dates become ``datetime64``: ISO ``2012-09-04[ 08:26[:00]]``, ``2012/09/04`` and
          ``04-09-2012`` / ``04/09/2012`` / ``04.09.2012`` (with optional time). See
          :func:`parse_datetimes` for how day-first and month-first are told apart;
        - everything else is text: ``object`` dtype with ``np.nan`` for missing values,
          surrounding spaces stripped (``true``/``false`` too). A column with no value at
          all is ``float64`` NaN.

        Numeric cells that did not parse (and became missing, to be imputed) are listed in
        ``frame.attrs["unparsed_values"]`` as ``{column: (count, first 1-based data rows)}``.

    Raises
    ------
    DataError
        If the source is missing, a directory, larger than ``max_bytes``, empty, has a
        header but no rows, is not a table (an image, a PDF, JSON, a NUL byte...), has no
        detectable delimiter, mixes two delimiters, has rows the CSV parser cannot read (the
        message gives the line), has a first line that is data rather than column names, or
        is a workbook whose formulas have no saved values.

    A Parquet file (content starting ``PAR1``), or a folder of ``.parquet`` files, is
    read with pyarrow; its text columns are typed like CSV cells and its typed columns
    pass through the same checks.

    Examples
    --------
    >>> read_table(b"name;amount\\nAnn;1.234,50\\n").to_dict("records")
    [{'name': 'Ann', 'amount': 1234.5}]
    """
    if isinstance(source, (str, os.PathLike)) and str(source) != "-" and Path(source).is_dir():
        return _read_parquet(Path(source), str(source))
    data, name = _read_source(source, _limit(max_bytes), default_limit=max_bytes is None)
    if data.startswith(_ZIP_MAGIC):
        return _read_excel(data, name)
    if data.startswith(PARQUET_MAGIC):
        return _read_parquet(pa.BufferReader(data), name)
    return _read_text(data, name)


def _read_parquet(source: Any, name: str) -> pd.DataFrame:
    """Read a Parquet file (or a folder of them); typed columns are checked like parsed CSV
    numbers (``inf`` and overflows become missing and are reported), text ones are typed
    as CSV cells are."""
    import pyarrow.dataset as ds

    try:
        if isinstance(source, Path):
            if not any(source.rglob("*.parquet")):
                raise DataError(
                    f"{name!r} is a folder without .parquet files; give a file, or a folder "
                    "of Parquet files"
                )
            table = ds.dataset(str(source), format="parquet").to_table()
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(source)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{name!r} is not a readable Parquet file ({exc})") from None
    frame = table.to_pandas()
    if len(frame) == 0:
        raise DataError(
            "the file has a header but no data rows; add at least one row under the header"
        )
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
    frame.columns = _clean_names([str(c) for c in frame.columns])
    return _convert_columns(frame.reset_index(drop=True), delimiter=",")


def clean_numeric(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Turn values no model can use into missing ones: the one rule for numbers in a table.

    Infinities (``inf``, ``-Infinity``, and what overflows to them: ``1e400``, a 400-digit
    number) and finite magnitudes above :data:`LARGEST_NUMBER` (``1e308`` overflows when
    scaled) are as unusable as text. Like a value that does not parse, they become NaN, to be
    imputed, and are reported with their rows. Fast paths that parse numbers themselves (for
    example with ``pyarrow.csv``, which reads ``inf`` as a float) apply this after parsing.

    Parameters
    ----------
    values : array-like of shape (n,)
        Numbers: a numpy array, a pandas Series, or ``pyarrow_array.to_numpy(
        zero_copy_only=False)``. NaN is a missing value, not a bad one. Not modified.

    Returns
    -------
    cleaned : numpy.ndarray of float64, shape (n,)
        ``values`` with the bad ones replaced by NaN (``values`` itself, as float64, when
        there are none).
    bad : numpy.ndarray of bool, shape (n,)
        True where a value was replaced.

    Examples
    --------
    >>> cleaned, bad = clean_numeric(np.array([1.0, np.inf, np.nan, 1e308]))
    >>> cleaned.tolist(), bad.tolist()
    ([1.0, nan, nan, nan], [False, True, False, True])
    """
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(array) <= LARGEST_NUMBER) & ~np.isnan(array)
    if bad.any():
        array = np.where(bad, np.nan, array)
    return array, bad


def read_header(
    source: str | os.PathLike[str] | bytes, *, max_bytes: int | None = None
) -> list[str]:
    """The column names :func:`read_table` would give, reading only the start of the input.

    For a workbook, the first non-empty row of the first sheet (cleaned the same way).

    Raises
    ------
    DataError
        As :func:`read_table` does for the first lines.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
        line_end = source.find(b"\n", _SAMPLE_BYTES)  # a header may be longer than that
        head = source[: max(_SAMPLE_BYTES * 4, line_end + 1)]
        whole = len(source) <= len(head)
    else:
        check_input_size(source, max_bytes=max_bytes)
        try:
            with open(source, "rb") as handle:
                head = handle.read(_SAMPLE_BYTES * 4)
                while b"\n" not in head[_SAMPLE_BYTES:]:  # a header longer than that
                    more = handle.read(_SAMPLE_BYTES * 4)
                    if not more:
                        break
                    head += more
                whole = not handle.read(1)
        except OSError as exc:
            raise DataError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    if head.startswith(_ZIP_MAGIC):
        data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None
        return _excel_header(data if data is not None else Path(source).read_bytes())
    if not whole:  # decode whole characters, and whole lines where the encoding allows
        if _utf16_encoding(head) or head.startswith(_UTF16_BOMS):
            head = head[: len(head) // 2 * 2]
        else:
            head = head[: head.rfind(b"\n") + 1] or head
    sample = _sample_text(_to_utf8(head))
    hint = re.match(r"sep=(.)\r?\n", sample)
    if hint:
        sample = sample[hint.end() :]
    return _clean_names(_detect_delimiter(sample)[1])


def parse_datetimes(
    values: pd.Series, *, min_fraction: float = PARSE_THRESHOLD
) -> pd.Series | None:
    """Parse a text column as dates, or return ``None`` if it does not hold dates.

    Only explicit formats are tried, each on the whole column at once: ISO 8601
    (``2012-09-04``, ``2012-09-04 08:26:00``, ``2012-09-04T08:26``), ``2012/09/04`` and
    the day-first / month-first forms ``04-09-2012``, ``04/09/2012``, ``04.09.2012``, with an
    optional ``HH:MM[:SS]``. Whether ``04/09/2012`` is the 4th of September or the 9th of
    April is decided from the whole column: a first field above 12 anywhere means day-first,
    otherwise a second field above 12 means month-first; when every value is ambiguous
    day-first is assumed (most exports outside the US). Two-digit years and month names are
    not recognised. Pure numbers (years, ids, ``20120904``) are never dates.

    Parameters
    ----------
    values : pandas.Series
        Text values (non-string values are turned into text first).
    min_fraction : float, default 0.95
        Share of the non-missing values that must parse; the rest become ``NaT``.

    Returns
    -------
    pandas.Series or None
        ``datetime64`` values with the index of ``values`` (time zones are converted to
        naive UTC), or ``None`` when fewer than ``min_fraction`` of the values parse. When
        every value is a day-month date that reads both ways, ``result.attrs
        ["ambiguous_date"]`` holds one of them (read day-first).
    """
    text = values if values.dtype == "str" else values.astype("str")
    text = text.str.strip()
    present = text.notna() & (text != "")
    n_present = int(present.sum())
    if n_present == 0:
        return None
    # Cheap rejection on an even sample before touching the whole column.
    sample = _even_sample(text[present])
    shape = _date_shape(sample)
    if shape.mean() < min_fraction * 0.9:
        return None

    formats: list[str] = []
    ambiguous = None
    if _fullmatch(text, _ISO_DATE).any():
        formats.append("ISO8601")
    if _fullmatch(text, _YMD_SLASH).any():
        formats += [f"%Y/%m/%d{t}" for t in _TIME_FORMATS]
    dmy = _fullmatch(text, _DMY)
    if dmy.any():
        parts = pa_compute.extract_regex(pa.array(text[dmy]), _DMY_PARTS)
        first = pa_compute.max(
            pa_compute.cast(pa_compute.struct_field(parts, "first"), pa.int64())
        ).as_py()
        second = pa_compute.max(
            pa_compute.cast(pa_compute.struct_field(parts, "second"), pa.int64())
        ).as_py()
        day_first = first > 12 or second <= 12
        if first <= 12 and second <= 12 and not formats:
            # Every value reads both ways: say so, with one, so a caller can offer the
            # other reading (a swap of day and month is then exact).
            ambiguous = str(text[dmy].iloc[0])
        order = "%d{0}%m{0}%Y" if day_first else "%m{0}%d{0}%Y"
        for sep in pa_compute.unique(pa_compute.struct_field(parts, "sep")).to_pylist():
            formats += [order.format(sep) + t for t in _TIME_FORMATS]

    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in formats:
        todo = result.isna() & present
        if not todo.any():
            break
        result[todo] = _strptime(text[todo], fmt)
    if result.notna().sum() < min_fraction * n_present:
        return None
    if ambiguous is not None:
        result.attrs["ambiguous_date"] = ambiguous
    return result


def _strptime(text: pd.Series, fmt: str) -> pd.Series:
    """Parse with one explicit format; unparseable values become ``NaT``."""
    if fmt != "ISO8601":  # pyarrow's strptime is several times faster than pandas'
        values = pa.array(text)
        parsed = pa_compute.strptime(values, format=fmt, unit="us", error_is_null=True)
        # strptime rolls "31/02/2012" over to March 2nd: keep only dates whose day is as written.
        day_at = ("%d", "%m", "%Y").index(fmt[:2])
        day = pa_compute.extract_regex(values, _digits(rf"^(?:\d+[-/.]){{{day_at}}}(?P<day>\d+)"))
        day = pa_compute.cast(pa_compute.struct_field(day, "day"), pa.int64())
        valid = pa_compute.equal(pa_compute.day(parsed), day)
        parsed = pa_compute.if_else(valid, parsed, pa.scalar(None, parsed.type))
        return pd.Series(parsed.to_numpy(zero_copy_only=False), index=text.index)
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):  # e.g. mixed time-zone offsets
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(None)
    return parsed.astype("datetime64[us]")


def _is_big_file(source: Any, size: int) -> bool:
    """Whether ``source`` is the path of a regular file larger than ``size`` bytes."""
    if not isinstance(source, (str, os.PathLike)) or str(source) == "-":
        return False
    try:
        path = Path(source)
        return path.is_file() and path.stat().st_size > size
    except OSError:
        return False


def _read_source(source: Any, limit: int, *, default_limit: bool) -> tuple[bytes, str]:
    """Return the payload bytes and a name for messages, enforcing the size limit."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), limit, default_limit)
        return data, "the upload"
    if isinstance(source, str) and source == "-":
        return _read_stream(sys.stdin.buffer, limit, default_limit), "standard input"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = str(source)
        size = _file_size(path, name)
        if size is not None:
            _check_size(size, limit, default_limit)
        try:
            if size is None:  # a pipe or device: its size is only known by reading it
                with open(path, "rb") as handle:
                    return _read_stream(handle, limit, default_limit), name
            return path.read_bytes(), name
        except PermissionError:
            raise DataError(f"cannot read {name!r}: permission denied") from None
        except OSError as exc:
            raise DataError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    if hasattr(source, "getvalue") or hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else "the upload"
        if hasattr(source, "getvalue"):
            data = source.getvalue()
            data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            _check_size(len(data), limit, default_limit)
            return data, name
        return _read_stream(source, limit, default_limit), name
    raise TypeError(
        f"read_table takes a path, bytes or a binary file-like object, not {type(source).__name__}"
    )


def _read_excel(data: bytes, name: str) -> pd.DataFrame:
    """Read the first sheet of an .xlsx workbook; the header row is handled like CSV headers."""
    try:
        raw = pd.read_excel(io.BytesIO(data), sheet_name=0, header=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a zip that is not a workbook
        raise DataError(
            f"{name!r} is a zip archive but not a readable .xlsx workbook ({exc}); "
            "save it from Excel as .xlsx or CSV, or unzip it and upload the CSV inside"
        ) from None
    if raw.isna().to_numpy().any():
        _reject_formulas_without_values(data)
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise DataError("the file is empty; the first sheet has no cells")
    header = ["" if pd.isna(v) else str(v) for v in raw.iloc[0]]
    body = raw.iloc[1:].reset_index(drop=True)
    if body.empty:
        raise DataError(
            "the file has a header but no data rows; add at least one row under the header"
        )
    body = body.infer_objects()
    body.columns = _clean_names(header)
    frame = _convert_columns(body, delimiter=",")
    _reject_data_as_header(header, frame)
    return frame


def _reject_formulas_without_values(data: bytes) -> None:
    """Refuse a workbook whose formulas have no saved results.

    A workbook keeps the last computed value of each formula next to it, but only when a
    spreadsheet program saved it; one written by a script holds the formulas alone, and
    would be read as empty cells (and whole columns dropped) without a word.
    """
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - pandas read it; a second opinion is not worth failing on
        return
    try:
        cells = []
        count = 0
        rows = zip(
            formulas.worksheets[0].iter_rows(), values.worksheets[0].iter_rows(), strict=False
        )
        for formula_row, value_row in rows:
            for formula, value in zip(formula_row, value_row, strict=False):
                if value.value is None and getattr(formula, "data_type", None) == "f":
                    count += 1
                    if len(cells) < 3:
                        cells.append(formula.coordinate)
    finally:
        formulas.close()
        values.close()
    if count:
        more = " ..." if count > len(cells) else ""
        raise DataError(
            f"{count:,} cell(s) hold formulas without saved values ({', '.join(cells)}{more}): "
            "the workbook was not last saved by a spreadsheet program, so those cells read as "
            "empty; open it in Excel or LibreOffice and save it, or export it as CSV"
        )


def _excel_header(data: bytes) -> list[str]:
    """The names in the first non-empty row of a workbook's first sheet."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - as in _read_excel
        raise DataError(f"not a readable .xlsx workbook ({exc}); save it as .xlsx or CSV") from None
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            if any(v is not None for v in row):
                return _clean_names(["" if v is None else str(v) for v in row])
    finally:
        book.close()
    raise DataError("the file is empty; the first sheet has no cells")


def _read_text(data: bytes, name: str) -> pd.DataFrame:
    """Read delimited text: checks, encoding, delimiter, then pyarrow with a pandas fallback."""
    data = _to_utf8(data)
    _reject_nul(data)
    sample = _sample_text(data)
    if not sample.strip() and not data.strip():
        raise DataError(
            "the file is empty; choose a file with a header row and at least one data row"
        )
    _reject_json(sample)

    skip = 0
    hint = re.match(r"sep=(.)\r?\n", sample)  # Excel's "sep=;" first line
    if hint:
        skip = 1
        sample = sample[hint.end() :]
    delimiter, header = _detect_delimiter(sample)
    names = _clean_names(header)
    # An odd number of quotes on a line means a quoted value spans lines: pyarrow must be told
    # (it is slower then), so look for one in the sample; the pandas fallback catches the rest.
    quoted_newlines = any(line.count('"') % 2 for line in sample.splitlines())
    df = _parse_csv(data, delimiter, names, skip=skip, quoted_newlines=quoted_newlines)
    df = _unwrap_quoted_rows(df, delimiter)
    if len(df) == 0:
        raise DataError(
            "the file has a header but no data rows; add at least one row under the header"
        )
    _reject_mixed_delimiters(df, data, delimiter, skip=skip)
    frame = _convert_columns(df, delimiter=delimiter)
    _reject_data_as_header(header, frame)
    return frame


def _reject_mixed_delimiters(df: pd.DataFrame, data: bytes, delimiter: str, *, skip: int) -> None:
    """Refuse rows written with another delimiter than the header's.

    Such a row has a single field: it lands whole in the first column with every other
    column empty, and would be labeled from imputed values.
    """
    first = df.iloc[:, 0]
    if df.shape[1] < 2 or not (first.dtype == object or first.dtype == "str"):
        return
    width = df.shape[1]
    for other in DELIMITERS:
        if other == delimiter:
            continue
        # Exactly the header's number of fields with the other delimiter, and nothing else.
        suspect = first.str.count(re.escape(other)).eq(width - 1).fillna(False).astype(bool)
        if not suspect.any():
            continue
        rest = df.loc[suspect].iloc[:, 1:]
        alone = (rest.isna() | rest.astype(object).eq("")).all(axis=1)
        if not alone.any():
            continue
        rows = alone[alone].index
        lines = [
            number
            for number, line in enumerate(
                data.decode("utf-8", errors="replace").split("\n")[skip + 1 :], start=skip + 2
            )
            if delimiter not in line and line.count(other) == width - 1
        ]
        where = (
            f"line(s) use {_delimiter_name(other)} (line {_first_few(lines)})"
            if len(lines) >= len(rows)
            else f"row(s) use {_delimiter_name(other)} (data row {_first_few(rows + 1)})"
        )
        raise DataError(
            f"the file mixes two delimiters: the header uses {_delimiter_name(delimiter)} but "
            f"{max(len(lines), len(rows)):,} {where}; export the table again so every line "
            "uses the same one"
        )


def _first_few(numbers: Sequence[int], shown: int = 5) -> str:
    text = ", ".join(f"{n:,}" for n in list(numbers)[:shown])
    return text + (" ..." if len(numbers) > shown else "")


#: A plausible year, allowed as a column name (a pivot of spend per year: ``2021,2022``).
_YEAR = re.compile(r"(19|20)[0-9]{2}")
_NUMBER_NAME = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?")


def _reject_data_as_header(header: Sequence[Any], frame: pd.DataFrame) -> None:
    """Refuse a file without a header row: its first line of data would become the names.

    A name counts as data when it is a number (other than a year), a date, or a value that
    also appears in its own column (``Female`` in a column of ``Female``/``Male``). Most
    names being data means there is no header. Names that just number the columns
    (``0,1,2`` or ``,0,1`` as pandas writes them) are a header, however poor.
    """
    names = [_clean_name(v) for v in header]
    n = len(frame.columns)
    numbered = [v for v in names if v]
    if n < 2 or numbered in (
        [str(i) for i in range(len(numbered))],
        [str(i + 1) for i in range(len(numbered))],
    ):
        return
    data_like = []
    for text, name in zip(names, frame.columns, strict=False):
        if not text:
            continue
        if _NUMBER_NAME.fullmatch(text):
            if not _YEAR.fullmatch(text):
                data_like.append(text)
            continue
        column = frame[name]
        is_text = column.dtype == object or column.dtype == "str"
        # The first rows are enough: a value repeated as a name is a common one.
        seen = is_text and column.iloc[:_CHECK_VALUES].eq(text).any()
        if seen or _date_shape(pd.Series([text])).iloc[0]:
            data_like.append(text)
    if len(data_like) >= max(2, (n + 1) // 2):
        shown = ", ".join(repr(v) for v in data_like[:3])
        raise DataError(
            "the first line looks like data, not column names: add a header row naming the "
            f"columns (the first line holds {shown}, ...)"
        )


def _to_utf8(data: bytes) -> bytes:
    """Return UTF-8 bytes without BOM, transcoding UTF-16 and Latin-1/cp1252 content."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            pass  # fall through to the binary checks
    encoding = _utf16_encoding(data)
    if encoding is not None:
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            pass
    _reject_binary(data[:_BINARY_HEAD])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = _sample_bytes(data)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_legacy(data).encode("utf-8")
    return data


def _decode_legacy(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def _sample_bytes(data: bytes) -> bytes:
    """Return whole lines from the start of ``data``, about ``_SAMPLE_BYTES`` long."""
    if len(data) <= _SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, _SAMPLE_BYTES)
    if cut < 0:  # one very long line: extend to its end
        cut = data.find(b"\n", _SAMPLE_BYTES)
        return data if cut < 0 else data[: cut + 1]
    return data[: cut + 1]


def _sample_text(data: bytes) -> str:
    return _sample_bytes(data).decode("utf-8", errors="replace")


def _reject_json(sample: str) -> None:
    if re.match(r"\s*(\{|\[\s*[\[{\"\d\-\]tfn])", sample):
        raise DataError(
            "this file looks like JSON, not a table; export the data as CSV (or .xlsx) "
            "and upload that"
        )


def _detect_delimiter(sample: str) -> tuple[str, list[str]]:
    """Pick the delimiter giving the most consistent column count > 1 over the first records.

    Returns the delimiter and the parsed header fields. Quoted fields are honoured.
    """
    scores = []
    single_column = True
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        try:
            records = [r for r in itertools.islice(reader, _SNIFF_RECORDS + 1) if r]
        except csv.Error:  # e.g. a bare carriage return outside quotes: it does not fit
            continue
        if not records:
            continue
        header, body = records[0], records[1:_SNIFF_RECORDS]
        widths = [len(r) for r in body]
        if len(header) > 1:
            consistent = sum(w == len(header) for w in widths) / len(widths) if widths else 1.0
            scores.append((consistent, len(header), delimiter, header))
        elif widths and sum(w > 1 for w in widths) / len(widths) > 0.1:
            single_column = False
    if scores:
        consistent, _, delimiter, header = max(scores, key=lambda s: (s[0], s[1]))
        # A delimiter that appears in the header but splits rows erratically is kept only
        # when it is the only candidate: the parser then reports the offending line.
        if consistent >= 0.5 or len(scores) == 1:
            return delimiter, header
    elif single_column:
        try:
            first = next((r for r in csv.reader(io.StringIO(sample)) if r), [""])
        except csv.Error:
            first = sample.splitlines()[:1] or [""]
        return _SINGLE_COLUMN_SEP, first[:1]
    raise DataError(
        "could not find a delimiter: rows do not split into the same number of columns with "
        "',', ';', tab or '|'; export the table again as CSV"
    )


def _clean_name(value: object) -> str:
    """A header field without BOM, surrounding spaces or runs of inner whitespace."""
    return re.sub(r"\s+", " ", str(value).replace("\ufeff", "")).strip()


def _clean_names(raw: Sequence[str]) -> list[str]:
    """Strip, collapse whitespace, name empty headers by position and number duplicates."""
    names = []
    for i, value in enumerate(raw, start=1):
        name = _clean_name(value)
        names.append(name or f"column_{i}")
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 1
            out.append(name)
            continue
        n = seen[name]
        while True:
            n += 1
            candidate = f"{name}_{n}"
            if candidate not in taken:
                break
        seen[name] = n
        taken.add(candidate)
        out.append(candidate)
    return out


def _parse_csv(
    data: bytes, delimiter: str, names: list[str], *, skip: int, quoted_newlines: bool
) -> pd.DataFrame:
    """Parse with pyarrow (multi-threaded); fall back to pandas, whose errors give a line."""
    try:
        return _parse_csv_arrow(data, delimiter, names, skip=skip, quoted_newlines=quoted_newlines)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _parse_csv_pandas(data, delimiter, names, skip=skip)


def _parse_csv_arrow(
    data: bytes, delimiter: str, names: list[str], *, skip: int, quoted_newlines: bool
) -> pd.DataFrame:
    """Parse with ``pyarrow.csv``; raises ``ArrowInvalid`` on rows of the wrong width."""
    # A block must hold a whole row: a header of tens of thousands of columns is longer
    # than the 4 MiB blocks that are fastest otherwise (rows are about as long as the header).
    first_line = data.find(b"\n")
    block_size = max(1 << 22, 4 * (first_line if first_line >= 0 else len(data)))
    read_options = pa_csv.ReadOptions(
        column_names=names, skip_rows=skip + 1, block_size=block_size, use_threads=True
    )
    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=quoted_newlines, quote_char='"'
    )
    convert_options = pa_csv.ConvertOptions(
        null_values=ARROW_NULL_VALUES,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        true_values=[],  # "true"/"false" stay text, as in the pandas fallback
        false_values=[],
        decimal_point="," if delimiter == ";" else ".",
        column_types=dict.fromkeys(
            zero_padded_columns(_sample_text(data), delimiter, names), pa.string()
        ),
    )
    table = pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=read_options,
        parse_options=parse_options,
        convert_options=convert_options,
    )
    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
        # Invalid UTF-8 beyond the sample: the file is really Latin-1/cp1252.
        data = _decode_legacy(data).encode("utf-8")
        return _parse_csv_arrow(data, delimiter, names, skip=skip, quoted_newlines=quoted_newlines)
    columns = {}
    for name, column in zip(names, table.itercolumns(), strict=True):
        if pa.types.is_null(column.type):
            columns[name] = pd.Series(np.nan, index=pd.RangeIndex(len(column)))
        elif pa.types.is_time(column.type) or pa.types.is_duration(column.type):
            columns[name] = column.cast(pa.string()).to_pandas()
        else:
            columns[name] = column.to_pandas(date_as_object=False)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _unwrap_quoted_rows(df: pd.DataFrame, delimiter: str) -> pd.DataFrame:
    """Re-split rows that an export wrapped whole in quotes (``"1,""a, b"",2"``).

    Such a row lands in the first column with every other column empty. It is replaced only
    when its text splits into exactly the header's number of fields, so a genuine first value
    containing the delimiter is left alone.
    """
    first = df.iloc[:, 0] if df.shape[1] > 1 else None
    if first is None or not (first.dtype == object or first.dtype == "str"):
        return df
    # Only rows whose first cell holds the delimiter can be wrapped: look at the others'
    # cells for those alone (checking every cell of a million-row table took 0.7 s).
    candidates = first.str.contains(delimiter, regex=False, na=False).to_numpy(dtype=bool)
    if not candidates.any():
        return df
    rest = df.iloc[np.flatnonzero(candidates), 1:]
    blank = (rest.isna() | rest.astype(object).eq("")).all(axis=1).to_numpy()
    wrapped = np.zeros(len(df), dtype=bool)
    wrapped[np.flatnonzero(candidates)[blank]] = True
    wrapped = pd.Series(wrapped, index=df.index)
    if not wrapped.any():
        return df
    inner = ("\n".join(first[wrapped].tolist()) + "\n").encode("utf-8")
    try:
        fixed = _parse_csv_arrow(inner, delimiter, list(df.columns), skip=-1, quoted_newlines=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return df
    out = {}
    for name in df.columns:
        old, new = df[name], fixed[name]
        same_kind = (pd.api.types.is_numeric_dtype(old) and pd.api.types.is_numeric_dtype(new)) or (
            pd.api.types.is_datetime64_any_dtype(old) and pd.api.types.is_datetime64_any_dtype(new)
        )
        if same_kind and pd.api.types.is_numeric_dtype(old):
            old, new = old.astype("float64"), new.astype("float64")
        elif not same_kind:  # let the text conversion that follows decide for the whole column
            old, new = old.astype("str"), new.astype("str")
        old = old.copy()
        old[wrapped] = new.to_numpy()
        out[name] = old
    return pd.DataFrame(out, index=df.index)


def _parse_csv_pandas(data: bytes, delimiter: str, names: list[str], *, skip: int) -> pd.DataFrame:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    try:
        with warnings.catch_warnings():
            # pandas only warns (and drops data) when the first row is longer than the header.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                names=names,
                skiprows=skip + 1,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                engine="c",
                skip_blank_lines=True,
            )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=names)
    except pd.errors.ParserWarning:
        raise DataError(
            f"line {skip + 2} has more fields than the header ({len(names)}); quote values "
            f"that contain the delimiter {_delimiter_name(delimiter)} or fix that line"
        ) from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        message = str(exc)
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if found:
            expected, line, saw = found.groups()
            raise DataError(
                f"line {line} has {saw} fields but the header has {expected}; quote values "
                f"that contain the delimiter {_delimiter_name(delimiter)} or fix that line"
            ) from None
        where = re.search(r"(line|row) (\d+)", message)
        at = f" near {where.group(1)} {where.group(2)}" if where else ""
        raise DataError(
            f"could not read the file as a table{at} ({message.strip()}); check for an "
            "unclosed quote or a broken line, or export it again as CSV"
        ) from None


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", _SINGLE_COLUMN_SEP: "none"}.get(delimiter, repr(delimiter))


def _convert_columns(df: pd.DataFrame, *, delimiter: str) -> pd.DataFrame:
    """Turn text columns into numbers, dates or clean text; leave typed columns alone.

    Cells that did not parse in a column that became numeric are listed in the frame's
    ``attrs["unparsed_values"]`` as ``{column: (count, first 1-based row numbers)}``, so
    that prediction can report them rather than impute them silently.
    """
    out = {}
    unparsed = {}
    ambiguous = {}
    for name in df.columns:
        column = df[name]
        if column.dtype == object or column.dtype == "str":
            column = _convert_text_column(column, european=delimiter == ";")
            if "unparsed" in column.attrs:
                unparsed[name] = column.attrs.pop("unparsed")
            if "ambiguous_date" in column.attrs:
                ambiguous[name] = column.attrs.pop("ambiguous_date")
        elif pd.api.types.is_float_dtype(column):
            values, bad = clean_numeric(column.to_numpy())
            if bad.any():
                column = pd.Series(values, index=column.index, name=name)
                unparsed[name] = _bad_rows(bad)
        elif pd.api.types.is_datetime64_any_dtype(column):
            if isinstance(column.dtype, pd.DatetimeTZDtype):
                column = column.dt.tz_convert(None)
            column = column.astype("datetime64[us]")
        out[name] = column
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(df)))
    frame.attrs["unparsed_values"] = unparsed
    if ambiguous:
        frame.attrs["ambiguous_dates"] = ambiguous
    return frame


def _convert_text_column(values: pd.Series, *, european: bool) -> pd.Series:
    """Return ``values`` as numbers, dates, or stripped text (object dtype, NaN missing)."""
    text = values if values.dtype == "str" else values.astype("str")
    text = text.str.strip()
    text = text.mask(text.str.lower().isin(NA_LOWER))
    present = text.notna()
    if not present.any():
        return pd.Series(np.nan, index=values.index, dtype="float64")
    numbers = _parse_numbers(text, present, european=european)
    if numbers is not None:
        return numbers
    dates = parse_datetimes(text)
    if dates is not None:
        return dates
    return text.astype(object)


def _parse_numbers(text: pd.Series, present: pd.Series, *, european: bool) -> pd.Series | None:
    sample = _even_sample(text[present])
    if sample.str.contains(_HAS_DIGIT).mean() < PARSE_THRESHOLD * 0.9:
        return None  # cheap rejection of ordinary text columns
    if len(sample) < len(text) and _numbers_or_none(sample, european=european) is None:
        return None
    return _numbers_or_none(text, european=european)


def _numbers_or_none(text: pd.Series, *, european: bool) -> pd.Series | None:
    """Parse stripped text (NaN for missing) as numbers, or ``None`` if it is not numeric."""
    present = text.notna()
    cleaned = text.str.replace(_NUMBER_NOISE, "", regex=True)
    accounting = cleaned.str.startswith("(", na=False) & cleaned.str.endswith(")", na=False)
    if accounting.any():
        cleaned = cleaned.mask(accounting, "-" + cleaned.str.slice(1, -1))
    us_votes = int(_fullmatch(cleaned, _US_UNAMBIGUOUS).sum())
    eu_votes = int(_fullmatch(cleaned, _EU_UNAMBIGUOUS).sum())
    if eu_votes > us_votes or (eu_votes == us_votes and european):
        grouped = _fullmatch(cleaned, _EU_GROUPED)
        converted = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        grouped = _fullmatch(cleaned, _US_GROUPED)
        converted = cleaned.str.replace(",", "", regex=False)
    cleaned = cleaned.mask(grouped, converted)
    numbers = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    failed = present & numbers.isna()
    # "inf", "1e400", a 400-digit number: numbers, but unusable; reported like typos.
    values, unusable = clean_numeric(numbers.to_numpy())
    numbers = pd.Series(values, index=numbers.index)
    bad = failed.to_numpy() | unusable
    n_present = int(present.sum())
    if bad.sum() > (1 - PARSE_THRESHOLD) * n_present:
        return None
    if failed.any() and text[failed].str.contains(_HAS_DIGIT).any():
        return None  # codes such as "C536379" among numbers: keep the column as text
    if text[present].str.fullmatch(_ZERO_PADDED.pattern).any():
        return None  # codes such as "007" or "01234": numbers would lose the zeros
    if not bad.any() and n_present == len(numbers) and _integral(numbers):
        return numbers.astype("int64")
    if bad.any():
        numbers.attrs["unparsed"] = _bad_rows(bad)
    return numbers


def _bad_rows(bad: np.ndarray) -> tuple[int, list[int]]:
    """``(count, first 1-based rows)``, the form of ``attrs["unparsed_values"]`` entries."""
    return int(bad.sum()), (np.flatnonzero(bad)[:10] + 1).tolist()


def _integral(numbers: pd.Series) -> bool:
    array = numbers.to_numpy()
    exact = np.all(np.abs(array) < 2**53)  # beyond that a float is no longer an exact integer
    return bool(exact and np.all(array == np.round(array)))


def _fullmatch(text: pd.Series, pattern: str) -> pd.Series:
    return text.str.fullmatch(pattern).fillna(False).astype(bool)


def _date_shape(text: pd.Series) -> pd.Series:
    return _fullmatch(text, _ISO_DATE) | _fullmatch(text, _YMD_SLASH) | _fullmatch(text, _DMY)


def _even_sample(values: pd.Series) -> pd.Series:
    if len(values) <= _CHECK_VALUES:
        return values
    return values.iloc[np.linspace(0, len(values) - 1, _CHECK_VALUES).astype(np.int64)]


def csv_layout(path: str | os.PathLike[str]) -> tuple[str, list[str], int] | None:
    """How to stream a delimited file with another engine, reading only its start.

    Parameters
    ----------
    path : str or pathlib.Path
        A file.

    Returns
    -------
    tuple or None
        ``(delimiter, column names as read_table gives them, lines to skip before the
        header)``; None when the file is not plain UTF-8 text (a workbook, UTF-16, Latin-1:
        read those with :func:`read_table`).

    Raises
    ------
    DataError
        As :func:`read_table` does for the first lines.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SAMPLE_BYTES * 4)
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if head.startswith(_ZIP_MAGIC) or head.startswith(_UTF16_BOMS) or _utf16_encoding(head):
        return None
    if head.startswith(b"\xef\xbb\xbf"):
        return None  # DuckDB would keep the BOM in the first name; the reader copes
    _reject_binary(head[:_BINARY_HEAD])
    _reject_nul(head)
    sample = _sample_bytes(head)
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    _reject_json(text)
    skip = 0
    hint = re.match(r"sep=(.)\r?\n", text)
    if hint:
        skip = 1
        text = text[hint.end() :]
    delimiter, header = _detect_delimiter(text)
    if delimiter == _SINGLE_COLUMN_SEP:
        return None
    return delimiter, _clean_names(header), skip


def read_head(source: Any, *, max_bytes: int = 1 << 20) -> pd.DataFrame:
    """Read the first rows of a table cheaply: a preview and its columns, not the data.

    Delimited text is cut after the last whole line within ``max_bytes`` and read like
    :func:`read_table`, so the column names and types are what the whole file gives (types
    are inferred from these rows only). A workbook, or a head that cannot be cut cleanly
    (a quoted cell across lines), is read whole.

    Parameters
    ----------
    source : bytes, path or file-like
        As for :func:`read_table`.
    max_bytes : int, default 1 MiB

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Only the head is copied: an upload's buffer may be hundreds of megabytes.
        view = memoryview(source)
        data = bytes(view[: max_bytes + 1]) if view.nbytes > max_bytes else bytes(view)
        whole = view
    elif _is_big_file(source, max_bytes):
        # Only the head is read: a labeled file may be far larger than the preview needs.
        try:
            with open(source, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError:
            data = b""
        whole = source
        if not data or data.startswith(_ZIP_MAGIC):
            return read_table(source)
    else:
        data, _ = _read_source(source, config.MAX_UPLOAD_MB * 1024 * 1024, default_limit=True)
        whole = data
    if len(data) <= max_bytes or data.startswith(_ZIP_MAGIC):
        return read_table(whole)
    head = data[: data.rfind(b"\n", 0, max_bytes) + 1]
    try:
        return read_table(head) if head else read_table(whole)
    except DataError:
        return read_table(whole)
