"""The Predict page: one customer from a form, and a file of customers labeled for download."""

import io

import pandas as pd
import pytest

from segmentation.app import ui
from segmentation.workflows import load_default_data
from tests.app.conftest import (
    open_page,
    plain,
    pretend_active_model_is_from_another_scikit_learn,
)

PAGE = "3_Predict.py"


@pytest.fixture
def predict(app):
    return open_page(app, PAGE)


def csv_bytes(df) -> bytes:
    return df.to_csv(index=False).encode()


def upload(at, name: str, data: bytes):
    uploader = next(u for u in at.file_uploader if u.key.startswith("predict.uploader"))
    uploader.set_value((name, data, "text/csv"))
    return at.run()


def segment_names() -> set[str]:
    model, _ = ui.store().load()
    return set(model.segment_names.values())


def texts(at) -> str:
    parts = [
        e.value for kind in ("markdown", "success", "caption", "subheader") for e in at.get(kind)
    ]
    return plain("\n".join(map(str, parts)))


def test_form_returns_a_segment(predict):
    """As an analyst I fill in one customer and see their segment, traits and what to do."""
    at = predict
    assert not at.exception
    # The form asks for the segmenting columns only (Age, Gender and Region describe).
    assert not any(n.label == "Age" for n in at.number_input)
    recency = next(n for n in at.number_input if n.label == "Recency")
    recency.set_value(5)
    next(n for n in at.number_input if n.label == "Purchase Frequency").set_value(60.0)
    next(b for b in at.button if b.label == "Find the segment").click()
    at.run()
    assert not at.exception
    shown = [plain(s.value) for s in at.subheader]
    assert any(name in shown for name in segment_names())
    assert "What to do" in texts(at)
    assert at.get("plotly_chart"), "the customer-vs-segment chart is missing"
    assert at.session_state["predict.one"]["record"]["Recency"] == 5


def test_file_is_labeled_and_offered_for_download(predict):
    """As an analyst I upload a customer export and download it with a segment per row."""
    data = load_default_data().head(120)
    at = upload(predict, "march.csv", csv_bytes(data))
    assert not at.exception
    assert "Labeled file: **march.csv** (120 rows)" in texts(at)
    assert [d.label for d in at.download_button] == [
        "Download the labeled file (CSV)",
        "Download by segment",
    ]
    result = at.session_state["predict.result"]["labeled"]
    assert result.result.fast  # a clean export takes the command line's fast path
    labeled = pd.read_csv(io.BytesIO(result.read_bytes()))
    assert list(labeled.columns) == [*data.columns, "cluster", "segment", "cluster_distance"]
    assert set(labeled["segment"]) <= segment_names()
    assert len(at.dataframe[-1].value) == 20  # the preview
    assert "Segment mix of this file" in texts(at)


def test_missing_column_is_matched_by_hand(predict):
    """As an analyst whose export calls recency "Days" I match it by hand and get my labels."""
    data = load_default_data().head(50).rename(columns={"Recency": "Days"})
    at = upload(predict, "renamed.csv", csv_bytes(data))
    assert not at.exception
    assert any("lacks 1 of the model's columns: Recency" in w.value for w in at.warning)
    assert not at.download_button
    at.selectbox(key="predict.map.Recency").set_value("Days")
    at.run()
    assert not at.exception
    assert any("(50 rows)" in s.value for s in at.success)
    status = at.dataframe[0].value.set_index("Model column").loc["Recency", "Status"]
    assert status == "Matched by hand"


def test_missing_column_can_be_filled_in_and_says_with_what(predict):
    """As an analyst whose export has no Recency at all I fill it in and am told with what."""
    data = load_default_data().head(50).drop(columns=["Recency"])
    at = upload(predict, "no_recency.csv", csv_bytes(data))
    assert any("or fill them in" in w.value for w in at.warning)
    assert not at.download_button
    (fill,) = [c for c in at.checkbox if c.key.startswith("predict.impute.")]
    fill.check().run()
    assert not at.exception
    assert any("(50 rows)" in s.value for s in at.success)
    assert at.download_button
    model, _ = ui.store().load()
    median = model.imputed_values(["Recency"])["Recency"]
    (note,) = [plain(i.value) for i in at.info if "Filled in for every customer" in i.value]
    assert f"'Recency' is missing from the file: every customer was given {median:,.6g}" in note
    assert "(the training median)" in note and "rough guide" in note
    status = at.dataframe[0].value.set_index("Model column").loc["Recency", "Status"]
    assert status == "Imputed"


def test_bad_values_are_reported_with_row_numbers(predict):
    """As an analyst I see which rows of my file had values that are not numbers."""
    data = load_default_data().head(30).astype({"Income": object})
    # Enough of them that the reader keeps the column as text (a stray one becomes empty).
    data.loc[[4, 9, 20], "Income"] = "unknown"
    at = upload(predict, "messy.csv", csv_bytes(data))
    assert not at.exception
    warnings = [plain(w.value) for w in at.warning]
    assert any("'Income'" in w and "rows 5, 10, 21" in w for w in warnings)
    check = at.dataframe[0].value.set_index("Model column")
    assert check.loc["Income", "First rows with values that are not numbers"] == "5, 10, 21"


def test_labeled_file_survives_a_page_switch_and_clears(predict):
    """As an analyst I look at another page and come back to find my labeled file waiting."""
    at = upload(predict, "april.csv", csv_bytes(load_default_data().head(40)))
    open_page(at, "4_Explorer.py")
    open_page(at, PAGE)
    assert not at.exception
    assert "Labeled file: **april.csv** (40 rows)" in texts(at)
    assert at.download_button
    next(b for b in at.button if b.label == "Clear").click()
    at.run()
    assert not at.exception
    assert "predict.result" not in at.session_state
    assert not at.download_button


def test_sample_of_bundled_customers(predict):
    """As a first-time user I try labeling on a sample without a file of my own."""
    at = predict
    next(b for b in at.button if b.label.startswith("Try it with")).click()
    at.run()
    assert not at.exception
    assert "sample of the bundled customers.csv" in texts(at)


def test_unreadable_file_shows_an_error(predict):
    """As an analyst who picked the wrong file I get a clear message, not a crash."""
    at = upload(predict, "picture.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    assert not at.exception
    assert at.error and "picture.csv" in plain(at.error[0].value)
    assert not at.download_button


def test_model_from_another_scikit_learn_is_explained(app):
    """As a user of an old model I am told it cannot be used and pointed to Retrain."""
    pretend_active_model_is_from_another_scikit_learn()
    at = open_page(app, PAGE)
    assert not at.exception
    assert "scikit-learn 0.1" in plain(at.error[0].value)
    assert [link.label for link in at.get("page_link")] == ["Go to Retrain"]


def test_gaussian_mixture_gives_probabilities_in_the_form_and_the_file(isolated_models_dir):
    """As an analyst whose active model is a Gaussian mixture I see how probable a
    customer's segment is, and my labeled file has segment_probability."""
    from streamlit.testing.v1 import AppTest

    from segmentation.workflows import get_store, train_and_save
    from tests.app.conftest import HOME, TIMEOUT

    data = load_default_data()
    train_and_save(data, data_name="c.csv", store=get_store(), k=4, algorithm="gmm")
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    at = open_page(at, PAGE)
    next(b for b in at.button if b.label == "Find the segment").click()
    at.run()
    assert not at.exception
    assert "Probability of belonging to this segment" in texts(at)
    at = upload(at, "march.csv", csv_bytes(data.head(50)))
    assert not at.exception
    result = at.session_state["predict.result"]["labeled"]
    assert result.result.fast
    labeled = pd.read_csv(io.BytesIO(result.read_bytes()))
    assert list(labeled.columns[-4:]) == [
        "cluster", "segment", "cluster_distance", "segment_probability"
    ]  # fmt: skip
    assert labeled["segment_probability"].between(0, 1).all()
    assert "segment_probability" in at.dataframe[-1].value.columns  # the preview
