"""AppTest of Overview's report downloads: HTML at once, the PDF made on request."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.data.synthetic import generate_customers
from tests.app.conftest import HOME, TIMEOUT, open_page

PDF_KEY = "overview.report_pdf"


@pytest.fixture
def overview(isolated_models_dir):
    """Overview of a small saved model (no default model trained)."""
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.store import ModelStore

    data = generate_customers(300, seed=5)
    model = SegmentationModel(k=3, random_state=0).fit(data)
    ModelStore(isolated_models_dir).save(model, data=data, data_name="small.csv")
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.run()
    open_page(at, "1_Overview.py")
    assert not at.exception, at.exception
    return at


def downloads(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


def prepare_pdf(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Prepare the PDF report"]
    button.click().run()
    return at


@pytest.mark.slow  # a browser draws the PDF's charts
def test_overview_offers_the_report_as_html_and_pdf(overview):
    """As an analyst I take the segments to the marketing meeting as a file, HTML or PDF."""
    at = overview
    assert "Download the report (HTML)" in downloads(at)
    # The PDF takes seconds: nothing is made until it is asked for.
    assert "Download the report (PDF)" not in downloads(at)
    assert PDF_KEY not in at.session_state
    prepare_pdf(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Download the report (PDF)" in downloads(at)
    (version, edits), pdf = at.session_state[PDF_KEY]
    assert version == "v1" and edits == "" and pdf.startswith(b"%PDF-")


def test_overview_says_why_the_pdf_cannot_be_made(overview, monkeypatch, tmp_path):
    """Without Chromium the page says so and keeps working; the HTML report stays offered."""
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "no-chromium"))
    at = prepare_pdf(overview)
    assert not at.exception, at.exception
    assert any("Chromium" in e.value and "HTML report" in e.value for e in at.error)
    assert "Download the report (HTML)" in downloads(at)
    assert "Download the report (PDF)" not in downloads(at)
