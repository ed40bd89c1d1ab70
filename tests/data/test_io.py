"""Tests for segmentation.data.read: reading what analysts export, and writing formula-safe CSVs."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation import config
from segmentation.data.read import parse_datetimes, read_table
from segmentation.data.write import neutralize_formulas, to_csv_bytes, write_csv
from segmentation.errors import DataError


def _write(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


class _Upload:
    """Stands in for Streamlit's UploadedFile: a name and ``getvalue()``."""

    def __init__(self, data: bytes, name: str = "upload.csv") -> None:
        self._data = data
        self.name = name

    def getvalue(self) -> bytes:
        return self._data


class _Stream:
    """A binary stream with ``read()`` only, like ``sys.stdin.buffer``."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)


# --------------------------------------------------------------------------------------------
# Sources, delimiters, encodings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_each_delimiter_is_detected(tmp_path, delimiter):
    rows = [["id", "name", "score"], ["1", "Ann", "10"], ["2", "Bob", "20"], ["3", "Cid", "30"]]
    path = _write(tmp_path, "\n".join(delimiter.join(r) for r in rows) + "\n")

    df = read_table(path)

    assert list(df.columns) == ["id", "name", "score"]
    assert df["id"].dtype == "int64" and df["score"].tolist() == [10, 20, 30]
    assert df["name"].dtype == object and df["name"].tolist() == ["Ann", "Bob", "Cid"]


@pytest.mark.parametrize(
    "make_source",
    [
        lambda p: str(p),
        lambda p: p,
        lambda p: p.read_bytes(),
        lambda p: io.BytesIO(p.read_bytes()),
        lambda p: _Upload(p.read_bytes()),
        lambda p: _Stream(p.read_bytes()),
    ],
    ids=["str-path", "pathlib", "bytes", "bytesio", "uploaded-file", "read-only-stream"],
)
def test_every_kind_of_source_reads_the_same(tmp_path, make_source):
    path = _write(tmp_path, "a,b\n1,x\n2,y\n")

    df = read_table(make_source(path))

    assert df.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_windows_line_endings(tmp_path):
    path = _write(tmp_path, "a;b\r\n1;x\r\n2;y\r\n")

    assert read_table(path).to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_utf8_bom_is_dropped_from_the_first_header(tmp_path):
    path = _write(tmp_path, "\ufeffInvoiceNo,Country\n536365,United Kingdom\n".encode())

    df = read_table(path)

    assert list(df.columns) == ["InvoiceNo", "Country"]
    assert df.loc[0, "Country"] == "United Kingdom"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"], ids=["latin1", "cp1252"])
def test_non_utf8_text_falls_back_to_latin1(tmp_path, encoding):
    path = _write(tmp_path, "Name;City\nMüller;Köln\nGarçon;Besançon\n".encode(encoding))

    df = read_table(path)

    assert df["Name"].tolist() == ["Müller", "Garçon"]
    assert df["City"].tolist() == ["Köln", "Besançon"]


def test_invalid_utf8_after_the_sample_is_still_read_as_latin1(tmp_path):
    body = "".join(f"{i},plain\n" for i in range(20_000))
    path = _write(tmp_path, ("id,name\n" + body).encode() + "99999,Müller\n".encode("latin-1"))

    df = read_table(path)

    assert len(df) == 20_001 and df["name"].iloc[-1] == "Müller"


def test_utf16_with_bom_is_read(tmp_path):
    path = _write(tmp_path, "a\tb\n1\tÄ\n".encode("utf-16"))

    assert read_table(path).to_dict("list") == {"a": [1], "b": ["Ä"]}


def test_quoted_fields_keep_embedded_delimiters_quotes_and_newlines(tmp_path):
    path = _write(
        tmp_path,
        'id,description,price\n1,"TRAY, BREAKFAST IN BED",12.75\n'
        '2,"RECORD FRAME 7"" SINGLE",2.1\n3,"two\nlines",1\n',
    )

    df = read_table(path)

    assert df["description"].tolist() == [
        "TRAY, BREAKFAST IN BED",
        'RECORD FRAME 7" SINGLE',
        "two\nlines",
    ]
    assert df["price"].tolist() == [12.75, 2.1, 1.0]


def test_rows_wrapped_whole_in_quotes_are_split_again(tmp_path):
    # A quirk of the UCI Online Retail sample: some exported rows are one quoted field.
    path = _write(
        tmp_path,
        'InvoiceNo,Description,Quantity\n536365,LANTERN,6\n"536381,""SIGN, METAL"",2"\n',
    )

    df = read_table(path)

    assert df.to_dict("list") == {
        "InvoiceNo": [536365, 536381],
        "Description": ["LANTERN", "SIGN, METAL"],
        "Quantity": [6, 2],
    }


def test_headers_are_cleaned_deduplicated_and_named(tmp_path):
    path = _write(tmp_path, "  Customer   Name ,Income (EUR) ,,Income (EUR),Tab\there\n1,2,3,4,5\n")

    df = read_table(path)

    assert list(df.columns) == [
        "Customer Name",
        "Income (EUR)",
        "column_3",
        "Income (EUR)_2",
        "Tab here",
    ]


def test_excel_sep_hint_line_is_honoured(tmp_path):
    path = _write(tmp_path, "sep=;\na;b\n1,5;x\n")

    assert read_table(path).to_dict("list") == {"a": [1.5], "b": ["x"]}


def test_single_column_file_is_allowed(tmp_path):
    assert read_table(_write(tmp_path, "Amount\n1\n2\n")).to_dict("list") == {"Amount": [1, 2]}


# --------------------------------------------------------------------------------------------
# Values: numbers, missing values, dates, text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('v,k\n"1,234",a\n"1,234,567",b\n', [1234, 1_234_567]),
        ('v,k\n"1,234.50",a\n12.5,b\n', [1234.5, 12.5]),
        ("v;k\n1.234.567,89;a\n12,5;b\n", [1_234_567.89, 12.5]),
        ("v;k\n1.234;a\n2.500;b\n", [1234, 2500]),
        ("v,k\n1.234,a\n2.500,b\n", [1.234, 2.5]),
        ("v,k\n 12 ,a\n 7,b\n", [12, 7]),
        ("v,k\n1 234,a\n1 000 000,b\n", [1234, 1_000_000]),
        ("v,k\n1'234,a\n5,b\n", [1234, 5]),
        ('v,k\n"$1,234.50",a\n€3,b\n', [1234.5, 3.0]),
        ("v,k\n12%,a\n5.5%,b\n", [12.0, 5.5]),
        ("v,k\n(5),a\n6,b\n", [-5, 6]),
    ],
    ids=[
        "us-thousands",
        "us-thousands-decimals",
        "european-semicolon",
        "ambiguous-in-semicolon-file-is-thousands",
        "ambiguous-in-comma-file-is-decimal",
        "stray-spaces",
        "space-thousands",
        "swiss-apostrophe",
        "currency",
        "percent",
        "accounting-negative",
    ],
)
def test_numbers_written_for_humans_become_numbers(tmp_path, content, expected):
    df = read_table(_write(tmp_path, content))

    assert pd.api.types.is_numeric_dtype(df["v"])
    np.testing.assert_allclose(df["v"].to_numpy(dtype=float), expected)


def test_mostly_numeric_column_becomes_numeric_with_nan(tmp_path):
    values = [str(i) for i in range(60)] + ["unknown"]
    df = read_table(_write(tmp_path, "x\n" + "\n".join(values) + "\n"))

    assert df["x"].dtype == "float64"
    assert df["x"].isna().sum() == 1 and df["x"].iloc[59] == 59


def test_codes_among_numbers_keep_the_column_as_text(tmp_path):
    # "C536379" marks a cancellation: turning the column into numbers would lose it.
    rows = [f"{536365 + i},1" for i in range(60)] + ["C536379,-1"]
    df = read_table(_write(tmp_path, "InvoiceNo,Qty\n" + "\n".join(rows) + "\n"))

    assert df["InvoiceNo"].dtype == object
    assert df["InvoiceNo"].iloc[-1] == "C536379" and df["InvoiceNo"].iloc[0] == "536365"


def test_mostly_text_column_stays_text(tmp_path):
    df = read_table(_write(tmp_path, "x\n1\n2\nabc\ndef\n"))

    assert df["x"].dtype == object and df["x"].tolist() == ["1", "2", "abc", "def"]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "NA",
        "N/A",
        "n/a",
        "NaN",
        "nan",
        "null",
        "NULL",
        "None",
        "-",
        "?",
        "#N/A",
        " na ",
        "Null",
    ],
)
def test_na_tokens_are_missing(tmp_path, token):
    df = read_table(_write(tmp_path, f"num,text\n1,a\n{token},{token}\n3,c\n"))

    assert df["num"].dtype == "float64" and np.isnan(df.loc[1, "num"])
    assert df["text"].dtype == object and df["text"].isna().tolist() == [False, True, False]
    assert df.loc[1, "text"] is np.nan


def test_text_columns_are_object_with_nan_and_stripped(tmp_path):
    df = read_table(_write(tmp_path, "name,seg\n Ann ,a\n,b\n"))

    assert df["name"].dtype == object
    assert df["name"].iloc[0] == "Ann" and df["name"].iloc[1] is np.nan


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2012-09-04", "2013-01-31"], ["2012-09-04", "2013-01-31"]),
        (["2010-12-01 08:26:00", "2010-12-01 09:41"], ["2010-12-01 08:26", "2010-12-01 09:41"]),
        (["04-09-2012", "13-09-2012"], ["2012-09-04", "2012-09-13"]),
        (["04/09/2012", "13/09/2012 10:30"], ["2012-09-04", "2012-09-13 10:30"]),
        (["09/04/2012", "09/13/2012"], ["2012-09-04", "2012-09-13"]),
        (["04/09/2012", "05/10/2012"], ["2012-09-04", "2012-10-05"]),
        (["04.09.2012", "31.12.2012"], ["2012-09-04", "2012-12-31"]),
        (["2012/09/04", "2012/9/5"], ["2012-09-04", "2012-09-05"]),
    ],
    ids=[
        "iso",
        "iso-datetime",
        "day-first-dashes",
        "day-first-slashes-with-time",
        "month-first",
        "ambiguous-means-day-first",
        "dotted",
        "year-first-slashes",
    ],
)
def test_dates_become_datetimes(tmp_path, values, expected):
    df = read_table(_write(tmp_path, "d,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))))

    assert pd.api.types.is_datetime64_dtype(df["d"])
    assert df["d"].tolist() == [pd.Timestamp(e) for e in expected]


def test_impossible_dates_become_nat():
    values = pd.Series(["31/02/2012"] + ["01/02/2012"] * 30)

    parsed = parse_datetimes(values)

    assert parsed is not None and pd.isna(parsed.iloc[0])
    assert parsed.iloc[1] == pd.Timestamp("2012-02-01")


def test_integer_columns_are_not_dates(tmp_path):
    df = read_table(_write(tmp_path, "Year_Birth,Id\n1957,20120904\n1954,20140308\n"))

    assert df.dtypes.tolist() == ["int64", "int64"]


# --------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------


def test_xlsx_round_trip_even_with_a_csv_name(tmp_path):
    original = pd.DataFrame(
        {
            " Customer  Name ": ["Ann", "Bob", None],
            "Income": [58138.0, None, 71613.0],
            "Joined": pd.to_datetime(["2012-09-04", "2014-03-08", "2013-08-21"]),
            "Kids": [0, 1, 2],
            "Mixed": ["1,234", "N/A", "12"],
        }
    )
    path = tmp_path / "export.csv"  # the extension lies; the content decides
    original.to_excel(path, index=False, engine="openpyxl")

    df = read_table(path)

    assert list(df.columns) == ["Customer Name", "Income", "Joined", "Kids", "Mixed"]
    assert df["Customer Name"].tolist()[:2] == ["Ann", "Bob"] and pd.isna(df.iloc[2, 0])
    assert df["Income"].iloc[0] == 58138.0 and np.isnan(df["Income"].iloc[1])
    assert df["Joined"].tolist() == original["Joined"].tolist()
    assert df["Kids"].tolist() == [0, 1, 2]
    assert df["Mixed"].iloc[0] == 1234 and np.isnan(df["Mixed"].iloc[1])


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")

    with pytest.raises(DataError, match="not a readable .xlsx"):
        read_table(path)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "the file is empty"),
        (b"  \n\n\t\n", "the file is empty"),
        (b"a,b,c\n", "header but no data rows"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            r"not a table \(it looks like a PNG image",
        ),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", r"not a table \(it looks like a JPEG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not a table"),
        (bytes(range(256)) * 4, r"not a table \(it looks like an image/binary file"),
        (b'{"customers": [{"id": 1}]}', "looks like JSON.*export the data as CSV"),
        (b'[{"id": 1}, {"id": 2}]', "looks like JSON"),
        (b"a,b\n1,2\n3,4\n5,6,7\n", "line 4 has 3 fields but the header has 2"),
        (b"a,b\n1,2,3\n4,5\n", "line 2 has more fields than the header"),
        (b"Notes\nhello, world\nfine\nok\n", "could not find a delimiter"),
    ],
    ids=[
        "empty",
        "whitespace-only",
        "header-only",
        "png-renamed-csv",
        "jpeg",
        "pdf",
        "binary",
        "json-object",
        "json-array",
        "ragged-row",
        "first-row-too-long",
        "no-delimiter",
    ],
)
def test_unreadable_content_raises_a_clear_data_error(tmp_path, content, match):
    with pytest.raises(DataError, match=match):
        read_table(_write(tmp_path, content))


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "x.csv"

    with pytest.raises(DataError, match=r"file '.*x\.csv' does not exist; check the path"):
        read_table(missing)


def test_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


@pytest.mark.parametrize(
    "make_source",
    [lambda p: p, lambda p: p.read_bytes(), lambda p: _Stream(p.read_bytes())],
    ids=["path", "bytes", "stream"],
)
def test_over_the_size_limit_is_refused(tmp_path, make_source):
    path = _write(tmp_path, "a,b\n" + "1,2\n" * 100)

    with pytest.raises(DataError, match="larger than the 100 bytes limit"):
        read_table(make_source(path), max_bytes=100)


def test_default_size_limit_comes_from_config(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0)

    with pytest.raises(DataError, match="the file is 12 bytes.*SEGMENTATION_MAX_UPLOAD_MB"):
        read_table(_write(tmp_path, "a,b\n1,2\n3,4\n"))


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


_RISKY = ["=SUM(A1)", "+1", "-cmd", "@x", "\tx", "\rx"]


def test_neutralize_formulas_prefixes_risky_text_and_leaves_numbers():
    df = pd.DataFrame({"text": _RISKY + ["ok", None], "n": [-5, 1, 2, 3, 4, 5, 6, 7]})

    safe = neutralize_formulas(df)

    assert safe["text"].tolist()[:7] == ["'" + v for v in _RISKY] + ["ok"]
    assert pd.isna(safe["text"].iloc[7])
    assert safe["n"].dtype == "int64" and safe["n"].tolist() == df["n"].tolist()
    assert df["text"].iloc[0] == "=SUM(A1)"  # the input is not modified


def test_neutralize_formulas_covers_names_categories_and_mixed_columns():
    df = pd.DataFrame(
        {
            "=HYPERLINK(x)": ["a"],
            "cat": pd.Categorical(["-1"]),
            "mixed": pd.Series(["@x"], dtype=object),
            "nums": pd.Series([-1.5]),
        }
    )

    safe = neutralize_formulas(df)

    assert list(safe.columns) == ["'=HYPERLINK(x)", "cat", "mixed", "nums"]
    assert safe["cat"].tolist() == ["'-1"] and isinstance(safe["cat"].dtype, pd.CategoricalDtype)
    assert safe["mixed"].tolist() == ["'@x"] and safe["nums"].tolist() == [-1.5]


def test_to_csv_bytes_is_neutralized_and_opens_in_pandas():
    df = pd.DataFrame({"text": _RISKY, "n": [-5] * 6})

    data = to_csv_bytes(df)
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False)

    assert back["text"].tolist() == ["'" + v for v in _RISKY]
    assert back["n"].tolist() == [-5] * 6
    assert not any(line.startswith(("=", "+", "@")) for line in data.decode().splitlines())


def test_round_trip_through_to_csv_bytes():
    df = pd.DataFrame(
        {
            "CustomerID": ["12346", "12347", "A-1"],
            "Income": [58138.5, np.nan, 0.25],
            "Kids": [0, 1, 2],
            "Joined": pd.to_datetime(["2012-09-04", None, "2014-03-08"]).astype("datetime64[us]"),
            "Seen": pd.to_datetime(["2012-09-04 08:26:00", "2012-09-05 00:00:00", None]).astype(
                "datetime64[us]"
            ),
            "Segment": ["Champions", None, "Can't Lose Them"],
        }
    )

    back = read_table(to_csv_bytes(df))

    pd.testing.assert_frame_equal(back, df.astype({"CustomerID": object, "Segment": object}))


def test_to_csv_bytes_writes_dates_and_missing_values_plainly():
    df = pd.DataFrame({"d": pd.to_datetime(["2012-09-04", None]), "x": [1.5, np.nan]})

    assert to_csv_bytes(df).decode().splitlines() == ['"d","x"', "2012-09-04,1.5", ","]


def test_to_csv_bytes_handles_mixed_object_columns():
    df = pd.DataFrame({"m": pd.Series([1, "a", 2.5, None], dtype=object), "n": [1, 2, 3, 4]})

    back = pd.read_csv(io.BytesIO(to_csv_bytes(df)), dtype=str, keep_default_na=False)

    assert back["m"].tolist() == ["1", "a", "2.5", ""]


def test_single_column_with_missing_values_keeps_its_rows():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0]})

    back = read_table(to_csv_bytes(df))

    assert len(back) == 3 and np.isnan(back["x"].iloc[1])


def test_write_csv_is_atomic_and_leaves_no_temp_files(tmp_path):
    dest = tmp_path / "new" / "folder" / "out.csv"
    df = pd.DataFrame({"a": [1, 2], "b": ["=x", "y"]})

    write_csv(df, dest)
    write_csv(df.assign(a=[3, 4]), dest)  # overwrite in place

    assert os.listdir(dest.parent) == ["out.csv"]
    assert pd.read_csv(dest).to_dict("list") == {"a": [3, 4], "b": ["'=x", "y"]}


def test_write_csv_failure_keeps_the_old_file(tmp_path, monkeypatch):
    dest = tmp_path / "out.csv"
    dest.write_text("old\n")

    def crash(df, sink):
        sink.write(b"half a fi")
        raise RuntimeError("disk pulled out")

    monkeypatch.setattr("segmentation.data.write._write_csv_stream", crash)

    with pytest.raises(RuntimeError, match="disk pulled out"):
        write_csv(pd.DataFrame({"a": [1]}), dest)
    assert dest.read_text() == "old\n" and os.listdir(tmp_path) == ["out.csv"]


def test_write_csv_to_a_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path)


def test_write_csv_to_streams(capsysbinary):
    df = pd.DataFrame({"a": [1], "b": ["@x"]})
    buffer = io.BytesIO()

    write_csv(df, buffer)
    write_csv(df, "-")

    expected = b'"a","b"\n1,"\'@x"\n'
    assert buffer.getvalue() == expected
    assert capsysbinary.readouterr().out == expected


def test_large_numeric_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"c{i}": rng.normal(size=50_000).round(3) for i in range(5)})
    df["id"] = np.arange(len(df))
    path = tmp_path / "big.csv"

    write_csv(df, path)
    back = read_table(path)

    pd.testing.assert_frame_equal(back, df)


def test_zero_padded_codes_stay_text():
    """Leading zeros mark a code (ID, postcode): reading it as a number would change it."""
    df = read_table(b"id,zip,amount\n007,01234,1.5\n010,02345,2\n123,10001,3\n")
    assert df["id"].tolist() == ["007", "010", "123"]
    assert df["zip"].tolist() == ["01234", "02345", "10001"]
    assert df["amount"].dtype == "float64"


def test_read_head_of_a_big_file_reads_only_its_head(tmp_path, monkeypatch):
    """The Predict page previews a labeled file of hundreds of megabytes: only the first
    bytes are read (a whole read of this file would fail on its damaged tail)."""
    from segmentation.data import read as read_module
    from segmentation.data.read import read_head

    path = tmp_path / "big.csv"
    rows = "".join(f"C{i},{i % 90},{1000 + i}\n" for i in range(2000))
    path.write_bytes(b"id,age,income\n" + rows.encode() + b"\xff\xfe,\x00broken tail\n" * 50)

    real_read_source = read_module._read_source

    def whole_read(source, *args, **kwargs):
        assert not isinstance(source, os.PathLike | str), "the whole file was read"
        return real_read_source(source, *args, **kwargs)

    monkeypatch.setattr(read_module, "_read_source", whole_read)
    head = read_head(path, max_bytes=4096)
    assert list(head.columns) == ["id", "age", "income"]
    assert 100 < len(head) < 2000 and head["age"].iloc[5] == 5


def test_parquet_files_and_folders_are_read_and_checked_like_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "Customer ID ": ["007", "008", "009"],  # a name to clean, codes to keep
            "Income": ["1,200", "NA", "3,400"],  # text cells typed as CSV cells are
            "Score": [1.5, np.inf, 3.0],  # a typed column checked as parsed numbers are
            "Since": pd.to_datetime(["2020-01-01", "2020-01-02", None]).tz_localize("UTC"),
        }
    )
    frame.to_parquet(tmp_path / "c.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet")
    frame.iloc[2:].to_parquet(folder / "part-1.parquet")

    for source in (tmp_path / "c.parquet", (tmp_path / "c.parquet").read_bytes(), folder):
        table = read_table(source)
        assert list(table.columns) == ["Customer ID", "Income", "Score", "Since"]
        assert table["Customer ID"].tolist() == ["007", "008", "009"]
        assert table["Income"].tolist()[::2] == [1200, 3400]
        assert np.isnan(table["Score"][1])
        assert table.attrs["unparsed_values"] == {"Score": (1, [2])}
        assert str(table["Since"].dtype) == "datetime64[us]"
