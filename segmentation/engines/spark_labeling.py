"""Labeling and training samples on Spark, from the saved model's own fitted numbers.

:func:`label_columns` compiles a :class:`~segmentation.modeling.labeling.CompiledLabeler`
(the numeric form of the fitted pipeline a store version keeps as ``labeler.npz``) into
Spark SQL expressions: the reading rules of :mod:`segmentation.data.rules` and
:mod:`segmentation.data.read` (missing-value tokens in any case or spacing, thousands
separators, currency signs, dates as whole days before the model's reference date), the
imputation values, signed logs, scaler centres and scales, the weighted one-hot blocks,
then the exact squared distance to every centre and the first smallest (numpy's argmin).
Everything runs in the JVM: no Python worker is started, and no number is written twice.

What the local reader decides from a whole column rather than a cell is handled as
follows: day-first or month-first dates are decided from the whole column as locally
(one aggregate); ``,`` is always a thousands separator and ``.`` the decimal mark (the
local reader may decide otherwise for a column full of ``1.234,5``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from segmentation.data.checks import LARGEST_NUMBER
from segmentation.data.read import _DMY, _DMY_PARTS, _ISO_DATE, _NUMBER_NOISE, _US_GROUPED
from segmentation.data.rules import (
    DISTANCE_DECIMALS,
    LABEL_COLUMNS,
    NA_LOWER,
    OUTPUT_COLUMNS,
    match_columns,
)
from segmentation.errors import SchemaError, SegmentationError
from segmentation.modeling.algorithms import NEAREST_CENTROID, NEAREST_PROTOTYPE
from segmentation.modeling.transforms import US_PER_DAY

__all__ = ["label_columns", "label_table", "sample_customers", "write_parquet"]

#: What a cell must look like, once cleaned, to be read as a number (what ``pd.to_numeric``
#: accepts, less the spellings of infinity and NaN, which are unusable anyway).
_DECIMAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
#: Surrounding white space as Python's ``str.strip`` sees it (Unicode spaces included).
_EDGE_SPACE = r"(?U)^\s+|\s+$"
#: The optional times of the local reader's ``YYYY/MM/DD`` and ``DD/MM/YYYY`` shapes.
_TIMES = (
    ("", ""),
    (" [0-9]{1,2}:[0-9]{2}", " H:mm"),
    (" [0-9]{1,2}:[0-9]{2}:[0-9]{2}", " H:mm:ss"),
)
_TEMP = "__seg_"


def _functions():
    from pyspark.sql import functions

    return functions


# -- cells -------------------------------------------------------------------------------
def _text(F, column):
    """A cell as stripped text, null when it is a missing-value token (any case)."""
    text = F.regexp_replace(column.cast("string"), _EDGE_SPACE, "")
    return F.when(~F.lower(text).isin(sorted(NA_LOWER)), text)


def _number(F, column, kind) -> Any:
    """A numeric cell as a double, null when missing or not a usable number.

    Text follows :func:`segmentation.data.read.read_table`: currency signs, ``%`` and
    spaces dropped, accounting parentheses negative, ``1,234.5`` grouped; infinities and
    magnitudes above :data:`~segmentation.data.checks.LARGEST_NUMBER` are not usable.
    """
    from pyspark.sql.types import NumericType

    if isinstance(kind, NumericType):
        value = column.cast("double")
    else:
        cleaned = F.regexp_replace(_text(F, column), _NUMBER_NOISE, "")
        accounting = cleaned.startswith("(") & cleaned.endswith(")")
        cleaned = F.when(
            accounting, F.concat(F.lit("-"), F.regexp_replace(cleaned, r"^\(|\)$", ""))
        ).otherwise(cleaned)
        cleaned = F.when(
            cleaned.rlike(f"^({_US_GROUPED})$"), F.regexp_replace(cleaned, ",", "")
        ).otherwise(cleaned)
        value = F.when(cleaned.rlike(f"^({_DECIMAL})$"), cleaned.cast("double"))
    return F.when(F.abs(value) <= LARGEST_NUMBER, value)


def _days(F, column, kind, reference_us: int | None, day_first: bool) -> Any:
    """Whole days (floored) from a date cell to the model's reference date, as a double."""
    from pyspark.sql.types import DateType, StringType, TimestampNTZType, TimestampType

    if reference_us is None:
        return F.lit(None).cast("double")
    if isinstance(kind, TimestampType | TimestampNTZType | DateType):
        stamp = column.cast("timestamp")
    elif isinstance(kind, StringType):
        text = _text(F, column)
        order = "d{0}M{0}yyyy" if day_first else "M{0}d{0}yyyy"
        shapes = [(r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", "yyyy/M/d")] + [
            (rf"[0-9]{{1,2}}[{sep}][0-9]{{1,2}}[{sep}][0-9]{{4}}", order.format(sep))
            for sep in "-/."
        ]
        parsed = [
            F.when(text.rlike(f"^{shape}{time}$"), F.to_timestamp(text, pattern + clock))
            for shape, pattern in shapes
            for time, clock in _TIMES
        ]
        iso = F.when(text.rlike(f"^({_ISO_DATE})$"), text.cast("timestamp"))
        stamp = F.coalesce(iso, *parsed)
    else:
        return F.lit(None).cast("double")
    micros = F.lit(reference_us) - F.unix_micros(stamp)
    # Floor division on whole numbers (a double quotient could round across a day).
    return ((micros - F.pmod(micros, F.lit(US_PER_DAY))) / F.lit(US_PER_DAY)).cast("double")


def _category(F, column, kind) -> Any:
    """A category cell as the text it compares as (see ``rules.category_text``)."""
    from pyspark.sql.types import DoubleType, FloatType

    if isinstance(kind, DoubleType | FloatType):
        whole = column == F.floor(column)
        column = F.when(whole, column.cast("long").cast("string")).otherwise(column.cast("string"))
    return _text(F, column)


def day_first_columns(df, columns: list[str]) -> dict[str, bool]:
    """Whether each text date column's ``04/09/2012`` values are day-first, decided from
    the whole column as :func:`segmentation.data.read.parse_datetimes` does (one pass)."""
    from pyspark.sql.types import StringType

    F = _functions()
    text_columns = [c for c in columns if isinstance(df.schema[c].dataType, StringType)]
    if not text_columns:
        return {}
    aggregates = []
    for i, column in enumerate(text_columns):
        text = _text(F, F.col(column))
        shaped = F.when(text.rlike(f"^({_DMY})$"), text)
        for part, group in (("first", 1), ("second", 3)):
            value = F.regexp_extract(shaped, re.sub(r"\?P<\w+>", "", _DMY_PARTS), group)
            aggregates.append(F.max(value.cast("long")).alias(f"{part}{i}"))
    row = df.agg(*aggregates).collect()[0]
    out = {}
    for i, column in enumerate(text_columns):
        first, second = row[f"first{i}"], row[f"second{i}"]
        out[column] = first is None or first > 12 or second <= 12
    return out


# -- the model ---------------------------------------------------------------------------
def _check_compilable(labeler) -> None:
    from segmentation.modeling.labeling import CompiledLabeler

    if not isinstance(labeler, CompiledLabeler):
        raise SegmentationError(
            "this model's algorithm labels new customers in a way the Spark engine cannot "
            "compile; label it with --engine local"
        )
    if labeler.assign_by not in (NEAREST_CENTROID, NEAREST_PROTOTYPE):
        raise SegmentationError(
            f"the Spark engine labels by nearest centre or prototype; this model assigns "
            f"customers by {labeler.assign_by.replace('_', ' ')} (a Gaussian mixture): "
            "label it with --engine local"
        )


def label_columns(
    df,
    labeler,
    *,
    mapping: Mapping[str, str] | None = None,
    day_first: Mapping[str, bool] | None = None,
    exact_distance: bool = False,
):
    """Add ``cluster``, ``segment`` and ``cluster_distance`` to a Spark DataFrame.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Customers, one per row: CSV cells as text (see
        :func:`segmentation.engines.spark.read_table`) or typed Parquet columns.
    labeler : CompiledLabeler
        A store version's labeler (:meth:`~segmentation.store.ModelStore.load_labeler`).
    mapping : dict, optional
        ``{model column: table column}`` for columns matched by hand.
    day_first : dict, optional
        ``{table column: bool}`` for text date columns (default: decided from the data by
        :func:`day_first_columns`, one extra pass).
    exact_distance : bool, default=False
        Keep ``cluster_distance`` unrounded (tests); by default it is rounded to
        :data:`~segmentation.data.rules.DISTANCE_DECIMALS` decimals as locally.

    Returns
    -------
    pyspark.sql.DataFrame
        ``df``'s columns (but for ones named like the labels, which are replaced) followed
        by ``cluster`` (long), ``segment`` (string) and ``cluster_distance`` (double).

    Raises
    ------
    SchemaError
        When the table lacks columns the model needs.
    SegmentationError
        When the model assigns customers other than by the nearest centre or prototype.
    """
    _check_compilable(labeler)
    F = _functions()
    found, missing = match_columns(
        df.columns, labeler.features, renames=labeler.renames, mapping=mapping
    )
    if missing:
        raise SchemaError(
            f"the table lacks column(s) the model needs: {', '.join(missing)}; "
            "rename them in the file or match them by hand"
        )
    kinds = {field.name: field.dataType for field in df.schema.fields}
    date_columns = [found[c] for c in labeler.dates if c in labeler.numeric]
    if day_first is None:
        day_first = day_first_columns(df, date_columns)
    kept = [c for c in df.columns if c not in LABEL_COLUMNS]

    # Stage 1: each feature as the model sees it (a new projection, so Spark computes each
    # once rather than once per centre).
    features = []
    for j, name in enumerate(labeler.numeric):
        column, source = F.col(f"`{found[name]}`"), found[name]
        if name in labeler.dates:
            value = _days(
                F, column, kinds[source], labeler.reference_us, day_first.get(source, True)
            )
        else:
            value = _number(F, column, kinds[source])
        value = F.coalesce(value, F.lit(float(labeler.fill[j])))
        if labeler.log[j]:
            value = F.signum(value) * F.log1p(F.abs(value))
        value = (value - F.lit(float(labeler.center[j]))) / F.lit(float(labeler.scale[j]))
        features.append(value.alias(f"{_TEMP}x{j}"))
    for i, (name, _cats, fill) in enumerate(labeler.categorical):
        text = _category(F, F.col(f"`{found[name]}`"), kinds[found[name]])
        features.append(F.coalesce(text, F.lit(fill)).alias(f"{_TEMP}c{i}"))
    staged = df.select(*(F.col(f"`{c}`") for c in kept), *features)

    # Stage 2: the exact squared distance to every centre, term by term.
    terms = _distance_terms(F, labeler)
    scored = staged.select("*", *(term.alias(f"{_TEMP}d{c}") for c, term in enumerate(terms)))
    # Stage 3: the first smallest distance (numpy's argmin breaks ties by the lowest id).
    d2 = [F.col(f"{_TEMP}d{c}") for c in range(len(terms))]
    nearest = F.least(*d2) if len(d2) > 1 else d2[0]
    chosen = F.when(d2[0] == nearest, F.lit(0))
    for c in range(1, len(d2)):
        chosen = chosen.when(d2[c] == nearest, F.lit(c))
    distance = F.sqrt(F.greatest(nearest, F.lit(0.0)))
    if not exact_distance:
        # np.round(x, 6) is rint(x * 1e6) / 1e6: the same steps give the same double.
        scale = float(10**DISTANCE_DECIMALS)
        distance = F.rint(distance * F.lit(scale)) / F.lit(scale)
    names = F.array(*(F.lit(n) for n in labeler.names))
    labeled = scored.select(
        *(F.col(f"`{c}`") for c in kept),
        chosen.cast("long").alias("cluster"),
        distance.alias("cluster_distance"),
    )
    return labeled.select(
        *(F.col(f"`{c}`") for c in kept),
        "cluster",
        F.element_at(names, F.col("cluster").cast("int") + 1).alias("segment"),
        "cluster_distance",
    ).select(*(F.col(f"`{c}`") for c in kept), *OUTPUT_COLUMNS)


def _distance_terms(F, labeler) -> list:
    """Per centre, the squared distance of a row to it as one Spark expression.

    Nearest centre: the numeric terms ``(x_j - c_j)^2`` in column order, then each one-hot
    block's sum of squares, a constant per category (precomputed from the centre and the
    block weight; an unseen category is the block of zeros). Nearest prototype
    (k-prototypes): the numeric terms plus gamma for every category unlike the prototype's.
    """
    p = len(labeler.numeric)
    terms = []
    for center in np.asarray(labeler.centers, dtype=float):
        total = None
        for j in range(p):
            diff = F.col(f"{_TEMP}x{j}") - F.lit(float(center[j]))
            total = diff * diff if total is None else total + diff * diff
        offset = p
        for (
            i,
            (_, cats, _),
        ) in enumerate(labeler.categorical):
            text = F.col(f"{_TEMP}c{i}")
            if labeler.assign_by == NEAREST_PROTOTYPE:
                code = float(center[p + i])
                known = [cat for k, cat in enumerate(cats) if float(k) == code]
                same = text.isin(known) if known else F.lit(False)
                block = F.when(same, F.lit(0.0)).otherwise(F.lit(float(labeler.gamma)))
            else:
                weight = float(labeler.weight[i])
                values = center[offset : offset + len(cats)]
                offset += len(cats)
                squared = float((values * values).sum())
                block = F.lit(squared)  # an unseen category: every column 0
                cases = None
                for k, cat in enumerate(cats):
                    # The set column is w, the others 0: (w - c_k)^2 replaces c_k^2.
                    value = float(squared - values[k] * values[k] + (weight - values[k]) ** 2)
                    cases = (
                        F.when(text == F.lit(cat), F.lit(value))
                        if cases is None
                        else cases.when(text == F.lit(cat), F.lit(value))
                    )
                if cases is not None:
                    block = cases.otherwise(block)
            total = block if total is None else total + block
        terms.append(total if total is not None else F.lit(0.0))
    return terms


# -- tables in, tables out ------------------------------------------------------------------
def label_table(
    spark,
    source: str,
    labeler,
    dest: str,
    *,
    mapping: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Label a CSV or Parquet file or folder into a Parquet folder, atomically.

    Returns
    -------
    dict
        ``{segment name: customers}``.
    """
    from segmentation.engines.spark import read_table

    _check_compilable(labeler)
    labeled = label_columns(read_table(spark, source), labeler, mapping=mapping)
    write_parquet(spark, labeled, dest)
    counts = spark.read.parquet(dest).groupBy("cluster").count().collect()
    by_id = {int(row["cluster"]): int(row["count"]) for row in counts}
    return {labeler.names[c]: by_id[c] for c in sorted(by_id)}


def write_parquet(spark, df, dest: str) -> None:
    """Write ``df`` as a Parquet folder at ``dest`` so that no reader sees half of it.

    The folder is written beside ``dest`` under a temporary name, then renamed into place
    (through Hadoop's file system, so ``s3a://``, ``gs://`` and ``abfss://`` paths work);
    an earlier Spark output at ``dest`` is replaced, anything else there is refused.

    Raises
    ------
    SegmentationError
        When ``dest`` is a file, or a folder that is not an earlier Parquet output.
    """
    jvm = spark._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
    conf = spark._jsc.hadoopConfiguration()  # noqa: SLF001
    target = jvm.org.apache.hadoop.fs.Path(dest)
    fs = target.getFileSystem(conf)
    if fs.exists(target):
        if not fs.getFileStatus(target).isDirectory():
            raise SegmentationError(f"--out {dest!r} is a file; give a folder for the Parquet")
        if not fs.exists(jvm.org.apache.hadoop.fs.Path(target, "_SUCCESS")) and len(
            fs.listStatus(target)
        ):
            raise SegmentationError(
                f"--out {dest!r} is a folder that holds something other than an earlier "
                "labeled output; give a new folder"
            )
    parent = target.getParent()
    temp = jvm.org.apache.hadoop.fs.Path(parent, f".{target.getName()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        df.write.mode("errorifexists").parquet(temp.toString())
        old = None
        if fs.exists(target):
            old = jvm.org.apache.hadoop.fs.Path(
                parent, f".{target.getName()}.old.{uuid.uuid4().hex[:8]}"
            )
            fs.rename(target, old)
        if not fs.rename(temp, target):
            if old is not None:
                fs.rename(old, target)
            raise SegmentationError(f"could not move the labeled output into {dest!r}")
        if old is not None:
            fs.delete(old, True)
    finally:
        if fs.exists(temp):
            fs.delete(temp, True)


def sample_customers(df, n: int, seed: int):
    """A seeded sample of ``n`` rows (all of them when there are fewer), as pandas.

    Rows are ranked by a hash of their values and the seed, so the sample is the same
    however the file is split into partitions (``local[2]`` or a cluster). A sample of
    CSV text is typed by :func:`segmentation.data.read.read_table`, as the file would be.

    Returns
    -------
    sample : pandas.DataFrame
    total : int
        Rows in ``df``.
    """
    from pyspark.sql.types import StringType

    from segmentation.data.read import read_table

    F = _functions()
    total = df.count()
    key = F.xxhash64(*(F.col(f"`{c}`") for c in df.columns), F.lit(int(seed)))
    picked = df.withColumn(f"{_TEMP}key", key).orderBy(f"{_TEMP}key").limit(int(n))
    frame = picked.drop(f"{_TEMP}key").toPandas()
    if len(frame) and all(isinstance(f.dataType, StringType) for f in df.schema.fields):
        text = frame.to_csv(index=False).encode("utf-8")
        frame = read_table(text, max_bytes=len(text) + 1)
    return frame, total
