"""Labeling on Spark gives every customer the local path's segment and distance."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table as read_local
from segmentation.data.synthetic import generate_customers
from segmentation.engines.spark import read_table
from segmentation.engines.spark_labeling import label_columns, sample_customers, write_parquet
from segmentation.errors import SchemaError, SegmentationError
from segmentation.modeling.algorithms import MOST_PROBABLE
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.labeling import compiled_labeler, label_file

REFERENCE = pd.Timestamp("2024-06-30")
PURPOSES = {c: "segment" for c in ("Age", "Gender", "Region", "LastVisit", "FirstOrder")}


def _customers(n: int, seed: int) -> pd.DataFrame:
    """Synthetic customers with an ISO date-time column, a day-first date column and a
    channel, every cell as the text a CSV holds."""
    rng = np.random.default_rng(seed)
    frame = generate_customers(n, seed=seed)
    seconds = frame["Recency"].fillna(30).to_numpy() * 86400 + rng.integers(0, 86400, n)
    frame["LastVisit"] = (REFERENCE - pd.to_timedelta(seconds, unit="s")).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    first = REFERENCE - pd.to_timedelta(rng.integers(400, 3000, n), unit="D")
    frame["FirstOrder"] = first.strftime("%d/%m/%Y")
    frame["Channel"] = rng.choice(["Web", "Store", "App"], n)
    return frame


def _dirty(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """What real exports hold: missing tokens in any case and spacing, thousands
    separators and currency signs, text in numeric columns, unseen categories."""
    rng = np.random.default_rng(seed)
    out = frame.astype(object)
    n = len(out)

    def some(share: float) -> np.ndarray:
        return rng.random(n) < share

    grouped = some(0.3)
    out.loc[grouped, "Income"] = [
        f"{v:,.2f}" if isinstance(v, float) and v == v else v for v in out.loc[grouped, "Income"]
    ]
    dollars = some(0.05)
    out.loc[dollars, "TotalSpend"] = [
        f"${v:,.2f}" if isinstance(v, float) and v == v else v
        for v in out.loc[dollars, "TotalSpend"]
    ]
    out.loc[some(0.02), "Income"] = " nA "
    out.loc[some(0.01), "SpendingScore"] = "NULL"
    out.loc[some(0.01), "Age"] = "unknown"
    out.loc[some(0.01), "Recency"] = " - "
    out.loc[some(0.01), "Region"] = "Atlantis"
    out.loc[some(0.01), "Gender"] = "n/a"
    out.loc[some(0.01), "Channel"] = " Web "
    out.loc[some(0.01), "LastVisit"] = "None"
    out.loc[some(0.005), "FirstOrder"] = "31/02/2020"  # not a date: imputed
    return out


def _fit(train: pd.DataFrame, scaler: str, algorithm: str = "kmeans") -> SegmentationModel:
    path_free = read_local(train.to_csv(index=False).encode())
    return SegmentationModel(
        k=4, scaler=scaler, algorithm=algorithm, purposes=PURPOSES, random_state=0
    ).fit(path_free)


def _spark_labels(spark, path, model, **kwargs) -> pd.DataFrame:
    labeled = label_columns(read_table(spark, path), compiled_labeler(model), **kwargs)
    return labeled.select("CustomerID", "cluster", "segment", "cluster_distance").toPandas()


@pytest.fixture(scope="module")
def hundred_thousand(tmp_path_factory):
    """100,000 dirty customers as a CSV, and a model per scaler fitted on 1,000 clean ones."""
    folder = tmp_path_factory.mktemp("spark_label")
    customers = _customers(100_000, seed=11)
    path = folder / "customers.csv"
    _dirty(customers, seed=12).to_csv(path, index=False)
    train = customers.iloc[:1000]
    return path, {scaler: _fit(train, scaler) for scaler in ("robust", "standard")}


@pytest.mark.slow
@pytest.mark.parametrize("scaler", ["robust", "standard"], ids=["robust", "standard"])
def test_hundred_thousand_customers_match_the_local_path(spark, hundred_thousand, scaler, tmp_path):
    path, models = hundred_thousand
    model = models[scaler]
    labeler = compiled_labeler(model)
    assert labeler.dates == ["LastVisit", "FirstOrder"] and labeler.log.any()
    assert {c for c, _, _ in labeler.categorical} == {"Gender", "Region", "Channel"}

    local_csv = tmp_path / "local.csv"
    label_file(model, path, local_csv)
    local = pd.read_csv(local_csv, usecols=["CustomerID", "cluster", "segment", "cluster_distance"])
    joined = local.merge(_spark_labels(spark, path, model), on="CustomerID", suffixes=("", "_s"))
    assert len(joined) == len(local) == 100_000
    assert local["cluster"].nunique() == 4
    assert (joined["cluster"] == joined["cluster_s"]).all()
    assert (joined["segment"] == joined["segment_s"]).all()
    assert np.abs(joined["cluster_distance"] - joined["cluster_distance_s"]).max() <= 1e-9


def test_unrounded_distances_and_rounding_match(spark, hundred_thousand, tmp_path):
    path, models = hundred_thousand
    model = models["standard"]
    head = tmp_path / "head.csv"
    pd.read_csv(path, nrows=5000, dtype=str, keep_default_na=False).to_csv(head, index=False)
    data = read_local(head)
    features, _ = model.prepare(data)
    clusters, distances = model._assign(model.preprocess(features))
    local = pd.DataFrame({"CustomerID": data["CustomerID"], "cluster": clusters, "d": distances})
    exact = _spark_labels(spark, head, model, exact_distance=True)
    joined = local.merge(exact, on="CustomerID")
    assert len(joined) == 5000 and (joined["cluster_x"] == joined["cluster_y"]).all()
    assert np.abs(joined["d"] - joined["cluster_distance"]).max() <= 1e-9
    # Spark's rounding is numpy's, to the bit, halves included.
    values = np.concatenate([distances, np.arange(1, 2001) / 2e6 + 0.25, [2.5e-6, 1.0000005]])
    frame = spark.createDataFrame(pd.DataFrame({"d": values}))
    from pyspark.sql import functions as F

    rounded = frame.select((F.rint(F.col("d") * 1e6) / 1e6).alias("r")).toPandas()["r"]
    assert (rounded.to_numpy() == np.round(values, 6)).all()


def test_prototypes_match_and_a_mixture_is_refused(spark, tmp_path):
    customers = _customers(1500, seed=3)
    path = tmp_path / "c.csv"
    _dirty(customers, seed=4).to_csv(path, index=False)
    model = _fit(customers.iloc[:600], "standard", algorithm="kprototypes")
    local_csv = tmp_path / "local.csv"
    label_file(model, path, local_csv)
    local = pd.read_csv(local_csv)[["CustomerID", "cluster", "cluster_distance"]]
    joined = local.merge(_spark_labels(spark, path, model), on="CustomerID")
    assert len(joined) == 1500
    assert (joined["cluster_x"] == joined["cluster_y"]).all()
    assert np.abs(joined["cluster_distance_x"] - joined["cluster_distance_y"]).max() <= 1e-9

    mixture = replace(compiled_labeler(model), assign_by=MOST_PROBABLE)
    with pytest.raises(SegmentationError, match="Gaussian mixture.*--engine local"):
        label_columns(read_table(spark, path), mixture)


ODD_CELLS = [
    "(5)",
    "12%",
    " 1 234 ",
    "$1,234.50",
    "1e400",
    "inf",
    "abc",
    "+.5",
    "7.",
    "\u00a042\u00a0",
]


def test_odd_number_cells_read_as_the_local_reader_reads_them(spark, hundred_thousand, tmp_path):
    model = hundred_thousand[1]["standard"]
    frame = _customers(400, seed=6).astype(object)
    rows = np.arange(len(ODD_CELLS)) * 7
    frame.loc[rows, "SpendingScore"] = ODD_CELLS
    path = tmp_path / "odd.csv"
    frame.to_csv(path, index=False)
    local_csv = tmp_path / "local.csv"
    label_file(model, path, local_csv)
    local = pd.read_csv(local_csv)[["CustomerID", "cluster", "cluster_distance"]]
    joined = local.merge(_spark_labels(spark, path, model), on="CustomerID")
    assert len(joined) == 400 and (joined["cluster_x"] == joined["cluster_y"]).all()
    assert np.abs(joined["cluster_distance_x"] - joined["cluster_distance_y"]).max() <= 1e-9


def test_renamed_columns_match_and_missing_ones_are_named(spark, hundred_thousand, tmp_path):
    fitted = hundred_thousand[1]["standard"]
    frame = _customers(300, seed=2).rename(columns={"SpendingScore": "spending score"})
    path = tmp_path / "renamed.csv"
    frame.to_csv(path, index=False)
    labeled = label_columns(read_table(spark, path), compiled_labeler(fitted))
    assert labeled.columns[-3:] == ["cluster", "segment", "cluster_distance"]
    assert labeled.count() == len(frame)

    frame.drop(columns=["spending score"]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match="SpendingScore"):
        label_columns(read_table(spark, path), compiled_labeler(fitted))


def test_parquet_input_and_day_first_decided_from_the_whole_column(
    spark, hundred_thousand, tmp_path
):
    customers = _customers(800, seed=5)
    model = hundred_thousand[1]["robust"]
    # Typed Parquet (numbers, a timestamp) labels as its CSV does.
    typed = read_local(customers.to_csv(index=False).encode())
    typed.to_parquet(tmp_path / "typed.parquet")
    customers.to_csv(tmp_path / "text.csv", index=False)
    a = _spark_labels(spark, tmp_path / "typed.parquet", model)
    b = _spark_labels(spark, tmp_path / "text.csv", model)
    joined = a.merge(b, on="CustomerID")
    assert (joined["cluster_x"] == joined["cluster_y"]).all()
    assert np.abs(joined["cluster_distance_x"] - joined["cluster_distance_y"]).max() <= 1e-9
    # Month-first: a second field above 12 somewhere, as the local reader decides.
    us = customers.assign(
        FirstOrder=pd.to_datetime(customers["FirstOrder"], dayfirst=True).dt.strftime("%m/%d/%Y")
    )
    us.to_csv(tmp_path / "us.csv", index=False)
    c = _spark_labels(spark, tmp_path / "us.csv", model)
    assert (c.merge(b, on="CustomerID").pipe(lambda j: j["cluster_x"] == j["cluster_y"])).all()


def test_parquet_output_replaces_an_earlier_one_and_nothing_else(spark, tmp_path):
    df = spark.createDataFrame(pd.DataFrame({"x": [1, 2, 3]}))
    out = tmp_path / "labeled"
    write_parquet(spark, df, str(out))
    write_parquet(spark, df.limit(2), str(out))
    assert spark.read.parquet(str(out)).count() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labeled"]  # no temporary left
    # A storage URI (here file://) is listed through Hadoop: a folder of Parquet.
    assert read_table(spark, out.as_uri()).count() == 2
    with pytest.MonkeyPatch.context() as patch:  # a relative folder
        patch.chdir(tmp_path)
        write_parquet(spark, df, "relative")
    assert spark.read.parquet(str(tmp_path / "relative")).count() == 3

    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(SegmentationError, match="something other than"):
        write_parquet(spark, df, str(other))
    assert (other / "notes.txt").read_text() == "keep me"


def test_sample_is_seeded_and_typed(spark, tmp_path):
    customers = _customers(3000, seed=8)
    path = tmp_path / "c.csv"
    customers.to_csv(path, index=False)
    first, total = sample_customers(read_table(spark, path), 500, seed=1)
    again, _ = sample_customers(read_table(spark, path).repartition(3), 500, seed=1)
    other, _ = sample_customers(read_table(spark, path), 500, seed=2)
    assert total == 3000 and len(first) == 500
    assert sorted(first["CustomerID"]) == sorted(again["CustomerID"])
    assert sorted(first["CustomerID"]) != sorted(other["CustomerID"])
    assert first["Income"].dtype == np.float64
    assert str(first["LastVisit"].dtype).startswith("datetime64")


# -- the command line ----------------------------------------------------------------------
def test_cli_trains_on_a_sample_and_labels_into_parquet(spark, tmp_path, capsys):
    """An analyst trains on a sample of a big file and labels all of it on Spark."""
    from segmentation.cli import main

    path = tmp_path / "customers.csv"
    _customers(3000, seed=9).to_csv(path, index=False)
    spark_flags = ["--engine", "spark", "--spark-master", "local[2]"]
    assert main(["train", *spark_flags, "--data", str(path), "--sample", "800", "--k", "3"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["sample"] == {"customers": 800, "of": 3000, "seed": 42}
    assert trained["n_rows"] == 800

    out = tmp_path / "labeled"
    assert main(["predict", *spark_flags, "--data", str(path), "--out", str(out)]) == 0
    assert "labeled 3,000 customers" in capsys.readouterr().err
    assert main(["predict", "--data", str(path), "--out", str(tmp_path / "local.csv")]) == 0
    labeled = pd.read_parquet(out)
    local = pd.read_csv(tmp_path / "local.csv")
    assert list(labeled.columns) == list(local.columns)
    joined = local.merge(labeled, on="CustomerID")
    assert len(joined) == 3000 and (joined["cluster_x"] == joined["cluster_y"]).all()
    assert np.abs(joined["cluster_distance_x"] - joined["cluster_distance_y"]).max() <= 1e-9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "--engine", "spark", "--json", "{}"], "--json is not available"),
        (["predict", "--engine", "spark", "--data", "-", "--out", "x"], "not standard input"),
        (["predict", "--engine", "spark", "--data", "c.csv"], "--out DIR"),
        (["predict", "--engine", "spark", "--data", "c.csv", "--out", "c.csv"], "is a file"),
        (["predict", "--data", "c.csv", "--out", "o.csv", "--spark-master", "local[2]"], "goes"),
        (["train", "--data", "c.csv", "--sample", "10"], "--sample goes with --engine spark"),
        (["train", "--engine", "spark", "--data", "c.csv", "--transactions"], "not available"),
        (["predict", "--engine", "flink", "--data", "c.csv"], "invalid choice"),
    ],
    ids=["json", "stdin", "no-out", "out-file", "master", "sample", "transactions", "engine"],
)
def test_cli_refuses_what_the_spark_engine_does_not_take(args, message, tmp_path, capsys):
    from segmentation.cli import main

    (tmp_path / "c.csv").write_text("a,b\n1,2\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
