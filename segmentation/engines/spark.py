"""The Spark engine's session and table reading; pyspark is an optional dependency."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from segmentation.errors import SegmentationError

__all__ = ["DEFAULT_MASTER", "read_table", "session", "unavailable_reason"]

#: The master used when none is given: every core of this machine.
DEFAULT_MASTER = "local[*]"


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
    A folder is read as Parquet when it holds ``.parquet`` files, else as CSV.
    """
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
        return spark.read.parquet(text)
    return (
        spark.read.option("header", "true")
        .option("inferSchema", "false")
        .option("multiLine", "false")
        .option("escape", '"')
        .csv(text)
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
