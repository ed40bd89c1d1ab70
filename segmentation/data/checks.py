"""Checks on an input before it is parsed: size, binary content, NUL bytes, name clashes.

Byte-level and free of pandas, so every way into the product (the general reader, the
command line's fast labeling path, an upload) refuses the same inputs with the same words
without paying for pandas' import.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from segmentation import config
from segmentation.errors import DataError

#: Largest magnitude read as a number. Beyond it a value is as unusable as text: ``1e400`` or a
#: 400-digit number overflows to infinity, and ``1e308`` overflows as soon as scaling squares
#: it. No customer attribute comes near 1e100, so nothing real is lost.
LARGEST_NUMBER = 1e100

_BINARY_HEAD = 8192  # bytes looked at to tell a table from an image or other binary file
_SCAN_BYTES = 1 << 20  # chunk size when a file is scanned without being held in memory

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel .xls (or other Office) file"),
)
_ZIP_MAGIC = b"PK\x03\x04"
#: The first (and last) four bytes of a Parquet file.
PARQUET_MAGIC = b"PAR1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_input_size(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    max_bytes: int | None = None,
) -> int | None:
    """Check that an input exists and is within the size limit, without reading it.

    The same check :func:`read_table` makes, for code that reads the file another way
    (the labeling fast path streams it), so that every way in refuses the same inputs.

    Parameters
    ----------
    source : str, pathlib.Path or bytes
        A file path or the payload itself.
    max_bytes : int, optional
        Largest accepted size. Defaults to ``segmentation.config.MAX_UPLOAD_MB`` MiB.

    Returns
    -------
    int or None
        The size in bytes; ``None`` for a pipe or device, whose size is only known by
        reading it (:func:`read_table` reads at most ``max_bytes + 1`` bytes of those).

    Raises
    ------
    DataError
        If the path does not exist, is a folder, cannot be read, or is larger than the limit.
    """
    limit = _limit(max_bytes)
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = memoryview(source).nbytes
    elif isinstance(source, (str, os.PathLike)):
        size = _file_size(Path(source), str(source))
    else:
        raise TypeError(f"check_input_size takes a path or bytes, not {type(source).__name__}")
    if size is not None:
        _check_size(size, limit, max_bytes is None)
    return size


def check_input(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    max_bytes: int | None = None,
) -> None:
    """Refuse what :func:`read_table` refuses before parsing, reading a file in small chunks.

    :func:`check_input_size`, then: not an image or other binary file, and no NUL byte
    anywhere in a text file (UTF-16 text is left to :func:`read_table`, which decodes it).
    Memory stays small, so a fast path can call this and still stream the file.

    Raises
    ------
    DataError
        With the same message :func:`read_table` would give.
    """
    is_path = isinstance(source, (str, os.PathLike))
    if is_path and Path(source).is_dir() and any(Path(source).rglob("*.parquet")):
        return  # a folder of Parquet files: read_table reads it
    size = check_input_size(source, max_bytes=max_bytes)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data.startswith((_ZIP_MAGIC, PARQUET_MAGIC)) and _utf16_encoding(data) is None:
            _reject_binary(data[:_BINARY_HEAD])
            _reject_nul(data)
        return
    if size is None:
        return  # a pipe or device: read_table reads it once, bounded, and checks it then
    try:
        with open(source, "rb") as handle:
            head = handle.read(_BINARY_HEAD)
            if head.startswith((_ZIP_MAGIC, PARQUET_MAGIC)) or _utf16_encoding(head) is not None:
                return
            _reject_binary(head)
            line, chunk = 1, head
            while chunk:
                at = chunk.find(b"\x00")
                if at >= 0:
                    _raise_nul(line + chunk.count(b"\n", 0, at))
                line += chunk.count(b"\n")
                chunk = handle.read(_SCAN_BYTES)
    except OSError as exc:
        raise DataError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None


def read_bounded(stream: IO[bytes], *, max_bytes: int | None = None) -> bytes:
    """Read a stream such as ``sys.stdin.buffer`` whole, refusing it past the size limit.

    At most ``max_bytes + 1`` bytes are read, so an endless or oversized stream is refused
    without being buffered.

    Raises
    ------
    DataError
        If the stream holds more than ``max_bytes`` (default ``config.MAX_UPLOAD_MB`` MiB).
    """
    return _read_stream(stream, _limit(max_bytes), max_bytes is None)


def output_column_clashes(columns: Iterable[object], output_columns: Sequence[str]) -> list[str]:
    """Columns of an input that labeling would overwrite with its own output columns.

    Labeling appends ``output_columns`` (the model's ``cluster``, ``segment`` and
    ``cluster_distance``) and drops input columns of the same names: a user's own
    ``segment`` column would be lost without a word. Call this on the input's names (see
    :func:`read_header`) and warn about what it returns.

    Parameters
    ----------
    columns : iterable
        The input's column names, as :func:`read_table` gives them.
    output_columns : sequence of str
        The names labeling writes (``segmentation.modeling.estimator.OUTPUT_COLUMNS``).

    Returns
    -------
    list of str
        The clashing names, in the input's order (exact matches: only those are replaced).

    Examples
    --------
    >>> output_column_clashes(["id", "segment"], ("cluster", "segment", "cluster_distance"))
    ['segment']
    """
    wanted = set(output_columns)
    return [str(c) for c in columns if c in wanted]


def _limit(max_bytes: int | None) -> int:
    return max_bytes if max_bytes is not None else config.MAX_UPLOAD_MB * 1024 * 1024


def _file_size(path: Path, name: str) -> int | None:
    """The size of a regular file, ``None`` for a pipe or device; DataError if unusable."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"file {name!r} does not exist; check the path") from None
    except PermissionError:
        raise DataError(f"cannot read {name!r}: permission denied") from None
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{name!r} is a folder, not a file; give the path of a CSV or .xlsx")
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _read_stream(stream: IO[Any], limit: int, default_limit: bool) -> bytes:
    """Read at most ``limit + 1`` bytes so an oversized stream is refused without buffering it."""
    data = stream.read(limit + 1)
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(data) > limit:
        _check_size(None, limit, default_limit)
    return data


def _check_size(size: int | None, limit: int, default_limit: bool) -> None:
    if size is not None and size <= limit:
        return
    what = f"the file is {_format_size(size)}" if size is not None else "the input is"
    hint = (
        "; upload a smaller file or a sample, or raise SEGMENTATION_MAX_UPLOAD_MB"
        if default_limit
        else "; use a smaller file or a sample"
    )
    raise DataError(f"{what} larger than the {_format_size(limit)} limit{hint}")


def _format_size(n: int) -> str:
    if n < 1024:
        return f"{n:,} bytes"
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"  # pragma: no cover - unreachable


def _utf16_encoding(data: bytes) -> str | None:
    """``"utf-16-le"``/``"utf-16-be"`` for UTF-16 text without a byte-order mark, else None.

    Text in UTF-16 is mostly characters below U+0100, whose second (LE) or first (BE) byte
    is zero: zero bytes at every odd (or every even) position, and almost none at the others.
    Binary files do not show that pattern.
    """
    head = data[:4096]
    head = head[: len(head) // 2 * 2]
    if len(head) < 4:
        return None
    half = len(head) // 2
    zeros_even, zeros_odd = head[0::2].count(0) / half, head[1::2].count(0) / half
    if zeros_odd > 0.5 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.5 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def _reject_nul(data: bytes) -> None:
    at = data.find(b"\x00")
    if at >= 0:
        _raise_nul(data.count(b"\n", 0, at) + 1)


def _raise_nul(line: int) -> None:
    raise DataError(
        f"line {line:,} holds a NUL (zero) byte, which a text table never contains: the file "
        "is damaged or not a CSV; open it in a spreadsheet and export it again as CSV"
    )


def _reject_binary(head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise DataError(
                f"this file is not a table (it looks like {what}); upload a CSV or .xlsx export"
            )
    if not head:
        return
    controls = sum(head.count(bytes([b])) for b in (*range(0, 9), *range(14, 32), 127))
    if b"\x00" in head or controls / len(head) > 0.05:
        raise DataError(
            "this file is not a table (it looks like an image/binary file); "
            "upload a CSV or .xlsx export"
        )
