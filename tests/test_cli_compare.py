"""``compare``: the migration between two versions as JSON, and its errors; ``train`` says
which version its segments were matched against."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli as run
from tests.test_workflows_identity import planted


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """v1 on a planted export, v2 on the same export with 5% of customers dropped."""
    root = tmp_path_factory.mktemp("compare")
    table = planted(800)
    full, smaller = root / "full.csv", root / "smaller.csv"
    table.to_csv(full, index=False)
    table.sample(frac=0.95, random_state=1).to_csv(smaller, index=False)
    models = root / "models"
    first = run("train", "--data", full, "--k", "6", "--models-dir", models)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["identity"] is None
    second = run("train", "--data", smaller, "--k", "6", "--seed", "7", "--models-dir", models)
    assert second.returncode == 0, second.stderr
    return models, full, json.loads(second.stdout)


def test_train_reports_the_match(two_versions):
    _, _, summary = two_versions
    identity = summary["identity"]
    assert identity["matched_against"] == "v1"
    assert identity["kept_share"] >= 0.95
    assert {s["cluster"] for s in identity["segments"]} == set(range(6))
    assert all(s["matched_to"] == s["cluster"] for s in identity["segments"])


def test_compare_prints_the_migration_on_the_newer_training_table(two_versions):
    models, _, _ = two_versions
    result = run("compare", "--from", "v1", "--to", "v2", "--models-dir", models)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {
        "from",
        "to",
        "table",
        "n_customers",
        "kept_share",
        "min_jaccard",
        "migration",
        "segments",
    }
    assert (out["from"], out["to"], out["table"]) == ("v1", "v2", "the training table of v2")
    counts = out["migration"]["counts"]
    assert len(counts) == len(out["migration"]["from"]) == 6
    assert all(len(row) == len(out["migration"]["to"]) for row in counts)
    assert sum(map(sum, counts)) == out["n_customers"] == 760
    assert {"cluster", "name"} == set(out["migration"]["from"][0])
    for side, link in (("from", "into"), ("to", "from")):
        for segment in out["segments"][side]:
            assert {"cluster", "name", "customers", "status", "matched_to", link} == set(segment)
            assert segment["status"] == "matched"


def test_compare_on_a_given_table_either_way(two_versions):
    models, full, _ = two_versions
    result = run("compare", "--from", "v2", "--to", "v1", "--data", full, "--models-dir", models)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["table"] == str(full) and out["n_customers"] == 800


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--from", "v1", "--to", "v9"], "model v9 does not exist; the versions are v1, v2"),
        (["--from", "latest", "--to", "v1"], "'latest' is not a model version"),
        (["--from", "v1"], "required: --to"),
        (["--from", "v1", "--to", "v2", "--data", "nowhere.csv"], "does not exist"),
    ],
    ids=["unknown-version", "bad-name", "missing-to", "missing-data"],
)
def test_bad_compare_exits_2_with_one_line(two_versions, args, match):
    models, _, _ = two_versions
    result = run("compare", *args, "--models-dir", models)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert match in lines[0]


def test_compare_with_a_table_missing_model_columns(two_versions, tmp_path):
    models, _, _ = two_versions
    path = tmp_path / "other.csv"
    path.write_text("CustomerID,Spend\n1,2\n2,3\n")
    result = run("compare", "--from", "v1", "--to", "v2", "--data", path, "--models-dir", models)
    assert result.returncode == 2
    assert "Visits" in result.stderr and len(result.stderr.strip().splitlines()) == 1
