"""Labeling large files fast: Arrow in, the fitted pipeline applied column by column, Arrow out.

The fitted scikit-learn ``ColumnTransformer`` stays the single source of truth: the
:class:`CompiledModel` here reads its fitted statistics (imputation values, log flags,
scaler centres and scales, one-hot categories) and applies them with numpy on Arrow
columns, without converting pass-through columns to Python objects. A test checks it
gives the same clusters and distances as ``SegmentationModel.predict``. Anything the fast
path cannot take as it is (a numeric column holding text, an odd file) goes through the
general path: :func:`segmentation.data.read.read_table`, ``predict``, :func:`write_csv`.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from segmentation.data.read import NA_TOKENS, read_table, zero_padded_columns
from segmentation.data.schema import FeatureReport, match_columns
from segmentation.data.write import FORMULA_PREFIXES, write_csv
from segmentation.modeling.estimator import DISTANCE_DECIMALS, OUTPUT_COLUMNS, SegmentationModel
from segmentation.modeling.preprocess import signed_log1p

#: Rows computed and written at a time when a file is read whole.
CHUNK_ROWS = 250_000
#: The general reader's NA tokens in the spellings a file is likely to use (pyarrow
#: matches them exactly, the general reader ignores case).
_ARROW_NULLS = sorted({v for t in NA_TOKENS for v in (t, t.lower(), t.upper(), t.title())})

#: Bytes of CSV parsed per block when a file is streamed.
STREAM_BLOCK_BYTES = 1 << 20

Progress = Callable[[int, int], None]


class _NotFast(Exception):
    """The fast path cannot take this input as it is; use the general path."""


@dataclass
class _Block:
    """One group of the ColumnTransformer: columns and how each is transformed."""

    columns: list[str]
    fill: np.ndarray
    log: bool
    center: np.ndarray
    scale: np.ndarray


@dataclass
class CompiledModel:
    """The fitted preprocessing and centroids of a model, as plain arrays.

    Built by :meth:`from_model`; :meth:`assign` labels a batch of Arrow columns.
    """

    numeric: list[_Block]
    categorical: list[tuple[str, list[str], str]]
    centers_numeric: np.ndarray
    centers_onehot: list[np.ndarray]
    date_columns: set[str]
    reference_date: pd.Timestamp | None
    names: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))

    @classmethod
    def from_model(cls, model: SegmentationModel) -> CompiledModel:
        """Read the fitted statistics out of ``model.preprocessor_`` and ``model.kmeans_``."""
        pre = model.preprocessor_
        centers = model.kmeans_.cluster_centers_
        numeric, categorical, onehot_centers = [], [], []
        numeric_index: list[int] = []
        offset = 0
        for name, pipeline, columns in pre.transformers_:
            if name == "remainder" or pipeline == "drop":
                continue
            width = len(columns)
            if name == "categorical":
                imputer = pipeline.named_steps["impute"]
                encoder = pipeline.named_steps["onehot"]
                for i, column in enumerate(columns):
                    cats = [str(c) for c in encoder.categories_[i]]
                    categorical.append((column, cats, str(imputer.statistics_[i])))
                    onehot_centers.append(centers[:, offset : offset + len(cats)])
                    offset += len(cats)
                continue
            scaler = pipeline.named_steps["scale"]
            center = getattr(scaler, "mean_", None)
            if center is None:
                center = scaler.center_
            numeric.append(
                _Block(
                    columns=list(columns),
                    fill=np.asarray(pipeline.named_steps["impute"].statistics_, dtype=float),
                    log="log" in pipeline.named_steps,
                    center=np.asarray(center, dtype=float),
                    scale=np.asarray(scaler.scale_, dtype=float),
                )
            )
            numeric_index.extend(range(offset, offset + width))
            offset += width
        schema = model.schema_
        return cls(
            numeric=numeric,
            categorical=categorical,
            centers_numeric=centers[:, numeric_index],
            centers_onehot=onehot_centers,
            date_columns=set(schema.names("date")),
            reference_date=pd.Timestamp(schema.reference_date) if schema.reference_date else None,
            names=np.array([p.name for p in model.profiles_], dtype=object),
        )

    def assign(
        self, columns: dict[str, pa.ChunkedArray | pa.Array]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cluster id and distance to the centroid for one batch of rows.

        Parameters
        ----------
        columns : dict
            ``{model feature: Arrow column}`` of equal lengths.

        Raises
        ------
        _NotFast
            When a numeric feature holds text (it needs the general path's parsing).
        """
        n = len(next(iter(columns.values())))
        centers = self.centers_numeric
        k = centers.shape[0]
        # Squared distance to centre c, expanded: |x|^2 - 2 x.c + |c|^2, one row per
        # centre and one feature column at a time: skinny matrix products are slow on
        # some BLAS builds, while these vector operations stream through memory.
        d2 = np.empty((k, n))
        d2[:] = (centers**2).sum(axis=1)[:, None]
        x2 = np.zeros(n)
        j = 0
        for block in self.numeric:
            for i, column in enumerate(block.columns):
                values = self._numeric(column, columns[column])
                values = np.where(np.isnan(values), block.fill[i], values)
                if block.log:
                    values = signed_log1p(values)
                values -= block.center[i]
                values /= block.scale[i]
                x2 += values * values
                for c in range(k):
                    d2[c] -= (2 * centers[c, j]) * values
                j += 1
        for (column, cats, fill), lookup in zip(self.categorical, self._onehot_terms, strict=True):
            codes = self._codes(columns[column], cats, fill)
            # One-hot x: |x|^2 is 1 for a known category; -2 x.c + |c_block|^2 is a lookup.
            for c in range(k):
                d2[c] += lookup[codes, c]
            x2 += codes >= 0
        clusters = d2.argmin(axis=0)
        distances = np.sqrt(np.maximum(d2[clusters, np.arange(n)] + x2, 0.0))
        return clusters, distances

    @property
    def _onehot_terms(self) -> list[np.ndarray]:
        """Per categorical feature, ``(n_categories + 1, k)``: -2 c_j + |c_block|^2 for each
        category j, and |c_block|^2 alone in the last row for an unseen category (code -1)."""
        if not hasattr(self, "_terms"):
            self._terms = []
            for block_centers in self.centers_onehot:
                squared = (block_centers**2).sum(axis=1)
                known = -2 * block_centers.T + squared
                self._terms.append(np.vstack([known, squared]))
        return self._terms

    def _numeric(self, column: str, values: pa.ChunkedArray | pa.Array) -> np.ndarray:
        kind = values.type
        if column in self.date_columns:
            if not pa.types.is_timestamp(kind) and not pa.types.is_date(kind):
                raise _NotFast(column)
            stamps = pd.to_datetime(values.to_numpy(zero_copy_only=False))
            if self.reference_date is None:
                return np.full(len(values), np.nan)
            return (self.reference_date - stamps).days.to_numpy(dtype=float, na_value=np.nan)
        if pa.types.is_null(kind):
            return np.full(len(values), np.nan)
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise _NotFast(column)
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)

    @staticmethod
    def _codes(values: pa.ChunkedArray | pa.Array, cats: list[str], fill: str) -> np.ndarray:
        """Index of each row's category in ``cats``; missing -> the imputed one; unseen -> -1."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = values.dictionary_encode()
        dictionary = encoded.dictionary.to_pylist()
        lookup = {c: i for i, c in enumerate(cats)}
        fill_code = lookup.get(fill, -1)
        mapping = np.array(
            [lookup.get(_category_text(v), -1) for v in dictionary] + [fill_code], dtype=np.int64
        )
        indices = encoded.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
        return mapping[indices]


def _category_text(value: object) -> str:
    """The same text a category gets in ``prepare_features`` (1.0 reads as "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class LabelReport:
    """What labeling a file did.

    Attributes
    ----------
    n_rows : int
    fast : bool
        Whether the Arrow fast path was used (else the general path).
    report : FeatureReport
        Renamed columns, unparseable values; filled on the general path and for renames.
    segment_counts : dict
        ``{segment name: customers}``.
    """

    n_rows: int
    fast: bool
    report: FeatureReport
    segment_counts: dict[str, int]


def label_file(
    model: SegmentationModel,
    source: str | os.PathLike | bytes,
    dest: str | os.PathLike | io.IOBase,
    *,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> LabelReport:
    """Label a CSV file into a labeled CSV: the input columns plus cluster, segment, distance.

    Parameters
    ----------
    model : SegmentationModel
        A fitted model.
    source : path or bytes
        The customer table (CSV or .xlsx).
    dest : path or binary file-like
        Where the labeled CSV goes; a path is written atomically.
    mapping : dict, optional
        ``{model column: table column}`` for columns matched by hand.
    progress : callable, optional
        ``progress(rows_done, rows_total)``.

    Returns
    -------
    LabelReport
    """
    try:
        return _label_fast(model, source, dest, mapping=mapping, progress=progress)
    except _NotFast:
        pass
    data = read_table(source)
    prediction = model.predict(data, mapping=mapping, progress=progress)
    write_csv(prediction.join(data), dest)
    counts = prediction.labels["segment"].value_counts()
    return LabelReport(
        len(data), False, prediction.report, {str(k): int(v) for k, v in counts.items()}
    )


def _header(source: str | os.PathLike | bytes) -> tuple[list[str], int, set[str]]:
    """The column names of a clean comma-separated UTF-8 CSV and an estimate of its rows
    (from the first 64 KiB), or :class:`_NotFast` when the file needs the general reader's
    detection and cleaning."""
    if isinstance(source, bytes):
        head, size = source[:65536], len(source)
    else:
        path = Path(source)
        if not path.is_file() or path.suffix.lower() not in (".csv", ".txt", ""):
            raise _NotFast("not a plain CSV path")
        with open(path, "rb") as handle:
            head = handle.read(65536)
        size = path.stat().st_size
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if (
        not head
        or head.startswith((b"\xef\xbb\xbf", b"PK"))
        or b"," not in first_line
        or first_line.count(b";")
        or first_line.count(b"\t")
    ):
        raise _NotFast("needs delimiter/encoding detection")
    try:
        names = next(csv.reader([first_line.decode("utf-8")]))
    except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
        raise _NotFast("header not plain UTF-8 CSV") from exc
    if len(set(names)) != len(names) or any(n != n.strip() or not n for n in names):
        raise _NotFast("header needs cleaning")
    padded = zero_padded_columns(head.decode("utf-8", errors="ignore"), ",", names)
    lines_in_head = head.count(b"\n")
    if len(head) >= size:
        return names, max(lines_in_head - (0 if head.endswith(b"\n") else -1) - 1, 0), padded
    return names, int(size * max(lines_in_head - 1, 1) / len(head)), padded


def _batches(source, column_types: dict, *, streaming: bool):
    """Record batches of the file: streamed block by block (memory stays small), or read
    whole with every core and sliced (for bytes, and for destinations that cannot be
    rolled back if a later block turns out not to fit the first one's types)."""
    convert = pa_csv.ConvertOptions(
        null_values=_ARROW_NULLS, strings_can_be_null=True, column_types=column_types
    )
    try:
        if streaming:
            reader = pa_csv.open_csv(
                str(source),
                read_options=pa_csv.ReadOptions(block_size=STREAM_BLOCK_BYTES),
                convert_options=convert,
            )
            yield from reader
            return
        stream = pa.BufferReader(source) if isinstance(source, bytes) else str(source)
        table = pa_csv.read_csv(stream, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _NotFast(str(exc)) from exc
    yield from table.to_batches(max_chunksize=CHUNK_ROWS)


def _neutralize(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """OWASP CSV-injection guard on an Arrow text column (same rule as io.neutralize_formulas)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    pattern = "^[" + "".join("\\" + p if p in "-+" else p for p in FORMULA_PREFIXES) + "]"
    risky = pc.match_substring_regex(column, pattern)
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def _label_fast(model, source, dest, *, mapping, progress) -> LabelReport:
    names, estimated_rows, zero_padded = _header(source)
    found, missing = match_columns(pd.DataFrame(columns=names), model.schema_, mapping)
    if missing:
        raise _NotFast("missing columns: the general path raises the clear error")
    compiled = CompiledModel.from_model(model)
    compiled._onehot_terms  # noqa: B018 - build the lookups once, before the threads share them
    schema = model.schema_
    # Features are read as the types the model needs, so a float in a column whose first
    # block held only integers cannot stop the stream halfway.
    column_types = {found[f]: pa.float64() for f in schema.names("numeric")}
    column_types |= {found[f]: pa.string() for f in schema.categorical}
    # Codes written with leading zeros (IDs, postcodes) pass through as the text they are.
    column_types |= {c: pa.string() for c in zero_padded if c not in column_types}
    streaming = (
        not isinstance(source, bytes) and isinstance(dest, str | os.PathLike) and str(dest) != "-"
    )
    segment_names = pa.array(compiled.names.tolist(), type=pa.string())
    counts = np.zeros(len(compiled.names), dtype=np.int64)

    def label_batch(batch: pa.RecordBatch) -> tuple[pa.Table, pa.Buffer, np.ndarray]:
        clusters, distances = compiled.assign(
            {feature: batch.column(column) for feature, column in found.items()}
        )
        kept = [i for i, name in enumerate(batch.schema.names) if name not in OUTPUT_COLUMNS]
        segment = pa.DictionaryArray.from_arrays(
            pa.array(clusters, type=pa.int32()), segment_names
        ).cast(pa.string())
        columns = [_neutralize(batch.column(i)) for i in kept]
        columns += [pa.array(clusters), segment, pa.array(np.round(distances, DISTANCE_DECIMALS))]
        out_names = [_neutralize_name(batch.schema.names[i]) for i in kept]
        table = pa.table(columns, names=[*out_names, *OUTPUT_COLUMNS])
        # Formatting the CSV is the costliest step (the output is larger than the input),
        # so every batch is formatted here, in parallel, and only written in order.
        text = pa.BufferOutputStream()
        pa_csv.write_csv(table, text, write_options=pa_csv.WriteOptions(include_header=False))
        return table.schema, text.getvalue(), np.bincount(clusters, minlength=len(counts))

    # Three stages overlap: this thread reads (pyarrow parses without the GIL), a pool
    # labels and formats batches, a writer thread writes them; a few batches in flight.
    written = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def write_all(sink) -> None:
        try:
            while (text := written.get()) is not None:
                sink.write(text)
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)
            while written.get() is not None:
                pass

    with _csv_sink(dest) as sink, ThreadPoolExecutor(max_workers=2) as pool:
        writer_thread = threading.Thread(target=write_all, args=(sink,), daemon=True)
        writer_thread.start()
        try:
            rows = 0
            for schema, text, chunk_counts in _in_order(
                pool, label_batch, _batches(source, column_types, streaming=streaming)
            ):
                if failure:
                    break
                if rows == 0:
                    header = pa.BufferOutputStream()
                    pa_csv.write_csv(schema.empty_table(), header)
                    written.put(header.getvalue())
                written.put(text)
                counts += chunk_counts
                rows = int(counts.sum())
                if progress:
                    # Streaming does not know the row count: it is estimated from the size.
                    progress(rows, max(rows, estimated_rows))
        finally:
            written.put(None)
            writer_thread.join()
        if failure:
            raise failure[0]
        if rows == 0:
            raise _NotFast("empty")
    report = FeatureReport(renamed={m: t for m, t in found.items() if m != t})
    return LabelReport(
        rows, True, report, {str(compiled.names[i]): int(c) for i, c in enumerate(counts) if c}
    )


def _neutralize_name(name: str) -> str:
    return "'" + name if name.startswith(FORMULA_PREFIXES) else name


def _in_order(pool: ThreadPoolExecutor, fn, items, ahead: int = 2):
    """Like ``pool.map`` but with at most ``ahead`` results waiting: ``map`` submits every
    chunk at once, and finished chunks would pile up in memory faster than they are written."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@contextmanager
def _csv_sink(dest):
    """A binary sink for ``dest``; a path is written to a temporary file and renamed into
    place only when everything was written (atomic: never a half-written file)."""
    if not isinstance(dest, str | os.PathLike):
        yield dest
        return
    if str(dest) == "-":
        yield sys.stdout.buffer
        return
    path = Path(dest)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
