"""Why this customer on the command line: ``predict --json``'s ``why`` and
``predict --data ... --explain``'s runner_up_segment and margin columns."""

import json

import pandas as pd
import pytest

from tests.helpers import run_cli as run
from tests.test_cli import RECORD


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 600-row customer file and a k=4 K-Means version trained on it."""
    root = tmp_path_factory.mktemp("explain")
    data = root / "customers.csv"
    assert run("generate", "--rows", "600", "--seed", "7", "--out", data).returncode == 0
    models = root / "models"
    result = run("train", "--data", data, "--k", "4", "--models-dir", models)
    assert result.returncode == 0, result.stderr
    return data, models


def test_predict_json_says_why(trained):
    _, models = trained
    result = run("predict", "--json", RECORD, "--models-dir", models)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    # Every key there was before is still there.
    assert {"cluster", "segment", "cluster_distance", "characteristics", "recommendations",
            "outlier", "warnings"} <= set(answer)  # fmt: skip
    why = answer["why"]
    assert {"segment", "runner_up_segment", "runner_up_cluster", "margin", "relative_margin",
            "close_call", "margin_kind", "features"} <= set(why)  # fmt: skip
    assert why["segment"] == answer["segment"] and why["runner_up_cluster"] != answer["cluster"]
    assert why["margin_kind"] == "distance" and why["margin"] >= 0
    assert why["close_call"] == (why["relative_margin"] < 0.1)
    assert 1 <= len(why["features"]) <= 3
    for feature in why["features"]:
        assert {"column", "value", "pulls_toward", "sentence"} <= set(feature)
        assert feature["pulls_toward"] == answer["segment"]


def test_predict_data_explain_adds_two_columns_and_nothing_else_changes(trained, tmp_path):
    data, models = trained
    plain, explained = tmp_path / "plain.csv", tmp_path / "explained.csv"
    args = ("predict", "--data", data, "--models-dir", models, "--out")
    assert run(*args, plain).returncode == 0
    result = run(*args, explained, "--explain")
    assert result.returncode == 0, result.stderr
    before, after = pd.read_csv(plain), pd.read_csv(explained)
    assert list(after.columns) == [*before.columns, "runner_up_segment", "margin"]
    pd.testing.assert_frame_equal(after[before.columns], before)
    assert (after["runner_up_segment"] != after["segment"]).all()
    assert (after["margin"] >= 0).all()
    # Through standard output and the general path (a semicolon file) alike.
    semicolon = tmp_path / "semi.csv"
    pd.read_csv(data).to_csv(semicolon, sep=";", index=False)
    general = run("predict", "--data", semicolon, "--models-dir", models, "--out", "-",
                  "--explain")  # fmt: skip
    assert general.returncode == 0, general.stderr
    lines = general.stdout.splitlines()
    assert lines[0].endswith("runner_up_segment,margin") or "runner_up_segment" in lines[0]
    from io import StringIO

    slow = pd.read_csv(StringIO(general.stdout))
    assert (slow["runner_up_segment"] == after["runner_up_segment"]).all()
    assert (slow["margin"] - after["margin"]).abs().max() <= 1e-6


def test_explain_with_json_is_refused_in_one_line(trained):
    _, models = trained
    result = run("predict", "--json", RECORD, "--explain", "--models-dir", models)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--explain goes with --data" in result.stderr
    assert "Traceback" not in result.stderr
