"""The command line, run as a user would: a subprocess, its exit status, stdout and stderr."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
RECORD = (
    '{"age": 35, "gender": "Male", "income": 65000, "spending_score": 75, '
    '"region": "North", "purchase_frequency": 24, "avg_order_value": 450, "recency": 15}'
)


run = run_cli


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "customers.csv"
    result = run("generate", "--rows", "600", "--seed", "7", "--out", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_generate_default_matches_committed_file(tmp_path):
    out = tmp_path / "c.csv"
    assert run("generate", "--out", str(out)).returncode == 0
    assert out.read_bytes() == (ROOT / "data" / "customers.csv").read_bytes()


def test_train_prints_summary_json(data_csv, tmp_path):
    result = run("train", "--data", str(data_csv), "--models-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key in (
        "version",
        "k",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "inertia",
        "n_rows",
        "n_train_rows",
        "n_outliers_removed",
        "features",
        "segments",
    ):
        assert key in summary
    assert summary["version"] == "v1" and summary["n_rows"] == 600
    assert {"cluster", "name", "size", "stability", "stability_word", "rule"} == set(
        summary["segments"][0]
    )
    rule = summary["segments"][0]["rule"]
    assert {"conditions", "precision", "recall", "text", "trust"} == set(rule)
    assert {"rule", "verdict", "at_edge", "near_ties", "candidates"} <= set(summary["k_choice"])
    assert {"k", "silhouette", "stability", "prediction_strength", "min_segment_share"} <= set(
        summary["k_choice"]["candidates"][0]
    )
    assert {"overall", "segments"} <= set(summary["stability"])
    assert sum(s["size"] for s in summary["segments"]) == 600


def test_train_fixed_k_exclude_and_id(data_csv, tmp_path):
    result = run(
        "train",
        "--data",
        str(data_csv),
        "--k",
        "3",
        "--exclude",
        "Region",
        "Gender",
        "--id-column",
        "CustomerID",
        "--seed",
        "1",
        "--models-dir",
        str(tmp_path),
    )
    summary = json.loads(result.stdout)
    assert summary["k"] == 3
    assert "Region" not in summary["features"] and "CustomerID" not in summary["features"]


def test_predict_file_to_file_and_stdout(data_csv, tmp_path):
    models = str(tmp_path / "m")
    run("train", "--data", str(data_csv), "--k", "4", "--models-dir", models)
    out = tmp_path / "labeled.csv"
    result = run("predict", "--data", str(data_csv), "--out", str(out), "--models-dir", models)
    assert result.returncode == 0, result.stderr
    labeled = pd.read_csv(out)
    original = pd.read_csv(data_csv)
    assert list(labeled.columns) == [*original.columns, "cluster", "segment", "cluster_distance"]
    assert len(labeled) == len(original)
    piped = run(
        "predict", "--data", "-", "--out", "-", "--models-dir", models, stdin=data_csv.read_text()
    )
    assert piped.returncode == 0, piped.stderr
    assert (
        piped.stdout.splitlines()[0].endswith("cluster,segment,cluster_distance")
        or "cluster_distance" in piped.stdout.splitlines()[0]
    )
    assert len(piped.stdout.strip().splitlines()) == len(original) + 1


@pytest.mark.parametrize("algorithm", ["kmeans", "ward", "gmm", "kprototypes"])
def test_train_and_predict_with_each_algorithm(algorithm, data_csv, tmp_path):
    models = str(tmp_path / "models")
    result = run(
        "train", "--data", str(data_csv), "--algorithm", algorithm, "--k", "4",
        "--models-dir", models, "--segment-on", "Gender", "Region",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["algorithm"] == algorithm and summary["k"] == 4
    assert summary["silhouette"] is not None and summary["inertia"] > 0
    out = tmp_path / "labeled.csv"
    result = run("predict", "--data", str(data_csv), "--out", str(out), "--models-dir", models)
    assert result.returncode == 0, result.stderr
    labeled = pd.read_csv(out)
    extra = ["segment_probability"] if algorithm == "gmm" else []
    assert list(labeled.columns[-3 - len(extra) :]) == [
        "cluster",
        "segment",
        "cluster_distance",
        *extra,
    ]
    assert set(labeled["cluster"]) <= set(range(4)) and len(labeled) == 600
    if extra:
        assert labeled["segment_probability"].between(0, 1).all()
    result = run("predict", "--json", RECORD, "--models-dir", models)
    assert result.returncode == 0, result.stderr
    assert ("segment_probability" in json.loads(result.stdout)) == bool(extra)


def test_predict_json_trains_default_first(tmp_path):
    models = tmp_path / "fresh"
    result = run("predict", "--json", RECORD, "--models-dir", str(models))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {
        "cluster",
        "segment",
        "cluster_distance",
        "characteristics",
        "recommendations",
        "warnings",
    }
    assert any("TotalSpend" in w for w in answer["warnings"])
    listing = json.loads(run("models", "--models-dir", str(models)).stdout)
    assert listing["active"] == "v1" and listing["versions"][0]["active"] is True


def test_models_dir_from_environment(tmp_path, data_csv):
    env = {"SEGMENTATION_MODELS_DIR": str(tmp_path / "env")}
    assert run("train", "--data", str(data_csv), "--k", "3", env=env).returncode == 0
    assert (tmp_path / "env" / "v1" / "metadata.json").exists()


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    "args_fn,match",
    [
        (lambda t: ["train", "--data", str(t / "missing.csv")], "missing.csv"),
        (lambda t: ["train", "--data", _write(t, "empty.csv", b"")], "empty"),
        (
            lambda t: ["train", "--data", _write(t, "img.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary")],
            "not a table",
        ),
        (
            lambda t: ["train", "--data", _write(t, "few.csv", b"id,x\na,1\nb,2\n"), "--k", "3"],
            "at least 30",
        ),
        (
            lambda t: ["train", "--data", _write(t, "ids.csv", b"id,c\na,1\nb,1\nc,1\nd,1\n")],
            "nothing to cluster",
        ),
        (lambda t: ["predict", "--json", "{not json", "--models-dir", str(t)], "not valid JSON"),
        (lambda t: ["predict", "--data", str(t / "x.csv")], "--out"),
        (lambda t: ["train"], "required"),
        (lambda t: ["train", "--data", "x.csv", "--k", "1"], "at least 2 and at most 50"),
        (
            lambda t: ["predict", "--json", "{}", "--model", "../../etc", "--models-dir", str(t)],
            "not a model version",
        ),
    ],
    ids=[
        "missing-file",
        "empty-file",
        "not-a-table",
        "too-few-rows",
        "nothing-to-cluster",
        "bad-json",
        "no-out",
        "usage",
        "bad-k",
        "bad-version",
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, args_fn, match):
    result = run(*args_fn(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert match in lines[0]


def _transactions(tmp_path):
    lines = ["InvoiceNo,InvoiceDate,CustomerID,Quantity,UnitPrice"]
    for c in range(40):
        for i in range(1 + c % 4):
            day = 1 + (c * 7 + i * 3) % 28
            lines.append(f"{1000 + c * 10 + i},2024-03-{day:02d},{500 + c}.0,{1 + i},{5 + c}")
    lines.append("C9999,2024-03-20,501.0,-1,6")
    lines.append("2000,2024-03-21,,3,4")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rfm_command_writes_scores_and_segments(tmp_path):
    out = tmp_path / "rfm.csv"
    result = run("rfm", "--data", str(_transactions(tmp_path)), "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert len(table) == 40
    assert {
        "CustomerID",
        "Recency",
        "Frequency",
        "Monetary",
        "R_Score",
        "F_Score",
        "M_Score",
        "RFM_Score",
        "RFM_Segment",
    } <= set(table.columns)
    assert "without a customer id" in result.stderr


def test_rfm_explicit_columns_and_bad_column(tmp_path):
    data = str(_transactions(tmp_path))
    ok = run(
        "rfm",
        "--data",
        data,
        "--out",
        "-",
        "--customer-col",
        "CustomerID",
        "--date-col",
        "InvoiceDate",
        "--quantity-col",
        "Quantity",
        "--price-col",
        "UnitPrice",
        "--invoice-col",
        "InvoiceNo",
    )
    assert ok.returncode == 0, ok.stderr
    bad = run("rfm", "--data", data, "--out", "-", "--customer-col", "Nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_train_and_predict_transactions(tmp_path):
    data = str(_transactions(tmp_path))
    models = str(tmp_path / "m")
    trained = run("train", "--data", data, "--transactions", "--k", "3", "--models-dir", models)
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert set(summary["features"]) == {
        "Recency",
        "Frequency",
        "Monetary",
        "AvgOrderValue",
        "Tenure",
    }
    out = tmp_path / "labeled.csv"
    labeled = run(
        "predict", "--data", data, "--transactions", "--out", str(out), "--models-dir", models
    )
    assert labeled.returncode == 0, labeled.stderr
    assert len(pd.read_csv(out)) == 40


def test_csv_injection_neutralized_in_cli_output(tmp_path):
    models = str(tmp_path / "m")
    src = pd.read_csv(ROOT / "data" / "customers.csv").head(60)
    src["CustomerID"] = [f'=HYPERLINK("x{i}")' if i % 2 else f"c{i}" for i in range(60)]
    path = tmp_path / "in.csv"
    src.to_csv(path, index=False)
    assert run("train", "--data", str(path), "--k", "3", "--models-dir", models).returncode == 0
    out = tmp_path / "out.csv"
    assert (
        run("predict", "--data", str(path), "--out", str(out), "--models-dir", models).returncode
        == 0
    )
    labeled = pd.read_csv(out)
    assert labeled["CustomerID"].iloc[1].startswith("'=")
    assert labeled["Age"].dtype.kind in "if"


MESSY = {
    "semicolon-latin1": "Kundennr ; Stadt ;Umsatz (EUR)\n"
    + "".join(
        f"K{i};{['München', 'Köln'][i % 2]};{i * 1000 + 5}.{i % 10}00,50\n" for i in range(40)
    ),
    "tab-bom-quoted": '\ufeffid\t"Spend, total"\tvisits\n'
    + "".join(f'c{i}\t"{i * 13 % 97}"\t{1 + i % 6}\n' for i in range(40)),
    "pipe-na-tokens": "id|income|segment_hint\n"
    + "".join(f"c{i}|{'N/A' if i % 7 == 0 else 1000 + i * 37}|{'abc'[i % 3]}\n" for i in range(40)),
}


@pytest.mark.parametrize("case", list(MESSY), ids=list(MESSY))
def test_messy_files_train_and_predict(tmp_path, case):
    encoding = "latin-1" if "latin1" in case else "utf-8"
    path = tmp_path / f"{case}.csv"
    path.write_bytes(MESSY[case].encode(encoding))
    models = str(tmp_path / "m")
    trained = run("train", "--data", str(path), "--k", "2", "--models-dir", models)
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["n_rows"] == 40
    out = tmp_path / "out.csv"
    labeled = run("predict", "--data", str(path), "--out", str(out), "--models-dir", models)
    assert labeled.returncode == 0, labeled.stderr
    assert len(pd.read_csv(out)) == 40


def test_xlsx_input(tmp_path):
    path = tmp_path / "customers.xlsx"
    pd.read_csv(ROOT / "data" / "customers.csv").head(120).to_excel(path, index=False)
    models = str(tmp_path / "m")
    assert run("train", "--data", str(path), "--k", "3", "--models-dir", models).returncode == 0
    out = tmp_path / "out.csv"
    assert (
        run("predict", "--data", str(path), "--out", str(out), "--models-dir", models).returncode
        == 0
    )
    assert len(pd.read_csv(out)) == 120


@pytest.mark.parametrize(
    "content,match,env",
    [
        (b"a,b,c\n", "no data rows", {}),
        (b'{"customers": [1, 2]}', "JSON", {}),
        (
            b"id,x\n" + b"".join(b"c%d,%d\n" % (i, i) for i in range(50)),
            "limit",
            {"SEGMENTATION_MAX_UPLOAD_MB": "0"},
        ),
    ],
    ids=["header-only", "json", "over-size-limit"],
)
def test_more_bad_files(tmp_path, content, match, env):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run("train", "--data", str(path), env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and match in result.stderr


def test_train_segment_on_and_describe_with_override_the_defaults(data_csv, tmp_path):
    """Age describes by default; --segment-on makes it segment, --describe-with moves Recency."""
    result = run(
        "train",
        "--data",
        str(data_csv),
        "--k",
        "3",
        "--segment-on",
        "Age",
        "--describe-with",
        "recency",
        "--models-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert "Age" in summary["features"] and "Recency" not in summary["features"]
    assert "Recency" in summary["descriptors"] and "Gender" in summary["descriptors"]
    columns = {c["name"]: c for c in summary["columns"]}
    assert columns["Age"]["purpose"] == "segment"
    assert columns["Age"]["reason"] == "segment: chosen by the user"
    assert columns["Gender"]["reason"].startswith("describe: a demographic")
    assert columns["CustomerID"]["purpose"] is None
    assert set(summary["outliers"]) >= {"method", "n_removed", "note"}
    params = json.loads((tmp_path / "v1" / "metadata.json").read_text())["params"]
    assert params["purposes"] == {"Age": "segment", "recency": "describe"}


@pytest.mark.parametrize(
    "flags, match",
    [
        (["--segment-on", "Nope"], "column 'Nope' is not in the table"),
        (["--describe-with", "Age", "Missing"], "column 'Missing' is not in the table"),
        (["--segment-on", "Age", "--describe-with", "Age"], "both --segment-on and"),
    ],
    ids=["segment-on-unknown", "describe-with-unknown", "both"],
)
def test_purpose_flags_with_bad_columns_exit_2_one_line(data_csv, tmp_path, flags, match):
    result = run("train", "--data", str(data_csv), "--models-dir", str(tmp_path), *flags)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and match in result.stderr
    assert not (tmp_path / "v1").exists()


def test_rfm_says_how_ambiguous_dates_were_read_and_dayfirst_chooses(tmp_path):
    path = tmp_path / "orders.csv"
    rows = [f"{c},{m}/{d}/2024,{5 + c}" for c in range(1, 9) for m, d in ((1, 2), (3, 4))]
    path.write_text("CustomerID,InvoiceDate,Amount\n" + "\n".join(rows) + "\n")

    assumed = run("rfm", "--data", str(path), "--out", "-")
    month_first = run("rfm", "--data", str(path), "--out", "-", "--no-dayfirst")

    assert assumed.returncode == 0 and month_first.returncode == 0, assumed.stderr
    assert "read day-first" in assumed.stderr and "--no-dayfirst" in assumed.stderr
    assert "between 2024-02-01 and 2024-04-03" in assumed.stderr
    assert "between 2024-01-02 and 2024-03-04" in month_first.stderr
    assert "read both ways" not in month_first.stderr


# Dates as some spreadsheets export them (two-digit years): not read, and the message shows
# one, names the column and the forms that are read, whether the column was detected or given.
@pytest.mark.parametrize("given", [(), ("--date-col", "InvoiceDate")], ids=["detected", "given"])
def test_rfm_says_which_dates_it_cannot_read_and_which_it_can(tmp_path, given):
    path = tmp_path / "orders.csv"
    rows = [f"{i},{c},{m}/{d}/10 14:{i % 60:02d},2,3.5" for i, (c, m, d) in
            enumerate((c, m, d) for c in range(1, 9) for m, d in ((8, 13), (11, 20)))]  # fmt: skip
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(rows))

    result = run("rfm", "--data", str(path), "--out", str(tmp_path / "rfm.csv"), *given)

    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "'InvoiceDate'" in result.stderr
    assert re.search(r"\(e\.g\. '(8/13|11/20)/10 14:\d\d'\)", result.stderr)
    assert "01/12/2010" in result.stderr and "two-digit years" in result.stderr
    assert "--date-col" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "rfm.csv").exists()


def test_rfm_reads_a_folder_of_parquet_files_like_the_csv(tmp_path):
    csv = _transactions(tmp_path)
    folder = tmp_path / "orders_parquet"
    folder.mkdir()
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.iloc[:50].to_parquet(folder / "part-0.parquet")
    table.iloc[50:].to_parquet(folder / "part-1.parquet")

    from_csv = run("rfm", "--data", str(csv), "--out", "-")
    from_parquet = run("rfm", "--data", str(folder), "--out", "-")

    assert from_parquet.returncode == 0, from_parquet.stderr
    assert from_parquet.stdout == from_csv.stdout


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["rfm", "--data", "-", "--out", "-", "--engine", "spark"], "--engine spark reads a file"),
        (["rfm", "--data", "{log}", "--out", "-", "--engine", "nope"], "invalid choice"),
        (["train", "--data", "{log}", "--dayfirst"], "go with --transactions"),
        (["rfm", "--data", "{broken}", "--out", "-"], "unclosed quote"),
    ],
    ids=["spark-stdin", "bad-engine", "dayfirst-without-log", "unreadable-log"],
)
def test_log_flags_bad_input_exit_2_one_line(tmp_path, args, match):
    broken = tmp_path / "broken.csv"
    broken.write_text('CustomerID,InvoiceDate,Amount\n1,2024-01-01,5\n2,"2024-01-02,7\n')
    paths = {"{log}": str(_transactions(tmp_path)), "{broken}": str(broken)}
    result = run(*[paths.get(a, a) for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], result.stderr
