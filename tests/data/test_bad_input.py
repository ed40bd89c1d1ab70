"""The reader on bad input: every file here is built by the test, then refused with a clear
message or read with what went wrong recorded, never read wrong in silence."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segmentation import config
from segmentation.data.read import (
    LARGEST_NUMBER,
    check_input,
    check_input_size,
    clean_numeric,
    output_column_clashes,
    read_bounded,
    read_header,
    read_table,
)
from segmentation.errors import DataError
from tests.helpers import EndlessStream

HEADER = "id,age,gender,income"


def _rows(n: int = 30, *, delimiter: str = ",") -> list[str]:
    genders = ("Female", "Male")
    return [
        delimiter.join([f"c{i}", str(20 + i % 50), genders[i % 2], str(30000 + 250 * i)])
        for i in range(n)
    ]


def _csv(rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


# --------------------------------------------------------------------------------------------
# Numbers that are not usable: infinite, overflowing, huge
# --------------------------------------------------------------------------------------------


def test_clean_numeric_turns_non_finite_and_huge_into_missing():
    values = np.array([1.0, np.inf, -np.inf, np.nan, 1e308, -LARGEST_NUMBER, 2.5])

    cleaned, bad = clean_numeric(values)

    assert bad.tolist() == [False, True, True, False, True, False, False]
    assert np.isnan(cleaned[[1, 2, 3, 4]]).all()
    assert cleaned[[0, 5, 6]].tolist() == [1.0, -LARGEST_NUMBER, 2.5]
    assert np.isinf(values[1])  # the input is not modified


NON_FINITE = {
    "inf": "inf",
    "minus-inf": "-inf",
    "Infinity": "Infinity",
    "overflow-1e400": "1e400",
    "huge-1e308": "1e308",
    "400-digits": "9" * 400,
}


@pytest.mark.parametrize("value", list(NON_FINITE.values()), ids=list(NON_FINITE))
@pytest.mark.parametrize("delimiter", [",", ";"], ids=["arrow-typed-column", "text-parsed-column"])
def test_non_finite_cells_become_missing_and_are_reported(tmp_path, value, delimiter):
    rows = _rows(delimiter=delimiter)
    fields = rows[4].split(delimiter)
    fields[3] = value
    rows[4] = delimiter.join(fields)
    path = tmp_path / "numbers.csv"
    path.write_text(_csv(rows, HEADER.replace(",", delimiter)))

    df = read_table(path)

    assert df["income"].dtype == "float64"
    assert np.isnan(df.loc[4, "income"])
    assert np.isfinite(df["income"].drop(index=4)).all()
    assert df.attrs["unparsed_values"] == {"income": (1, [5])}


def test_non_finite_cell_in_a_workbook_is_reported(tmp_path):
    path = tmp_path / "numbers.xlsx"
    income = [1000.5 + i for i in range(40)]
    income[1] = 1e308
    pd.DataFrame({"id": [f"c{i}" for i in range(40)], "income": income}).to_excel(path, index=False)

    df = read_table(path)

    assert np.isnan(df.loc[1, "income"]) and df.attrs["unparsed_values"] == {"income": (1, [2])}


# --------------------------------------------------------------------------------------------
# Odd bytes: carriage returns, long headers, NUL, UTF-16 without BOM
# --------------------------------------------------------------------------------------------


def test_lone_carriage_return_inside_a_quoted_cell(tmp_path):
    rows = _rows()
    rows[2] = rows[2].replace("Female", '"Fe\rmale"').replace("Male", '"Ma\rle"')
    path = tmp_path / "cr.csv"
    path.write_bytes(_csv(rows).encode())

    df = read_table(path)

    assert df.shape == (30, 4)
    assert df.loc[2, "gender"] in ("Fe\rmale", "Ma\rle")


@pytest.mark.parametrize(
    "names",
    [
        [
            f"answer_to_survey_question_{i:04d}_on_a_scale_of_one_to_ten_as_exported"
            for i in range(2000)
        ],  # a 140 KB header line
        ["id", "x", "n" * (5 << 20)],  # one 5 MB name: longer than pyarrow's block
    ],
    ids=["thousands-of-columns", "header-longer-than-a-block"],
)
def test_header_line_over_128_kb(names):
    rows = [",".join(str((r + i) % 7) for i in range(len(names))) for r in range(5)]
    data = (",".join(names) + "\n" + "\n".join(rows) + "\n").encode()

    df = read_table(data)

    assert list(df.columns) == names and len(df) == 5
    assert read_header(data) == names


def test_nul_byte_after_the_first_lines_names_its_line(tmp_path):
    rows = _rows(1000)
    rows[899] = rows[899].replace("Female", "Fe\x00male").replace("Male", "Ma\x00le")
    path = tmp_path / "nul.csv"
    path.write_bytes(_csv(rows).encode())

    with pytest.raises(DataError, match=r"line 901 holds a NUL") as from_reader:
        read_table(path)
    with pytest.raises(DataError) as from_check:
        check_input(path)
    with pytest.raises(DataError) as from_bytes:
        check_input(path.read_bytes())

    assert str(from_reader.value) == str(from_check.value) == str(from_bytes.value)


def test_nul_byte_in_the_first_line_is_refused_the_same_way(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(_csv(_rows(), HEADER.replace("age", "a\x00ge")).encode())

    with pytest.raises(DataError, match="not a table") as from_reader:
        read_table(path)
    with pytest.raises(DataError) as from_check:
        check_input(path)

    assert str(from_reader.value) == str(from_check.value)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"], ids=["le", "be"])
def test_utf16_without_byte_order_mark_is_decoded(tmp_path, encoding):
    rows = _rows()
    rows[0] = rows[0].replace("c0", "Zoë")
    path = tmp_path / "utf16.csv"
    path.write_bytes(_csv(rows).encode(encoding))

    df = read_table(path)
    check_input(path)  # not refused as binary either

    assert list(df.columns) == ["id", "age", "gender", "income"]
    assert df.loc[0, "id"] == "Zoë" and df["income"].dtype == "int64"
    assert read_header(path) == ["id", "age", "gender", "income"]


def test_binary_with_zero_bytes_is_still_not_a_table():
    noise = bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8))
    with pytest.raises(DataError, match="not a table"):
        read_table(noise)


# --------------------------------------------------------------------------------------------
# Silently wrong before: mixed delimiters, formulas without values, no header row
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_lines",
    [list(range(0, 30, 2)), list(range(20, 30))],
    ids=["every-other-line", "the-last-lines"],
)
def test_rows_mixing_comma_and_semicolon_are_refused_with_their_lines(tmp_path, bad_lines):
    rows = _rows()
    for i in bad_lines:
        rows[i] = rows[i].replace(",", ";")
    path = tmp_path / "mixed.csv"
    path.write_text(_csv(rows))

    with pytest.raises(DataError, match="mixes two delimiters") as error:
        read_table(path)

    message = str(error.value)
    assert "','" in message and "';'" in message
    assert f"line {bad_lines[0] + 2}," in message and f"{len(bad_lines)} line(s)" in message


def test_a_value_with_a_semicolon_is_not_mistaken_for_another_delimiter(tmp_path):
    rows = _rows()
    rows[3] = 'c3,40,"a;b",1000'
    path = tmp_path / "ok.csv"
    path.write_text(_csv(rows))

    assert read_table(path).loc[3, "gender"] == "a;b"


def test_workbook_formulas_without_saved_values_are_refused(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "quantity", "price", "total"])
    for row in range(2, 12):
        sheet.append([f"c{row}", row, 2.5, f"=B{row}*C{row}"])
    path = tmp_path / "formulas.xlsx"
    book.save(path)  # openpyxl saves formulas without their results, as scripts do

    with pytest.raises(DataError, match=r"10 cell\(s\) hold formulas without saved values") as e:
        read_table(path)

    assert "D2" in str(e.value) and "save it" in str(e.value) and "CSV" in str(e.value)


HEADERLESS = {
    "customer-rows": "\n".join(_rows()),
    "numbers-only": "\n".join(f"{i},{i * 3},{i % 4}" for i in range(1, 30)),
    "dates-and-amounts": "\n".join(f"2024-03-{1 + i % 28:02d},c{i},{10 + i}" for i in range(30)),
}


@pytest.mark.parametrize("content", list(HEADERLESS.values()), ids=list(HEADERLESS))
def test_a_first_line_of_data_is_refused(tmp_path, content):
    path = tmp_path / "noheader.csv"
    path.write_text(content + "\n")

    with pytest.raises(DataError, match="looks like data, not column names: add a header row"):
        read_table(path)


NOT_HEADERLESS = {
    "years-as-columns": "id,2021,2022,2023\n"
    + "\n".join(f"c{i},{i},{i * 2},{i * 3}" for i in range(9)),
    "positions-as-names": "0,1,2\n" + "\n".join(f"{i},{i * 2},{i % 3}" for i in range(9)),
    "pandas-index-column": ",0,1\n" + "\n".join(f"{i},{i * 2},{i % 3}" for i in range(9)),
    "ordinary-header": _csv(_rows()),
}


@pytest.mark.parametrize("content", list(NOT_HEADERLESS.values()), ids=list(NOT_HEADERLESS))
def test_real_headers_are_not_mistaken_for_data(content):
    df = read_table(content.encode())

    assert len(df) >= 9


def test_workbook_without_a_header_row_is_refused(tmp_path):
    path = tmp_path / "noheader.xlsx"
    pd.DataFrame([[f"c{i}", 20 + i, ("Female", "Male")[i % 2]] for i in range(9)]).to_excel(
        path, index=False, header=False
    )

    with pytest.raises(DataError, match="looks like data"):
        read_table(path)


# --------------------------------------------------------------------------------------------
# Output columns already in the input
# --------------------------------------------------------------------------------------------


def test_output_column_clashes_lists_exact_names_in_input_order():
    outputs = ("cluster", "segment", "cluster_distance")

    assert output_column_clashes(["segment", "id", "cluster"], outputs) == ["segment", "cluster"]
    assert output_column_clashes(["Segment", "id"], outputs) == []  # kept beside, not replaced


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_read_header_gives_the_cleaned_names_read_table_gives(tmp_path, kind):
    frame = pd.DataFrame({" id ": ["a", "b"], "segment": ["x", "y"], "Total  spend": [1, 2]})
    path = tmp_path / f"in.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False)

    assert read_header(path) == list(read_table(path).columns) == ["id", "segment", "Total spend"]


# --------------------------------------------------------------------------------------------
# Size limits, for files and for streams
# --------------------------------------------------------------------------------------------


def test_check_input_size_refuses_what_read_table_refuses(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(_csv(_rows(200)))

    assert check_input_size(path) == path.stat().st_size
    with pytest.raises(DataError, match="larger than the 1.0 KB limit"):
        check_input_size(path, max_bytes=1024)
    with pytest.raises(DataError, match="larger than"):
        check_input_size(path.read_bytes(), max_bytes=1024)
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0)
    with pytest.raises(DataError, match="SEGMENTATION_MAX_UPLOAD_MB"):
        check_input(path)
    with pytest.raises(DataError, match="does not exist"):
        check_input_size(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder"):
        check_input_size(tmp_path)


def test_read_bounded_stops_after_the_limit():
    stream = EndlessStream(b"a")

    with pytest.raises(DataError, match="larger than the 1.0 MB limit"):
        read_bounded(io.BufferedReader(stream), max_bytes=1 << 20)

    assert stream.served <= (1 << 20) + io.DEFAULT_BUFFER_SIZE + 1


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_as_input_is_read_bounded(tmp_path):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    assert check_input_size(fifo) is None  # its size is only known by reading it
