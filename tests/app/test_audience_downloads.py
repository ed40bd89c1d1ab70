"""Audience downloads in the app: one segment, every segment (zip or workbook) on Overview,
the filtered customers on Cluster Analysis, a labeled file by segment on Predict."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from segmentation.report.audiences import MANIFEST, SUMMARY_SHEET
from segmentation.workflows import get_store, load_default_data
from tests.app.conftest import open_page


@pytest.fixture
def downloads(monkeypatch):
    """The callables given to download buttons, by deferred file id: the bytes a click
    would download (nothing is built before the click)."""
    registered: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, *args, **kwargs):
        file_id = original(self, data_callable, *args, **kwargs)
        registered[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return registered


def button(at, label: str):
    return next(b for b in at.get("download_button") if b.proto.label == label)


def click(at, downloads, label: str) -> bytes:
    """The bytes the download button ``label`` gives when clicked."""
    proto = button(at, label).proto
    assert proto.HasField("deferred_file_id"), f"{label} builds its file before the click"
    return downloads[proto.deferred_file_id]()


def segment_names() -> list[str]:
    store = get_store()
    return [s["name"] for s in store.metadata(store.active_version())["segments"]]


def test_overview_downloads_one_segment(app, downloads):
    """As a marketer I download the customers of the one segment my campaign targets."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    names = segment_names()
    at.selectbox(
        key=next(s.key for s in at.selectbox if s.label == "Segment to download")
    ).set_value(names[1]).run()
    assert not at.exception, at.exception
    part = pd.read_csv(io.BytesIO(click(at, downloads, "Download this segment's customers (CSV)")))
    assert set(part["segment"]) == {names[1]}
    everyone = pd.read_csv(
        io.BytesIO(click(at, downloads, "Download the clustered customers (CSV)"))
    )
    assert len(part) == (everyone["segment"] == names[1]).sum() > 0


@pytest.mark.parametrize("kind", ["zip", "xlsx"])
def test_overview_downloads_all_segments(app, downloads, kind):
    """As a marketer I download every segment in its own file, as a zip or one workbook."""
    at = open_page(app, "1_Overview.py")
    radio = next(r for r in at.radio if r.label == "All segments as")
    assert radio.options == ["A zip of CSV files", "An Excel workbook"]
    radio.set_value(kind).run()
    assert not at.exception, at.exception
    data = click(at, downloads, "Download all segments")
    names = segment_names()
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = pd.read_csv(zf.open(MANIFEST))
            sizes = [len(pd.read_csv(zf.open(f))) for f in manifest["file"]]
    else:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = list(book[SUMMARY_SHEET].iter_rows(min_row=2, values_only=True))
        manifest = pd.DataFrame(rows, columns=["segment", "cluster", "file", "customers"])
        sizes = [sum(1 for _ in book[s].iter_rows(min_row=2)) for s in manifest["file"]]
    assert manifest["segment"].tolist() == names
    assert sizes == manifest["customers"].tolist() and sum(sizes) == 1_000


def test_cluster_analysis_downloads_exactly_the_filtered_customers(app, downloads):
    """As an analyst I download the customers my filters keep, with their segment."""
    at = open_page(app, "2_Cluster_Analysis.py")
    assert not at.exception, at.exception
    segments = next(m for m in at.multiselect if m.label == "Segments")
    kept = segments.value[1:]
    segments.set_value(kept).run()
    assert not at.exception, at.exception
    shown = next(m.value for m in at.markdown if "match the filters" in m.value)
    data = pd.read_csv(io.BytesIO(click(at, downloads, "Download the filtered customers (CSV)")))
    assert set(data["segment"]) == set(kept)
    assert f"**{len(data):,} of 1,000 customers**" in shown
    assert {"cluster", "segment", "cluster_distance"} <= set(data.columns)


def test_predict_downloads_the_labeled_file_by_segment(app, downloads):
    """As an analyst I label next month's file and take each segment's customers out."""
    at = open_page(app, "3_Predict.py")
    source = load_default_data().head(150)
    uploader = next(u for u in at.file_uploader if u.key.startswith("predict.uploader"))
    uploader.set_value(("march.csv", source.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    zipped = click(at, downloads, "Download by segment")
    with zipfile.ZipFile(io.BytesIO(zipped)) as zf:
        manifest = pd.read_csv(zf.open(MANIFEST))
        ids = [i for f in manifest["file"] for i in pd.read_csv(zf.open(f))["CustomerID"]]
    assert sorted(ids) == sorted(source["CustomerID"])
    next(r for r in at.radio if r.label == "By segment, as").set_value("xlsx").run()
    assert not at.exception, at.exception
    assert button(at, "Download by segment").proto.label == "Download by segment"
    book = openpyxl.load_workbook(io.BytesIO(click(at, downloads, "Download by segment")))
    assert book.sheetnames[0] == SUMMARY_SHEET
    assert sum(r[3] for r in book[SUMMARY_SHEET].iter_rows(min_row=2, values_only=True)) == 150
