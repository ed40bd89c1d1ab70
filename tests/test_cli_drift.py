"""``predict --report`` and ``predict --json`` say when customers are unlike the training data."""

import json

import pandas as pd
import pytest

from segmentation.data.synthetic import generate_customers
from tests.helpers import run_cli as run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model store with one version trained on 1,500 generated customers."""
    root = tmp_path_factory.mktemp("drift-cli")
    data = root / "train.csv"
    generate_customers(1500, seed=0).to_csv(data, index=False)
    models = root / "models"
    result = run("train", "--data", str(data), "--k", "4", "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    return models


def test_report_writes_the_drift_json(trained, tmp_path):
    shifted = generate_customers(800, seed=1)
    shifted["Income"] = shifted["Income"] * 5
    data = tmp_path / "next.csv"
    shifted.to_csv(data, index=False)
    report = tmp_path / "drift.json"
    out = tmp_path / "labeled.csv"
    result = run(
        "predict", "--data", str(data), "--out", str(out), "--report", str(report),
        "--models-dir", str(trained),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out)) == 800
    doc = json.loads(report.read_text())
    assert {
        "model", "data", "n_rows", "verdict", "summary", "thresholds", "moved", "features",
        "segment_psi", "segment_status", "segment_mix",
    } <= set(doc)  # fmt: skip
    assert doc["model"] == "v1" and doc["n_rows"] == 800
    assert doc["verdict"] == "changed a lot" and "Income" in doc["moved"]
    assert doc["thresholds"] == {
        "psi_some_change": 0.1, "psi_major_change": 0.25, "out_of_range": 0.01,
    }  # fmt: skip
    income = next(f for f in doc["features"] if f["feature"] == "Income")
    assert set(income) >= {"psi", "out_of_range", "status", "training_min", "training_max"}
    assert income["psi"] > 0.25 and income["out_of_range"] > 0
    assert {"cluster", "segment", "training_share", "file_share"} == set(doc["segment_mix"][0])
    # The command line says so too, in one line, without --report.
    assert "differs from the training data (changed a lot) in: Income" in result.stderr


def test_report_of_a_like_file_is_quiet(trained, tmp_path):
    data = tmp_path / "same.csv"
    generate_customers(1500, seed=2).to_csv(data, index=False)
    report = tmp_path / "drift.json"
    result = run(
        "predict", "--data", str(data), "--out", str(tmp_path / "o.csv"), "--report",
        str(report), "--models-dir", str(trained),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(report.read_text())["verdict"] == "like the training data"
    assert "differs" not in result.stderr


def test_report_needs_data(trained, tmp_path):
    result = run(
        "predict", "--json", '{"Age": 30}', "--report", str(tmp_path / "r.json"),
        "--models-dir", str(trained),
    )  # fmt: skip
    assert result.returncode == 2 and "--report goes with --data" in result.stderr


def test_json_typo_income_is_an_outlier(trained):
    record = '{"Age": 35, "Gender": "Male", "Income": 1e15, "SpendingScore": 75}'
    result = run("predict", "--json", record, "--models-dir", str(trained))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["outlier"] is True and answer["recommendations"] == []
    assert any(
        w.startswith("Income = 1e+15 is far above anything in the training data (max ")
        for w in answer["warnings"]
    )


def test_json_negative_age_is_refused(trained):
    result = run("predict", "--json", '{"Age": -4}', "--models-dir", str(trained))
    assert result.returncode == 2
    assert "Age cannot be negative" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
