"""Customer lifetime value (issue 11): fit time at 10k and 100k customers, simulated logs.

Run ``python -m benchmarks.clv_fit`` (10,000 and 100,000 customers) or ``--sizes 2000``.
For each size a year-long log is drawn from known BG/NBD and Gamma-Gamma parameters
(``segmentation.insight.clv.simulate_log``, seed 0) and written as a CSV. Then:

- in process: a fresh subprocess reads the log and times each step: the per-customer
  summary, the first fit in the process (PyTensor compiles, or loads its compiled code
  from the on-disk cache), the scoring, a second fit of the same size (warm), and the
  held-out check (a fit without the last 90 days and its comparison);
- whole process: ``python -m segmentation clv --data CSV --out OUT``, timed from outside
  from start to exit with its peak resident memory, as a user scripting the CLI waits.

Each figure is the median of ``--repeat`` runs (default 3; peak memory: the largest).
Results go to ``benchmarks/results/issue11_clv.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from segmentation.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "issue11_clv"
PARAMS = ("r", "alpha", "a", "b", "p", "q", "v")
TRUE_PARAMS = {"r": 0.75, "alpha": 20.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}


def step(csv: str) -> dict:
    """Time the steps of a lifetime value estimate in this process (see the module doc)."""
    from segmentation.data.read import read_table
    from segmentation.data.transactions import purchase_days
    from segmentation.insight import clv

    log = read_table(csv)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    days, as_of = purchase_days(log)
    summary = clv.rfm_summary(days, as_of)
    timings["summarise"] = time.perf_counter() - start
    start = time.perf_counter()
    model = clv.LifetimeValueModel().fit(summary)
    timings["first_fit"] = time.perf_counter() - start
    start = time.perf_counter()
    model.predict(summary)
    timings["score"] = time.perf_counter() - start
    start = time.perf_counter()
    clv.LifetimeValueModel().fit(summary)
    timings["warm_fit"] = time.perf_counter() - start
    start = time.perf_counter()
    check = clv.holdout_check(days, as_of)
    timings["holdout_check"] = time.perf_counter() - start
    return {
        "seconds": timings,
        "purchase_params": model.purchase_params_,
        "spend_params": model.spend_params_,
        "n_customers": model.n_customers_,
        "n_repeat_customers": model.n_repeat_customers_,
        "n_purchase_days": len(days),
        "holdout": check,
    }


def _timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of a child process (its own peak, by wait4)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, cwd=PROJECT_ROOT)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.stdout.close()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            err.seek(0)
            raise RuntimeError(f"{command} failed: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


def run(sizes: list[int], repeat: int = 3) -> dict:
    from segmentation.insight.clv import simulate_log

    results = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(sizes):
            csv = os.path.join(tmp, f"log_{n}.csv")
            log = simulate_log(n, seed=0)
            log.to_csv(csv, index=False)
            size_mb = os.path.getsize(csv) / 1e6
            print(f"{n:,} customers: {len(log):,} purchases, {size_mb:.1f} MB", file=sys.stderr)
            cli = [sys.executable, "-m", "segmentation", "clv", "--data", csv]
            cli += ["--out", os.path.join(tmp, "out.csv")]
            steps, walls, peaks = [], [], []
            for _ in range(repeat):  # interleaved, so noise on the shared machine hits both
                steps.append(
                    json.loads(
                        _timed([sys.executable, "-m", "benchmarks.clv_fit", "--step", csv])[2]
                    )
                )
                wall, rss, out = _timed(cli)
                walls.append(wall)
                peaks.append(rss)
            inside = steps[0] | {
                "seconds": {
                    key: statistics.median(s["seconds"][key] for s in steps)
                    for key in steps[0]["seconds"]
                }
            }
            wall, rss, summary = statistics.median(walls), max(peaks), json.loads(out)
            results.append(
                {
                    "customers": n,
                    "rows": len(log),
                    "csv_mb": round(size_mb, 1),
                    "in_process": inside,
                    "cli_seconds": wall,
                    "cli_peak_rss_mb": rss,
                    "cli_fit_seconds": summary["fit_seconds"],
                    "cli_trust": summary["trust"],
                }
            )
            print(json.dumps(results[-1]["in_process"]["seconds"]), file=sys.stderr)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "true_params": TRUE_PARAMS,
        "repeat": repeat,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "results": results,
    }


def to_markdown(report: dict) -> str:
    lines = [
        f"Run {report['when']} on {report['machine']}. Medians of {report['repeat']} runs "
        "(each in a fresh process, the in-process and CLI runs interleaved) on a machine "
        "shared with other work: read them as the order of magnitude"
        + (
            f" (1-minute load average {report['load_average'][0]:g} at the start and "
            f"{report['load_average'][1]:g} at the end, on {os.cpu_count()} CPUs)."
            if "load_average" in report
            else "."
        ),
        "",
        "Logs drawn with `segmentation.insight.clv.simulate_log(n, seed=0)`: 365 days, first "
        "purchases in the first half, true parameters "
        + ", ".join(f"{k}={v:g}" for k, v in report["true_params"].items())
        + " (alpha in days).",
        "",
        "| customers | purchases | CSV | summarise | first fit | warm fit | score | "
        "held-out check | CLI (whole process) | CLI peak RSS (largest) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        s = r["in_process"]["seconds"]
        lines.append(
            f"| {r['customers']:,} | {r['rows']:,} | {r['csv_mb']} MB | {s['summarise']:.2f} s "
            f"| {s['first_fit']:.1f} s | {s['warm_fit']:.1f} s | {s['score']:.1f} s "
            f"| {s['holdout_check']:.1f} s | {r['cli_seconds']:.1f} s "
            f"| {r['cli_peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "First fit: the first in a fresh process (the BG/NBD and Gamma-Gamma graphs are "
        "compiled, or loaded from PyTensor's on-disk cache); warm fit: the same fit again in "
        "that process. The CLI figure is what `clv` costs end to end: start-up and imports "
        "(PyMC takes several seconds), reading, the fit, the scores and the held-out check "
        "(a second fit).",
        "",
        "Most of a fit is fixed cost, not data: a profile of a 300-customer first fit (on "
        "2026-11-29, a loaded machine, no compile cache) spent about 9.5 of 13 s compiling "
        "the PyTensor graphs (rewrites and C thunks, 4 s of it in PyMC's start-value check), "
        "so the fit hardly grows from 10k to 100k customers. "
        "PyTensor's FAST_COMPILE mode was tried and is far slower at 100k (63 s a fit).",
        "",
        "Recovery of the simulated parameters and the held-out check (fit on the first 275 "
        "days, expected purchase days in the last 90 against the simulated ones):",
        "",
        "| customers | r | alpha | a | b | p | q | v | predicted / actual (held out) | "
        "correlation per customer |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    truth = report["true_params"]
    lines.append("| true | " + " | ".join(f"{truth[k]:g}" for k in PARAMS) + " | | |")
    for r in report["results"]:
        params = r["in_process"]["purchase_params"] | r["in_process"]["spend_params"]
        check = r["in_process"]["holdout"]
        lines.append(
            f"| {r['customers']:,} | "
            + " | ".join(f"{params[k]:.3g}" for k in PARAMS)
            + f" | {check['predicted']:,.0f} / {check['actual']:,.0f} = {check['ratio']:.3f} "
            f"| {check['correlation']:.2f} |"
        )
    lines += [
        "",
        "Reproduce: `python -m benchmarks.clv_fit --sizes 10000 100000` from the project root.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--step", metavar="CSV", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not save")
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step)))
        return 0
    report = run(args.sizes, args.repeat)
    text = to_markdown(report)
    print(text)
    if not args.no_write:
        RESULTS.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        RESULTS.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
