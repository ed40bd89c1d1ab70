"""The benchmark: labeling, training and page reruns at 10k, 100k and 1M customers.

Run ``python -m benchmarks.bench`` (all sizes) or ``--sizes 10000`` (the CI smoke
test). Two kinds of figures, side by side:

- in-process: every measured step runs in a fresh subprocess that times only the work
  (imports and loading excluded), so its peak resident memory is its own;
- whole-process: what a user scripting the CLI waits for, start-up included. Each command
  is a fresh process timed from outside, from start to exit, with its peak resident
  memory; the compared commands are interleaved (A B C A B C ...) so noise hits them
  alike. The Predict page labeling an upload of the same file is measured the same way.

Each is repeated and the median is reported. Results go to
``benchmarks/results/latest.json`` and ``latest.md``; targets are ratios measured in the
same run, printed PASS or FAIL, so a noisy shared machine cannot fake or hide them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
PAGES = [
    "Home",
    "1_Overview.py",
    "2_Cluster_Analysis.py",
    "3_Predict.py",
    "4_Explorer.py",
    "5_Retrain.py",
]


def _proc_status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    """Peak resident memory of this process since the last :func:`_start_measuring`.

    Not ``getrusage``: on Linux its ``ru_maxrss`` survives fork and exec, so a child
    would report its parent's peak.
    """
    if os.path.exists("/proc/self/status"):
        return _proc_status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _start_measuring() -> float:
    """Current resident memory, and reset the peak so it covers only what follows."""
    if os.path.exists("/proc/self/clear_refs"):
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        return _proc_status_mb("VmRSS")
    return _rss_mb()


# -- steps: each runs in its own process and prints one JSON line ---------------------
def _step_label(args: list[str]) -> dict:
    """Ours: exactly the CLI's predict path (the stored labeler, label_file)."""
    from segmentation.modeling.labeling import label_file
    from segmentation.store import ModelStore

    models, src, dst = args
    model, _ = ModelStore(models).load_labeler()
    before = _start_measuring()
    start = time.perf_counter()
    report = label_file(model, src, dst)
    return {
        "seconds": time.perf_counter() - start,
        "rss_before_mb": before,
        "rss_peak_mb": _rss_mb(),
        "fast": report.fast,
    }


def _step_naive(args: list[str]) -> dict:
    """The naive pipeline: pandas read_csv, pipeline predict, DataFrame.to_csv."""
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    from segmentation.store import ModelStore

    models, src, dst = args
    model, _ = ModelStore(models).load()
    pipeline = make_pipeline(*model.pipeline_[1:])
    before = _start_measuring()
    start = time.perf_counter()
    data = pd.read_csv(src)
    data["cluster"] = pipeline.predict(data[model.schema_.features])
    data.to_csv(dst, index=False)
    return {
        "seconds": time.perf_counter() - start,
        "rss_before_mb": before,
        "rss_peak_mb": _rss_mb(),
    }


def _step_floor(args: list[str]) -> dict:
    """The input/output floor: pyarrow reads and writes the same file, no model."""
    import pyarrow.csv as pa_csv

    src, dst = args
    before = _start_measuring()
    start = time.perf_counter()
    pa_csv.write_csv(pa_csv.read_csv(src), dst)
    return {
        "seconds": time.perf_counter() - start,
        "rss_before_mb": before,
        "rss_peak_mb": _rss_mb(),
    }


def _step_train(args: list[str]) -> dict:
    """Training with a fixed k (``k=5``) or the automatic sweep (``k=auto``, 2 to 10)."""
    from segmentation.data.read import read_table
    from segmentation.modeling.estimator import SegmentationModel

    src, k = args
    data = read_table(src)
    before = _start_measuring()
    start = time.perf_counter()
    model = SegmentationModel(k=None if k == "auto" else int(k)).fit(data)
    out = {
        "seconds": time.perf_counter() - start,
        "rss_before_mb": before,
        "rss_peak_mb": _rss_mb(),
        "k": model.k_,
    }
    if model.sweep_ is not None:
        out["sweep_rows"] = model.sweep_.n_rows
        out["sweep_silhouettes"] = {m.k: m.silhouette for m in model.sweep_.metrics}
    return out


def _step_full_evaluation(args: list[str]) -> dict:
    """What a full evaluation of k = 2..10 picks: every k fitted on all training rows (the
    customers the model trains on, outliers left out as training leaves them out), the
    evidence and the rule of the shipped sweep, with no 20,000-row sample."""
    import numpy as np

    from segmentation.data.read import read_table
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.modeling.selection import sweep_k

    (src,) = args
    data = read_table(src)
    probe = SegmentationModel(k=2).fit(data)  # the same schema and preprocessing as training
    features, _ = probe.prepare(data)
    X = probe.preprocess(features)
    keep = np.ones(len(X), dtype=bool)
    keep[probe.outliers_["row"].to_numpy(dtype=int)] = False
    X = X[keep]
    start = time.perf_counter()
    sweep = sweep_k(X, (2, 10), random_state=42, sample_size=len(X))
    return {
        "seconds": time.perf_counter() - start,
        "k": sweep.recommended_k,
        "verdict": sweep.choice.verdict,
        "silhouettes": {m.k: m.silhouette for m in sweep.metrics},
    }


def _step_pages(args: list[str]) -> dict:
    """Warm rerun time of every page through AppTest, the app holding the given model and,
    as the dataset in use (Explorer, Retrain), the same customers."""
    from streamlit.testing.v1 import AppTest

    from segmentation.app.ui import DATASET_KEY, Dataset
    from segmentation.store import ModelStore

    models, repeats = args[0], int(args[1])
    os.environ["SEGMENTATION_MODELS_DIR"] = models
    store = ModelStore(models)
    customers = store.training_data(store.active_version())
    home = str(PROJECT_ROOT / "Home.py")
    out = {}
    at = AppTest.from_file(home, default_timeout=600)
    at.run()
    at.session_state[DATASET_KEY] = Dataset("benchmark customers", customers, False, "bench")
    for page in PAGES:
        if page != "Home":
            at.switch_page(f"pages/{page}")
        at.run()  # cold: fills the caches
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        out[page] = {"warm_seconds": statistics.median(times), "exception": bool(at.exception)}
    return out


def _step_upload(args: list[str]) -> dict:
    """A customer file uploaded to the Predict page and labeled, through AppTest: the app's
    own Home.py and pages/3_Predict.py, no server or browser. Run as a whole process, so
    its peak memory is measured from outside, Streamlit and the app included."""
    from streamlit.testing.v1 import AppTest

    models, src = args
    os.environ["SEGMENTATION_MODELS_DIR"] = models
    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=1800).run()
    at.switch_page("pages/3_Predict.py").run()
    uploader = next(u for u in at.file_uploader if u.key.startswith("predict.uploader"))
    start = time.perf_counter()
    # The bytes as the server would hold them; AppTest hands them to the same in-memory
    # upload manager a server uses.
    uploader.set_value((Path(src).name, Path(src).read_bytes(), "text/csv"))
    at.run()
    seconds = time.perf_counter() - start
    result = at.session_state.get("predict.result")
    return {
        "seconds": seconds,
        "rows": result["labeled"].result.n_rows if result else 0,
        "fast_path": bool(result and result["labeled"].result.fast),
        "exception": bool(at.exception),
        "errors": [e.value for e in at.error],
        "download_offered": bool(at.get("download_button")),
        "self_rss_peak_mb": _rss_mb(),
    }


STEPS = {
    "label": _step_label,
    "naive": _step_naive,
    "floor": _step_floor,
    "train": _step_train,
    "full": _step_full_evaluation,
    "pages": _step_pages,
    "upload": _step_upload,
}


def _run_step(name: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--step", name, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark step {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _median_of(name: str, repeats: int, *args: str) -> dict:
    runs = [_run_step(name, *args) for _ in range(repeats)]
    best = dict(runs[0])
    for key in ("seconds", "rss_peak_mb", "rss_before_mb"):
        if key in best:
            best[key] = statistics.median(r[key] for r in runs)
    best["runs"] = [round(r["seconds"], 3) for r in runs]
    return best


# -- whole processes: start-up included, timed from outside ----------------------------
#: The whole-process targets are judged from this size on; below it they are only shown.
PROCESS_TARGET_SIZE = 1_000_000
PYARROW_IO = "import sys, pyarrow.csv as c; c.write_csv(c.read_csv(sys.argv[1]), sys.argv[2])"
PANDAS_IO = "import sys, pandas as pd; pd.read_csv(sys.argv[1]).to_csv(sys.argv[2], index=False)"
#: Each measured command, after ``python``; the ``{...}`` arguments are paths of the run.
PROCESS_COMMANDS = {
    "predict": shlex.split(
        "-m segmentation predict --data {csv} --out {out} --models-dir {models}"
    ),
    "pyarrow_io": ["-c", PYARROW_IO, "{csv}", "{out}"],
    "pandas_io": ["-c", PANDAS_IO, "{csv}", "{out}"],
    "train": shlex.split("-m segmentation train --data {csv} --k 5 --models-dir {fresh}"),
    "plain_sklearn": ["benchmarks/plain_sklearn_train.py", "{csv}"],
    "upload": shlex.split("-m benchmarks.bench --step upload {app_models} {csv}"),
    # The same with a 1,000-row head of the file: the app's own memory, for comparison.
    "upload_idle": shlex.split("-m benchmarks.bench --step upload {app_models} {csv_head}"),
    # The same customers as a CRM export carries them, with contact and note columns: the
    # issue's case (1M rows, 150 MB); the default table is only ~53 bytes a customer.
    "upload_wide": shlex.split("-m benchmarks.bench --step upload {app_models} {csv_wide}"),
}
#: Reports a child's wall time and peak RSS where GNU time is missing. Timed inside, so
#: the wrapper's own start-up is left out; its child starts with the wrapper's small peak
#: (Linux carries ``ru_maxrss`` across fork and exec), about 10 MB.
_WRAPPER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


def _gnu_time() -> str | None:
    """``/usr/bin/time`` if it is GNU time, whose ``%M`` is its child's peak RSS in KiB."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "time"
        probe = [path, "-f", "%M", "-o", str(out), sys.executable, "-c", "pass"]
        ran = subprocess.run(probe, capture_output=True, check=False).returncode == 0
        return path if ran and out.exists() and out.read_text().strip().isdigit() else None


def _run_process(args: list[str], report: Path, gnu_time: str | None) -> dict:
    """Run ``python *args`` as a fresh process: seconds from start to exit, peak RSS.

    The peak comes from the parent's ``wait4`` on that one process (GNU time's ``%M``, or
    the wrapper's ``RUSAGE_CHILDREN``), never from this process's children so far: that is
    the maximum over all of them, and this one has run many.
    """
    cmd = [sys.executable, *args]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    run = {"capture_output": True, "text": True, "env": env, "cwd": PROJECT_ROOT, "check": False}
    if gnu_time:
        start = time.perf_counter()
        result = subprocess.run([gnu_time, "-f", "%M", "-o", str(report), *cmd], **run)
        seconds = time.perf_counter() - start
    else:
        result = subprocess.run([sys.executable, "-c", _WRAPPER, str(report), *cmd], **run)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{result.stderr[-3000:]}")
    fields = report.read_text().split()
    if not gnu_time:
        seconds = float(fields[0])
    return {"seconds": seconds, "rss_peak_mb": int(fields[-1]) / 1024, "stdout": result.stdout}


def _interleaved(
    names: list[str], paths: dict[str, Path], repeats: int, gnu_time: str | None
) -> dict[str, list[dict]]:
    """Run each named command ``repeats`` times, A B C A B C ...; every run of each.

    ``{out}`` and ``{fresh}`` are removed after every run, so each starts alike (``train``
    saves into an empty model store every time).
    """
    runs: dict[str, list[dict]] = {name: [] for name in names}
    report = paths["out"].with_name("rusage.txt")
    for _ in range(repeats):
        for name in names:
            args = [str(paths[a[1:-1]]) if a[1:-1] in paths else a for a in PROCESS_COMMANDS[name]]
            runs[name].append(_run_process(args, report, gnu_time))
            paths["out"].unlink(missing_ok=True)
            shutil.rmtree(paths["fresh"], ignore_errors=True)
    return runs


def _medians(runs: list[dict]) -> dict:
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "rss_peak_mb": statistics.median(r["rss_peak_mb"] for r in runs),
        "runs": [round(r["seconds"], 3) for r in runs],
        "rss_runs_mb": [round(r["rss_peak_mb"]) for r in runs],
    }


def _whole_processes(
    csv: Path,
    models: Path,
    app_models: Path,
    workdir: Path,
    *,
    repeats: int,
    gnu_time: str | None,
    progress,
) -> dict:
    """The whole-process figures for one customer file (see the module docstring)."""
    paths = {
        "csv": csv,
        "models": models,
        "app_models": app_models,
        "out": workdir / "whole_out.csv",
        "fresh": workdir / "whole_models",
        "csv_head": workdir / "head_1000.csv",
        "csv_wide": workdir / "wide.csv",
    }
    _write_wide(csv, paths["csv_wide"])
    with open(csv, "rb") as source, open(paths["csv_head"], "wb") as head:
        head.writelines(line for _, line in zip(range(1001), source, strict=False))
    progress(f"  whole processes: predict, pyarrow and pandas read + write x{repeats}")
    runs = _interleaved(["predict", "pyarrow_io", "pandas_io"], paths, repeats, gnu_time)
    progress(f"  whole processes: train k=5, plain scikit-learn x{repeats}")
    runs |= _interleaved(["train", "plain_sklearn"], paths, repeats, gnu_time)
    upload_repeats = min(repeats, 3)  # memory, not time: a few runs settle the median
    progress(f"  whole processes: the Predict page labels an upload of the file x{upload_repeats}")
    runs |= _interleaved(["upload", "upload_wide", "upload_idle"], paths, upload_repeats, gnu_time)
    out = {name: _medians(rs) for name, rs in runs.items()}
    out["upload_wide"]["csv_mb"] = paths["csv_wide"].stat().st_size / 1e6
    pages = [json.loads(r["stdout"].strip().splitlines()[-1]) for r in runs["upload"]]
    for page in pages:
        if page["rows"] == 0 or page["exception"] or page["errors"]:
            raise RuntimeError(f"the Predict page did not label the upload: {page}")
    out["upload"] |= {
        "labeling_seconds": statistics.median(p["seconds"] for p in pages),
        "rows": pages[-1]["rows"],
        "download_offered": pages[-1]["download_offered"],
        "self_rss_peak_mb": statistics.median(p["self_rss_peak_mb"] for p in pages),
    }
    return out


def _write_wide(csv: Path, dest: Path) -> None:
    """``csv`` with four text columns a CRM export has (email, name, street, notes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    table = pa_csv.read_csv(csv)
    ids = table.column("CustomerID")
    n = np.arange(table.num_rows)
    street = np.char.mod("%d Long Street Name Avenue, Apartment ", n % 997)
    notes = np.where(n % 3 == 0, "Prefers email; joined the newsletter in spring", "None")
    table = (
        table.append_column("Email", pc.binary_join_element_wise(ids, "@example-mail.com", ""))
        .append_column("FullName", pc.binary_join_element_wise("Customer ", ids, ""))
        .append_column("Street", pc.binary_join_element_wise(pa.array(street), ids, ""))
        .append_column("Notes", pa.array(notes))
    )
    pa_csv.write_csv(table, dest)


def _process_method(gnu_time: str | None) -> dict:
    """How the whole-process figures are taken, and the commands, for the results."""
    return {
        "timing": "wall clock of each fresh process, start to exit; medians; interleaved",
        "peak_rss": "GNU time %M" if gnu_time else "python wrapper, getrusage(RUSAGE_CHILDREN)",
        "app": "AppTest in a child process (Home.py, pages/3_Predict.py; no server, no "
        "browser), the app holding a model trained on the bundled customers",
        "commands": {
            name: "python " + shlex.join(a.strip("{}").upper() if a[:1] == "{" else a for a in args)
            for name, args in PROCESS_COMMANDS.items()
        },
    }


# -- the run --------------------------------------------------------------------------
def run(
    sizes: list[int],
    *,
    repeats: int,
    page_repeats: int,
    process_repeats: int | None = None,
    workdir: Path,
    data_dir: Path | None = None,
    pages: bool = True,
    progress=print,
) -> dict:
    """Run the benchmark and return its results (see the module docstring).

    ``process_repeats`` runs each whole-process command that many times (default: 5 at
    1M customers and more, 10 below). ``data_dir`` keeps the generated customer files
    (``customers_<n>.csv``) and reuses any already there; by default they are generated
    in ``workdir`` and go with it.
    """
    from segmentation.data.read import read_table
    from segmentation.data.synthetic import generate_customers
    from segmentation.data.write import write_csv
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.store import ModelStore
    from segmentation.workflows import ensure_active_model

    gnu_time = _gnu_time()
    results = {
        "machine": _machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "whole_process": _process_method(gnu_time),
        "sizes": {},
    }
    app_models = workdir / "models_app"
    ensure_active_model(ModelStore(app_models))  # trained here, not in a measured process
    for n in sizes:
        csv = (data_dir or workdir) / f"customers_{n}.csv"
        if csv.exists():
            progress(f"{n:,} customers: reusing {csv}")
            data = read_table(csv)
        else:
            progress(f"{n:,} customers: generating")
            data = generate_customers(n, seed=42)
            write_csv(data, csv)
        models = workdir / f"models_{n}"
        store = ModelStore(models)
        if store.active_version() is None:
            store.save(SegmentationModel(k=5).fit(data), data=data, data_name=csv.name)
        del data
        size_mb = csv.stat().st_size / 2**20
        row: dict = {"csv_mb": size_mb}
        progress(f"{n:,}: labeling (ours, naive, floor) x{repeats}")
        row["label"] = _median_of("label", repeats, str(models), str(csv), str(workdir / "o.csv"))
        row["naive"] = _median_of("naive", repeats, str(models), str(csv), str(workdir / "n.csv"))
        row["floor"] = _median_of("floor", repeats, str(csv), str(workdir / "f.csv"))
        progress(f"{n:,}: training")
        row["train_fixed"] = _median_of("train", 1, str(csv), "5")
        row["train_auto"] = _median_of("train", 1, str(csv), "auto")
        if n == max(sizes):
            progress(f"{n:,}: full evaluation of k = 2..10 (for the sweep check)")
            row["full_evaluation"] = _run_step("full", str(csv))
        row["process_repeats"] = process_repeats or (5 if n >= PROCESS_TARGET_SIZE else 10)
        progress(f"{n:,}: whole processes, start-up included")
        row["process"] = _whole_processes(
            csv,
            models,
            app_models,
            workdir,
            repeats=row["process_repeats"],
            gnu_time=gnu_time,
            progress=progress,
        )
        results["sizes"][str(n)] = row
        for f in ("o.csv", "n.csv", "f.csv"):
            (workdir / f).unlink(missing_ok=True)

    if pages:
        small, large = min(sizes), max(sizes)
        page_sizes = sorted({1000, large})
        for n in page_sizes:
            models = workdir / f"models_{n}"
            if not (models / "ACTIVE").exists():
                data = generate_customers(n, seed=42)
                ModelStore(models).save(
                    SegmentationModel(k=5).fit(data), data=data, data_name=f"customers_{n}.csv"
                )
            progress(f"pages holding {n:,} customers")
            results.setdefault("pages", {})[str(n)] = _run_step(
                "pages", str(models), str(page_repeats)
            )
        del small
    results["targets"] = targets(results)
    return results


def targets(results: dict) -> list[dict]:
    """The issue's targets, judged on the largest size measured."""
    sizes = results["sizes"]
    n = max(sizes, key=int)
    row = sizes[n]
    out = []

    def add(name, value, limit, passed, unit=""):
        """``passed`` is None where the target is not judged at this size, ``"info"`` for a
        figure shown beside the targets."""
        out.append(
            {
                "target": name,
                "size": int(n),
                "value": value,
                "limit": limit,
                "unit": unit,
                "pass": None if passed in (None, "info") else bool(passed),
                "result": "shown, not a target"
                if passed == "info"
                else "n/a at this size"
                if passed is None
                else "PASS"
                if passed
                else "FAIL",
            }
        )

    speedup = row["naive"]["seconds"] / row["label"]["seconds"]
    add("labeling speed-up over the naive pipeline", speedup, ">= 4x", speedup >= 4, "x")
    to_floor = row["label"]["seconds"] / row["floor"]["seconds"]
    add("labeling time / input-output floor", to_floor, "<= 1.5x", to_floor <= 1.5, "x")
    used = row["label"]["rss_peak_mb"] - row["label"]["rss_before_mb"]
    ratio = used / row["csv_mb"]
    add(
        "labeling peak memory (above the loaded process) / CSV size",
        ratio,
        "<= 5x",
        ratio <= 5,
        "x",
    )
    if "full_evaluation" in row:
        same = row["train_auto"]["k"] == row["full_evaluation"]["k"]
        add(
            "automatic sweep picks the k of a full evaluation",
            f"{row['train_auto']['k']} vs {row['full_evaluation']['k']}",
            "equal",
            same,
        )
    add(
        "automatic sweep (2..10) time",
        row["train_auto"]["seconds"],
        "< 30 s",
        row["train_auto"]["seconds"] < 30,
        "s",
    )
    if "process" in row:
        proc, judged = row["process"], int(n) >= PROCESS_TARGET_SIZE

        def judge(passed: bool) -> bool | None:
            return passed if judged else None

        predict = proc["predict"]
        ratio = predict["seconds"] / proc["pyarrow_io"]["seconds"]
        add(
            "whole process: predict / pyarrow read + write",
            ratio,
            "<= 1.3x",
            judge(ratio <= 1.3),
            "x",
        )
        ratio = proc["pandas_io"]["seconds"] / predict["seconds"]
        add("whole process: pandas read + write / predict", ratio, ">= 4x", judge(ratio >= 4), "x")
        ratio = predict["rss_peak_mb"] / row["csv_mb"]
        add("whole process: predict peak memory / CSV size", ratio, "<= 4x", judge(ratio <= 4), "x")
        ratio = proc["train"]["seconds"] / proc["plain_sklearn"]["seconds"]
        add(
            "whole process: train k=5 / plain scikit-learn",
            ratio,
            "<= 1.5x",
            judge(ratio <= 1.5),
            "x",
        )
        ratio = proc["upload"]["rss_peak_mb"] / row["csv_mb"]
        add(
            "Predict page labeling the file uploaded: app peak memory / CSV size",
            ratio,
            "<= 6x",
            judge(ratio <= 6),
            "x",
        )
        if "upload_wide" in proc:
            wide = proc["upload_wide"]
            ratio = wide["rss_peak_mb"] / wide["csv_mb"]
            add(
                f"Predict page, the same customers as a wide export ({wide['csv_mb']:.0f} MB): "
                "app peak memory / CSV size",
                ratio,
                "<= 6x",
                judge(ratio <= 6),
                "x",
            )
        if "upload_idle" in proc:
            above = proc["upload"]["rss_peak_mb"] - proc["upload_idle"]["rss_peak_mb"]
            add(
                "(not a target) Predict page: app peak above the same app labeling 1,000 "
                "rows / CSV size",
                above / row["csv_mb"],
                "-",
                "info",
                "x",
            )
    pages = results.get("pages", {})
    if len(pages) == 2:
        small, large = sorted(pages, key=int)
        for page, timing in pages[large].items():
            base = pages[small][page]["warm_seconds"]
            ratio = timing["warm_seconds"] / base if base else float("inf")
            add(
                f"page {page}: warm rerun at {int(large):,} / at {int(small):,}",
                ratio,
                "<= 2x",
                ratio <= 2 and not timing["exception"],
                "x",
            )
    return out


def _machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def to_markdown(results: dict) -> str:
    """The results as the Markdown tables the README shows."""
    m = results["machine"]
    lines = [
        f"Run {results['started']} on {m['platform']}, {m['cpus']} CPUs, Python "
        f"{m['python']}. Medians of repeated runs, each in a fresh process.",
        "",
        "In process: the work alone, imports and loading the model left out.",
        "",
        "| customers | CSV | label (ours) | naive | floor (pyarrow I/O) | ours vs naive | "
        "ours / floor | label peak RSS (above loaded) | train k=5 | auto sweep 2-10 (k) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        lab, naive, floor = row["label"], row["naive"], row["floor"]
        lines.append(
            f"| {int(n):,} | {row['csv_mb']:.1f} MB | {lab['seconds']:.2f} s | "
            f"{naive['seconds']:.2f} s | {floor['seconds']:.2f} s | "
            f"{naive['seconds'] / lab['seconds']:.1f}x | "
            f"{lab['seconds'] / floor['seconds']:.2f}x | "
            f"{lab['rss_peak_mb']:.0f} MB ({lab['rss_peak_mb'] - lab['rss_before_mb']:.0f} MB) | "
            f"{row['train_fixed']['seconds']:.2f} s | {row['train_auto']['seconds']:.2f} s "
            f"({row['train_auto']['k']}) |"
        )
    lines += _process_markdown(results)
    pages = results.get("pages", {})
    if pages:
        sizes = sorted(pages, key=int)
        lines += [
            "",
            "| page warm rerun | " + " | ".join(f"{int(s):,} customers" for s in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
        ]
        for page in PAGES:
            cells = [f"{pages[s][page]['warm_seconds'] * 1000:.0f} ms" for s in sizes]
            lines.append(
                f"| {page.split('_', 1)[-1].removesuffix('.py').replace('_', ' ')} | "
                + " | ".join(cells)
                + " |"
            )
    lines += ["", "| target | value | limit | result |", "|---|---:|---|---|"]
    for t in results["targets"]:
        value = t["value"] if isinstance(t["value"], str) else f"{t['value']:.2f}{t['unit']}"
        lines.append(
            f"| {t['target']} ({int(t['size']):,}) | {value} | {t['limit']} | {t['result']} |"
        )
    return "\n".join(lines) + "\n"


def _process_markdown(results: dict) -> list[str]:
    rows = sorted(
        ((int(n), row) for n, row in results["sizes"].items() if "process" in row),
        key=lambda nr: nr[0],
    )
    if not rows:
        return []
    method = results["whole_process"]
    lines = [
        "",
        "Whole process, start-up included: each command a fresh process, timed from outside "
        f"from start to exit, its peak RSS by {method['peak_rss']}; the compared commands "
        "interleaved (A B C A B C ...); medians of the runs counted in the last column. The "
        f"upload: {method['app']}.",
        "",
        "| customers | CSV | predict (CLI) | pyarrow read + write | pandas read + write | "
        "predict / pyarrow | pandas / predict | peak RSS: predict (/ CSV) | pyarrow | pandas "
        "| runs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    mb = "{:.0f} MB".format
    for n, row in rows:
        p, csv = row["process"], row["csv_mb"]
        pred, arrow, pandas = p["predict"], p["pyarrow_io"], p["pandas_io"]
        lines.append(
            f"| {n:,} | {csv:.1f} MB | {pred['seconds']:.2f} s | {arrow['seconds']:.2f} s | "
            f"{pandas['seconds']:.2f} s | {pred['seconds'] / arrow['seconds']:.2f}x | "
            f"{pandas['seconds'] / pred['seconds']:.1f}x | "
            f"{mb(pred['rss_peak_mb'])} ({pred['rss_peak_mb'] / csv:.1f}x) | "
            f"{mb(arrow['rss_peak_mb'])} | {mb(pandas['rss_peak_mb'])} | {len(pred['runs'])} |"
        )
    lines += [
        "",
        "| customers | train k=5 (CLI) | plain scikit-learn | train / plain | peak RSS: train "
        "| plain | Predict page upload: labeled in | app peak RSS (/ CSV) | app labeling "
        "1,000 rows | runs (upload) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in rows:
        p, csv = row["process"], row["csv_mb"]
        train, plain, up = p["train"], p["plain_sklearn"], p["upload"]
        lines.append(
            f"| {n:,} | {train['seconds']:.2f} s | {plain['seconds']:.2f} s | "
            f"{train['seconds'] / plain['seconds']:.2f}x | {mb(train['rss_peak_mb'])} | "
            f"{mb(plain['rss_peak_mb'])} | {up['labeling_seconds']:.2f} s | "
            f"{mb(up['rss_peak_mb'])} ({up['rss_peak_mb'] / csv:.1f}x) | "
            f"{mb(p['upload_idle']['rss_peak_mb']) if 'upload_idle' in p else '-'} | "
            f"{len(train['runs'])} ({len(up['runs'])}) |"
        )
    lines += [
        "",
        "The commands, run from the project root (CSV: the customers; OUT: a file written; "
        "MODELS: a store holding a k=5 model trained on CSV; FRESH: an empty store; "
        "APP_MODELS: a store holding the model trained on the bundled customers; CSV_HEAD: "
        "the first 1,000 customers of CSV; CSV_WIDE: CSV with email, name, street and notes "
        "columns):",
        "",
    ]
    lines += [f"- {name}: `{command}`" for name, command in method["commands"].items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--page-repeats", type=int, default=3)
    parser.add_argument(
        "--process-repeats",
        type=int,
        help="runs of each whole-process command (default: 5 at 1M customers and more, 10 "
        "below; the upload at most 3)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the generated customers_<n>.csv here and reuse those already there",
    )
    parser.add_argument("--no-pages", action="store_true", help="skip the page reruns")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.step:
        print(json.dumps(STEPS[args.step](rest)))
        return 0
    with tempfile.TemporaryDirectory(prefix="segbench-") as tmp:
        results = run(
            args.sizes,
            repeats=args.repeats,
            page_repeats=args.page_repeats,
            process_repeats=args.process_repeats,
            workdir=Path(tmp),
            data_dir=args.data_dir,
            pages=not args.no_pages,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2))
    markdown = to_markdown(results)
    (args.out / "latest.md").write_text(markdown)
    print(markdown)
    for t in results["targets"]:
        print(f"{t['result']}: {t['target']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
