"""AppTest of the Cluster Analysis page: filters, the comparison charts, statistics."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.workflows import get_store, load_default_data, train_and_save
from tests.app.conftest import HOME, TIMEOUT, open_page

PAGE = "2_Cluster_Analysis.py"


def matching(at) -> tuple[int, int]:
    """The (matching, total) numbers of the "N of M customers match" line."""
    for block in at.markdown:
        found = re.search(r"\*\*([\d,]+) of ([\d,]+) customers\*\* match", block.value)
        if found:
            return tuple(int(n.replace(",", "")) for n in found.groups())
    raise AssertionError("no 'N of M customers match the filters' line on the page")


def widget(elements, label: str):
    (found,) = [e for e in elements if e.label == label]
    return found


@pytest.fixture
def page(app):
    at = open_page(app, PAGE)
    assert not at.exception, at.exception
    return at


def test_page_shows_every_comparison(page):
    """As an analyst I open the page and see the segments compared in every way at once."""
    assert page.title[0].value == "Cluster Analysis"
    assert matching(page) == (1_000, 1_000)
    headers = [h.value for h in page.subheader]
    assert headers == [
        "How the segments compare",
        "Differences from the average customer",
        "Rules that describe the segments",
        "Two features side by side",
        "Distribution of one feature",
        "Make-up of each segment",
        "Statistics by segment",
    ]
    assert len(page.get("plotly_chart")) == 5
    stats = page.dataframe[0].value
    assert list(stats.columns) == [
        "Segment",
        "Feature",
        "Customers",
        "Mean",
        "Median",
        "Std. deviation",
    ]
    assert stats["Segment"].nunique() == 5
    assert [b.label for b in page.get("download_button")] == [
        "Download the filtered customers (CSV)",
        "Download the statistics (CSV)",
    ]


def test_filters_narrow_the_customers(page):
    """As an analyst I filter by segment, a numeric range and a category, and see how many
    customers remain."""
    segments = widget(page.multiselect, "Segments")
    dropped = segments.value[0]
    segments.unselect(dropped).run()
    assert not page.exception, page.exception
    after_segments, total = matching(page)
    assert 0 < after_segments < total

    widget(page.slider, "Age").set_value((20, 40)).run()
    assert not page.exception, page.exception
    after_age, _ = matching(page)
    assert 0 < after_age < after_segments

    widget(page.multiselect, "Region").set_value(["North"]).run()
    assert not page.exception, page.exception
    after_region, _ = matching(page)
    assert 0 < after_region < after_age
    stats = page.dataframe[0].value
    assert dropped not in set(stats["Segment"])
    assert stats["Customers"].max() <= after_region


def test_nothing_matching_shows_a_warning(page):
    """As an analyst who filtered everything away I get a plain warning, not an error."""
    widget(page.multiselect, "Segments").set_value([]).run()
    assert not page.exception, page.exception
    assert matching(page) == (0, 1_000)
    assert "No customer matches" in page.warning[0].value
    assert not page.get("plotly_chart")


def test_reset_brings_back_every_customer(page):
    """As an analyst I reset my filters in one click."""
    widget(page.slider, "Age").set_value((30, 35)).run()
    assert matching(page)[0] < 1_000
    widget(page.button, "Reset filters").click().run()
    assert not page.exception, page.exception
    assert matching(page) == (1_000, 1_000)
    age = widget(page.slider, "Age")
    assert age.value == (age.min, age.max)


@pytest.mark.parametrize(
    ("kind", "label", "value"),
    [
        ("selectbox", "Horizontal axis", "Income"),
        ("selectbox", "Vertical axis", "Age"),
        ("selectbox", "Feature", "TotalSpend"),
        ("radio", "Chart", "Violin"),
        ("selectbox", "Categorical column", "Region"),
    ],
    ids=["scatter-x", "scatter-y", "distribution-feature", "violin", "category"],
)
def test_chart_choices_rerun_cleanly(page, kind, label, value):
    """As an analyst I pick other features for the charts and they redraw."""
    widget(getattr(page, kind), label).set_value(value).run()
    assert not page.exception, page.exception
    assert widget(getattr(page, kind), label).value == value
    assert len(page.get("plotly_chart")) == 5


def test_filters_survive_a_page_switch(page):
    """As an analyst I look at the Overview and come back to find my filters as I left them."""
    widget(page.multiselect, "Segments").unselect(widget(page.multiselect, "Segments").value[0])
    widget(page.slider, "Age").set_value((25, 50))
    widget(page.selectbox, "Horizontal axis").set_value("Income")
    page.run()
    before = matching(page)
    segments = widget(page.multiselect, "Segments").value

    at = open_page(page, "1_Overview.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    at = open_page(at, PAGE)
    assert not at.exception, at.exception

    assert matching(at) == before
    assert widget(at.multiselect, "Segments").value == segments
    assert widget(at.slider, "Age").value == (25, 50)
    assert widget(at.selectbox, "Horizontal axis").value == "Income"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["Age", "Income", "SpendingScore"], "no categorical columns"),
        (["Gender", "Region"], "no numeric features"),
    ],
    ids=["numeric-only", "categorical-only"],
)
def test_page_explains_what_a_model_lacks(columns, message):
    """As an analyst whose model uses only some kinds of columns I am told which charts do
    not apply, instead of seeing an error."""
    data = load_default_data()[["CustomerID", *columns]]
    train_and_save(data, data_name="subset.csv", store=get_store(), k=3, random_state=0)
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    at = open_page(at, PAGE)
    assert not at.exception, at.exception
    assert matching(at) == (1_000, 1_000)
    assert any(message in info.value for info in at.info)


@pytest.mark.parametrize("algorithm", ["ward", "gmm", "kprototypes"])
def test_page_works_for_every_method_and_draws_ward_tree(isolated_models_dir, algorithm):
    """As an analyst whose active model is not K-Means I see the same page, and for Ward
    the tree of how its segments merge."""
    train_and_save(
        load_default_data(),
        data_name="c.csv",
        store=get_store(),
        k=4,
        algorithm=algorithm,
        purposes={"Gender": "segment", "Region": "segment"},  # k-prototypes needs categories
    )
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    at = open_page(at, PAGE)
    assert not at.exception, at.exception
    assert matching(at) == (1_000, 1_000)
    headers = [h.value for h in at.subheader]
    assert ("How the segments merge" in headers) == (algorithm == "ward")
