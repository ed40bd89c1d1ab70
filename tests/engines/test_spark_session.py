"""The Spark engine starts on loopback and reads CSV as text and Parquet as typed."""

from __future__ import annotations

import pandas as pd

from segmentation.engines.spark import read_table


def test_reads_csv_cells_as_text_and_parquet_folders(spark, tmp_path):
    frame = pd.DataFrame({"CustomerID": ["007", "008"], "Income": ["1,200", "NA"]})
    frame.to_csv(tmp_path / "c.csv", index=False)
    rows = read_table(spark, tmp_path / "c.csv").collect()
    assert [r["CustomerID"] for r in rows] == ["007", "008"]
    assert [r["Income"] for r in rows] == ["1,200", "NA"]

    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"x": [1.5, 2.5]}).to_parquet(folder / "part-0.parquet")
    assert read_table(spark, folder).count() == 2
