"""The shipped benchmark runs end to end at its smallest size (CI's smoke test)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One run of the benchmark at 10,000 customers, each step once: its JSON and Markdown."""
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--sizes",
            "10000",
            "--repeats",
            "1",
            "--page-repeats",
            "1",
            "--process-repeats",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), (out / "latest.md").read_text()


def test_benchmark_smoke(smoke):
    """A maintainer runs the benchmark and gets JSON, a Markdown table and every target judged."""
    data, markdown = smoke
    row = data["sizes"]["10000"]
    for step in ("label", "naive", "floor", "train_fixed", "train_auto", "full_evaluation"):
        assert row[step]["seconds"] > 0
    assert row["label"]["fast"] is True
    assert set(data["pages"]) == {"1000", "10000"}
    assert not any(p["exception"] for s in data["pages"].values() for p in s.values())
    names = {t["target"] for t in data["targets"]}
    assert any("naive" in n for n in names) and any("floor" in n for n in names)
    assert "| target | value | limit | result |" in markdown


def test_benchmark_smoke_whole_processes(smoke):
    """A user scripting the CLI sees whole-process figures, start-up included; their
    targets are judged at 1M customers only, so at 10k they read "n/a at this size"."""
    data, markdown = smoke
    process = data["sizes"]["10000"]["process"]
    for command in ("predict", "pyarrow_io", "pandas_io", "train", "plain_sklearn", "upload"):
        assert process[command]["seconds"] > 0 and process[command]["rss_peak_mb"] > 0
    assert process["upload"]["rows"] == 10000 and process["upload"]["download_offered"]
    whole = [t for t in data["targets"] if t["target"].startswith(("whole process", "Predict"))]
    expected = 5 + ("upload_wide" in process)
    assert len(whole) == expected, [t["target"] for t in whole]
    assert all(t["pass"] is None and t["result"] == "n/a at this size" for t in whole)
    assert "python -m segmentation predict" in markdown


@pytest.mark.slow
def test_log_benchmark_runs_and_its_paths_agree(tmp_path):
    """A maintainer reruns issue 11's log benchmark: the pandas path, the DuckDB path, the
    hand-written DuckDB query and the engine's aggregation over typed columns find the same
    customer table (it stops if they do not), every target is judged, and the time over the
    bare query is split into reading and aggregating, beside the counts-only query's."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.issue11_duckdb", "--lines", "20000",
         "--customers", "2000", "--workdir", str(tmp_path), "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "issue11_duckdb_20000.json").read_text())
    found = data["found"]
    assert found["duckdb"] == found["bare"] == found["reference"] == found["typed"]
    assert found["duckdb"]["customers"] > 1000
    assert len(data["split"]) == 3
    assert [t["name"] for t in data["targets"]] == [
        "duckdb time / reference time",
        "duckdb peak memory / reference",
        "duckdb time / bare query time (one DuckDB query, the identical customer table)",
    ]
    assert all(isinstance(t["pass"], bool) for t in data["targets"])
    markdown = (tmp_path / "issue11_duckdb_20000.md").read_text()
    assert "hand-written DuckDB query" in markdown and "| target |" in markdown
    assert "counts-only" in markdown
