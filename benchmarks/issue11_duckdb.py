"""Issue 11's benchmark: a transaction log to customers, DuckDB against the pandas path.

Run ``python -m benchmarks.issue11_duckdb`` (10M order lines, 1M customers; ``--lines``
and ``--customers`` for other sizes). A seeded UCI-style log
(:func:`segmentation.data.synthetic.generate_transactions`) is written as CSV once, then
five commands run as whole processes, interleaved (A B C ... A B C ...), each timed from
outside from start to exit with its peak resident memory (GNU ``time -f %M``, as
``benchmarks.bench`` does):

- ``reference``: today's path before issue 11, ``read_table`` then the pandas aggregation
  (:mod:`benchmarks.reference_transactions`);
- ``duckdb``: the new path, :func:`segmentation.engines.local.customers_from_log`
  (streams the CSV through DuckDB, the reader's cleaning rules in SQL);
- ``bare``: the issue's bare query, "one DuckDB query ... identical outputs": what an
  analyst would write by hand in DuckDB for this clean file to get the identical
  customer table (DuckDB's own typed reading, none of the reader's cleaning,
  cancellations netted, Recency and Tenure to the last day, AvgOrderValue, ordered by id);
- ``counts``: a cheaper DuckDB query over the same typed reading that counts customers,
  orders, spend and dates but does not give the customer table (no cancellations
  netted, no recency or tenure). Not the issue's baseline (its output is not the same);
  measured so the cost of the customer table itself stays in view;
- ``typed``: no product path but a measure of where the time goes: the engine's own
  aggregation (:mod:`segmentation.engines.logsql`, the report's counts included) over
  DuckDB's typed reading of the same file, so none of the reader's text rules run. Its
  distance to ``duckdb`` is what reading each cell as the reader reads text costs; its
  distance to ``bare`` is what the rest of the aggregation, the report and the Python
  finish cost.

Each prints its customer count and totals, which must agree between ``reference``,
``duckdb``, ``bare`` and ``typed``. Targets (ratios within the run): duckdb at most 0.5x the
reference's time and 0.35x its peak memory, and at most 1.5x the bare query's time. The
ratio to ``counts`` is reported beside them, not judged. Results go to
``benchmarks/results/issue11_duckdb.md`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench import RESULTS_DIR, _gnu_time, _medians, _run_process

STEPS = ("reference", "duckdb", "bare", "counts", "typed")

# Counts per customer, not the customer table (see the module notes).
_COUNTS_SQL = """
SELECT CustomerID,
       count(DISTINCT InvoiceNo) FILTER (WHERE Quantity > 0) AS frequency,
       sum(Quantity * UnitPrice) AS monetary,
       max(InvoiceDate) AS last_date,
       min(InvoiceDate) AS first_date
FROM read_csv({path}, timestampformat = '%m/%d/%Y %H:%M')
WHERE CustomerID IS NOT NULL
GROUP BY CustomerID
"""


# The bare query: the identical customer table, written by hand for this clean, typed log.
_BARE_SQL = """
WITH lines AS (
    SELECT CustomerID, InvoiceNo, InvoiceDate, Quantity * UnitPrice AS spend,
           starts_with(InvoiceNo, 'C') OR Quantity < 0 AS cancelled
    FROM read_csv({path}, timestampformat = '%m/%d/%Y %H:%M')
    WHERE CustomerID IS NOT NULL
), customers AS (
    SELECT CustomerID,
           coalesce(max(InvoiceDate) FILTER (WHERE NOT cancelled), max(InvoiceDate)) AS last_at,
           coalesce(min(InvoiceDate) FILTER (WHERE NOT cancelled), min(InvoiceDate)) AS first_at,
           count(DISTINCT InvoiceNo) FILTER (WHERE NOT cancelled) AS Frequency,
           sum(spend) AS Monetary
    FROM lines GROUP BY CustomerID
), as_of AS (SELECT date_trunc('day', max(InvoiceDate)) AS day FROM lines)
SELECT CAST(CustomerID AS VARCHAR) AS CustomerID,
       date_diff('day', date_trunc('day', last_at), as_of.day) AS Recency,
       Frequency, Monetary,
       CASE WHEN Frequency > 0 THEN Monetary / Frequency ELSE 0 END AS AvgOrderValue,
       date_diff('day', date_trunc('day', first_at), as_of.day) AS Tenure
FROM customers, as_of ORDER BY customers.CustomerID
"""


# The columns of the benchmark's log (segmentation.data.synthetic.generate_transactions).
_ROLES = {
    "customer": "CustomerID",
    "date": "InvoiceDate",
    "amount": None,
    "quantity": "Quantity",
    "price": "UnitPrice",
    "invoice": "InvoiceNo",
}


def _totals(customers) -> dict:
    return {
        "customers": int(len(customers)),
        "orders": int(customers["Frequency"].sum()),
        "monetary": round(float(customers["Monetary"].sum()), 2),
        "recency": int(customers["Recency"].sum()),
        "tenure": int(customers["Tenure"].sum()),
        "first": str(customers["CustomerID"].iloc[0]),
        "last": str(customers["CustomerID"].iloc[-1]),
    }


def step(name: str, path: str) -> dict:
    """Run one measured command in this process and return what it found."""
    if name == "reference":
        from benchmarks.reference_transactions import customers_from_transactions
        from segmentation.data.read import read_table

        # No upload limit: the old path read any file the command line was given.
        return _totals(customers_from_transactions(read_table(path, max_bytes=1 << 40))[0])
    if name == "duckdb":
        from segmentation.engines.local import customers_from_log

        return _totals(customers_from_log(path)[0])
    quoted = "'" + path.replace("'", "''") + "'"
    if name == "bare":
        import duckdb

        return _totals(duckdb.connect().execute(_BARE_SQL.format(path=quoted)).fetch_df())
    if name == "counts":
        import duckdb

        groups = duckdb.connect().execute(_COUNTS_SQL.format(path=quoted)).fetch_df()
        return {"customers": int(len(groups))}
    if name == "typed":
        from segmentation.engines import local, logsql

        relation = f"read_csv({quoted}, timestampformat = '%m/%d/%Y %H:%M')"
        con = local._connect()
        # The columns as DuckDB's sniffer types them, told apart as the engine tells them.
        schema = con.sql(f"SELECT * FROM {relation} LIMIT 0").to_arrow_table().schema
        kinds = local.log_kinds({field.name: field.type for field in schema}, _ROLES)
        source = logsql.LogSource(relation=relation, roles=_ROLES, kinds=kinds)
        return _totals(local._run(con, source)[0])
    raise ValueError(f"unknown step {name!r}; one of {STEPS}")


def write_log(path: Path, n_lines: int, n_customers: int, seed: int) -> None:
    """Write the seeded log as CSV (pyarrow's writer: seconds, not minutes)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from segmentation.data.synthetic import generate_transactions

    frame = generate_transactions(n_lines, n_customers=n_customers, seed=seed)
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)


def run(n_lines: int, n_customers: int, *, repeats: int, seed: int, workdir: Path) -> dict:
    """Generate the log, run the five commands interleaved, and return the results."""
    gnu_time = _gnu_time()
    log = workdir / f"log_{n_lines}_{n_customers}_{seed}.csv"
    if not log.exists():
        print(f"writing {n_lines:,} order lines to {log}", file=sys.stderr)
        started = time.perf_counter()
        write_log(log, n_lines, n_customers, seed)
        print(f"  {time.perf_counter() - started:.1f}s", file=sys.stderr)
    report = workdir / "rusage.txt"
    runs: dict[str, list[dict]] = {name: [] for name in STEPS}
    for i in range(repeats):
        for name in STEPS:
            print(f"run {i + 1}/{repeats}: {name}", file=sys.stderr)
            args = ["-m", "benchmarks.issue11_duckdb", "--step", name, str(log)]
            runs[name].append(_run_process(args, report, gnu_time))
            print(
                f"  {runs[name][-1]['seconds']:.1f}s, {runs[name][-1]['rss_peak_mb']:.0f} MB",
                file=sys.stderr,
            )
    found = {
        name: json.loads(rs[-1]["stdout"].strip().splitlines()[-1]) for name, rs in runs.items()
    }
    for other in ("reference", "bare", "typed"):
        if found[other] != found["duckdb"]:
            raise RuntimeError(f"{other} and duckdb disagree: {found[other]} != {found['duckdb']}")
    out = {name: _medians(rs) for name, rs in runs.items()}
    old, new, bare = out["reference"], out["duckdb"], out["bare"]
    targets = [
        ("duckdb time / reference time", new["seconds"] / old["seconds"], 0.5),
        ("duckdb peak memory / reference", new["rss_peak_mb"] / old["rss_peak_mb"], 0.35),
        (
            "duckdb time / bare query time (one DuckDB query, the identical customer table)",
            new["seconds"] / bare["seconds"],
            1.5,
        ),
    ]
    typed = out["typed"]["seconds"]
    # Not targets: how the DuckDB path's time over the bare query splits, and the ratio to
    # the counts-only query (which does less than give the customer table).
    split = {
        "reading text as the reader does (duckdb / typed)": round(new["seconds"] / typed, 3),
        "the engine's aggregation, report and finish on typed columns (typed / bare)": round(
            typed / bare["seconds"], 3
        ),
        "duckdb / the counts-only query (not the customer table)": round(
            new["seconds"] / out["counts"]["seconds"], 3
        ),
    }
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
            "python": platform.python_version(),
        },
        "lines": n_lines,
        "customers": n_customers,
        "seed": seed,
        "log_mb": round(log.stat().st_size / 1e6, 1),
        "repeats": repeats,
        "method": "GNU time -f %M" if gnu_time else "resource.getrusage(RUSAGE_CHILDREN)",
        "found": found,
        "processes": out,
        "split": split,
        "targets": [
            {"name": n, "value": round(v, 3), "limit": limit, "pass": v <= limit}
            for n, v, limit in targets
        ],
    }


def to_markdown(results: dict, command: str) -> str:
    """The results as a Markdown page."""
    m = results["machine"]
    lines = [
        "# Issue 11: transaction log to customers, DuckDB against pandas",
        "",
        f"Run {results['started']} on {m['platform']}, {m['cpus']} CPUs (shared with other "
        f"work), Python {m['python']}. Log: {results['lines']:,} order lines, "
        f"{results['customers']:,} customers, seed {results['seed']}, "
        f"{results['log_mb']} MB of CSV. Whole processes from start to exit, peak RSS by "
        f"{results['method']}; median of {results['repeats']} interleaved run(s).",
        "",
        f"Reproduce: `{command}`",
        "",
        "| command | seconds | peak RSS (MB) | runs (s) |",
        "|---|---:|---:|---|",
    ]
    for name, label in (
        ("reference", "pandas path before issue 11 (read_table + groupby)"),
        ("duckdb", "`customers_from_log` (DuckDB, reader's cleaning in SQL)"),
        (
            "bare",
            "the bare query: the same customer table by one hand-written DuckDB query "
            "(typed read_csv, clean file)",
        ),
        ("counts", "(not a baseline) a counts-only DuckDB query, not the customer table"),
        ("typed", "(where the time goes) the engine's aggregation over DuckDB's typed reading"),
    ):
        row = results["processes"][name]
        lines.append(
            f"| {label} | {row['seconds']:.1f} | {row['rss_peak_mb']:.0f} | "
            f"{', '.join(f'{s:.1f}' for s in row['runs'])} |"
        )
    lines += ["", "| target | value | limit | |", "|---|---:|---:|---|"]
    for t in results["targets"]:
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"| {t['name']} | {t['value']:.3f} | {t['limit']} | {verdict} |")
    lines += [
        "",
        "Where the DuckDB path's time over the bare query goes, and its ratio to the "
        "counts-only query (ratios, not targets):",
        "",
    ]
    lines += [f"- {name}: {value:.2f}x" for name, value in results.get("split", {}).items()]
    found = results["found"]
    lines += [
        "",
        f"The pandas path, the DuckDB path, the hand-written query and the typed run found "
        f"{found['duckdb']['customers']:,} customers, "
        f"{found['duckdb']['orders']:,} orders, net spend {found['duckdb']['monetary']:,.2f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="where the log is written (kept)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(step(args.step, args.path)))
        return 0
    workdir = args.workdir or Path(tempfile.gettempdir()) / "issue11_bench"
    workdir.mkdir(parents=True, exist_ok=True)
    results = run(args.lines, args.customers, repeats=args.repeats, seed=args.seed, workdir=workdir)
    command = "python -m benchmarks.issue11_duckdb " + " ".join(
        f"--{k} {v}"
        for k, v in (
            ("lines", args.lines),
            ("customers", args.customers),
            ("repeats", args.repeats),
            ("seed", args.seed),
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "issue11_duckdb" if args.lines == 10_000_000 else f"issue11_duckdb_{args.lines}"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    (args.out / f"{stem}.md").write_text(to_markdown(results, command))
    print(to_markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
