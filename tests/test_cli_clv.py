"""``python -m segmentation clv``: lifetime value per customer from a transaction log."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from segmentation.insight.clv import CLV_COLUMNS, simulate_log
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "orders.csv"
    simulate_log(600, days=200, seed=5).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_clv_writes_one_row_per_customer_and_a_quiet_json_summary(log, tmp_path):
    """As an analyst I script the lifetime value of my customers and see how far to trust it."""
    out = tmp_path / "clv.csv"
    done = run_cli("clv", "--data", log, "--out", out, "--horizon-months", 6)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bars, no warnings
    summary = json.loads(done.stdout)
    table = pd.read_csv(out)
    assert len(table) == summary["customers"] == 600
    assert set(CLV_COLUMNS) <= set(table.columns)
    assert summary["horizon_months"] == 6 and summary["discount_rate"] == 0.01
    assert set(summary["purchase_params"]) == {"r", "alpha", "a", "b"}
    assert summary["holdout"] is None  # 200 days: too short to hold 90 out
    assert summary["trust"] == "rough"
    assert "No held-out check" in summary["summary"]
    # To standard output: the CSV there, the summary on standard error.
    done = run_cli("clv", "--data", log, "--out", "-", "--no-check")
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(io.StringIO(done.stdout))) == 600
    assert json.loads(done.stderr)["customers"] == 600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--discount-rate", "5"], "monthly rate from 0 to below 1"),
        (["--horizon-months", "0"], "at least 1"),
    ],
    ids=["rate", "horizon"],
)
def test_clv_rejects_bad_settings_in_one_line(log, tmp_path, args, message):
    done = run_cli("clv", "--data", log, "--out", tmp_path / "x.csv", *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1


def test_clv_of_a_short_log_is_refused(tmp_path):
    path = tmp_path / "week.csv"
    simulate_log(200, days=10, seed=1).to_csv(path, index=False)
    done = run_cli("clv", "--data", path, "--out", tmp_path / "x.csv")
    assert done.returncode == 2
    assert done.stderr.startswith("error: the log covers") and done.stderr.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()
