"""AppTest of renaming a segment and editing its recommendations on Overview."""

from __future__ import annotations

from segmentation.workflows import get_store
from tests.app.conftest import open_page, plain


def _edit_form(at):
    """The name input, recommendations area and Save button of the rename expander."""
    name = next(t for t in at.text_input if t.label == "Name")
    recs = next(t for t in at.text_area if t.label.startswith("Recommendations"))
    save = next(b for b in at.button if b.label == "Save")
    return name, recs, save


def test_rename_shows_on_every_page_and_in_predict(app):
    """As an analyst I rename a segment and write my own advice; every page shows it."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    at.selectbox(key="overview.edit_segment").set_value(2).run()
    name, recs, save = _edit_form(at)
    name.input("Weekend Treat Hunters")
    recs.input("Send a Friday evening offer\n\nFeature new arrivals")
    save.click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Weekend Treat Hunters" in plain(s.value) for s in at.success)
    text = plain("\n".join(m.value for m in at.markdown))
    assert "#### Weekend Treat Hunters" in text
    assert "- Send a Friday evening offer\n- Feature new arrivals" in text

    store = get_store()
    version = store.active_version()
    assert store.metadata(version)["segments"][2]["name"] == "Weekend Treat Hunters"
    # The saved model and the fast labeler both give the new name.
    labeler, _ = store.load_labeler(version)
    assert labeler.names[2] == "Weekend Treat Hunters"

    at = open_page(at, "2_Cluster_Analysis.py")
    assert not at.exception, at.exception
    shown = " ".join(
        [str(s.options) for s in at.selectbox] + [str(m.options) for m in at.multiselect]
    )
    assert "Weekend Treat Hunters" in shown


def test_rename_refuses_a_bad_name_and_keeps_the_old_one(app):
    """As an analyst I get a clear message when the name is empty or taken, nothing saved."""
    at = open_page(app, "1_Overview.py")
    store = get_store()
    version = store.active_version()
    before = [s["name"] for s in store.metadata(version)["segments"]]
    at.selectbox(key="overview.edit_segment").set_value(0).run()
    name, _, save = _edit_form(at)
    name.input(before[1].upper())  # another segment's name, in other case
    save.click().run()
    assert not at.exception, at.exception
    assert any("already called" in e.value for e in at.error)
    name, _, save = _edit_form(at)
    name.input("   ")
    save.click().run()
    assert any("empty" in e.value for e in at.error)
    assert [s["name"] for s in store.metadata(version)["segments"]] == before
    assert not (store.root / version / "edits.json").exists()
    # The page keeps working.
    assert f"#### {before[0]}" in plain("\n".join(m.value for m in at.markdown))
