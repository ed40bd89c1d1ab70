"""The benchmark: labeling, training and page reruns at 10k, 100k and 1M customers.

Run ``python -m benchmarks.bench`` (all sizes) or ``--sizes 10000`` (the CI smoke
test). Every measured step runs in a fresh subprocess, so its peak resident memory is
its own; each is repeated and the median is reported. Results go to
``benchmarks/results/latest.json`` and ``latest.md``; targets are ratios measured in the
same run, printed PASS or FAIL, so a noisy shared machine cannot fake or hide them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
    """Ours: exactly the CLI's predict path (label_file)."""
    from segmentation.modeling.labeling import label_file
    from segmentation.store import ModelStore

    models, src, dst = args
    model, _ = ModelStore(models).load()
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
    """What a full evaluation of k = 2..10 picks: every k fitted on all training rows, its
    silhouette on a 20,000-row sample (the quadratic part), the same recommendation rule."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    from segmentation.data.read import read_table
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.modeling.preprocess import numeric_block, outlier_mask
    from segmentation.modeling.selection import Metrics, fit_kmeans, recommend_k

    (src,) = args
    data = read_table(src)
    probe = SegmentationModel(k=2).fit(data)  # the same schema and preprocessing as training
    features, _ = probe.prepare(data)
    X = probe.preprocess(features)
    X = X[~outlier_mask(numeric_block(features, probe.schema_), random_state=42)]
    start = time.perf_counter()
    metrics = []
    for k in range(2, 11):
        km = fit_kmeans(X, k, random_state=42)
        metrics.append(
            Metrics(
                k=k,
                inertia=float(km.inertia_),
                silhouette=float(
                    silhouette_score(X, km.labels_, sample_size=min(20000, len(X)), random_state=0)
                ),
                davies_bouldin=float(davies_bouldin_score(X, km.labels_)),
                calinski_harabasz=float(calinski_harabasz_score(X, km.labels_)),
            )
        )
    return {
        "seconds": time.perf_counter() - start,
        "k": recommend_k(metrics),
        "silhouettes": {m.k: m.silhouette for m in metrics},
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


STEPS = {
    "label": _step_label,
    "naive": _step_naive,
    "floor": _step_floor,
    "train": _step_train,
    "full": _step_full_evaluation,
    "pages": _step_pages,
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


# -- the run --------------------------------------------------------------------------
def run(
    sizes: list[int],
    *,
    repeats: int,
    page_repeats: int,
    workdir: Path,
    pages: bool = True,
    progress=print,
) -> dict:
    """Run the benchmark and return its results (see the module docstring)."""
    from segmentation.data.synthetic import generate_customers
    from segmentation.data.write import write_csv
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.store import ModelStore

    results = {
        "machine": _machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": {},
    }
    for n in sizes:
        progress(f"{n:,} customers: generating")
        csv = workdir / f"customers_{n}.csv"
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
        out.append(
            {
                "target": name,
                "size": int(n),
                "value": value,
                "limit": limit,
                "unit": unit,
                "pass": bool(passed),
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
            f"| {t['target']} ({int(t['size']):,}) | {value} | {t['limit']} | "
            f"{'PASS' if t['pass'] else 'FAIL'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--page-repeats", type=int, default=3)
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
            workdir=Path(tmp),
            pages=not args.no_pages,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2))
    markdown = to_markdown(results)
    (args.out / "latest.md").write_text(markdown)
    print(markdown)
    for t in results["targets"]:
        print(f"{'PASS' if t['pass'] else 'FAIL'}: {t['target']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
