"""Audiences: a labeled customer table split by segment, as a folder or a zip of CSVs (one
per segment) or one ``.xlsx`` workbook (a sheet per segment), for a campaign tool.

The input is what labeling writes (:func:`segmentation.modeling.labeling.label_file`): the
customers' columns plus ``cluster``, ``segment`` and ``cluster_distance``. It is read back
in blocks with pyarrow and each block's rows go to their segment's file, so a file of
millions of customers is split without holding it in memory. Every output is written
atomically: a folder is built beside its destination and renamed into place, a zip or a
workbook goes through :func:`segmentation.data.files.open_output`. Text cells keep the
CSV-injection guard (the one of :mod:`segmentation.data.write` and of the labeler).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from segmentation.data.files import open_output
from segmentation.data.rules import FORMULA_PREFIXES
from segmentation.errors import DataError, SegmentationError

# The Arrow twin of ``neutralize_formulas`` (same prefixes, same leading quote), the guard
# the labeled file itself went through; not a second definition.
from segmentation.modeling.labeling import _neutralize as neutralize_arrow

__all__ = [
    "MANIFEST",
    "SUMMARY_SHEET",
    "XLSX_MAX_ROWS",
    "SplitReport",
    "check_target",
    "safe_file_names",
    "segment_csv_bytes",
    "sheet_names",
    "split_labeled_csv",
    "split_to_bytes",
    "target_kind",
]

#: Rows of one Excel sheet, its header row included.
XLSX_MAX_ROWS = 1_048_576
#: The file listing each segment's file and number of customers, in a folder or zip.
MANIFEST = "manifest.csv"
#: The first sheet of a workbook: each segment's sheet and number of customers.
SUMMARY_SHEET = "Segments"
#: Bytes of the labeled CSV parsed per block. The reader keeps several blocks in flight,
#: so memory is a multiple of this, whatever the file's size (1 MiB: about 90 MB above
#: the imports for 1 or 2 million customers; 8 MiB: over 200 MB).
BLOCK_BYTES = 1 << 20
#: Longest file-name stem kept from a segment name (characters, and UTF-8 bytes).
MAX_STEM_CHARS = 60
_MAX_STEM_BYTES = 150
_SHEET_CHARS = 31
#: Longest text Excel keeps in a cell.
_XLSX_CELL_CHARS = 32_767

_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_UNSAFE_SHEET_CHARS = re.compile(r"[\x00-\x1f\x7f\[\]:*?/\\]")
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)
# A cell is written as a number only when it reads back as the same number: no leading
# zeros (codes such as 007 stay text), integers of at most 15 digits (Excel's precision).
_INTEGER = r"^-?(0|[1-9][0-9]{0,14})$"
_DECIMAL = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?$"


# -- names ------------------------------------------------------------------------------------
def _unique(stems: Iterable[str], limit: int, suffix: str, taken: Iterable[str] = ()) -> list[str]:
    """Make ``stems`` unique, ignoring case (Windows and macOS folders, Excel's sheets do):
    a repeat gets ``suffix`` filled with a number (``"_{}"``), the stem cut so the result
    still fits in ``limit`` characters."""
    seen = {t.casefold() for t in taken}
    out = []
    for stem in stems:
        candidate, n = stem, 1
        while candidate.casefold() in seen:
            n += 1
            end = suffix.format(n)
            candidate = stem[: limit - len(end)].rstrip() + end
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def _file_stem(name: object) -> str:
    text = unicodedata.normalize("NFC", str(name))
    text = _UNSAFE_FILE_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text)
    # The guard's quote and a formula's first character (a name listed in the manifest is
    # then written as it is), a leading dash (an option to a shell) and leading dots
    # (hidden files) are dropped; Windows drops trailing dots and spaces itself.
    text = text.lstrip("'-=+@. ").rstrip(". ")
    text = text[:MAX_STEM_CHARS]
    while len(text.encode("utf-8")) > _MAX_STEM_BYTES:
        text = text[:-1]
    text = text.rstrip(". ")
    if not text:
        return "segment"
    if text.split(".")[0].casefold() in _WINDOWS_RESERVED:
        text += "_"
    return text


def safe_file_names(names: Sequence[object], extension: str = ".csv") -> dict[str, str]:
    """A file name for each segment name, safe on any file system and unique.

    Characters no file system accepts (``/ \\ : * ? " < > |``, control characters) become
    ``_``; names are cut to :data:`MAX_STEM_CHARS` characters; Windows' reserved names
    (``CON``, ``LPT1``...) get a trailing ``_``; names equal once cleaned, ignoring case,
    get ``_2``, ``_3``... The stem ``manifest`` is kept for :data:`MANIFEST`.

    Parameters
    ----------
    names : sequence of str
        Segment names, in the order their files are listed.
    extension : str, default ".csv"

    Returns
    -------
    dict
        ``{segment name: file name}``; unicode letters are kept.

    Examples
    --------
    >>> safe_file_names(["A/B", "A:B"])
    {'A/B': 'A_B.csv', 'A:B': 'A_B_2.csv'}
    """
    names = list(dict.fromkeys(str(n) for n in names))
    stems = _unique(
        (_file_stem(n) for n in names), MAX_STEM_CHARS, "_{}", taken=[Path(MANIFEST).stem]
    )
    return {name: stem + extension for name, stem in zip(names, stems, strict=True)}


def sheet_names(names: Sequence[object], taken: Iterable[str] = ()) -> dict[str, str]:
    """An Excel sheet name for each segment name: at most 31 characters, none of
    ``[ ] : * ? / \\``, no apostrophe at either end, not ``History`` (Excel keeps it), and
    unique ignoring case (repeats get `` (2)``, `` (3)``...). ``taken`` names are avoided.

    Examples
    --------
    >>> sheet_names(["Big [VIP] spenders?"])
    {'Big [VIP] spenders?': 'Big _VIP_ spenders_'}
    """
    names = list(dict.fromkeys(str(n) for n in names))
    stems = []
    for name in names:
        text = _UNSAFE_SHEET_CHARS.sub("_", unicodedata.normalize("NFC", name))
        text = re.sub(r"\s+", " ", text).strip().lstrip("'-=+@ ").rstrip("' ")
        text = text[:_SHEET_CHARS].rstrip("' ")
        text = text.strip() or "Segment"
        stems.append("History_" if text.casefold() == "history" else text)
    sheets = _unique(stems, _SHEET_CHARS, " ({})", taken=["History", *taken])
    return dict(zip(names, sheets, strict=True))


# -- targets ----------------------------------------------------------------------------------
def target_kind(target: str | os.PathLike[str]) -> str:
    """``"zip"``, ``"xlsx"`` or ``"dir"`` for a ``--split-by-segment`` target.

    A name ending in ``.zip`` or ``.xlsx`` is that file; an existing folder, or a new name
    without an extension (or ending in ``/``), is a folder.

    Raises
    ------
    SegmentationError
        For anything else (``out.csv``, ``-``, an existing file of another kind).
    """
    text = os.fspath(target)
    suffix = Path(text).suffix.lower()
    if suffix in (".zip", ".xlsx"):
        return suffix[1:]
    path = Path(text)
    if text == "-":
        raise SegmentationError(
            "--split-by-segment writes files, not standard output; give a folder name, "
            "segments.zip or segments.xlsx"
        )
    if text.endswith(("/", os.sep)) or path.is_dir() or (not path.exists() and not suffix):
        return "dir"
    raise SegmentationError(
        f"--split-by-segment {text!r} is not a folder, a .zip or a .xlsx; give a folder "
        "name (one CSV per segment), segments.zip or segments.xlsx"
    )


def _is_ours(folder: Path) -> bool:
    """Whether ``folder`` holds only a split written here: its manifest and the files it lists."""
    try:
        with open(folder / MANIFEST, newline="", encoding="utf-8") as handle:
            listed = {row.get("file") for row in csv.DictReader(handle)}
        present = {p.name for p in folder.iterdir()}
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return present <= listed | {MANIFEST}


def check_target(target: str | os.PathLike[str]) -> str:
    """Check a split target before any work is done; return its kind (:func:`target_kind`).

    A folder is written only if it is new, empty, or an earlier split (it holds
    :data:`MANIFEST` and only the files it lists), which is then replaced whole: a folder
    of other files is never mixed with segment files nor deleted.

    Raises
    ------
    SegmentationError
        For a target of no known kind, a ``.zip``/``.xlsx`` name that is a folder, or a
        folder holding other files.
    """
    kind = target_kind(target)
    path = Path(target)
    if kind != "dir" and path.is_dir():
        raise SegmentationError(f"{os.fspath(target)!r} is a folder; give a file name")
    if kind == "dir" and path.exists() and any(path.iterdir()) and not _is_ours(path):
        raise SegmentationError(
            f"folder {os.fspath(target)!r} already holds other files; give a new or empty "
            "folder (an earlier split, with its manifest.csv, is replaced)"
        )
    return kind


# -- splitting --------------------------------------------------------------------------------
@dataclass
class SegmentFile:
    """One segment of a split: its name, cluster, file (or sheet) and customers."""

    segment: str
    cluster: int | float | str
    file: str
    customers: int


@dataclass
class SplitReport:
    """What :func:`split_labeled_csv` wrote."""

    kind: str
    files: list[SegmentFile] = field(default_factory=list)

    @property
    def customers(self) -> int:
        return sum(f.customers for f in self.files)

    def summary(self) -> str:
        """One line, e.g. "wrote 1,000 customers in 4 segment files"."""
        what = "sheets" if self.kind == "xlsx" else "files"
        return f"wrote {self.customers:,} customers in {len(self.files)} segment {what}"


def _header_names(source: str | os.PathLike[str] | bytes) -> list[str]:
    if isinstance(source, bytes | bytearray | memoryview):
        head = bytes(source[: 1 << 20])
    else:
        with open(source, "rb") as handle:
            head = handle.read(1 << 20)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        raise DataError("the labeled file is empty; label a file with customers first") from None


def _batches(
    source: str | os.PathLike[str] | bytes,
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """The labeled CSV's column names and its rows in blocks, every cell read as text (so
    it is written back as it was, and a block cannot disagree with the next on a type)."""
    names = _header_names(source)
    if "segment" not in names:
        raise DataError(
            "the table has no 'segment' column; label it first (python -m segmentation "
            "predict --data FILE --out labeled.csv)"
        )
    stream = (
        pa.BufferReader(pa.py_buffer(bytes(source)))
        if isinstance(source, bytes | bytearray | memoryview)
        else pa.OSFile(os.fspath(source))
    )
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(
            column_names=[f"c{i}" for i in range(len(names))],
            skip_rows=1,
            block_size=BLOCK_BYTES,
            encoding="utf8",
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(len(names))},
            null_values=[],
            strings_can_be_null=False,
        ),
    )
    return names, iter(reader)


def _typed(column: pa.Array) -> pa.Array:
    """A text column as numbers when every filled cell is one (written back unquoted and
    as numbers in a workbook), else as guarded text; empty cells are missing."""
    filled = pc.not_equal(column, "")
    probe = pc.if_else(filled, column, "0")
    missing = pa.nulls(len(column), pa.string())
    if pc.all(pc.match_substring_regex(probe, _INTEGER)).as_py() is not False:
        return pc.cast(pc.if_else(filled, column, missing), pa.int64())
    if pc.all(pc.match_substring_regex(probe, _DECIMAL)).as_py() is not False:
        return pc.cast(pc.if_else(filled, column, missing), pa.float64())
    return neutralize_arrow(column)


def _guard_name(name: str) -> str:
    return "'" + name if name.startswith(FORMULA_PREFIXES) else name


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _csv_rows(columns: list[pa.Array]) -> bytes:
    out = pa.BufferOutputStream()
    table = pa.table(columns, names=[f"c{i}" for i in range(len(columns))])
    pa_csv.write_csv(table, out, write_options=pa_csv.WriteOptions(include_header=False))
    return out.getvalue().to_pybytes()


def _split_to_folder(source, folder: Path) -> list[SegmentFile]:
    """Write one CSV per segment into ``folder`` (which exists and is empty) and a manifest."""
    names, batches = _batches(source)
    seg_at = names.index("segment")
    cluster_at = names.index("cluster") if "cluster" in names else None
    header = (",".join(_quoted(_guard_name(n)) for n in names) + "\n").encode("utf-8")
    handles: dict[str, IO[bytes]] = {}
    counts: dict[str, int] = {}
    clusters: dict[str, int | float | str] = {}
    parts: dict[str, Path] = {}
    try:
        for batch in batches:
            columns = [_typed(batch.column(i)) for i in range(batch.num_columns)]
            encoded = pc.dictionary_encode(batch.column(seg_at))
            for code, segment in enumerate(encoded.dictionary.to_pylist()):
                keep = pc.equal(encoded.indices, pa.scalar(code, encoded.indices.type))
                rows = [pc.filter(c, keep) for c in columns]
                if segment not in handles:
                    parts[segment] = folder / f".part{len(parts)}"
                    handles[segment] = open(parts[segment], "wb")  # noqa: SIM115
                    handles[segment].write(header)
                    counts[segment] = 0
                    first = rows[cluster_at][0].as_py() if cluster_at is not None else None
                    clusters[segment] = "" if first is None else first
                handles[segment].write(_csv_rows(rows))
                counts[segment] += len(rows[0])
    finally:
        for handle in handles.values():
            handle.close()
    if not counts:
        raise DataError("the labeled file has no customers; there is nothing to split")
    order = sorted(counts, key=lambda s: (_cluster_order(clusters[s]), s))
    files = safe_file_names(order)
    for segment in order:
        os.replace(parts[segment], folder / files[segment])
    result = [SegmentFile(s, clusters[s], files[s], counts[s]) for s in order]
    _write_manifest(folder / MANIFEST, result)
    return result


def _cluster_order(cluster: int | float | str) -> tuple[int, float | str]:
    if isinstance(cluster, int | float):
        return (0, cluster)
    return (1, cluster)


def _write_manifest(path: Path, files: list[SegmentFile]) -> None:
    import pandas as pd

    from segmentation.data.write import to_csv_bytes

    table = pd.DataFrame(
        {
            "segment": [f.segment for f in files],
            "cluster": [f.cluster for f in files],
            "file": [f.file for f in files],
            "customers": [f.customers for f in files],
        }
    )
    path.write_bytes(to_csv_bytes(table))


def _work_folder(beside: Path | None) -> Path:
    """A new, empty, hidden folder: beside the destination (same file system, so a rename
    is atomic and big files do not fill a small /tmp) or in the temporary folder."""
    if beside is None:
        return Path(tempfile.mkdtemp(prefix="segments-"))
    beside.parent.mkdir(parents=True, exist_ok=True)
    work = beside.with_name(f".{beside.name}.{uuid.uuid4().hex[:8]}.tmp")
    work.mkdir()
    return work


def _commit_folder(work: Path, dest: Path) -> None:
    """Put the finished ``work`` folder at ``dest``, replacing an empty folder or an earlier
    split whole (checked again: the folder may have changed since :func:`check_target`)."""
    if dest.exists():
        if not dest.is_dir():
            raise DataError(f"{str(dest)!r} is a file; give a folder name for the split")
        if any(dest.iterdir()) and not _is_ours(dest):
            raise DataError(f"folder {str(dest)!r} now holds other files; it was left as it was")
        old = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(dest, old)
        try:
            os.replace(work, dest)
        except BaseException:
            os.replace(old, dest)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, dest)


def _write_zip(folder: Path, files: list[SegmentFile], sink: IO[bytes]) -> None:
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.write(folder / MANIFEST, MANIFEST)
        for f in files:
            zf.write(folder / f.file, f.file)


def _xlsx_cell(value: object) -> object:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = _guard_name(ILLEGAL_CHARACTERS_RE.sub("", value))[:_XLSX_CELL_CHARS]
    return value


def _write_xlsx(folder: Path, files: list[SegmentFile], sink: IO[bytes]) -> list[str]:
    """One sheet per segment (after a summary sheet), streamed row by row (openpyxl's
    write-only mode keeps no cell in memory). Returns the sheet names."""
    from openpyxl import Workbook

    too_big = [f for f in files if f.customers >= XLSX_MAX_ROWS]
    if too_big:
        raise DataError(
            f"segment {too_big[0].segment!r} has {too_big[0].customers:,} customers, more "
            f"than an Excel sheet holds ({XLSX_MAX_ROWS - 1:,} below its header); split to a "
            ".zip of CSVs instead"
        )
    sheets = sheet_names([f.segment for f in files], taken=[SUMMARY_SHEET])
    book = Workbook(write_only=True)
    summary = book.create_sheet(SUMMARY_SHEET)
    summary.append(["segment", "cluster", "sheet", "customers"])
    for f in files:
        summary.append(
            [_xlsx_cell(v) for v in (f.segment, f.cluster, sheets[f.segment])] + [f.customers]
        )
    for f in files:
        sheet = book.create_sheet(sheets[f.segment])
        names, batches = _batches(folder / f.file)
        sheet.append([_xlsx_cell(_guard_name(n)) for n in names])
        for batch in batches:
            values = [_typed(batch.column(i)).to_pylist() for i in range(batch.num_columns)]
            for row in zip(*values, strict=True):
                sheet.append([_xlsx_cell(v) for v in row])
    book.save(sink)
    return [sheets[f.segment] for f in files]


def split_labeled_csv(
    source: str | os.PathLike[str] | bytes,
    dest: str | os.PathLike[str] | IO[bytes],
    kind: str | None = None,
) -> SplitReport:
    """Split a labeled CSV by its ``segment`` column.

    Parameters
    ----------
    source : path or bytes
        A labeled CSV (see :func:`segmentation.modeling.labeling.label_file`).
    dest : path or binary file-like
        A folder (one CSV per segment and :data:`MANIFEST`), a ``.zip`` of the same, or a
        ``.xlsx`` (a :data:`SUMMARY_SHEET` sheet, then a sheet per segment). A path is
        written atomically: nothing appears at ``dest`` until every file is complete, and
        on an error nothing is left behind. A stream takes a zip or a workbook.
    kind : {"dir", "zip", "xlsx"}, optional
        Taken from ``dest`` when it is a path (:func:`check_target`); required for a stream.

    Returns
    -------
    SplitReport
        Each segment's name, cluster, file (or sheet) and number of customers, in cluster
        order. Files are named by :func:`safe_file_names`, sheets by :func:`sheet_names`.

    Raises
    ------
    DataError
        When the table has no ``segment`` column or no rows, when a segment has more
        customers than an Excel sheet holds (ask for a zip), or the folder cannot be used.
    """
    is_path = isinstance(dest, str | os.PathLike)
    if is_path:
        kind = check_target(dest)
        dest = Path(dest)
    elif kind not in ("zip", "xlsx"):
        raise ValueError("a stream takes kind='zip' or kind='xlsx'")
    work = _work_folder(dest if is_path else None)
    try:
        files = _split_to_folder(source, work)
        if kind == "dir":
            _commit_folder(work, dest)
        elif kind == "zip":
            with open_output(dest) as sink:
                _write_zip(work, files, sink)
        else:
            with open_output(dest) as sink:
                shown = _write_xlsx(work, files, sink)
            for f, sheet in zip(files, shown, strict=True):
                f.file = sheet
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SplitReport(kind, files)


def split_to_bytes(source: str | os.PathLike[str] | bytes, kind: str) -> bytes:
    """:func:`split_labeled_csv` into memory: the bytes of a ``"zip"`` or ``"xlsx"``, for a
    download button."""
    buffer = io.BytesIO()
    split_labeled_csv(source, buffer, kind)
    return buffer.getvalue()


def segment_csv_bytes(labeled, segment: str) -> bytes:
    """One segment's customers of a labeled table (a DataFrame) as a formula-safe CSV."""
    from segmentation.data.write import to_csv_bytes

    return to_csv_bytes(labeled[labeled["segment"] == segment])
