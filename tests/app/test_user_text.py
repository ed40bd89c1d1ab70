"""User data (file, column, category and segment names) is shown as text on every page.

A file name is stored with the model it trained and shown to every user of the store,
so Markdown in it must not become a link or an image in a colleague's browser.
"""

import re

import numpy as np
import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from segmentation.data.synthetic import generate_customers
from segmentation.viz.style import md_escape
from tests.app.conftest import HOME, TIMEOUT, open_page

FILE_NAME = "![x](http://example.invalid/a.png).csv"
COLUMN = "[c](http://example.invalid)"
VALUE = "[click](http://example.invalid)"

#: Proto fields Streamlit renders as Markdown: bodies, labels, tooltips, metric deltas.
MARKDOWN_FIELDS = {"body", "label", "help", "delta"}


def _strings(message: Message, out: list[str]) -> None:
    for field, value in message.ListFields():
        if isinstance(value, Message):
            _strings(value, out)
        elif field.message_type is not None:  # a repeated message field
            for item in value:
                _strings(item, out)
        elif field.name in MARKDOWN_FIELDS and isinstance(value, str):
            out.append(value)


def rendered_markdown(at) -> list[str]:
    """Every Markdown string of the page and its sidebar (tables and charts are not Markdown)."""
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(getattr(node, "proto", None), Message):
            _strings(node.proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


#: What Markdown would turn into a link or an image: ``[..](http``, an HTML tag, or a bare
#: URL (GFM links ``http://`` and ``www.`` even when their punctuation is escaped).
LIVE = re.compile(r"\]\(http|<img|<a |https?\\?:\\?/\\?/|www\\?\.", re.IGNORECASE)


def assert_shown_as_text(at, *expected: str) -> None:
    texts = rendered_markdown(at)
    live = [t for t in texts if LIVE.search(t)]
    assert not live, f"Markdown links or images from user data: {live}"
    everything = "\n".join(texts)
    for text in expected:
        assert md_escape(text) in everything, f"{text!r} is not shown (escaped)"


def hostile_customers() -> bytes:
    """Customers with a Markdown column name and a category value typical of one persona."""
    data, personas = generate_customers(600, seed=7, return_personas=True)
    first = personas == np.unique(personas)[0]
    data[COLUMN] = np.where(first, VALUE, "plain")
    return data.to_csv(index=False).encode()


@pytest.fixture
def trained_on_hostile_file(app):
    """The app after a model was trained and saved on a file with Markdown in its names."""
    at = open_page(app, "5_Retrain.py")
    uploader = next(u for u in at.file_uploader if u.key == "retrain.upload")
    uploader.set_value((FILE_NAME, hostile_customers(), "text/csv"))
    at.run()
    at.slider(key="retrain.k").set_value(5)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    assert_shown_as_text(at, FILE_NAME)
    next(b for b in at.button if b.label.startswith("Save as a new version")).click()
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (None, (FILE_NAME,)),
        ("1_Overview.py", (FILE_NAME, VALUE)),
        ("2_Cluster_Analysis.py", ()),
        ("3_Predict.py", ()),
        ("4_Explorer.py", (FILE_NAME, COLUMN)),
        ("5_Retrain.py", (FILE_NAME,)),
    ],
    ids=["home", "overview", "cluster-analysis", "predict", "explorer", "retrain"],
)
def test_names_from_data_are_shown_as_text(trained_on_hostile_file, page, expected):
    """As a colleague of someone who uploaded a file with Markdown in its name, columns and
    values, I see those names as they are, and my browser fetches nothing they point to."""
    if page is None:  # a colleague's new session, on the store the file's model is in
        at = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    else:
        at = open_page(trained_on_hostile_file, page)
    assert not at.exception, at.exception
    assert_shown_as_text(at, *expected)
    # The sidebar every page shares names the stored model's data.
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert md_escape(FILE_NAME) in sidebar


def test_predict_form_labels_columns_as_text(trained_on_hostile_file):
    """As an analyst I fill in a customer whose model has a column with Markdown in its name."""
    at = open_page(trained_on_hostile_file, "3_Predict.py")
    labels = [s.label for s in at.selectbox]
    assert any("\\]\\(http" in label for label in labels), labels
    next(b for b in at.button if b.label == "Find the segment").click()
    at.run()
    assert not at.exception
    assert_shown_as_text(at)
