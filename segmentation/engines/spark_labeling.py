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

import os
import re
import sys
import uuid
from collections.abc import Mapping

import numpy as np

from segmentation.data.checks import LARGEST_NUMBER
from segmentation.data.read import (
    _DMY,
    _DMY_PARTS,
    _ISO_DATE,
    _NUMBER_NOISE,
    _TIME_FORMATS,
    _US_GROUPED,
)
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
#: White space as Python's ``str.strip`` sees it (Unicode spaces included), for Spark's trim.
_SPACES = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
#: The characters of a plain number: a cell made of these alone is tried as one directly.
_NUMBER_CHARS = "0123456789.eE+-"
#: The local reader's optional times of ``YYYY/MM/DD`` and ``DD/MM/YYYY`` dates
#: (``_TIME_FORMATS``), each as (the text it matches, Spark's pattern).
_TIMES = tuple(
    (
        time.replace("%H", "[0-9]{1,2}").replace("%M", "[0-9]{2}").replace("%S", "[0-9]{2}"),
        time.replace("%H", "H").replace("%M", "mm").replace("%S", "ss"),
    )
    for time in _TIME_FORMATS
)
_TEMP = "__seg_"


def _functions():
    from pyspark.sql import functions

    return functions


# -- cells -------------------------------------------------------------------------------
# Each reading rule is a chain of steps, each step a function of the previous step's column.
# The steps become successive projections, so an intermediate value used twice is computed
# once (nesting them as one expression would repeat it, and the repeats multiply).


def _text_steps(F) -> list:
    """A cell as stripped text, then null when it is a missing-value token (any case)."""
    return [
        lambda cell: F.trim(cell.cast("string"), F.lit(_SPACES)),
        lambda text: F.when(~F.lower(text).isin(sorted(NA_LOWER)), text),
    ]


def _number_steps(F, kind) -> list:
    """A numeric cell as a double, null when missing or not a usable number.

    Text follows :func:`segmentation.data.read.read_table`: currency signs, ``%`` and
    spaces dropped, accounting parentheses negative, ``1,234.5`` grouped; infinities and
    magnitudes above :data:`~segmentation.data.checks.LARGEST_NUMBER` are not usable.
    """
    from pyspark.sql.types import NumericType

    usable = [lambda value: F.when(F.abs(value) <= LARGEST_NUMBER, value)]
    if isinstance(kind, NumericType):
        return [lambda cell: cell.cast("double"), *usable]
    # Most cells are plain numbers: read at once; only the others (null from then on for
    # the plain ones, which every later step passes through untouched) are cleaned.
    return [
        *_text_steps(F),
        lambda text: F.struct(
            # Java reads such text by the grammar of _DECIMAL (no "d" suffix, hex or
            # "Infinity" can be spelled with these characters).
            F.when(F.translate(text, _NUMBER_CHARS, "") == "", text.cast("double")).alias("plain"),
            text.alias("text"),
        ),
        lambda read: F.struct(
            read["plain"].alias("plain"),
            F.when(read["plain"].isNull(), read["text"]).alias("text"),
        ),
        *(_cleaned(F, step) for step in _cleaning_steps(F)),
        lambda read: F.coalesce(read["plain"], read["text"].cast("double")),
        *usable,
    ]


def _cleaning_steps(F) -> list:
    """What :func:`segmentation.data.read.read_table` does to a number written as text."""
    return [
        lambda text: F.regexp_replace(text, _NUMBER_NOISE, ""),
        lambda clean: F.when(
            clean.startswith("(") & clean.endswith(")"),
            F.concat(F.lit("-"), F.regexp_replace(clean, r"^\(|\)$", "")),
        ).otherwise(clean),
        lambda signed: F.when(
            signed.rlike(f"^({_US_GROUPED})$"), F.regexp_replace(signed, ",", "")
        ).otherwise(signed),
        lambda plain: F.when(plain.rlike(f"^({_DECIMAL})$"), plain),
    ]


def _cleaned(F, step):
    """A cleaning step applied to the ``text`` half of a ``(plain, text)`` struct."""
    return lambda read: F.struct(read["plain"].alias("plain"), step(read["text"]).alias("text"))


def _day_steps(F, kind, reference_us: int | None, day_first: bool) -> list:
    """A date cell as whole days (floored) before the model's reference date, a double."""
    from pyspark.sql.types import DateType, StringType, TimestampNTZType, TimestampType

    if reference_us is None or not isinstance(
        kind, TimestampType | TimestampNTZType | DateType | StringType
    ):
        return [lambda cell: F.lit(None).cast("double")]
    if isinstance(kind, StringType):
        order = "d{0}M{0}yyyy" if day_first else "M{0}d{0}yyyy"
        shapes = [(r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", "yyyy/M/d")] + [
            (rf"[0-9]{{1,2}}[{sep}][0-9]{{1,2}}[{sep}][0-9]{{4}}", order.format(sep))
            for sep in "-/."
        ]

        def stamp(text):
            # The local reader's order: ISO first, then the explicit shapes.
            parsed = [
                F.when(text.rlike(f"^{shape}{time}$"), F.to_timestamp(text, pattern + clock))
                for shape, pattern in shapes
                for time, clock in _TIMES
            ]
            return F.coalesce(
                F.when(text.rlike(f"^({_ISO_DATE})$"), text.cast("timestamp")), *parsed
            )

        reading = [*_text_steps(F), stamp]
    else:
        reading = [lambda cell: cell.cast("timestamp")]
    return [
        *reading,
        lambda when: F.lit(reference_us) - F.unix_micros(when),
        # Floor division on whole numbers (a double quotient could round across a day).
        lambda micros: ((micros - F.pmod(micros, F.lit(US_PER_DAY))) / F.lit(US_PER_DAY)).cast(
            "double"
        ),
    ]


def _category_steps(F, kind) -> list:
    """A category cell as the text it compares as (see ``rules.category_text``)."""
    from pyspark.sql.types import DoubleType, FloatType

    steps = _text_steps(F)
    if isinstance(kind, DoubleType | FloatType):
        steps.insert(
            0,
            lambda cell: F.when(cell == F.floor(cell), cell.cast("long").cast("string")).otherwise(
                cell.cast("string")
            ),
        )
    return steps


def _run_steps(df, chains: dict[str, tuple[str, list]]):
    """``df`` with a column ``__seg_<key>`` per chain: its source column through its steps,
    one projection per step depth."""
    F = _functions()
    current = {key: F.col(f"`{source}`") for key, (source, _) in chains.items()}
    depth = max((len(steps) for _, steps in chains.values()), default=0)
    for level in range(depth):
        added = {}
        for key, (_, steps) in chains.items():
            if level < len(steps):
                name = f"{_TEMP}{key}_{level}"
                added[name] = steps[level](current[key])
                current[key] = F.col(name)
        df = df.withColumns(added)
    return df.withColumns({f"{_TEMP}{key}": column for key, column in current.items()})


def day_first_columns(df, columns: list[str]) -> dict[str, bool]:
    """Whether each text date column's ``04/09/2012`` values are day-first, decided from
    the whole column as :func:`segmentation.data.read.parse_datetimes` does (one pass)."""
    from pyspark.sql.types import StringType

    F = _functions()
    text_columns = [c for c in columns if isinstance(df.schema[c].dataType, StringType)]
    if not text_columns:
        return {}
    df = _run_steps(df, {f"t{i}": (c, _text_steps(F)) for i, c in enumerate(text_columns)})
    aggregates = []
    for i in range(len(text_columns)):
        text = F.col(f"{_TEMP}t{i}")
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

    # Stage 1: each feature as the model sees it, computed once (not once per centre).
    chains = {}
    for j, name in enumerate(labeler.numeric):
        source = found[name]
        if name in labeler.dates:
            steps = _day_steps(F, kinds[source], labeler.reference_us, day_first.get(source, True))
        else:
            steps = _number_steps(F, kinds[source])
        fill, center, scale = (float(v[j]) for v in (labeler.fill, labeler.center, labeler.scale))
        steps.append(lambda value, fill=fill: F.coalesce(value, F.lit(fill)))
        if labeler.log[j]:
            steps.append(lambda value: F.signum(value) * F.log1p(F.abs(value)))
        steps.append(lambda value, c=center, s=scale: (value - F.lit(c)) / F.lit(s))
        chains[f"x{j}"] = (source, steps)
    for i, (name, cats, fill) in enumerate(labeler.categorical):
        source = found[name]
        # The category's position in the fitted ones, from 1; 0 for an unseen one.
        known = F.array(*(F.lit(c) for c in cats)) if cats else F.array().cast("array<string>")
        steps = _category_steps(F, kinds[source])
        steps.append(
            lambda text, known=known, fill=fill: F.array_position(
                known, F.coalesce(text, F.lit(fill))
            ).cast("int")
        )
        chains[f"c{i}"] = (source, steps)
    staged = _run_steps(df, chains).select(
        *(F.col(f"`{c}`") for c in kept), *(F.col(f"{_TEMP}{key}") for key in chains)
    )

    # Stage 2: the exact squared distance to every centre, term by term.
    terms = _distance_terms(labeler)
    scored = staged.select(
        "*", *(F.expr(term).alias(f"{_TEMP}d{c}") for c, term in enumerate(terms))
    )
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


def _double(value: float) -> str:
    """A double as Spark SQL text that reads back as the same double (``repr`` is the
    shortest text that round-trips; Java parses it correctly rounded)."""
    return f"({float(value)!r}D)"


def _distance_terms(labeler) -> list[str]:
    """Per centre, the squared distance of a row to it as Spark SQL text.

    Nearest centre: the numeric terms ``(x_j - c_j)^2`` in column order, then each one-hot
    block's sum of squares, a constant per category (precomputed from the centre and the
    block weight; an unseen category is the block of zeros) looked up by the category's
    position. Nearest prototype (k-prototypes): the numeric terms plus gamma for every
    category unlike the prototype's (an unseen one is unlike all). Text, not Column
    objects: a few calls into the JVM instead of thousands.
    """
    p = len(labeler.numeric)
    terms = []
    for center in np.asarray(labeler.centers, dtype=float):
        parts = [f"POWER({_TEMP}x{j} - {_double(center[j])}, 2)" for j in range(p)]
        offset = p
        for i, (_, cats, _) in enumerate(labeler.categorical):
            code = f"{_TEMP}c{i}"
            if labeler.assign_by == NEAREST_PROTOTYPE:
                # Prototype codes are 0-based positions; ours are 1-based, 0 unseen.
                same = f"{code} - 1 = {int(center[p + i])}"
                parts.append(f"IF({same}, 0.0D, {_double(labeler.gamma)})")
                continue
            weight = float(labeler.weight[i])
            values = center[offset : offset + len(cats)]
            offset += len(cats)
            squared = float((values * values).sum())
            # The set column is w, the others 0: (w - c_k)^2 replaces c_k^2.
            by_code = [squared - v * v + (weight - v) ** 2 for v in values] + [squared]
            lookup = ", ".join(_double(v) for v in by_code)
            parts.append(f"element_at(array({lookup}), IF({code} = 0, {len(cats) + 1}, {code}))")
        terms.append(" + ".join(parts) if parts else "0.0D")
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
    written = write_parquet(spark, labeled, dest)
    counts = spark.read.parquet(written).groupBy("cluster").count().collect()
    by_id = {int(row["cluster"]): int(row["count"]) for row in counts}
    return {labeler.names[c]: by_id[c] for c in sorted(by_id)}


def write_parquet(spark, df, dest: str) -> str:
    """Write ``df`` as a Parquet folder at ``dest`` so that no reader sees half of it.

    The folder is written beside ``dest`` under a temporary name, then renamed into place
    (through Hadoop's file system, so ``s3a://``, ``gs://`` and ``abfss://`` paths work);
    an earlier Spark output at ``dest`` is replaced, anything else there is refused.

    Returns
    -------
    str
        Where it was written (a local ``dest`` made absolute).

    Raises
    ------
    SegmentationError
        When ``dest`` is a file, or a folder that is not an earlier Parquet output.
    """
    jvm = spark._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
    conf = spark._jsc.hadoopConfiguration()  # noqa: SLF001
    if "://" not in dest:  # the JVM resolves a relative path against its own start folder
        dest = os.path.abspath(dest)
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
    return dest


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
