"""The shipped benchmark runs end to end at its smallest size (CI's smoke test)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke(tmp_path):
    """A maintainer runs the benchmark and gets JSON, a Markdown table and every target judged."""
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
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads((tmp_path / "latest.json").read_text())
    row = data["sizes"]["10000"]
    for step in ("label", "naive", "floor", "train_fixed", "train_auto", "full_evaluation"):
        assert row[step]["seconds"] > 0
    assert row["label"]["fast"] is True
    assert set(data["pages"]) == {"1000", "10000"}
    assert not any(p["exception"] for s in data["pages"].values() for p in s.values())
    names = {t["target"] for t in data["targets"]}
    assert any("naive" in n for n in names) and any("floor" in n for n in names)
    assert "| target | value | limit | result |" in (tmp_path / "latest.md").read_text()
