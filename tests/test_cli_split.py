"""``predict --split-by-segment``: each segment's customers to a folder, a zip or a workbook."""

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from segmentation.data.synthetic import generate_customers
from segmentation.report.audiences import MANIFEST, SUMMARY_SHEET
from tests.helpers import run_cli as run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model store trained on 1,200 generated customers, and a file of 900 to label
    (one customer's note is a formula)."""
    root = tmp_path_factory.mktemp("split-cli")
    train = root / "train.csv"
    generate_customers(1200, seed=0).to_csv(train, index=False)
    models = root / "models"
    result = run("train", "--data", train, "--k", "4", "--models-dir", models)
    assert result.returncode == 0, result.stderr
    data = generate_customers(900, seed=1)
    data["Note"] = "ok"
    data.loc[0, "Note"] = '=HYPERLINK("http://evil","click")'
    path = root / "next.csv"
    data.to_csv(path, index=False)
    return models, path


def predict(trained, *args):
    models, data = trained
    return run("predict", "--data", data, "--models-dir", models, *args)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_split_to_a_new_folder(trained, tmp_path):
    """An analyst gets one CSV per segment, plus a manifest of counts, and nothing else."""
    out = tmp_path / "segments"
    result = predict(trained, "--split-by-segment", out)
    assert result.returncode == 0, result.stderr
    assert "wrote 900 customers in" in result.stderr
    manifest = pd.read_csv(out / MANIFEST)
    assert manifest["customers"].sum() == 900
    assert listing(out) == sorted([MANIFEST, *manifest["file"]])
    for row in manifest.itertuples():
        part = pd.read_csv(out / row.file)
        assert len(part) == row.customers and set(part["segment"]) == {row.segment}
    assert listing(tmp_path) == ["segments"]  # no scratch labeled file left beside it


def test_split_with_out_writes_both_and_they_agree(trained, tmp_path):
    labeled = tmp_path / "labeled.csv"
    out = tmp_path / "segments.zip"
    result = predict(trained, "--out", labeled, "--split-by-segment", out)
    assert result.returncode == 0, result.stderr
    whole = pd.read_csv(labeled)
    assert len(whole) == 900
    with zipfile.ZipFile(out) as zf:
        manifest = pd.read_csv(zf.open(MANIFEST))
        for row in manifest.itertuples():
            part = pd.read_csv(zf.open(row.file))
            expected = whole[whole["segment"] == row.segment]
            assert part["CustomerID"].tolist() == expected["CustomerID"].tolist()
    text = "".join(zipfile.ZipFile(out).read(n).decode() for n in zipfile.ZipFile(out).namelist())
    assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text
    assert listing(tmp_path) == ["labeled.csv", "segments.zip"]


def test_split_with_out_to_stdout(trained, tmp_path):
    result = predict(trained, "--out", "-", "--split-by-segment", tmp_path / "s.xlsx")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(io.StringIO(result.stdout))) == 900
    book = openpyxl.load_workbook(tmp_path / "s.xlsx", read_only=True)
    assert book.sheetnames[0] == SUMMARY_SHEET
    counts = [row[3] for row in book[SUMMARY_SHEET].iter_rows(min_row=2, values_only=True)]
    assert sum(counts) == 900 and len(book.sheetnames) == len(counts) + 1
    for sheet, n in zip(book.sheetnames[1:], counts, strict=True):
        assert sum(1 for _ in book[sheet].iter_rows(min_row=2)) == n
    assert listing(tmp_path) == ["s.xlsx"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("out.csv", "not a folder, a .zip or a .xlsx"),
        ("-", "not standard output"),
        ("taken", "already holds other files"),
        ("folder.zip", "is a folder"),
    ],
    ids=["csv", "stdout", "foreign-folder", "zip-is-a-folder"],
)
def test_bad_target_exits_2_with_one_line_before_labeling(trained, tmp_path, target, message):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    (tmp_path / "folder.zip").mkdir()
    labeled = tmp_path / "labeled.csv"
    where = target if target == "-" else tmp_path / target
    result = predict(trained, "--out", labeled, "--split-by-segment", where)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not labeled.exists()  # refused before any work
    assert listing(tmp_path / "taken") == ["notes.txt"]


def test_split_goes_with_data_only(trained):
    models, _ = trained
    result = run(
        "predict", "--json", '{"Age": 30}', "--models-dir", models, "--split-by-segment", "x.zip"
    )
    assert result.returncode == 2 and "--split-by-segment goes with --data" in result.stderr


def test_an_error_leaves_no_partial_folder_or_file(trained, tmp_path):
    """A file that cannot be labeled leaves neither a folder, a zip nor a scratch file."""
    bad = tmp_path / "bad.csv"
    bad.write_text("Nothing,Useful\n1,2\n")
    models, _ = trained
    for target in ("segments", "segments.zip", "segments.xlsx"):
        result = run(
            "predict", "--data", bad, "--models-dir", models, "--split-by-segment",
            tmp_path / target,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert listing(tmp_path) == ["bad.csv"]


def test_xlsx_too_big_for_a_sheet_exits_2_suggesting_zip(trained, tmp_path, monkeypatch, capsys):
    """Excel holds 1,048,576 rows a sheet; a bigger segment is refused (the limit is lowered
    here, in process, so 900 customers exceed it)."""
    from segmentation import cli
    from segmentation.report import audiences

    monkeypatch.setattr(audiences, "XLSX_MAX_ROWS", 50)
    models, data = trained
    status = cli.main(
        ["predict", "--data", str(data), "--models-dir", str(models),
         "--split-by-segment", str(tmp_path / "s.xlsx")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert "more than an Excel sheet holds" in err and ".zip" in err
    assert err.count("\n") == 1
    assert listing(tmp_path) == []


def test_rerun_replaces_an_earlier_split(trained, tmp_path):
    out = tmp_path / "segments"
    assert predict(trained, "--split-by-segment", out).returncode == 0
    (out / MANIFEST).read_text()
    again = predict(trained, "--split-by-segment", out)
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(out / MANIFEST)["customers"].sum() == 900
    assert listing(tmp_path) == ["segments"]
