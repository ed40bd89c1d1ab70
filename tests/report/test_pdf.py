"""The PDF report: a real A4 PDF with the segments' cards and the charts drawn as SVG by
kaleido in Debian's Chromium."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from segmentation.errors import SegmentationError
from segmentation.report import pdf
from tests.report.conftest import METADATA, NAME

pytestmark = pytest.mark.slow  # a browser draws the charts: several seconds

A4_POINTS = (595.3, 841.9)


@pytest.fixture(scope="module")
def document(report_model, report_points):
    model, _ = report_model
    return pdf.build_report_pdf(model, METADATA, points=report_points)


@pytest.fixture(scope="module")
def text(document):
    reader = PdfReader(io.BytesIO(document))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_report_is_an_a4_pdf(document, text):
    reader, _ = text
    assert document.startswith(b"%PDF-")
    assert len(reader.pages) >= 2
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == A4_POINTS


def test_report_has_every_segment_and_the_verdict(report_model, text):
    model, _ = report_model
    _, words = text
    flat = " ".join(words.split())
    assert " ".join(NAME.split()) in flat  # shown as text, not as markup
    for profile in model.profiles_[1:]:
        assert profile.name in flat
    assert "How k was chosen" in flat and "(precision)" in flat
    assert "Page 1 of" in flat


def test_charts_are_drawn_as_svg(report_model, report_points, text):
    """The charts' own labels are text in the PDF: the SVG was drawn, not a blank box."""
    _, words = text
    assert "Principal component 1" in words  # the customer map's axis
    assert "Customers" in words  # the size chart's axis


def test_charts_come_from_the_chromium_given(monkeypatch, report_model):
    """Never a browser downloaded on the fly: a missing Chromium is a clear error."""
    monkeypatch.setenv("CHROMIUM_PATH", "/nonexistent/chromium")
    model, _ = report_model
    with pytest.raises(SegmentationError, match="not at /nonexistent/chromium"):
        pdf.build_report_pdf(model, METADATA)


def test_svg_pictures_are_carried_in_the_document():
    html = pdf.svg_chart(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    assert html.startswith('<img alt="" src="data:image/svg+xml;base64,')
