"""The fast labeling path gives exactly what the general path gives, on clean and messy files."""

import io
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from segmentation.data.read import read_table
from segmentation.modeling import labeling
from segmentation.modeling.estimator import OUTPUT_COLUMNS
from segmentation.modeling.labeling import label_file


def _general(model, df):
    return model.label(df).join(df)


@pytest.fixture
def table(customers):
    df = customers[0].head(400).copy()
    df.loc[5, "Region"] = "Atlantis"  # a category never seen in training
    df.loc[6, ["Income", "Gender"]] = np.nan
    return df


def test_fast_path_matches_predict(fitted, table, tmp_path):
    path = tmp_path / "in.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    report = label_file(fitted, path, out)
    assert report.fast
    labeled = pd.read_csv(out)
    expected = _general(fitted, read_table(path))
    assert list(labeled.columns) == [*table.columns, *OUTPUT_COLUMNS]
    np.testing.assert_array_equal(labeled["cluster"], expected["cluster"])
    np.testing.assert_allclose(labeled["cluster_distance"], expected["cluster_distance"], atol=1e-6)
    assert (labeled["segment"] == expected["segment"]).all()
    assert sum(report.segment_counts.values()) == 400


def test_renamed_columns_take_the_fast_path(fitted, table):
    renamed = table.rename(columns={"SpendingScore": "spending_score", "Region": "REGION"})
    sink = io.BytesIO()
    report = label_file(fitted, renamed.to_csv(index=False).encode(), sink)
    assert report.fast and report.report.renamed["SpendingScore"] == "spending_score"
    labeled = pd.read_csv(io.BytesIO(sink.getvalue()))
    np.testing.assert_array_equal(labeled["cluster"], fitted.label(table).labels["cluster"])


@pytest.mark.parametrize("mess", ["junk-number", "semicolons", "bom"])
def test_messy_files_fall_back_and_still_match(fitted, table, tmp_path, mess):
    df = table.astype({"Income": object})
    if mess == "junk-number":
        df.loc[3, "Income"] = "unknown"
    path = tmp_path / "in.csv"
    sep = ";" if mess == "semicolons" else ","
    text = df.to_csv(index=False, sep=sep)
    path.write_bytes(("\ufeff" if mess == "bom" else "").encode() + text.encode())
    out = tmp_path / "out.csv"
    report = label_file(fitted, path, out)
    assert not report.fast
    labeled = pd.read_csv(out)
    assert len(labeled) == 400
    if mess == "junk-number":
        assert report.report.bad_values["Income"] == (1, [4])


def test_formulas_neutralized_on_the_fast_path(fitted, table, tmp_path):
    df = table.copy()
    df["CustomerID"] = df["CustomerID"].where(df.index % 2 == 0, "=1+1")
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert label_file(fitted, path, out).fast
    labeled = pd.read_csv(out)
    assert labeled.loc[1, "CustomerID"] == "'=1+1"
    assert labeled["Age"].dtype.kind == "f"


def test_failed_write_leaves_no_file(fitted, table, tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    out.write_text("the user's old file\n")

    real_open_output = labeling.open_output

    class FullDisk:
        """The real temporary file, whose writes fail once the header is written."""

        def __init__(self, handle):
            self.handle, self.calls = handle, 0

        def write(self, data):
            self.calls += 1
            if self.calls > 1:
                raise OSError("disk full")
            return self.handle.write(data)

    @contextmanager
    def full_disk(dest):
        with real_open_output(dest) as handle:
            yield FullDisk(handle)

    monkeypatch.setattr(labeling, "open_output", full_disk)
    with pytest.raises(OSError, match="disk full"):
        label_file(fitted, path, out)
    assert out.read_text() == "the user's old file\n"
    assert [p.name for p in tmp_path.iterdir()] == sorted(["in.csv", "out.csv"]) or set(
        p.name for p in tmp_path.iterdir()
    ) == {"in.csv", "out.csv"}


def test_stream_that_changes_type_midway_stays_fast(fitted, table, tmp_path, monkeypatch):
    """A pass-through column of numbers that turns to text after the first block: every
    block is parsed on its own, so the stream neither stops nor falls back."""
    monkeypatch.setattr("segmentation.modeling.labeling.STREAM_BLOCK_BYTES", 2048)
    df = table.copy()
    df["Note"] = [str(i) if i < 300 else f"text {i}" for i in range(len(df))]
    df["Empty at first"] = [None] * 200 + ["later"] * 200
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    report = label_file(fitted, path, out)
    assert report.fast
    labeled = pd.read_csv(out)
    assert len(labeled) == 400 and labeled["Note"].iloc[350] == "text 350"
    assert labeled["Empty at first"].iloc[250] == "later"
    np.testing.assert_array_equal(labeled["cluster"], fitted.label(table).labels["cluster"])


def test_streaming_in_small_blocks_matches(fitted, table, tmp_path, monkeypatch):
    monkeypatch.setattr("segmentation.modeling.labeling.STREAM_BLOCK_BYTES", 4096)
    path = tmp_path / "in.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    seen = []
    report = label_file(fitted, path, out, progress=lambda f, message: seen.append((f, message)))
    assert report.fast and len(seen) > 3
    assert seen[-1] == (1.0, "Labeled 400 of 400 customers")
    assert all(0 < f <= 1 for f, _ in seen) and "of about" in seen[0][1]
    labeled = pd.read_csv(out)
    np.testing.assert_array_equal(labeled["cluster"], fitted.label(table).labels["cluster"])


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "general-path"])
def test_zero_padded_codes_survive_labeling(fitted, table, tmp_path, fast):
    """IDs and postcodes written with leading zeros come back exactly as they were."""
    df = table.copy()
    df["CustomerID"] = [f"{i:06d}" for i in range(len(df))]
    df["Postcode"] = [f"0{1000 + i}" for i in range(len(df))]
    path = tmp_path / "in.csv"
    text = df.to_csv(index=False)
    path.write_text(text if fast else text.replace(",", ";"))
    out = tmp_path / "out.csv"
    assert label_file(fitted, path, out).fast is fast
    labeled = pd.read_csv(out, dtype=str)
    assert labeled["CustomerID"].iloc[7] == "000007"
    assert labeled["Postcode"].iloc[0] == "01000"


# -- the input's lines pass through unchanged --------------------------------------------


def _lines_and_labels(fitted, table, data: bytes, monkeypatch, block: int = 1500):
    """Label ``data`` in small blocks; the output's lines and the general path's labels."""
    monkeypatch.setattr("segmentation.modeling.labeling.STREAM_BLOCK_BYTES", block)
    sink = io.BytesIO()
    report = label_file(fitted, data, sink)
    expected = fitted.label(table).labels
    return report, sink.getvalue().decode().split("\n"), expected


def _suffix(expected, i: int) -> str:
    row = expected.iloc[i]
    return f',{row["cluster"]},"{row["segment"]}",{float(row["cluster_distance"])!r}'


def test_input_lines_are_written_back_as_they_are(fitted, table, monkeypatch):
    """Quoting, spacing of numbers and leading zeros stay exactly as the customer file had
    them; only the three label columns are added at the end of every line."""
    df = table.head(120).copy()
    df["Postcode"] = [f"{i:05d}" for i in range(len(df))]
    df["Note"] = ['said "hi", twice' if i % 7 == 0 else "" for i in range(len(df))]
    data = df.to_csv(index=False).encode()
    report, lines, expected = _lines_and_labels(fitted, df, data, monkeypatch)
    assert report.fast
    source = data.decode().split("\n")
    assert lines[0] == source[0] + ',"cluster","segment","cluster_distance"'
    assert lines[-1] == "" and len(lines) == len(source)
    for i, (out, line) in enumerate(zip(lines[1:-1], source[1:-1], strict=True)):
        assert out == line + _suffix(expected, i)


@pytest.mark.parametrize("ending", ["crlf", "blank-lines", "no-final-newline"])
def test_line_endings_and_blank_lines(fitted, table, monkeypatch, ending):
    df = table.head(90)
    text = df.to_csv(index=False)
    if ending == "crlf":
        text = text.replace("\n", "\r\n")
    elif ending == "blank-lines":
        rows = text.split("\n")
        text = "\n".join(r if i % 10 else r + "\n" for i, r in enumerate(rows)) + "\n\n"
    else:
        text = text.rstrip("\n")
    report, lines, expected = _lines_and_labels(fitted, df, text.encode(), monkeypatch)
    assert report.fast
    labeled = pd.read_csv(io.StringIO("\n".join(lines)))
    assert len(labeled) == 90
    np.testing.assert_array_equal(labeled["cluster"], expected["cluster"])
    assert not any("\r" in line for line in lines)


def test_line_break_inside_a_quoted_value(fitted, table, monkeypatch):
    """A value with a line break inside quotes cannot be cut by lines: the file is still
    labeled, every row once, with the general path's segments."""
    df = table.head(90).copy()
    df["Note"] = ["two\nlines" if i == 40 else "x" for i in range(len(df))]
    report, lines, expected = _lines_and_labels(
        fitted, df, df.to_csv(index=False).encode(), monkeypatch
    )
    labeled = pd.read_csv(io.StringIO("\n".join(lines)))
    assert len(labeled) == 90 and labeled["Note"].iloc[40] == "two\nlines"
    np.testing.assert_array_equal(labeled["cluster"], expected["cluster"])


def test_a_formula_in_one_block_is_guarded_and_the_rest_passes_through(fitted, table, monkeypatch):
    df = table.head(200).copy()
    df["Note"] = ["=HYPERLINK(1)" if i == 150 else "ok" for i in range(len(df))]
    data = df.to_csv(index=False).encode()
    report, lines, expected = _lines_and_labels(fitted, df, data, monkeypatch)
    assert report.fast
    labeled = pd.read_csv(io.StringIO("\n".join(lines)))
    assert labeled["Note"].iloc[150] == "'=HYPERLINK(1)"
    assert not any(",=" in line or line.startswith("=") for line in lines)
    np.testing.assert_array_equal(labeled["cluster"], expected["cluster"])
    assert lines[1] == data.decode().split("\n")[1] + _suffix(expected, 0)


def test_label_file_imputes_missing_columns_only_when_asked(fitted, customers, tmp_path):
    """A file without a model column is refused, or labeled with the column filled in."""
    import pandas as pd

    from segmentation.errors import SchemaError
    from segmentation.modeling.labeling import label_file

    data = customers[0].head(60)
    source = data.drop(columns=["Income"]).to_csv(index=False).encode()
    with pytest.raises(SchemaError, match="Income"):
        label_file(fitted, source, tmp_path / "refused.csv")
    assert not (tmp_path / "refused.csv").exists()
    report = label_file(fitted, source, tmp_path / "filled.csv", impute_missing=True)
    median = fitted.imputed_values(["Income"])["Income"]
    assert report.imputed == {"Income": median}
    assert report.imputed_warnings() == [
        f"column 'Income' is missing from the file: every customer was given {median:,.6g} "
        "(the training median)"
    ]
    # One value repeated is not drift: the filled column is left out of the file check.
    assert report.drift is not None and report.drift.features
    assert "Income" not in {f.feature for f in report.drift.features}
    labeled = pd.read_csv(tmp_path / "filled.csv")
    filled = data.assign(Income=median)
    assert list(labeled["cluster"]) == list(fitted.predict(filled))
    # A file with every column imputes nothing and keeps the fast path.
    whole = label_file(
        fitted, data.to_csv(index=False).encode(), tmp_path / "w.csv", impute_missing=True
    )
    assert whole.imputed == {}
