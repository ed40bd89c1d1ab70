"""The Retrain page: train, compare, save and activate; roll back and delete versions."""

import pytest

from segmentation.app import ui
from tests.app.conftest import open_page, plain, pretend_active_model_is_from_another_scikit_learn

PAGE = "5_Retrain.py"


@pytest.fixture
def retrain(app):
    return open_page(app, PAGE)


def click(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success") for e in at.get(kind)]
    return "\n".join(map(str, parts))


def test_chosen_k_is_trained_saved_and_activated(retrain):
    """As an analyst I pick 3 segments, train, compare, save, and the new model is active."""
    at = retrain
    assert not at.exception
    before = ui.store().active_version()
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    assert not at.exception
    assert ui.store().active_version() == before, "training must not save by itself"
    comparison = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    assert comparison.set_index("Measure").loc["Segments (k)", "New model"] == "3"
    click(at, "Save as a new version and activate it")
    assert not at.exception
    store = ui.store()
    assert store.active_version() != before
    assert store.metadata(store.active_version())["k"] == 3
    assert any("activated" in s.value for s in at.success)
    assert "retrain.candidate" not in at.session_state


def test_choices_and_trained_model_survive_a_page_switch(retrain):
    """As an analyst I check the Explorer mid-way and come back to my choices and new model."""
    at = retrain
    at.selectbox(key="retrain.scaler").set_value("robust")
    at.slider(key="retrain.k").set_value(4)
    click(at, "Train")
    open_page(at, "4_Explorer.py")
    open_page(at, PAGE)
    assert not at.exception
    assert at.slider(key="retrain.k").value == 4
    assert at.selectbox(key="retrain.scaler").value == "robust"
    assert at.session_state["retrain.candidate"]["model"].k_ == 4
    assert any(b.label == "Save as a new version and activate it" for b in at.button)


def test_automatic_k_shows_the_sweep(retrain):
    """As an analyst I let the studio find k and see the evidence, the rule and its verdict."""
    at = retrain
    at.radio(key="retrain.mode").set_value("Find the best k automatically")
    at.run()
    at.slider(key="retrain.k_range").set_value((2, 6))
    at.run()
    click(at, "Train")
    assert not at.exception
    assert at.get("plotly_chart"), "the sweep chart is missing"
    assert "prediction strength (Tibshirani & Walther, 2005)" in texts(at)
    assert "Choosing k: the recommended k is" in texts(at)
    assert "Choice of k: clear." in texts(at)
    assert "Overall stability: **stable**" in texts(at)


def test_changed_role_is_used(retrain):
    """As an analyst I mark Age as ignored and the new model leaves it out."""
    at = retrain
    editor = next(d for d in at.data_editor if d.key and d.key.startswith("retrain.roles"))
    row = list(editor.value["column"]).index("Age")
    at.session_state[editor.key] = {
        "edited_rows": {row: {"role": "ignored"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    click(at, "Train")
    assert not at.exception
    model = at.session_state["retrain.candidate"]["model"]
    assert "Age" not in model.schema_.features


def test_engine_error_keeps_the_page_working(retrain):
    """As an analyst who asks for something impossible I get a clear error, not a crash."""
    at = retrain
    editor = next(d for d in at.data_editor if d.key and d.key.startswith("retrain.roles"))
    columns = list(editor.value["column"])
    at.session_state[editor.key] = {
        "edited_rows": {i: {"role": "ignored"} for i in range(len(columns))},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    click(at, "Train")
    assert not at.exception
    assert any("nothing to cluster" in e.value for e in at.error)
    assert "retrain.candidate" not in at.session_state
    assert at.slider(key="retrain.k")  # the page carries on


def test_roll_back_and_delete(retrain):
    """As an analyst I roll back to an older version, then delete the newer one."""
    at = retrain
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    click(at, "Save as a new version and activate it")
    store = ui.store()
    assert store.active_version() == "v2"
    history = next(d.value for d in at.dataframe if "Version" in d.value.columns)
    assert list(history["Version"]) == ["v2", "v1"]

    at.selectbox(key="retrain.history_version").set_value("v2").run()
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled, "the active version cannot be deleted"

    at.selectbox(key="retrain.history_version").set_value("v1").run()
    click(at, "Activate (roll back)")
    assert store.active_version() == "v1"
    # The k slider follows the model now active, not the k of the version rolled back from.
    assert at.slider(key="retrain.k").value == store.metadata("v1")["k"] != 3

    at.selectbox(key="retrain.history_version").set_value("v2").run()
    click(at, "Delete")
    assert any("Delete v2 for good?" in w.value for w in at.warning)
    assert store.versions() == ["v1", "v2"], "nothing is deleted before the confirmation"
    click(at, "Yes, delete v2")
    assert not at.exception
    assert store.versions() == ["v1"]


def test_unloadable_active_model_offers_retraining(app):
    """As a user whose model came from another scikit-learn I am told so and can retrain."""
    pretend_active_model_is_from_another_scikit_learn()
    at = open_page(app, PAGE)
    assert not at.exception
    assert any("The active model cannot be used" in e.value for e in at.error)
    at.slider(key="retrain.k").set_value(4)
    click(at, "Train")
    click(at, "Save as a new version and activate it")
    assert not at.exception
    store = ui.store()
    assert store.metadata(store.active_version())["k"] == 4
    assert not at.error


def test_new_model_is_matched_to_the_active_one_before_saving(retrain):
    """As an analyst I retrain and see, before saving, where each segment's customers go;
    the saved version keeps the active segments' numbers and names."""
    at = retrain
    store = ui.store()
    before = store.active_version()
    active = store.metadata(before)
    at.slider(key="retrain.k").set_value(active["k"])
    click(at, "Train")
    assert not at.exception
    migration = next(d.value for d in at.dataframe if "Segment before" in d.value.columns)
    assert len(migration) == active["k"] and set(migration["Became"]) == {"matched"}
    assert migration.shape[1] == 2 + active["k"]
    assert f"Where the customers of {before} go" in texts(at)
    assert "100.0% of the customers stay in a segment with the same number and name" in texts(at)
    assert any(
        chart.proto.spec and "sankey" in chart.proto.spec for chart in at.get("plotly_chart")
    )
    click(at, "Save as a new version and activate it")
    assert not at.exception
    saved = store.metadata(store.active_version())
    assert saved["identity"]["matched_against"] == before
    assert [s["name"] for s in saved["segments"]] == [s["name"] for s in active["segments"]]


def test_purposes_are_shown_and_demographics_are_one_click_away(retrain):
    """As an analyst I see which columns form the segments and why, segment on the
    demographics too with one click, and the choice is saved with the model."""
    at = retrain
    assert not at.exception
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    model = at.session_state["retrain.candidate"]["model"]
    assert set(model.schema_.descriptors) == {"Age", "Gender", "Region"}
    assert "Described by: Age, Gender, Region" in plain(texts(at))
    editor = next(t for t in at.dataframe if "purpose" in t.value.columns)
    table = editor.value.set_index("column")
    assert table.loc["Gender", "purpose"] == "describe"
    assert table.loc["Gender", "purpose_reason"].startswith("describe: a demographic")
    assert table.loc["Income", "purpose"] == "segment"

    toggle = next(t for t in at.toggle if t.label.startswith("Segment on every column"))
    toggle.set_value(True).run()
    assert not at.exception
    click(at, "Train")
    model = at.session_state["retrain.candidate"]["model"]
    assert model.schema_.descriptors == []
    assert {"Age", "Gender", "Region"} <= set(model.schema_.features)
    click(at, "Save as a new version and activate it")
    store = ui.store()
    params = store.metadata(store.active_version())["params"]
    assert params["purposes"] == {"Age": "segment", "Gender": "segment", "Region": "segment"}


def test_customers_left_out_are_listed_with_the_reason(retrain):
    """As an analyst I see which customers were left out of the fit and why."""
    at = retrain
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    model = at.session_state["retrain.candidate"]["model"]
    assert "Outlier screen:" in plain(texts(at))
    if model.n_outliers_removed_:
        shown = next(d.value for d in at.dataframe if "Why" in d.value.columns)
        assert len(shown) == model.n_outliers_removed_
        assert shown["Why"].str.startswith("far from typical on").all()


def test_methods_are_compared_side_by_side_before_one_is_saved(retrain):
    """As an analyst I train K-Means, Ward and a Gaussian mixture on the same customers,
    compare their sizes, separation and agreement, and save the Gaussian mixture."""
    at = retrain
    at.multiselect(key="retrain.algorithms").set_value(["kmeans", "ward", "gmm"])
    at.slider(key="retrain.k").set_value(4)
    at.run()
    click(at, "Train")
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    side_by_side = next(f for f in frames if "Stability" in f.columns)
    assert list(side_by_side["Method"]) == ["K-Means", "Ward (hierarchical)", "Gaussian mixture"]
    assert (side_by_side["Segments"] == "4").all()
    assert "Stability" in side_by_side.columns
    agreement = next(f for f in frames if list(f.columns) == list(side_by_side["Method"]))
    assert (agreement.to_numpy().diagonal() == 1).all()
    # The migration between two methods: every training customer counted once.
    migration = next(f for f in frames if f.shape == (4, 4) and f is not agreement)
    assert migration.to_numpy().sum() == at.session_state["retrain.candidate"]["model"].n_rows_
    # Ward's dendrogram is shown only while Ward is the method to keep.
    at.selectbox(key="retrain.keep_method").set_value("Ward (hierarchical)")
    at.run()
    assert "How the segments merge" in texts(at)
    at.selectbox(key="retrain.keep_method").set_value("Gaussian mixture")
    at.run()
    assert "How the segments merge" not in texts(at)
    click(at, "Save as a new version and activate it")
    assert not at.exception
    store = ui.store()
    assert store.metadata(store.active_version())["algorithm"] == "gmm"


def test_moving_k_after_training_marks_the_result_out_of_date(retrain):
    """As an analyst I train k=3, move the slider to 5, and am told the result is for k=3."""
    at = retrain
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    assert not [w for w in at.warning if "Out of date" in w.value]
    at.slider(key="retrain.k").set_value(5).run()
    assert not at.exception
    (stale,) = [w.value for w in at.warning if "Out of date" in w.value]
    assert "for k = 3, not the slider's k = 5" in stale
    at.selectbox(key="retrain.scaler").set_value("robust").run()
    (stale,) = [w.value for w in at.warning if "Out of date" in w.value]
    assert "scaling" in stale


def test_leaving_during_training_is_warned_and_reported(retrain):
    """As an analyst I am told that leaving stops training, and on return that it did."""
    at = retrain
    assert "leaving it, or changing a setting, stops the training" in texts(at)
    # A run cut short leaves its start mark behind (a finished one clears it).
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    assert "retrain.training" not in at.session_state
    at.session_state["retrain.training"] = "10:00:00 UTC"
    open_page(at, "4_Explorer.py")
    open_page(at, PAGE)
    assert not at.exception
    (notice,) = [w.value for w in at.warning if "did not finish" in w.value]
    assert "10:00:00 UTC" in notice and "nothing was saved" in notice
    at.run()
    assert not [w for w in at.warning if "did not finish" in w.value], "said once"


def test_metrics_of_other_data_are_not_compared(retrain):
    """As an analyst I train on fewer customers and am told the measures are not comparable."""
    at = retrain
    at.slider(key="retrain.k").set_value(3)
    click(at, "Train")
    comparison = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    better = comparison.set_index("Measure")["Which is better"]
    assert better["Silhouette"] in ("Active model", "New model", "equal")
    assert not [i for i in at.info if "not comparable" in i.value]
    # Same page, a candidate that saw 10 fewer customers.
    candidate = at.session_state["retrain.candidate"]
    candidate["data"] = candidate["data"].iloc[10:]
    candidate["data_fingerprint"] = None
    model = candidate["model"]
    model.n_rows_ -= 10
    at.run()
    comparison = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    better = comparison.set_index("Measure")["Which is better"]
    assert better["Silhouette"] == better["Davies-Bouldin"] == "not comparable"
    assert [i for i in at.info if "different data (1,000 and 990 customers)" in i.value]
