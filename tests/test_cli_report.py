"""``python -m segmentation report``: the HTML or PDF report of a saved version, written
whole or not at all."""

from __future__ import annotations

import json

import pytest

from segmentation.data.synthetic import generate_customers
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    """A model store with one small saved version (v1)."""
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.store import ModelStore

    root = tmp_path_factory.mktemp("report-models")
    data = generate_customers(300, seed=5)
    model = SegmentationModel(k=3, random_state=0).fit(data)
    ModelStore(root).save(model, data=data, data_name="small.csv")
    return root


def report(store_dir, out, *extra, env=None):
    return run_cli("report", "--models-dir", store_dir, "--out", out, *extra, env=env)


def test_html_report(store_dir, tmp_path):
    out = tmp_path / "report.html"
    done = report(store_dir, out, "--model", "v1")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert "\n" not in line
    assert json.loads(line) == {
        "report": str(out),
        "format": "html",
        "version": "v1",
        "bytes": out.stat().st_size,
    }
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "model v1" in text and "small.csv" in text
    assert 'id="chart-map"' in text  # the stored training table gives the map


@pytest.mark.slow  # a browser draws the charts
def test_pdf_report(store_dir, tmp_path):
    out = tmp_path / "report.PDF"
    done = report(store_dir, out)  # the active version
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "pdf"
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("name", ["report.txt", "report", "report.html.gz"], ids=str)
def test_other_extensions_are_refused(store_dir, tmp_path, name):
    done = report(store_dir, tmp_path / name)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "must end in .html or .pdf" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / name).exists()


def test_unknown_version_is_one_line(store_dir, tmp_path):
    done = report(store_dir, tmp_path / "r.html", "--model", "v9")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "v9" in done.stderr
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("name", ["old.html", "old.pdf"], ids=str)
def test_existing_file_is_untouched_when_the_report_fails(store_dir, tmp_path, name):
    """A failed report leaves the previous file as it was, and no temporary file."""
    out = tmp_path / name
    out.write_bytes(b"the previous report")
    # No such version for the HTML; no Chromium for the PDF (it fails mid-way, after the
    # model and its table were loaded).
    extra = ("--model", "v9") if name.endswith(".html") else ()
    done = report(store_dir, out, *extra, env={"CHROMIUM_PATH": str(tmp_path / "nothing")})
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr
    assert out.read_bytes() == b"the previous report"
    assert [p.name for p in tmp_path.iterdir()] == [name]
