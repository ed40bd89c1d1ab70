"""``python -m segmentation rename``: an analyst's segment names and recommendations are saved
with the version, survive reloads, show in predictions and carry over to the next version."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from segmentation.data.synthetic import generate_customers
from segmentation.store import ModelStore
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "customers.csv"
    generate_customers(600, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, table):
    """A store with one version trained on ``table`` with k=4, trained once."""
    root = tmp_path_factory.mktemp("trained") / "models"
    done = run_cli("train", "--data", table, "--k", 4, "--models-dir", root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def models(tmp_path, trained):
    """A copy of ``trained`` of the test's own, to change."""
    root = tmp_path / "models"
    shutil.copytree(trained, root)
    return root


def _snapshot(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_rename_prints_the_segment_and_labels_use_the_name(models, table, tmp_path):
    done = run_cli(
        "rename",
        "--models-dir",
        models,
        "--cluster",
        1,
        "--name",
        "  Weekend   Regulars ",
        "--recommendation",
        "Send a Friday offer",
        "--recommendation",
        "Invite them to the app",
    )
    assert done.returncode == 0, done.stderr
    segment = json.loads(done.stdout)
    assert segment["version"] == "v1"
    assert segment["cluster"] == 1
    assert segment["name"] == "Weekend Regulars"  # spaces tidied
    assert segment["recommendations"] == ["Send a Friday offer", "Invite them to the app"]
    assert segment["edited"] == ["name", "recommendations"]
    assert segment["size"] > 0 and segment["traits"]

    # A fresh process (a reload) labels with the new name, on the fast path and on --json.
    out = tmp_path / "labeled.csv"
    done = run_cli("predict", "--models-dir", models, "--data", table, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "Weekend Regulars" in out.read_text()
    store = ModelStore(models)
    model, meta = store.load("v1")
    assert model.profiles_[1].name == "Weekend Regulars"
    assert model.profiles_[1].recommendations == segment["recommendations"]
    assert meta["segments"][1]["name"] == "Weekend Regulars"
    listed = json.loads(run_cli("models", "--models-dir", models).stdout)
    assert "Weekend Regulars" in json.dumps(listed)

    # Only the recommendations change; the name stays.
    done = run_cli(
        "rename", "--models-dir", models, "--cluster", 1, "--recommendation", "Call them"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "Weekend Regulars"
    assert store.load("v1")[0].profiles_[1].recommendations == ["Call them"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "v9", "--cluster", "0", "--name", "X"], "v9 does not exist"),
        (["--cluster", "4", "--name", "X"], "no segment 4; its segments are 0 to 3"),
        (["--cluster", "0", "--name", "   "], "name is empty"),
        (["--cluster", "0", "--name", "x" * 61], "keep it to 60"),
        (["--cluster", "0"], "give a new name or new recommendations"),
        (["--cluster", "0", "--recommendation", " "], "at least one recommendation"),
        (["--cluster", "zero", "--name", "X"], "--cluster"),
    ],
    ids=[
        "unknown-version",
        "cluster-out-of-range",
        "empty",
        "too-long",
        "nothing",
        "blank-rec",
        "nan",
    ],
)
def test_bad_rename_exits_2_and_changes_nothing(models, args, message):
    before = _snapshot(models)
    done = run_cli("rename", "--models-dir", models, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert _snapshot(models) == before


def test_duplicate_name_is_refused_and_the_earlier_edit_kept(models):
    first = run_cli("rename", "--models-dir", models, "--cluster", 0, "--name", "Night Owls")
    assert first.returncode == 0, first.stderr
    before = _snapshot(models)
    done = run_cli("rename", "--models-dir", models, "--cluster", 2, "--name", "NIGHT OWLS")
    assert done.returncode == 2
    assert "segment 0 is already called 'Night Owls'" in done.stderr
    assert _snapshot(models) == before
    # Taking another segment's rule-based name is refused too.
    other = ModelStore(models).metadata("v1")["segments"][3]["name"]
    done = run_cli("rename", "--models-dir", models, "--cluster", 2, "--name", other)
    assert done.returncode == 2
    assert _snapshot(models) == before


def test_edits_carry_to_the_matched_segment_on_retrain(models, table):
    done = run_cli(
        "rename",
        "--models-dir",
        models,
        "--cluster",
        2,
        "--name",
        "Weekend Regulars",
        "--recommendation",
        "Send a Friday offer",
    )
    assert done.returncode == 0, done.stderr
    store = ModelStore(models)
    v1 = store.load("v1")[0]
    members = set((v1.labels_ == 2).nonzero()[0].tolist())

    done = run_cli("train", "--data", table, "--k", 4, "--models-dir", models)
    assert done.returncode == 0, done.stderr
    trained = json.loads(done.stdout)
    assert trained["version"] == "v2"
    model, meta = store.load("v2")
    renamed = [p for p in model.profiles_ if p.name == "Weekend Regulars"]
    assert len(renamed) == 1
    segment = renamed[0]
    # It is the segment holding (most of) the same customers.
    now = set((model.labels_ == segment.cluster).nonzero()[0].tolist())
    assert len(now & members) / len(now | members) >= 0.5
    assert segment.recommendations == ["Send a Friday offer"]
    assert store.segment_edits("v2")[segment.cluster]["name"] == "Weekend Regulars"
    assert meta["segments"][segment.cluster]["name"] == "Weekend Regulars"
    assert [s["name"] for s in trained["segments"]].count("Weekend Regulars") == 1
    # The edit is the new version's own: renaming v2 leaves v1 alone.
    done = run_cli(
        "rename", "--models-dir", models, "--cluster", segment.cluster, "--name", "Regulars"
    )
    assert done.returncode == 0, done.stderr
    assert store.load("v1")[0].profiles_[2].name == "Weekend Regulars"
