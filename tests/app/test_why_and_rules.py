"""Why this customer on Predict, and rules with precision and recall on Cluster Analysis
and Retrain."""

from __future__ import annotations

import io

import pandas as pd

from segmentation.app import ui
from segmentation.insight.explain import rules_table
from segmentation.workflows import load_default_data
from tests.app.conftest import open_page, plain


def _texts(at, kinds=("markdown", "caption", "info", "warning")) -> str:
    return plain("\n".join(str(e.value) for kind in kinds for e in at.get(kind)))


def test_predict_says_why_this_segment_and_not_another(app):
    """As an analyst I label one customer and see the runner-up segment, the margin and
    the features that pull the customer toward its segment."""
    at = open_page(app, "3_Predict.py")
    next(n for n in at.number_input if n.label == "Recency").set_value(5)
    next(b for b in at.button if b.label == "Find the segment").click()
    at.run()
    assert not at.exception
    why = at.session_state["predict.one"]["result"]["why"]
    text = _texts(at)
    assert "Why this segment and not another" in text
    assert why["runner_up_segment"] in text
    assert f"What pulls this customer toward {why['segment']} rather than" in text
    for feature in why["features"]:
        assert feature["sentence"] in text
    # The verdict box: a warning for a close call, else an info box.
    box = at.warning if why["close_call"] else at.info
    assert any(plain(b.value) == why["sentence"] for b in box)


def test_predict_close_call_is_worded_as_one(app):
    """A customer between two segments gets the close-call wording, in a warning."""
    model, meta = ui.store().load()
    at = open_page(app, "3_Predict.py")
    prefix = f"predict.field.{meta['version']}."
    fields = {w.key[len(prefix) :]: w for w in at.number_input if w.key.startswith(prefix)}
    record = {name: w.value for name, w in fields.items()}
    record |= {w.key[len(prefix) :]: w.value for w in at.selectbox if w.key.startswith(prefix)}
    # Move one field at a time from the typical customer until the label is a close call.
    found = None
    for name, w in fields.items():
        low, high = 0, 3 * max(w.value, 1)  # from nothing to three times the median
        for value in [low + (high - low) * i / 60 for i in range(61)]:
            value = round(value) if isinstance(w.value, int) else round(value, 2)
            if model.predict_one({**record, name: value})["why"]["close_call"]:
                found = (name, value)
                break
        if found:
            break
    assert found is not None, "no close call between the typical customer and the edges"
    fields[found[0]].set_value(found[1])
    next(b for b in at.button if b.label == "Find the segment").click()
    at.run()
    assert not at.exception
    why = at.session_state["predict.one"]["result"]["why"]
    assert why["close_call"]
    assert any(plain(b.value).startswith("A close call:") for b in at.warning)


def test_batch_checkbox_adds_runner_up_and_margin_columns(app):
    """As an analyst I tick the checkbox and the labeled file gains runner_up_segment and
    margin; unticked, the file is as before."""
    at = open_page(app, "3_Predict.py")
    data = load_default_data().head(80)
    uploader = next(u for u in at.file_uploader if u.key.startswith("predict.uploader"))
    uploader.set_value(("april.csv", data.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception
    plain_file = at.session_state["predict.result"]["labeled"]
    labeled = pd.read_csv(io.BytesIO(plain_file.read_bytes()))
    assert "runner_up_segment" not in labeled.columns
    at.checkbox(key="predict.explain").check()
    at.run()
    assert not at.exception
    result = at.session_state["predict.result"]["labeled"]
    assert result.result.fast  # the same path as the command line's --explain
    explained = pd.read_csv(io.BytesIO(result.read_bytes()))
    assert list(explained.columns[-2:]) == ["runner_up_segment", "margin"]
    assert (explained["runner_up_segment"] != explained["segment"]).all()
    assert list(result.preview.columns[:5]) == [
        "cluster", "segment", "cluster_distance", "runner_up_segment", "margin"
    ]  # fmt: skip


def test_cluster_analysis_shows_the_rules_of_the_selected_segments(app):
    """As an analyst I see each selected segment's rule with precision, recall and how far
    to trust it, and am told plainly when a rule holds for under 70%."""
    at = open_page(app, "2_Cluster_Analysis.py")
    assert not at.exception
    model, meta = ui.store().load()
    table = rules_table(model)
    text = _texts(at, ("markdown",))
    for row in table.itertuples():
        assert f"**{row.Segment}**: {row.Rule}" in text
        assert row.Trust in text
        if min(row.Precision, row.Recall) < 0.7:
            assert "Holds for under 70% of this segment" in text
    first = table["Segment"].iloc[0]
    others = list(table["Segment"].iloc[1:])
    at.multiselect(key=f"cluster_analysis.{meta['version']}.segments").set_value(others)
    at.run()
    assert not at.exception
    text = _texts(at, ("markdown",))
    assert f"**{first}**:" not in text
    assert all(f"**{name}**:" in text for name in others)


def test_retrain_candidate_shows_its_rules(app):
    """As an analyst I train a candidate and see its rules with precision and recall."""
    at = open_page(app, "5_Retrain.py")
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert not at.exception
    assert "The new model's rules" in _texts(at, ("markdown",))
    rules = next(d.value for d in at.dataframe if "Precision" in d.value.columns)
    assert list(rules.columns) == ["Segment", "Rule", "Precision", "Recall", "Trust", "Note"]
    assert len(rules) == 3
    assert rules[["Precision", "Recall"]].stack().between(0, 1).all()
