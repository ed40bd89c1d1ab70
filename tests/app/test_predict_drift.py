"""The Predict page says whether a file is like the training data, and refuses impossible values."""

import pytest

from segmentation.workflows import load_default_data
from tests.app.conftest import open_page, plain
from tests.app.test_predict import csv_bytes, segment_names, upload

PAGE = "3_Predict.py"


@pytest.fixture
def predict(app):
    return open_page(app, PAGE)


def _shown(at, kind: str) -> str:
    return plain("\n".join(str(e.value) for e in at.get(kind)))


def test_a_file_like_the_training_data_says_so(predict):
    """As an analyst I label next month's export and read that it looks like the training data."""
    at = upload(predict, "april.csv", csv_bytes(load_default_data().sample(600, random_state=1)))
    assert not at.exception
    assert "Is this file like the training data?" in _shown(at, "markdown")
    assert "looks like the training data" in _shown(at, "success")
    assert "Segment mix against training: PSI" in _shown(at, "caption")


def test_a_shifted_file_names_the_features_that_moved(predict):
    """As an analyst I label a file whose incomes are five times higher and see Income flagged."""
    data = load_default_data().sample(600, random_state=2)
    data["Income"] = data["Income"] * 5
    at = upload(predict, "shifted.csv", csv_bytes(data))
    assert not at.exception
    assert "has changed a lot from the training data" in _shown(at, "error")
    moved = next(d.value for d in at.dataframe if "PSI" in d.value.columns)
    row = moved[moved["Feature"] == "Income"].iloc[0]
    assert row["Change"] == "changed a lot" and row["PSI"] > 0.25
    assert row["Outside training"] > 0


def _income(at):
    return next(n for n in at.number_input if n.label == "Income")


def _submit(at):
    next(b for b in at.button if b.label == "Find the segment").click()
    return at.run()


def test_negative_income_is_refused_with_a_message(predict):
    """As an analyst I mistype a negative income and am told so, not shown the last answer
    (Income forms the segments; Age only describes them by default)."""
    at = _submit(predict)  # a first, valid answer
    assert any(plain(s.value) in segment_names() for s in at.subheader)
    _income(at).set_value(-5)
    at = _submit(at)
    assert not at.exception
    assert "Income cannot be negative (got -5)" in _shown(at, "error")
    assert not any(plain(s.value) in segment_names() for s in at.subheader)


def test_typo_income_is_shown_as_an_outlier(predict):
    """As an analyst I type an income of 1e15 and am warned, not offered a VIP tier."""
    at = predict
    next(n for n in at.number_input if n.label == "Income").set_value(1e15)
    at = _submit(at)
    assert not at.exception
    assert "an outlier, not a typical member" in _shown(at, "error")
    assert "is far above anything in the training data" in _shown(at, "warning")
    assert "What to do" in _shown(at, "markdown")  # the heading stays; no advice under it
    assert at.session_state["predict.one"]["result"]["recommendations"] == []
