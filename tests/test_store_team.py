"""The store under a busy team: unique numbers, damaged versions, reads that never write,
leftovers of killed saves, durable and umask-following files, an append-only audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import joblib
import pytest

from segmentation.cli import main
from segmentation.errors import ModelStoreError
from segmentation.modeling.estimator import SegmentationModel
from segmentation.store import ModelStore


@pytest.fixture(scope="module")
def small_model(customers):
    return SegmentationModel(k=3).fit(customers[0].head(300))


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


@pytest.fixture
def three(store, small_model, customers):
    """A store with v1, v2, v3 saved; v3 active."""
    data = customers[0].head(300)
    for name in ("a.csv", "b.csv", "c.csv"):
        store.save(small_model, data=data, data_name=name, user="ana")
    return store


def test_numbers_stay_unique_under_concurrent_saves_and_deletes(tmp_path, small_model, customers):
    """Three processes saving (and one deleting) at once never share or reuse a number."""
    root = tmp_path / "models"
    joblib.dump((small_model, customers[0].head(200)), tmp_path / "fixture.joblib")
    script = textwrap.dedent(
        f"""
        import joblib, sys
        from segmentation.store import ModelStore
        model, data = joblib.load({str(tmp_path / "fixture.joblib")!r})
        store = ModelStore({str(root)!r})
        out = []
        for i in range(8):
            version = store.save(model, data=data, data_name="p", activate=False)
            out.append(version)
            if sys.argv[1] == "0" and i % 2 == 1:
                store.delete(version)  # the deleting writer
        print(" ".join(out))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], stdout=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    given = [v for p in procs for v in p.communicate(timeout=300)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(given) == len(set(given)) == 24
    store = ModelStore(root)
    assert int((root / "LAST_VERSION").read_text()) == 24
    # A save after the deletes gets a new number, never a deleted one.
    assert store.save(small_model, data=customers[0].head(200), data_name="z") == "v25"
    deleted = {e["version"] for e in store.history() if e["action"] == "delete"}
    assert len(deleted) == 4 and "v25" not in deleted


def test_a_deleted_version_number_is_never_given_again(three, small_model, customers):
    three.activate("v2")
    three.delete("v3")
    assert three.save(small_model, data=customers[0].head(300), data_name="d.csv") == "v4"


def test_a_huge_counter_is_refused_clearly_and_leaves_nothing(three, small_model, customers):
    (three.root / "LAST_VERSION").write_text("999999999\n")
    with pytest.raises(ModelStoreError, match="version counter .* past the largest"):
        three.save(small_model, data=customers[0].head(300), data_name="d.csv")
    assert [p.name for p in three.root.iterdir() if p.name.startswith(".staging")] == []
    (three.root / "LAST_VERSION").write_text("9999999\n")  # large but fine: it lists
    version = three.save(small_model, data=customers[0].head(300), data_name="d.csv")
    assert version == "v10000000" and three.active_version() == version
    assert version in three.versions()


DAMAGE = {
    "metadata_list": ("metadata.json", b"[]"),
    "metadata_truncated": ("metadata.json", b'{"store_format": 2, "k": '),
    "model_foreign": ("model.joblib", None),
    "model_truncated": ("model.joblib", b"\x80\x04\x95"),
    "libraries_null": ("metadata.json", "null-libraries"),
}


def _damage(store: ModelStore, version: str, case: str) -> None:
    name, content = DAMAGE[case]
    path = store.root / version / name
    if content is None:
        joblib.dump({"not": "a model"}, path)
    elif content == "null-libraries":
        meta = json.loads(path.read_text())
        meta["library_versions"] = None
        path.write_text(json.dumps(meta))
    else:
        path.write_bytes(content)
    (store.root / version / "labeler.npz").unlink(missing_ok=True)


@pytest.mark.parametrize("case", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_version_is_named_and_the_rest_stay_usable(three, case, capsys):
    _damage(three, "v1", case)
    listed = three.list()
    assert [i.version for i in listed] == ["v3", "v2", "v1"]  # one damaged hides nothing
    three.load("v3")
    with pytest.raises(ModelStoreError, match="model v1"):
        three.load("v1")
    # The CLI: one line, exit 2; the history still lists; the damaged one can be deleted.
    assert (
        main(["predict", "--model", "v1", "--models-dir", str(three.root), "--json", '{"Age": 30}'])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model v1" in err
    assert main(["models", "--models-dir", str(three.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in out["versions"]] == ["v3", "v2", "v1"]
    assert main(["delete", "--model", "v1", "--models-dir", str(three.root)]) == 0
    assert three.versions() == ["v2", "v3"]


def test_a_damaged_version_is_never_activated(three):
    _damage(three, "v1", "metadata_list")
    with pytest.raises(ModelStoreError, match="model v1 is damaged"):
        three.activate("v1")
    assert three.active_version() == "v3"


def test_a_truncated_training_table_is_named(three):
    path = three.root / "v2" / "training.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelStoreError, match="model v2 is damaged: its training table"):
        three.training_data("v2")


@pytest.mark.parametrize("pointer", ["garbage\n", "v99\n", None], ids=["garbage", "gone", "none"])
def test_reads_never_repoint_active(three, capsys, pointer):
    active = three.root / "ACTIVE"
    if pointer is None:
        active.unlink()
    else:
        active.write_text(pointer)
    before = active.read_bytes() if active.exists() else None
    code = main(["predict", "--json", '{"Age": 30}', "--models-dir", str(three.root)])
    assert code == 2
    err = capsys.readouterr().err
    assert "activate --model" in err and "v3" in err
    assert (active.read_bytes() if active.exists() else None) == before


def test_leftovers_of_killed_saves_are_cleaned_at_the_next_save(three, small_model, customers):
    dead = three.root / ".staging-999999-deadbeef"  # no such process
    dead.mkdir()
    (dead / "model.joblib").write_bytes(b"half")
    old = three.root / ".staging-abc123"  # the previous layout, an hour old
    old.mkdir()
    os.utime(old, (0, 0))
    mine = three.root / f".staging-{os.getppid()}-cafe"  # a live process: kept
    mine.mkdir()
    three.save(small_model, data=customers[0].head(300), data_name="d.csv")
    assert not dead.exists() and not old.exists() and mine.exists()


def test_new_versions_follow_the_umask(tmp_path, small_model, customers):
    old = os.umask(0o022)
    try:
        store = ModelStore(tmp_path / "m")
        version = store.save(small_model, data=customers[0].head(300), data_name="a.csv")
    finally:
        os.umask(old)
    assert oct((store.root / version).stat().st_mode & 0o777) == oct(0o755)
    assert oct((store.root / version / "model.joblib").stat().st_mode & 0o777) == oct(0o644)


def test_the_audit_log_records_who_did_what(three, monkeypatch, capsys):
    monkeypatch.setenv("SEGMENTATION_USER", "eve")
    assert main(["activate", "--model", "v1", "--models-dir", str(three.root)]) == 0
    assert main(["activate", "--model", "v3", "--models-dir", str(three.root), "--user", "bo"]) == 0
    assert (
        main(["rename", "--cluster", "0", "--name", "Core", "--models-dir", str(three.root)]) == 0
    )
    assert main(["delete", "--model", "v2", "--models-dir", str(three.root)]) == 0
    capsys.readouterr()
    assert main(["history", "--models-dir", str(three.root)]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    said = [(e["action"], e["version"], e["user"]) for e in events]
    assert said[:6] == [
        ("save", "v1", "ana"),
        ("activate", "v1", "ana"),
        ("save", "v2", "ana"),
        ("activate", "v2", "ana"),
        ("save", "v3", "ana"),
        ("activate", "v3", "ana"),
    ]
    assert said[6:] == [
        ("rollback", "v1", "eve"),
        ("activate", "v3", "bo"),
        ("rename", "v3", "eve"),
        ("delete", "v2", "eve"),
    ]
    assert three.metadata("v3")["trained_by"] == "ana"
    # Appended, never rewritten: the earlier lines are byte for byte as they were.
    first = (three.root / "audit.jsonl").read_bytes()
    three.activate("v1", user="x")
    assert (three.root / "audit.jsonl").read_bytes().startswith(first)


def test_first_use_trains_once_across_processes(tmp_path):
    """Processes starting together on a fresh clone train the default model once."""
    root = tmp_path / "fresh"
    script = (
        "import sys; from segmentation.store import ModelStore; "
        "from segmentation.workflows import ensure_active_model; "
        f"print(ensure_active_model(ModelStore({str(root)!r})))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    answers = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert answers == ["v1", "v1", "v1"]
    assert ModelStore(root).versions() == ["v1"]


@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"email": "Boss@Example.com"}, "admin"),
        ({"email": "ana@example.com"}, "analyst"),
        ({"email": "x@partner.org", "groups": ["Marketing"]}, "viewer"),
        ({"email": "x@partner.org", "roles": "marketing admins"}, None),
        ({"email": "x@partner.org"}, None),
        ({}, None),
    ],
    ids=[
        "admin-email-any-case",
        "analyst-domain",
        "viewer-group",
        "other-claim",
        "none",
        "no-email",
    ],
)
def test_roles_from_the_identity_token(claims, role):
    from segmentation.access import role_for

    rules = {
        "admins": "boss@example.com",
        "analysts": ["@example.com"],
        "viewers": ["group:marketing"],
    }
    assert role_for(claims, rules) == role
    assert (
        role_for(
            {"email": "x@y.z", "roles": ["ops"]}, {"viewers": "group:ops", "groups_claim": "roles"}
        )
        == "viewer"
    )
    assert role_for({"email": "evil@example.com.attacker.net"}, rules) is None
