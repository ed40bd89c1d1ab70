"""Labeling many customers on one machine (streamed) and through Spark: where Spark pays.

Run ``python -m benchmarks.spark_label --rows 10000000`` (default). The customers are the
synthetic default table (``python -m segmentation generate``); a k=5 model is trained on
the first 100,000 of them. Then, as in :mod:`benchmarks.bench`, every command is a fresh
process timed from outside, start to exit, the two interleaved (A B A B ...), medians
reported:

- ``local``: ``python -m segmentation predict --data CSV --out OUT.csv`` (the streamed
  fast path, every core of the machine);
- ``spark``: ``python -m segmentation predict --engine spark --spark-master local[N]
  --data CSV --out OUT_DIR`` (the compiled SQL expressions, Parquet out);
- ``spark_1k``: the same on the first 1,000 customers: Spark's fixed cost (JVM, session,
  planning), which a bigger cluster does not shrink.

Throughput per core is customers per second divided by the cores each run may use (the
machine's for ``local``, N for ``local[N]``): the figure that says how many cluster cores
it takes to beat one machine. Results go to ``benchmarks/results/issue11_spark.md`` and
``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from segmentation.config import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
TRAIN_ROWS = 100_000
#: The CLI refuses files above the upload limit (400 MB); 10M customers are 570 MB.
LIMITS = {"SEGMENTATION_MAX_UPLOAD_MB": "100000"}
#: Each measured command, after ``python``; the ``{...}`` arguments are paths of the run.
COMMANDS = {
    "local": "-m segmentation predict --data {csv} --out {out_csv} --models-dir {models}",
    "spark": "-m segmentation predict --engine spark --spark-master {master} --data {csv} "
    "--out {out_dir} --models-dir {models}",
    "spark_1k": "-m segmentation predict --engine spark --spark-master {master} "
    "--data {csv_head} --out {out_dir} --models-dir {models}",
}


def _run(args: list[str], report: Path) -> dict:
    """``python *args`` as a fresh process under GNU time: wall seconds, CPU seconds of the
    process and what it waited for, peak RSS of the Python process."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **LIMITS}
    cmd = ["/usr/bin/time", "-f", "%U %S %M", "-o", str(report), sys.executable, *args]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{result.stderr[-3000:]}")
    user, system, rss = report.read_text().split()[-3:]
    return {
        "seconds": seconds,
        "cpu_seconds": float(user) + float(system),
        "rss_mb": int(rss) / 1024,
    }


def _command(name: str, paths: dict[str, str]) -> list[str]:
    return shlex.split(COMMANDS[name].format(**paths))


def run(rows: int, *, repeats: int, master: str, workdir: Path, progress=print) -> dict:
    """Generate, train, then time the commands; the figures as a dict."""
    csv = workdir / f"customers_{rows}.csv"
    paths = {
        "csv": str(csv),
        "csv_head": str(workdir / "head_1000.csv"),
        "models": str(workdir / "models"),
        "out_csv": str(workdir / "out.csv"),
        "out_dir": str(workdir / "out_parquet"),
        "master": master,
    }
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    python = [sys.executable, "-m", "segmentation"]
    if not csv.exists():
        progress(f"generating {rows:,} customers")
        subprocess.run([*python, "generate", "--rows", str(rows), "--out", str(csv)], check=True)
    with open(csv, "rb") as source, open(paths["csv_head"], "wb") as head:
        head.writelines(line for _, line in zip(range(1001), source, strict=False))
    train = workdir / "train.csv"
    with open(csv, "rb") as source, open(train, "wb") as head:
        head.writelines(line for _, line in zip(range(TRAIN_ROWS + 1), source, strict=False))
    if not Path(paths["models"]).exists():  # a --workdir kept from an earlier run
        progress(f"training k=5 on the first {TRAIN_ROWS:,}")
        subprocess.run(
            [*python, "train", "--data", str(train), "--k", "5", "--models-dir", paths["models"]],
            check=True,
            capture_output=True,
            env=env,
        )
    report = workdir / "rusage.txt"
    runs: dict[str, list[dict]] = {name: [] for name in COMMANDS}
    for repeat in range(repeats):
        for name in COMMANDS:
            progress(f"  run {repeat + 1}/{repeats}: {name}")
            runs[name].append(_run(_command(name, paths), report) | {"load": os.getloadavg()[0]})
            Path(paths["out_csv"]).unlink(missing_ok=True)
            shutil.rmtree(paths["out_dir"], ignore_errors=True)
    cores = {"local": os.cpu_count() or 1, "spark": _master_cores(master)}
    cores["spark_1k"] = cores["spark"]
    out = {}
    for name, measured in runs.items():
        seconds = statistics.median(r["seconds"] for r in measured)
        n = 1000 if name == "spark_1k" else rows
        out[name] = {
            "seconds": seconds,
            "runs": [round(r["seconds"], 2) for r in measured],
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in measured),
            "python_rss_mb": statistics.median(r["rss_mb"] for r in measured),
            "cores": cores[name],
            "customers_per_second": n / seconds,
            "per_core": n / seconds / cores[name],
            # Other work on the machine: the 1-minute load average after each run.
            "load_after": [round(r["load"], 1) for r in measured],
        }
    return {
        "rows": rows,
        "csv_mb": csv.stat().st_size / 1e6,
        "master": master,
        "repeats": repeats,
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commands": {name: "python " + COMMANDS[name] for name in COMMANDS},
        "results": out,
    }


def _master_cores(master: str) -> int:
    inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
    return os.cpu_count() or 1 if inside == "*" else int(inside)


def markdown(result: dict) -> str:
    """The results as the Markdown of ``issue11_spark.md``."""
    r = result["results"]
    local, spark, fixed = r["local"], r["spark"], r["spark_1k"]
    # Spark's variable cost per customer per core, its fixed cost left out.
    spark_work = max(spark["seconds"] - fixed["seconds"], 1e-9)
    spark_rate_core = result["rows"] / spark_work / spark["cores"]
    cores_to_match = local["customers_per_second"] / spark_rate_core
    lines = [
        f"# Labeling {result['rows']:,} customers: one machine vs Spark {result['master']}",
        "",
        f"Run {result['when']} on {result['machine']}; CSV {result['csv_mb']:,.0f} MB "
        f"(the synthetic default table); a k=5 model trained on the first {TRAIN_ROWS:,}. "
        f"Each command a fresh process timed from outside, start to exit, interleaved; "
        f"medians of {result['repeats']} runs.",
        "",
        "| command | wall | customers/s | cores | customers/s per core | CPU s (python "
        "+ waited children) | runs | load average after |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, label in (
        ("local", "predict (local, streamed)"),
        ("spark", f"predict --engine spark ({result['master']})"),
        ("spark_1k", "the same on 1,000 customers (Spark's fixed cost)"),
    ):
        m = r[name]
        lines.append(
            f"| {label} | {m['seconds']:.1f} s | {m['customers_per_second']:,.0f} | "
            f"{m['cores']} | {m['per_core']:,.0f} | {m['cpu_seconds']:.1f} | "
            f"{', '.join(map(str, m['runs']))} | {', '.join(map(str, m['load_after']))} |"
        )
    lines += [
        "",
        f"Spark's work beyond its fixed cost: {spark_work:.1f} s, "
        f"{spark_rate_core:,.0f} customers/s per core. To match one machine's "
        f"{local['customers_per_second']:,.0f} customers/s a cluster needs about "
        f"**{cores_to_match:.0f} cores** (plus {fixed['seconds']:.0f} s of start-up that "
        "more cores do not remove). Spark pays off when the table does not fit one "
        "machine's disk or time budget, or already lives in the cluster's storage; "
        "for a file on one machine the streamed local path is faster.",
        "",
        "Read with care: the CPU column counts the Python process and what it waited for; "
        "Spark's JVM is not waited for, so its CPU is not in it. A load average above the "
        "machine's CPUs means other work shared them: both figures are then slower than on "
        "an idle machine, Spark's (two busy JVM threads, a long run) the more.",
        "",
        "The commands (CSV: the customers; MODELS: the store holding the model; OUT: a "
        "file or folder written), run with SEGMENTATION_MAX_UPLOAD_MB=100000 (the CLI "
        "refuses files above 400 MB by default):",
        "",
    ]
    for name, command in result["commands"].items():
        text = command
        for key in ("csv_head", "csv", "models", "out_csv", "out_dir"):
            text = text.replace("{" + key + "}", key.upper())
        lines.append(f"- {name}: `{text.replace('{master}', result['master'])}`")
    lines += [
        "",
        "Reproduce: `python -m benchmarks.spark_label --rows "
        f"{result['rows']} --repeats {result['repeats']} --master '{result['master']}'`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="customers (default 10M)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--workdir", help="where the data and outputs go (default: a temp dir)")
    parser.add_argument("--out", default=str(RESULTS_DIR), help="results folder")
    parser.add_argument("--markdown-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.markdown_only:  # rewrite the Markdown from the saved figures
        text = markdown(json.loads((out / "issue11_spark.json").read_text()))
        (out / "issue11_spark.md").write_text(text)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.rows, repeats=args.repeats, master=args.master, workdir=workdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "issue11_spark.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (out / "issue11_spark.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
