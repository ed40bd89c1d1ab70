"""The app over a store a team shares: damaged versions, a full disk, the audit log."""

from __future__ import annotations

import errno

import joblib
import pytest

from segmentation.app import ui
from segmentation.modeling.estimator import SegmentationModel
from segmentation.workflows import load_default_data
from tests.app.conftest import open_page

PAGE = "5_Retrain.py"


@pytest.fixture
def two_versions(app):
    """The default model (v1) and a second version (v2, active)."""
    store = ui.store()
    model = SegmentationModel(k=3).fit(load_default_data().head(300))
    store.save(model, data=load_default_data().head(300), data_name="second.csv", user="ana")
    ui.clear_model_cache()
    return app


def click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_a_damaged_old_version_is_named_and_can_be_deleted(two_versions):
    """As an admin I see which old version is damaged, the history still lists every
    version, and I can delete the damaged one."""
    store = ui.store()
    (store.root / "v1" / "metadata.json").write_text("[]")
    at = open_page(two_versions, "1_Overview.py")
    assert not at.exception and not at.error  # the active v2 is fine
    at = open_page(at, PAGE)
    assert not at.exception
    history = next(d.value for d in at.dataframe if "Version" in d.value.columns)
    assert list(history["Version"]) == ["v2", "v1"]
    assert "damaged" in history.set_index("Version").loc["v1", "Problem"]
    assert any("damaged" in w.value and "v1" in w.value for w in at.warning)
    at.selectbox(key="retrain.history_version").set_value("v1").run()
    assert next(b for b in at.button if b.label == "Activate (roll back)").disabled
    click(at, "Delete")
    click(at, "Yes, delete v1")
    assert not at.exception
    assert store.versions() == ["v2"]


@pytest.mark.parametrize("page", ["Home.py", "1_Overview.py", PAGE])
def test_a_damaged_active_version_is_named_on_every_page(two_versions, page):
    """As a user whose active model file was damaged I am told which version and what to do."""
    store = ui.store()
    joblib.dump({"not": "a model"}, store.root / "v2" / "model.joblib")
    (store.root / "v2" / "labeler.npz").unlink()
    ui.clear_model_cache()
    at = two_versions
    if page == "Home.py":
        at.run()
    else:
        at = open_page(at, page)
    assert not at.exception
    assert any("v2" in e.value and "damaged" in e.value for e in at.error), [
        e.value for e in at.error
    ]


def test_a_full_disk_on_save_is_said_and_nothing_is_half_saved(app, monkeypatch):
    """As an analyst whose server's disk is full I get a clear message, not a crash."""
    at = open_page(app, PAGE)
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("joblib.dump", full)
    click(at, "Save as a new version and activate it")
    assert not at.exception
    assert any("No space left on device" in e.value for e in at.error)
    store = ui.store()
    assert store.versions() == ["v1"] and store.active_version() == "v1"
    assert not [p for p in store.root.iterdir() if p.name.startswith(".staging")]


def test_the_audit_log_shows_who_did_what(two_versions):
    """As an admin I read who saved, activated and rolled back which version."""
    at = open_page(two_versions, PAGE)
    at.selectbox(key="retrain.history_version").set_value("v1").run()
    click(at, "Activate (roll back)")
    log = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert list(log["Action"])[:3] == ["rolled back to", "activated", "saved"]
    assert list(log["Version"])[:3] == ["v1", "v2", "v2"]
    assert log["User"].iloc[1] == "ana"
