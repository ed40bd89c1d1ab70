"""The Spark engine's session and table reading; pyspark is an optional dependency."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from segmentation.errors import SegmentationError

__all__ = ["DEFAULT_MASTER", "customers_from_log", "read_table", "session", "unavailable_reason"]

#: The master used when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"

#: Lines read to detect a CSV's delimiter (the reader looks at about 50).
_SNIFF_LINES = 50


def unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here, or None when it can.

    Returns
    -------
    str or None
        A sentence saying what to install, or None when pyspark imports and a Java
        runtime is on PATH (or JAVA_HOME is set).
    """
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return (
            "the Spark engine needs pyspark: pip install -r requirements-spark.txt "
            "(and a Java 17+ runtime, e.g. apt-get install openjdk-17-jre-headless)"
        )
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return (
            "the Spark engine needs a Java 17+ runtime: apt-get install "
            "openjdk-17-jre-headless, or set JAVA_HOME"
        )
    return None


def session(master: str | None = None, app_name: str = "segmentation-studio") -> Any:
    """A SparkSession on ``master`` (default ``local[*]``), created once per process.

    Under ``spark-submit`` the master set there wins: pass ``master=None``. Times are read
    and written in UTC so dates give the same days as the local engine.

    Raises
    ------
    SegmentationError
        When pyspark or Java is missing.
    """
    reason = unavailable_reason()
    if reason:
        raise SegmentationError(reason)
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # ANSI mode would turn a bad cast into an error; the engine decides what is bad.
        .config("spark.sql.ansi.enabled", "false")
    )
    if master:
        builder = builder.master(master)
        if master.startswith("local"):
            # A local run never needs the network: bind the driver to loopback.
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_table(spark: Any, path: str | Path) -> Any:
    """A Spark DataFrame of a CSV or Parquet file or folder, every CSV column as text.

    CSV cells are kept as strings so that the engine's own parsing rules (missing-value
    spellings, thousands separators, dates) decide what a cell means, as they do locally.
    The delimiter is detected from the first lines as the reader detects it (``,``, ``;``,
    tab, ``|``). A folder is read as Parquet when it holds ``.parquet`` files, else as CSV.
    """
    return _read(spark, path)[0]


def _read(spark: Any, path: str | Path) -> tuple[Any, str | None]:
    """:func:`read_table`'s frame and the CSV delimiter (None for Parquet)."""
    text = str(path)
    if "://" in text:  # s3a://, gs://, abfss://, hdfs://: the cluster's storage
        is_parquet = text.rstrip("/").lower().endswith((".parquet", ".pq")) or _holds_parquet(
            spark, text
        )
    else:
        path = Path(path).absolute()  # the JVM resolves a relative path against its own folder
        text = str(path)
        if not path.exists():
            raise SegmentationError(f"{path} does not exist: check the path")
        if path.is_dir():
            is_parquet = any(path.rglob("*.parquet"))
        else:
            is_parquet = path.suffix.lower() in {".parquet", ".pq"}
    if is_parquet:
        return spark.read.parquet(text), None
    delimiter = _csv_delimiter(spark, text)
    frame = (
        spark.read.option("header", "true")
        .option("inferSchema", "false")
        .option("multiLine", "false")
        .option("escape", '"')
        .option("sep", delimiter)
        .csv(text)
    )
    return _unwrapped(frame, delimiter), delimiter


def _csv_delimiter(spark: Any, path: str) -> str:
    """The delimiter of a CSV file or folder of them, from its first lines, as
    :func:`segmentation.data.read.read_table` detects it (``,`` when it finds none)."""
    from segmentation.data.read import _SINGLE_COLUMN_SEP, _detect_delimiter

    lines = [row.value for row in spark.read.text(path).limit(_SNIFF_LINES).collect()]
    text = "\n".join(lines).removeprefix("\ufeff")
    if not text.strip():
        return ","
    delimiter, _ = _detect_delimiter(text + "\n")
    return "," if delimiter == _SINGLE_COLUMN_SEP else delimiter


def _unwrapped(frame: Any, delimiter: str = ",") -> Any:
    """``frame`` with the rows an export wrapped whole in quotes (``"1,""a, b"",2"``, as the
    UCI Online Retail file has) split again, as the reader splits them.

    Spark reads such a row as its text in the first column and nothing in the others. It
    is split when the others are all empty and its text has the header's number of
    fields (delimiters outside quoted parts). The reader decides for all such rows at once
    (none is split if one has the wrong number of fields); here each row is decided alone.
    """
    from pyspark.sql import functions as F

    columns = frame.columns
    if len(columns) < 2:
        return frame
    first = frame[columns[0]]
    unquoted = F.regexp_replace(first, '"([^"]|"")*"', "")
    fields = F.length(unquoted) - F.length(F.replace(unquoted, F.lit(delimiter))) + 1
    # The field count implies a delimiter; testing for one first spares the regex on
    # every other row (Spark stops an AND at its first false).
    wrapped = first.contains(delimiter) & (fields == len(columns))
    for name in columns[1:]:
        wrapped = wrapped & frame[name].isNull()
    schema = ", ".join(f"c{i} STRING" for i in range(len(columns)))
    cells = F.from_csv(first, schema, {"escape": '"', "sep": delimiter})
    return frame.select(
        *[
            F.when(wrapped, cells[f"c{i}"]).otherwise(frame[name]).alias(name)
            for i, name in enumerate(columns)
        ]
    )


def _holds_parquet(spark: Any, uri: str) -> bool:
    """Whether a folder in the cluster's storage holds ``.parquet`` files (Hadoop's file
    system, as Spark itself lists it)."""
    jvm = spark._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
    target = jvm.org.apache.hadoop.fs.Path(uri)
    fs = target.getFileSystem(spark._jsc.hadoopConfiguration())  # noqa: SLF001
    if not fs.exists(target):
        raise SegmentationError(f"{uri} does not exist: check the path")
    files = fs.listFiles(target, True)
    while files.hasNext():
        if files.next().getPath().getName().lower().endswith(".parquet"):
            return True
    return False


def customers_from_log(
    spark: Any,
    path: str | Path,
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
) -> tuple[Any, Any]:
    """Aggregate a transaction log into one row per customer with Spark SQL.

    The same SQL as the local engine (:mod:`segmentation.engines.logsql`, dialect
    ``"spark"``), so the result equals
    :func:`segmentation.engines.local.customers_from_log` on the same file. Columns are
    detected from the first rows. Parameters and result as there; ``spark`` is a session
    (see :func:`session`) and ``path`` a CSV (any delimiter :func:`read_table` detects) or
    a Parquet file or folder.
    """
    import uuid

    from segmentation.data.read import _clean_names, _convert_columns
    from segmentation.data.transactions import _ask_choice, _ask_flag, _resolve_roles
    from segmentation.engines import logsql

    ask = _ask_flag if flags else _ask_choice
    frame, delimiter = _read(spark, path)
    frame = frame.toDF(*_clean_names([str(c) for c in frame.columns]))
    head = _convert_columns(frame.limit(1000).toPandas(), delimiter=delimiter or ",")
    roles = _resolve_roles(
        ask,
        head,
        {
            "customer": customer_col,
            "date": date_col,
            "amount": amount_col,
            "quantity": quantity_col,
            "price": price_col,
            "invoice": invoice_col,
        },
    )
    kinds = {}
    types = {field.name: field.dataType.typeName() for field in frame.schema.fields}
    for role, name in roles.items():
        if name is None:
            continue
        kind = types[name]
        if kind in {"timestamp", "timestamp_ntz", "date"}:
            kinds[role] = "timestamp"
        elif kind in {"byte", "short", "integer", "long", "float", "double", "decimal"}:
            kinds[role] = "number"
        else:
            kinds[role] = "text"
    # A day that does not exist (31/02) is unreadable, not an upgrade error.
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
    view = f"log_lines_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    source = logsql.LogSource(relation=view, roles=roles, kinds=kinds)
    try:
        return logsql.aggregate(
            source,
            dialect="spark",
            fetch_row=lambda sql: spark.sql(sql).collect()[0].asDict(),
            fetch_frame=lambda sql: spark.sql(sql).toPandas(),
            as_of=as_of,
            ask=ask,
            dayfirst=dayfirst,
            european=delimiter == ";",  # as the local engine reads a ";" file
        )
    finally:
        spark.catalog.dropTempView(view)
