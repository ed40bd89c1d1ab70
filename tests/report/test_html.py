"""The HTML report: one self-contained file, every segment's card, user text escaped, the
verdict on k worded as strong as the evidence."""

from __future__ import annotations

import copy
import html
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from segmentation.modeling.stability import stability_word
from segmentation.report.html import build_report_html
from segmentation.viz.style import fmt_metric
from tests.report.conftest import METADATA, NAME, PAYLOAD


class _Resources(HTMLParser):
    """Every tag with a ``src`` or ``href``, every ``<script>`` and ``<link>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.scripts = 0
        self.links = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.links += tag == "link"
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append((tag, value))


def resources(document: str) -> _Resources:
    parser = _Resources()
    parser.feed(document)
    return parser


@pytest.fixture(scope="module")
def document(report_model, report_points):
    model, _ = report_model
    return build_report_html(model, METADATA, points=report_points)


def test_report_is_one_self_contained_file(document):
    """As an analyst I e-mail the report; it opens on a laptop with no internet."""
    found = resources(document)
    assert found.links == 0  # no stylesheet fetched
    assert found.urls == []  # no script, style, picture or frame from anywhere
    # plotly.js once, then one small script per chart (sizes, donut, map, no sweep at k=4).
    assert document.count("Plotly.newPlot(") == 3
    assert document.count("window.PlotlyConfig") <= 1 and "plotly.js v" in document
    assert found.scripts == 1 + 3


def test_report_has_title_and_data_summary(document, report_model):
    model, _ = report_model
    assert "<title>Customer segments: model v7</title>" in document
    assert "2026-05-01 10:00" in document and "crm.csv" in document
    assert f"{model.n_rows_:,} customers" in document
    assert "Columns that form the segments" in document
    assert "Left out of the fit" in document


def test_user_text_is_escaped(document):
    """A segment or column name that is HTML shows as text and never runs."""
    assert PAYLOAD not in document
    assert "alert(&quot;pwned&quot;)" in document  # shown, escaped
    assert html.escape(NAME) in document


def test_every_segment_has_its_card(document, report_model):
    """Name, size, rule with precision and recall, stability and the trust words."""
    model, _ = report_model
    for profile in model.profiles_:
        assert html.escape(profile.name) in document
        rule = model.rules_[profile.cluster]
        assert html.escape(rule.sentence()) in document
        assert "(precision)" in document and "(recall)" in document
        value = model.stability_.segments[profile.cluster]
        assert f"{stability_word(value)}</span> {fmt_metric(value, 2)}" in document
        for recommendation in profile.recommendations:
            assert html.escape(recommendation) in document


def test_rules_on_a_html_column_are_escaped(document, report_model):
    """Rules and traits quote column names: escaped like every other user text."""
    model, _ = report_model
    text = " ".join(rule.sentence() for rule in model.rules_)
    text += " ".join(t for p in model.profiles_ for t in p.traits)
    assert "Income" in text  # the payload column is quoted somewhere ...
    assert PAYLOAD not in document  # ... and never raw


def test_k_choice_is_explained(document, report_model):
    model, _ = report_model
    assert "How k was chosen" in document
    assert html.escape(model.k_choice_.describe()) in document
    assert "was given by hand" in document


@pytest.mark.parametrize(
    ("verdict", "said", "never"),
    [
        ("weak", "Weak evidence", "Clear evidence"),
        ("none", "No clear segments in this table", "Clear evidence"),
        ("clear", "Clear evidence", "Weak evidence"),
    ],
    ids=["weak", "none", "clear"],
)
def test_verdict_is_as_strong_as_the_evidence(report_model, verdict, said, never):
    """A weak choice of k is never worded as a confident one."""
    model, _ = report_model
    shown = copy.copy(model)
    shown.k_choice_ = replace(model.k_choice_, verdict=verdict, at_edge=False, near_ties=())
    document = build_report_html(shown, METADATA)
    assert said in document
    assert never not in document
    assert f'class="verdict {verdict}"' in document


def test_without_training_data_the_report_says_there_is_no_map(report_model):
    model, _ = report_model
    document = build_report_html(model, None)
    assert "No map" in document and 'id="chart-map"' not in document
    assert "model not saved" in document
