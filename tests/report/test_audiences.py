"""Audience exports: a labeled table split by segment into a folder, a zip of CSVs or one
workbook, with safe names and the CSV-injection guard."""

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.data.write import to_csv_bytes
from segmentation.errors import DataError, SegmentationError
from segmentation.report import audiences
from segmentation.report.audiences import (
    MANIFEST,
    SUMMARY_SHEET,
    check_target,
    safe_file_names,
    segment_csv_bytes,
    sheet_names,
    split_labeled_csv,
    split_to_bytes,
    target_kind,
)

HOSTILE = [
    "Big/Spenders",
    "Big:Spenders",
    'What? "Really" <now> | *star* \\back',
    "Ünïcödé café 東京",
    "A very long segment name that goes on and on well past forty characters",
    "A very long segment name that goes on and on well past forty characters, again",
    "history",
    '=HYPERLINK("http://evil")',
]


def labeled(names=HOSTILE, rows_per=(3, 1, 2, 4, 2, 1, 2, 3)) -> pd.DataFrame:
    """A labeled table built here: customers of each named segment, in shuffled order."""
    records = []
    for cluster, (name, n) in enumerate(zip(names, rows_per, strict=True)):
        for i in range(n):
            records.append(
                {
                    "CustomerID": f"C{cluster:02d}{i:03d}",
                    "Zip": "00712",
                    "Income": 1000.5 * (cluster + 1) - 3000,
                    "Note": '=HYPERLINK("http://evil","x")' if i == 0 else "fine, thanks",
                    "cluster": cluster,
                    "segment": name,
                    "cluster_distance": 0.25 + i,
                }
            )
    return pd.DataFrame(records).sample(frac=1, random_state=0).reset_index(drop=True)


def test_file_names_are_safe_unique_and_short():
    files = safe_file_names(HOSTILE)
    assert list(files) == HOSTILE
    values = list(files.values())
    assert len({v.casefold() for v in values}) == len(values)
    for name in values:
        assert name.endswith(".csv")
        assert not set('/\\:*?"<>|') & set(name)
        assert len(name) <= audiences.MAX_STEM_CHARS + len(".csv")
        assert not name.startswith((".", "-", "'"))
    assert files["Big/Spenders"] == "Big_Spenders.csv"
    assert files["Big:Spenders"] == "Big_Spenders_2.csv"  # collides once cleaned
    assert files["Ünïcödé café 東京"] == "Ünïcödé café 東京.csv"
    # Two 40+ character names equal once cut stay two files.
    long = [files[HOSTILE[4]], files[HOSTILE[5]]]
    assert long[0] != long[1] and all(len(n) > 40 for n in long)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CON", "CON_.csv"),
        ("...", "segment.csv"),
        ("", "segment.csv"),
        ("manifest", "manifest_2.csv"),
    ],
    ids=["windows-reserved", "only-dots", "empty", "manifest-reserved"],
)
def test_file_names_avoid_reserved_names(name, expected):
    assert safe_file_names([name])[name] == expected


def test_sheet_names_follow_excel_rules():
    sheets = sheet_names([*HOSTILE, "Segments", "'quoted'", "[x]"], taken=[SUMMARY_SHEET])
    values = list(sheets.values())
    assert len({v.casefold() for v in values}) == len(values)
    for sheet in values:
        assert 0 < len(sheet) <= 31
        assert not set("[]:*?/\\") & set(sheet)
        assert not sheet.startswith("'") and not sheet.endswith("'")
        assert sheet.casefold() != "history"
        assert sheet.casefold() != SUMMARY_SHEET.casefold()
    assert sheets["Segments"] == "Segments (2)"
    assert sheets["'quoted'"] == "quoted"


@pytest.mark.parametrize(
    ("target", "kind"),
    [("out.zip", "zip"), ("OUT.XLSX", "xlsx"), ("new_folder", "dir"), ("folder/", "dir")],
)
def test_target_kind_from_the_name(tmp_path, target, kind):
    assert (
        target_kind(tmp_path / target if not target.endswith("/") else f"{tmp_path}/{target}")
        == kind
    )


@pytest.mark.parametrize("target", ["out.csv", "-", "report.pdf"])
def test_target_of_another_kind_is_refused(target):
    with pytest.raises(SegmentationError, match="not a folder, a .zip or a .xlsx|not standard"):
        target_kind(target)


def test_folder_holds_one_csv_per_segment_with_exactly_its_rows(tmp_path):
    table = labeled()
    report = split_labeled_csv(to_csv_bytes(table), tmp_path / "out")
    folder = tmp_path / "out"
    files = safe_file_names(HOSTILE)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*files.values(), MANIFEST])
    assert [f.segment for f in report.files] == [
        "'" + n if n.startswith("=") else n for n in HOSTILE
    ]  # cluster order; the guarded name is the one in the file
    for name, expected in table.groupby("segment", sort=False):
        written = read_table(folder / files[name]) if not name.startswith("=") else None
        if written is None:
            continue
        assert sorted(written["CustomerID"]) == sorted(expected["CustomerID"])
        assert (written["segment"] == name).all()
    manifest = pd.read_csv(folder / MANIFEST)
    assert manifest["customers"].sum() == len(table)
    assert list(manifest.columns) == ["segment", "cluster", "file", "customers"]
    # No scratch file is left beside the folder.
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_zip_contents_equal_the_rows_of_each_segment():
    table = labeled()
    data = split_to_bytes(to_csv_bytes(table), "zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        manifest = pd.read_csv(zf.open(MANIFEST))
        assert names[0] == MANIFEST and len(names) == len(HOSTILE) + 1
        for row in manifest.itertuples():
            part = pd.read_csv(zf.open(row.file), dtype={"Zip": str})
            assert len(part) == row.customers
            assert part["segment"].nunique() == 1
            cluster = part["cluster"].iloc[0]
            expected = table[table["cluster"] == cluster]
            assert sorted(part["CustomerID"]) == sorted(expected["CustomerID"])
            # Values survive: a zero-padded code stays text, numbers stay numbers.
            assert (part["Zip"] == "00712").all()
            assert sorted(part["Income"]) == sorted(expected["Income"])
    assert manifest["customers"].tolist() == table["cluster"].value_counts().sort_index().tolist()


def test_xlsx_has_a_summary_and_a_sheet_per_segment():
    table = labeled()
    data = split_to_bytes(to_csv_bytes(table), "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == SUMMARY_SHEET
    assert len(book.sheetnames) == len(HOSTILE) + 1
    summary = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
    assert summary[0] == ("segment", "cluster", "sheet", "customers")
    for segment, cluster, sheet, customers in summary[1:]:
        rows = list(book[sheet].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert len(body) == customers == (table["cluster"] == int(cluster)).sum()
        column = dict(zip(header, zip(*body, strict=True), strict=True))
        assert set(column["segment"]) == {segment}
        assert set(column["Zip"]) == {"00712"}  # text, not 712
        assert all(isinstance(v, int | float) for v in column["Income"])  # numbers, not text
        assert all(isinstance(v, int) for v in column["cluster"])


def test_formula_cells_are_neutralised_in_csv_and_xlsx(tmp_path):
    table = labeled()
    source = to_csv_bytes(table)
    split_labeled_csv(source, tmp_path / "out")
    split_labeled_csv(source, tmp_path / "out.xlsx")
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob("*.csv")]
    assert all('"=HYPERLINK' not in t and "\n=HYPERLINK" not in t for t in texts)
    assert sum(t.count("'=HYPERLINK") for t in texts) >= len(HOSTILE)
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cells = [
        c
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str) and "=HYPERLINK" in c.value
    ]
    assert cells
    assert all(c.data_type != "f" and c.value.startswith("'=") for c in cells)
    assert not any(
        c.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )
    # A negative number is a number, not guarded text.
    assert any(
        isinstance(v, float) and v < 0
        for sheet in book.worksheets[1:]
        for row in sheet.iter_rows(min_row=2, values_only=True)
        for v in row
    )


def test_formula_in_a_raw_file_is_guarded_even_if_labeling_missed_it(tmp_path):
    """The split guards text itself: a CSV made elsewhere gets the same leading quote."""
    raw = b"id,segment,Note\n1,A,=1+1\n2,A,@SUM(A1)\n3,B,-x\n4,B,-5\n"
    split_labeled_csv(raw, tmp_path / "out")
    text = (tmp_path / "out" / "A.csv").read_text()
    assert "'=1+1" in text and "'@SUM(A1)" in text
    b = read_table(tmp_path / "out" / "B.csv")
    assert b["Note"].tolist() == ["'-x", "'-5"]  # a text column: "-5" is guarded there too


def test_segment_csv_bytes_keeps_one_segment_and_the_guard():
    table = labeled()
    name = HOSTILE[0]
    out = pd.read_csv(io.BytesIO(segment_csv_bytes(table, name)))
    assert len(out) == (table["segment"] == name).sum()
    assert out["Note"].str.startswith("'=").any()


def test_xlsx_refuses_a_segment_larger_than_a_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(audiences, "XLSX_MAX_ROWS", 3)
    with pytest.raises(DataError, match=r"more than an Excel sheet holds.*\.zip"):
        split_labeled_csv(to_csv_bytes(labeled()), tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no scratch folder


def test_a_folder_of_other_files_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    with pytest.raises(SegmentationError, match="already holds other files"):
        check_target(folder)
    with pytest.raises(SegmentationError, match="already holds other files"):
        split_labeled_csv(to_csv_bytes(labeled()), folder)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_an_earlier_split_is_replaced_whole(tmp_path):
    folder = tmp_path / "out"
    split_labeled_csv(to_csv_bytes(labeled()), folder)
    only_two = labeled(names=["One", "Two"], rows_per=(2, 3))
    split_labeled_csv(to_csv_bytes(only_two), folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["One.csv", "Two.csv", MANIFEST])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_table_without_segments_is_refused(tmp_path):
    with pytest.raises(DataError, match="no 'segment' column"):
        split_labeled_csv(b"id,x\n1,2\n", tmp_path / "out.zip")
    with pytest.raises(DataError, match="no customers"):
        split_labeled_csv(b"id,segment\n", tmp_path / "out.zip")
    assert list(tmp_path.iterdir()) == []


def test_blocks_are_split_in_order(tmp_path, monkeypatch):
    """A file read in many small blocks gives the same files as in one."""
    monkeypatch.setattr(audiences, "BLOCK_BYTES", 256)
    table = labeled(names=["A", "B"], rows_per=(60, 45))
    split_labeled_csv(to_csv_bytes(table), tmp_path / "out")
    for name in ("A", "B"):
        part = read_table(tmp_path / "out" / f"{name}.csv")
        expected = table[table["segment"] == name]
        assert part["CustomerID"].tolist() == expected["CustomerID"].tolist()
