"""Bad input at the command line: exit status 2 and one line on stderr starting ``error:``,
never a traceback; nothing a user saved is lost; a closed pipe is a normal end.

Every input is built by the test. Most cases run ``segmentation.cli.main`` in-process
(fast); the pipe and a few others run ``python -m segmentation`` as a user would.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from segmentation import cli, config
from segmentation.cli import main
from segmentation.data.synthetic import generate_customers
from segmentation.errors import DataError
from tests.helpers import EndlessStream, run_cli

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes and file types")


@pytest.fixture(scope="module")
def customers_csv() -> str:
    """300 synthetic customers as CSV text (Income is the 4th column)."""
    return generate_customers(300, seed=7).to_csv(index=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory, customers_csv) -> str:
    """A model store with one model trained on the synthetic customers."""
    folder = tmp_path_factory.mktemp("cli-bad")
    data = folder / "customers.csv"
    data.write_text(customers_csv)
    assert main(["train", "--data", str(data), "--k", "3", "--models-dir", str(folder / "m")]) == 0
    return str(folder / "m")


def run_main(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


run_module = run_cli


def assert_one_error(status: int, err: str, match: str) -> None:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert match in lines[0], lines[0]


def _edit_row(text: str, row: int, column: int, value: str, delimiter: str = ",") -> str:
    lines = text.splitlines()
    fields = lines[row].split(delimiter)
    fields[column] = value
    lines[row] = delimiter.join(fields)
    return "\n".join(lines) + "\n"


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --------------------------------------------------------------------------------------------
# Files the reader refuses: the same one line from train and from predict
# --------------------------------------------------------------------------------------------


def _nul_late(text: str) -> bytes:
    lines = text.splitlines()
    lines[250] = lines[250].replace(",", ",\x00", 1)
    return ("\n".join(lines) + "\n").encode()


def _mixed(text: str) -> bytes:
    lines = text.splitlines()
    for i in range(200, 210):
        lines[i] = lines[i].replace(",", ";")
    return ("\n".join(lines) + "\n").encode()


def _headerless(text: str) -> bytes:
    return ("\n".join(text.splitlines()[1:]) + "\n").encode()


def _formulas(text: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        sheet.append([float(v) if v.replace(".", "", 1).isdigit() else v for v in row])
        if i:
            sheet.cell(i + 1, 10).value = f"=H{i + 1}*G{i + 1}"  # TotalSpend, not saved
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


REFUSED_FILES = {
    "nul-byte": ("in.csv", _nul_late, "line 251 holds a NUL (zero) byte"),
    "mixed-delimiters": ("in.csv", _mixed, "mixes two delimiters: the header uses ','"),
    "no-header-row": ("in.csv", _headerless, "looks like data, not column names"),
    "xlsx-formulas-without-values": ("in.xlsx", _formulas, "formulas without saved values"),
}


@pytest.mark.parametrize("command", ["train", "predict"])
@pytest.mark.parametrize("case", list(REFUSED_FILES), ids=list(REFUSED_FILES))
def test_refused_files(capsys, tmp_path, customers_csv, models, case, command):
    name, build, match = REFUSED_FILES[case]
    path = _write(tmp_path, name, build(customers_csv))
    extra = ["--out", tmp_path / "out.csv"] if command == "predict" else []
    status, _, err = run_main(
        capsys,
        command,
        "--data",
        path,
        *extra,
        "--models-dir",
        tmp_path / "m" if command == "train" else models,
    )

    assert_one_error(status, err, match)
    assert not (tmp_path / "out.csv").exists()


# --------------------------------------------------------------------------------------------
# Files read right now: non-finite numbers, stray carriage returns, long headers, UTF-16
# --------------------------------------------------------------------------------------------

NON_FINITE = {
    "inf": "inf",
    "minus-inf": "-inf",
    "overflow-1e400": "1e400",
    "huge-1e308": "1e308",
    "400-digits": "9" * 400,
}


@pytest.mark.parametrize("value", list(NON_FINITE.values()), ids=list(NON_FINITE))
def test_train_imputes_non_finite_numbers_and_says_where(capsys, tmp_path, customers_csv, value):
    path = _write(tmp_path, "in.csv", _edit_row(customers_csv, 5, 3, value))

    status, out, err = run_main(
        capsys, "train", "--data", path, "--k", "3", "--models-dir", tmp_path
    )

    assert status == 0, err
    assert json.loads(out)["n_rows"] == 300
    # The first line; a sentence on the choice of k may follow (300 rows, k forced).
    assert err.strip().splitlines()[0] == (
        "warning: 1 value(s) in 'Income' are not numbers (rows 5); they were imputed"
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("value", list(NON_FINITE.values()), ids=list(NON_FINITE))
def test_predict_general_path_labels_non_finite_numbers_with_a_warning(
    capsys, tmp_path, customers_csv, models, value
):
    text = _edit_row(customers_csv.replace(",", ";"), 5, 3, value, delimiter=";")
    path = _write(tmp_path, "in.csv", text)  # ';': read by read_table, not the fast path
    out = tmp_path / "out.csv"

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", out, "--models-dir", models
    )

    assert status == 0, err
    assert "'Income' are not numbers (rows 5); they were imputed" in err
    labeled = pd.read_csv(out)
    assert labeled["cluster_distance"].notna().all() and len(labeled) == 300


def test_predict_fast_path_labels_non_finite_numbers_with_a_warning(
    capsys, tmp_path, customers_csv, models
):
    path = _write(tmp_path, "in.csv", _edit_row(customers_csv, 5, 3, "inf"))
    out = tmp_path / "out.csv"

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", out, "--models-dir", models
    )

    assert status == 0 and "'Income' are not numbers (rows 5)" in err
    assert pd.read_csv(out)["cluster_distance"].notna().all()
    assert "RuntimeWarning" not in err


def _carriage_return(text: str) -> bytes:
    return text.replace(",Female,", ',"Fe\rmale",', 3).encode()


def _long_header(text: str) -> bytes:
    lines = text.splitlines()
    names = [f"note_{i}_" + "x" * 50_000 for i in range(3)]  # a 150 KB header line
    lines = [lines[0] + "," + ",".join(names)] + [line + ",a,b,c" for line in lines[1:]]
    return ("\n".join(lines) + "\n").encode()


READ_FILES = {
    "lone-carriage-return-in-quotes": _carriage_return,
    "header-line-over-128-kb": _long_header,
    "utf-16-le-without-bom": lambda text: text.encode("utf-16-le"),
    "utf-16-be-without-bom": lambda text: text.encode("utf-16-be"),
}


@pytest.mark.parametrize("case", list(READ_FILES), ids=list(READ_FILES))
def test_files_that_failed_before_now_train_and_predict(
    capsys, tmp_path, customers_csv, models, case
):
    path = _write(tmp_path, "in.csv", READ_FILES[case](customers_csv))
    trained = run_main(capsys, "train", "--data", path, "--k", "3", "--models-dir", tmp_path / "m")
    out = tmp_path / "out.csv"
    labeled = run_main(capsys, "predict", "--data", path, "--out", out, "--models-dir", models)

    assert trained[0] == 0 and "Traceback" not in trained[2], trained[2]
    assert json.loads(trained[1])["n_rows"] == 300
    assert labeled[0] == 0, labeled[2]
    assert len(pd.read_csv(out)) == 300


def test_predict_warns_before_replacing_the_inputs_own_label_columns(
    capsys, tmp_path, customers_csv, models
):
    frame = pd.read_csv(io.StringIO(customers_csv)).assign(segment="VIP", cluster=9)
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out.csv"

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", out, "--models-dir", models
    )

    assert status == 0, err
    assert err.startswith("warning: the input already has column(s) 'segment', 'cluster';")
    assert "VIP" not in set(pd.read_csv(out)["segment"])


# --------------------------------------------------------------------------------------------
# predict --json
# --------------------------------------------------------------------------------------------

JSON_CASES = {
    "Infinity": ('{"Age": Infinity}', "value of 'Age' (Infinity) is not a usable number"),
    "NaN": ('{"Age": NaN}', "value of 'Age' (NaN) is not a usable number"),
    "overflow-1e309": ('{"Income": 1e309}', "value of 'Income' (1e309) is not a usable number"),
    "400-digit-integer": ('{"Age": ' + "9" * 400 + "}", "value of 'Age' (999"),
    "5000-digit-integer": ('{"Age": ' + "9" * 5000 + "}", "is not a usable number"),
    "empty-object": ("{}", "--json gives no columns; pass the customer's values"),
    "list": ("[]", "must be one object of column: value, not a list"),
    "number": ("5", "not a single value"),
    "nested-list": ('{"Age": [35]}', "value of 'Age' is a list"),
    "nested-object": ('{"Age": {"years": 35}}', "value of 'Age' is an object"),
    "deep-nesting": ('{"Age": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "not-json": ("{Age: 35}", "not valid JSON"),
}


@pytest.mark.parametrize("case", list(JSON_CASES), ids=list(JSON_CASES))
def test_predict_json_bad_values(capsys, models, case):
    record, match = JSON_CASES[case]

    status, out, err = run_main(capsys, "predict", "--json", record, "--models-dir", models)

    assert_one_error(status, err, match)
    assert out == ""
    assert len(err) < 400  # the offending value is quoted short


def test_predict_json_huge_integer_as_a_user_runs_it(models):
    result = run_module("predict", "--json", '{"Age": ' + "9" * 5000 + "}", "--models-dir", models)

    assert_one_error(result.returncode, result.stderr, "is not a usable number")


# --------------------------------------------------------------------------------------------
# Numbers on the command line
# --------------------------------------------------------------------------------------------

FLAG_CASES = {
    "generate-negative-seed": (["generate", "--seed", "-1"], "--seed: must be at least 0"),
    "generate-seed-above-2**32-1": (["generate", "--seed", str(2**32)], "at most 4,294,967,295"),
    "train-negative-seed": (["train", "--data", "x.csv", "--seed", "-1"], "--seed"),
    "train-seed-above-2**32-1": (["train", "--data", "x.csv", "--seed", str(2**32)], "--seed"),
    "generate-a-billion-rows": (["generate", "--rows", "1000000000"], "at most 20,000,000"),
    "generate-zero-rows": (["generate", "--rows", "0"], "--rows: must be at least 1"),
    "generate-5000-digit-rows": (["generate", "--rows", "9" * 5000], "--rows: must be at"),
    "generate-rows-not-a-number": (["generate", "--rows", "many"], "must be a whole number"),
    "train-k-max-a-billion": (["train", "--data", "x.csv", "--k-max", "1000000000"], "at most 50"),
    "train-k-above-50": (["train", "--data", "x.csv", "--k", "51"], "--k: must be at least 2"),
    "train-k-min-above-k-max": (
        ["train", "--data", "x.csv", "--k-min", "9", "--k-max", "3"],
        "smallest <= largest",
    ),
}


@pytest.mark.parametrize("case", list(FLAG_CASES), ids=list(FLAG_CASES))
def test_out_of_range_flags(capsys, tmp_path, case):
    args, match = FLAG_CASES[case]
    if args[0] == "generate":
        args = [*args, "--out", tmp_path / "out.csv"]

    status, _, err = (
        run_main(capsys, *args, "--models-dir", tmp_path)
        if args[0] == "train"
        else run_main(capsys, *args)
    )

    assert_one_error(status, err, match)
    assert not (tmp_path / "out.csv").exists()


def test_predict_out_to_a_folder_is_refused_before_any_work(
    capsys, tmp_path, customers_csv, models
):
    path = _write(tmp_path, "in.csv", customers_csv)

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", tmp_path, "--models-dir", models
    )

    assert_one_error(status, err, "is a folder; give a file name")


# --------------------------------------------------------------------------------------------
# Size limits: predict's file path and standard input, as train's
# --------------------------------------------------------------------------------------------


def test_predict_file_over_the_size_limit(capsys, tmp_path, customers_csv, models, monkeypatch):
    path = _write(tmp_path, "in.csv", customers_csv)
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 0)

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", tmp_path / "o.csv", "--models-dir", models
    )

    assert_one_error(status, err, "larger than the 0 bytes limit")


def test_predict_stdin_is_read_only_up_to_the_limit(capsys, tmp_path, models, monkeypatch):
    endless = EndlessStream(b"1")
    stdin = io.TextIOWrapper(io.BufferedReader(endless))
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)

    status, _, err = run_main(
        capsys, "predict", "--data", "-", "--out", tmp_path / "o.csv", "--models-dir", models
    )

    assert_one_error(status, err, "larger than the 1.0 MB limit")
    assert endless.served <= (1 << 20) + 2 * io.DEFAULT_BUFFER_SIZE


# --------------------------------------------------------------------------------------------
# --out: links stay links, pipes and devices are written through
# --------------------------------------------------------------------------------------------


@posix_only
def test_out_through_a_symlink_replaces_the_target(capsys, tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)

    status, _, err = run_main(capsys, "generate", "--rows", "5", "--out", link)

    assert status == 0, err
    assert link.is_symlink() and len(target.read_text().splitlines()) == 6


@posix_only
def test_out_to_a_fifo_writes_into_it(capsys, tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()

    status, _, err = run_main(capsys, "generate", "--rows", "5", "--out", fifo)
    reader.join(timeout=60)

    assert status == 0, err
    assert len(received[0].splitlines()) == 6 and stat.S_ISFIFO(fifo.stat().st_mode)


@posix_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_out_to_a_device_node_writes_into_it(capsys, tmp_path):
    device = tmp_path / "null"  # a private copy of /dev/null: the real one is never at risk
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    status, _, err = run_main(capsys, "generate", "--rows", "5", "--out", device)

    assert status == 0, err
    assert stat.S_ISCHR(device.stat().st_mode)


# --------------------------------------------------------------------------------------------
# The boundary: whatever goes wrong, one line and exit 2; a closed pipe is a normal end
# --------------------------------------------------------------------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")


def _nested_broken_pipe():
    try:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")
    except BrokenPipeError as exc:
        raise DataError("cannot write '-': Broken pipe") from exc


UNEXPECTED = {
    "csv-module": (
        csv.Error("new-line character seen in unquoted field\n- do you need"),
        "unexpected Error",
    ),
    "scikit-learn": (
        ValueError("Input X contains infinity\nor a value too large"),
        "unexpected ValueError",
    ),
    "recursion": (RecursionError("maximum recursion depth exceeded"), "unexpected RecursionError"),
    "unprintable-message": (_Unprintable(), "unexpected _Unprintable; this is a bug"),
    "memory": (MemoryError(), "not enough memory"),
    "disk-full": (OSError(errno.ENOSPC, "No space left on device", "out.csv"), "out.csv: No space"),
    "permission": (
        PermissionError(errno.EACCES, "Permission denied", "/x"),
        "/x: Permission denied",
    ),
}


@pytest.mark.parametrize("case", list(UNEXPECTED), ids=list(UNEXPECTED))
def test_any_exception_becomes_one_line(capsys, monkeypatch, case):
    error, match = UNEXPECTED[case]

    def fail(args):
        raise error

    monkeypatch.setitem(cli.COMMANDS, "models", fail)

    status, _, err = run_main(capsys, "models")

    assert_one_error(status, err, match)


@pytest.mark.parametrize(
    "raise_it",
    [lambda: (_ for _ in ()).throw(BrokenPipeError()), _nested_broken_pipe],
    ids=["broken-pipe", "broken-pipe-wrapped-in-a-data-error"],
)
def test_a_closed_pipe_is_a_normal_end(capsys, monkeypatch, raise_it):
    monkeypatch.setitem(cli.COMMANDS, "models", lambda args: raise_it())

    status, _, err = run_main(capsys, "models")

    assert status == 0 and err == ""


def test_ctrl_c_exits_130(capsys, monkeypatch):
    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "models", interrupt)

    status, _, err = run_main(capsys, "models")

    assert status == 130 and err == "error: interrupted\n"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "big.csv"
    result = run_module("generate", "--rows", "50000", "--seed", "3", "--out", path)
    assert result.returncode == 0, result.stderr
    return path


@posix_only
@pytest.mark.parametrize("path", ["fast", "general"])
def test_predict_into_head_ends_quietly(big_csv, models, tmp_path, path):
    data = big_csv
    if path == "general":  # ';' is read by read_table and written by write_csv
        data = _write(tmp_path, "big.csv", big_csv.read_text().replace(",", ";"))
    command = (
        f"{sys.executable} -m segmentation predict --data {data} --out - --models-dir {models}"
        " | head -1; exit ${PIPESTATUS[0]}"
    )

    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=300
    )

    # Nothing but warnings (the drift check may say the file differs from training).
    assert result.returncode == 0
    assert all(line.startswith("warning:") for line in result.stderr.splitlines())
    assert result.stdout.startswith('"CustomerID"') and len(result.stdout.splitlines()) == 1


@posix_only
def test_generate_into_head_ends_quietly():
    command = (
        f"{sys.executable} -m segmentation generate --rows 100000 --out - | head -1;"
        " exit ${PIPESTATUS[0]}"
    )

    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, timeout=300
    )

    assert result.returncode == 0 and result.stderr == ""


def test_predict_missing_column_is_refused_or_imputed_with_a_warning(
    capsys, tmp_path, customers_csv, models
):
    """``predict --data`` refuses a file without a model column; --impute-missing fills it
    and says with what."""
    table = pd.read_csv(io.StringIO(customers_csv)).drop(columns=["Income"])
    path = _write(tmp_path, "in.csv", table.to_csv(index=False))
    out = tmp_path / "out.csv"

    status, _, err = run_main(
        capsys, "predict", "--data", path, "--out", out, "--models-dir", models
    )
    assert_one_error(status, err, "Income")

    status, _, err = run_main(
        capsys,
        "predict",
        "--data",
        path,
        "--out",
        out,
        "--models-dir",
        models,
        "--impute-missing",
    )
    assert status == 0, err
    assert "warning: column 'Income' is missing from the file: every customer was given" in err
    assert "(the training median)" in err
    assert len(pd.read_csv(out)) == len(table)
