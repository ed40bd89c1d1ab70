"""The command line: the scripted interface, a thin layer over the same functions the pages call."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from segmentation.config import DEFAULT_SEED, MAX_K, MAX_SEED
from segmentation.errors import SegmentationError
from segmentation.modeling.algorithms import ALGORITHMS

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

#: Most synthetic customers ``generate`` writes (about 2 GB of CSV).
MAX_ROWS = 20_000_000
#: Customers ``train --engine spark`` fits on when ``--sample`` is not given.
SPARK_SAMPLE = 100_000
#: Longest piece of the user's input quoted back in a message.
_QUOTE_CHARS = 40


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse's name
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


def _bounded_int(low: int, high: int):
    """An argparse ``type`` for a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        if len(digits) > len(str(high)) + 1:  # never int() a 5000-digit number
            value = None
        else:
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"must be a whole number, got {_shorten(text)!r}"
                ) from None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be at least {low:,} and at most {high:,}, got {_shorten(text)}"
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m segmentation`` argument parser."""
    parser = _Parser(
        prog="python -m segmentation",
        description="Customer segmentation: generate data, train, label, inspect.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="write the synthetic default customer table")
    gen.add_argument(
        "--rows",
        type=_bounded_int(1, MAX_ROWS),
        default=1000,
        help=f"number of customers (default 1000, at most {MAX_ROWS:,})",
    )
    gen.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=_SEED_HELP)
    gen.add_argument("--out", required=True, help="CSV path to write")

    train = sub.add_parser("train", help="train a model, save it as a new active version")
    train.add_argument("--data", required=True, help="customer table (CSV or .xlsx)")
    train.add_argument(
        "--k",
        type=_bounded_int(2, MAX_K),
        help=f"number of segments, 2 to {MAX_K} (default: chosen automatically)",
    )
    train.add_argument(
        "--k-min", type=_bounded_int(2, MAX_K), default=2, help="smallest k tried (default 2)"
    )
    train.add_argument(
        "--k-max",
        type=_bounded_int(2, MAX_K),
        default=10,
        help=f"largest k tried (default 10, at most {MAX_K}, and fewer than the usable rows)",
    )
    train.add_argument("--id-column", help="identifier column (default: inferred)")
    train.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns to leave out",
    )
    train.add_argument(
        "--segment-on",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns that form the segments (overriding their default; by default "
        "behaviour and value columns segment)",
    )
    train.add_argument(
        "--describe-with",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns that only describe the segments: profiled, not used for distances "
        "(by default demographics and campaign or outcome flags)",
    )
    train.add_argument(
        "--algorithm",
        choices=sorted(ALGORITHMS),
        default="kmeans",
        help="clustering algorithm (default kmeans); "
        + "; ".join(f"{a.name}: {a.description.rstrip('.')}" for a in ALGORITHMS.values()),
    )
    train.add_argument(
        "--scaler",
        choices=("standard", "robust"),
        default="standard",
        help="how numeric columns are scaled (default standard; robust resists outliers)",
    )
    train.add_argument(
        "--outliers",
        choices=("iqr", "isolation_forest", "none"),
        default="iqr",
        help="how extreme customers are kept out of the fit (default iqr: a far-out fence "
        "on each customer's distance from the median customer over all segmenting "
        "columns; isolation_forest: a clear anomaly score; none). The screen is left "
        "out when it would flag more than 5%% of customers",
    )
    train.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=_SEED_HELP)
    train.add_argument(
        "--models-dir", help="model store (default: $SEGMENTATION_MODELS_DIR or models/)"
    )
    _add_user_flag(train)
    _add_transaction_flags(train)
    _add_engine_flags(train)
    train.add_argument(
        "--sample",
        type=_bounded_int(1, MAX_ROWS),
        metavar="N",
        help=f"with --engine spark: fit on a seeded sample of N customers (default "
        f"{SPARK_SAMPLE:,}; the rest are labeled with predict --engine spark)",
    )

    predict = sub.add_parser("predict", help="label a table or one customer")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="table to label, or - for standard input")
    source.add_argument("--json", help="one customer as a JSON object")
    predict.add_argument("--out", help="labeled CSV to write, or - for standard output")
    predict.add_argument("--model", help="model version (default: the active one)")
    predict.add_argument("--models-dir", help="model store")
    predict.add_argument(
        "--report",
        metavar="PATH",
        help="with --data: write how the file compares with the training data (JSON: "
        "verdict, PSI and out-of-range share per feature, segment mix)",
    )
    predict.add_argument(
        "--impute-missing",
        action="store_true",
        help="with --data: label a file that lacks some of the model's columns, giving every "
        "customer the training median (or most common value) of each; a warning names them",
    )
    predict.add_argument(
        "--explain",
        action="store_true",
        help="with --data: add runner_up_segment (the second nearest or second most probable "
        "segment) and margin (how far ahead the assigned segment is) columns; --json always "
        "gives its 'why'",
    )
    predict.add_argument(
        "--split-by-segment",
        metavar="TARGET",
        help="with --data: also write each segment's customers to a folder (one CSV per "
        "segment and manifest.csv), a .zip of the same, or a .xlsx with a sheet per segment; "
        "--out becomes optional",
    )
    _add_transaction_flags(predict)
    _add_engine_flags(predict)

    rfm = sub.add_parser(
        "rfm", help="one row per customer from a transaction log, with RFM scores and segments"
    )
    rfm.add_argument(
        "--data",
        required=True,
        help="transaction log: CSV, Parquet file or folder of Parquet files, .xlsx, or -",
    )
    rfm.add_argument("--out", required=True, help="CSV path to write, or - for standard output")
    _add_engine_flags(rfm)
    _add_column_flags(rfm)

    clv = sub.add_parser(
        "clv",
        help="customer lifetime value from a transaction log (BG/NBD and Gamma-Gamma): "
        "p_alive, expected_purchases_90d and clv_12m per customer; prints a JSON summary",
    )
    clv.add_argument("--data", required=True, help="transaction log (CSV or .xlsx), or -")
    clv.add_argument(
        "--out",
        required=True,
        help="CSV to write, one row per customer, or - for standard output (the summary "
        "then goes to standard error)",
    )
    clv.add_argument(
        "--horizon-months",
        type=_bounded_int(1, 120),
        default=12,
        help="months of future purchases lifetime value adds up, 30 days each (default 12)",
    )
    clv.add_argument(
        "--discount-rate",
        type=_rate,
        default=0.01,
        help="monthly discount rate, 0 to below 1 (default 0.01, about 12.7%% a year)",
    )
    clv.add_argument(
        "--as-of", help="day the log is observed to, YYYY-MM-DD (default: its last day)"
    )
    clv.add_argument(
        "--no-check",
        action="store_true",
        help="skip the held-out check (a second fit without the last 90 days, made when the "
        "log covers 270 days or more)",
    )
    _add_column_flags(clv)

    models = sub.add_parser("models", help="list the saved model versions as JSON")
    models.add_argument("--models-dir", help="model store")

    activate = sub.add_parser(
        "activate", help="make a saved version the one the app serves (also how to roll back)"
    )
    activate.add_argument("--model", required=True, metavar="VERSION", help="e.g. v3")
    activate.add_argument("--models-dir", help="model store")
    _add_user_flag(activate)

    delete = sub.add_parser(
        "delete", help="delete a saved version that is not active (its number is not reused)"
    )
    delete.add_argument("--model", required=True, metavar="VERSION", help="e.g. v2")
    delete.add_argument("--models-dir", help="model store")
    _add_user_flag(delete)

    history = sub.add_parser(
        "history",
        help="the store's audit log as JSON: every save, activation, rollback, rename and "
        "deletion with its time and user",
    )
    history.add_argument("--models-dir", help="model store")

    compare = sub.add_parser(
        "compare",
        help="where each segment's customers went between two versions, as JSON",
    )
    compare.add_argument("--from", dest="old", required=True, metavar="VERSION", help="e.g. v1")
    compare.add_argument("--to", dest="new", required=True, metavar="VERSION", help="e.g. v2")
    compare.add_argument(
        "--data",
        help="customer table both versions label (default: the newer version's training table)",
    )
    compare.add_argument("--models-dir", help="model store")

    rename = sub.add_parser(
        "rename",
        help="rename a segment of a saved version and/or replace its recommendations; "
        "prints the segment as JSON",
    )
    rename.add_argument("--model", help="model version (default: the active one)")
    rename.add_argument("--models-dir", help="model store")
    rename.add_argument(
        "--cluster",
        required=True,
        type=_bounded_int(0, MAX_K),
        help="the segment's number, 0 to k-1",
    )
    rename.add_argument("--name", help="the new name (at most 60 characters, unique)")
    rename.add_argument(
        "--recommendation",
        action="append",
        dest="recommendations",
        metavar="TEXT",
        help="a recommendation; repeat the flag for several (they replace the current ones)",
    )
    _add_user_flag(rename)
    report = sub.add_parser(
        "report",
        help="write a model's report: one self-contained HTML file, or an A4 PDF",
    )
    report.add_argument(
        "--out",
        required=True,
        help="file to write; its extension gives the format: .html (opens with no "
        "internet) or .pdf (A4, needs Chromium)",
    )
    report.add_argument("--model", help="model version (default: the active one)")
    report.add_argument("--models-dir", help="model store")
    return parser


def _rate(text: str) -> float:
    """An argparse ``type`` for a monthly discount rate from 0 to below 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {_shorten(text)!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"is a monthly rate from 0 to below 1 (0.01 is 1% a month), got {_shorten(text)}"
        )
    return value


_seed = _bounded_int(0, MAX_SEED)
_SEED_HELP = f"random seed, 0 to {MAX_SEED} (default {DEFAULT_SEED})"


def _add_column_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transaction columns (detected when not given)")
    group.add_argument("--customer-col", help="customer id column")
    group.add_argument("--date-col", help="order date column")
    group.add_argument(
        "--amount-col", help="line amount column (or --quantity-col and --price-col)"
    )
    group.add_argument("--quantity-col", help="quantity column")
    group.add_argument("--price-col", help="unit price column")
    group.add_argument("--invoice-col", help="invoice or order id column")
    group.add_argument(
        "--dayfirst",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read dates such as 12/1/2010 day-first (12 January), or month-first with "
        "--no-dayfirst (default: decided from the whole column; day-first when every "
        "date reads both ways, which the report then says)",
    )


def _add_transaction_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transactions",
        action="store_true",
        help="the data is a transaction log: derive one row per customer "
        "(Recency, Frequency, Monetary, AvgOrderValue, Tenure) first",
    )
    _add_column_flags(parser)


_COLUMN_FLAGS = ("customer", "date", "amount", "quantity", "price", "invoice")


def _add_engine_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="where the table is processed (default local; spark needs "
        "requirements-spark.txt and Java 17+)",
    )
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        help="Spark master with --engine spark (default local[*], or the one spark-submit "
        "was given)",
    )


def _spark_session(args: argparse.Namespace):
    """The Spark session of ``--engine spark``: ``--spark-master``, else spark-submit's
    master when run under it (its gateway is already up), else every local core."""
    from segmentation.engines.spark import DEFAULT_MASTER, session

    master = args.spark_master
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = DEFAULT_MASTER
    return session(master)


def _check_engine(args: argparse.Namespace, refused: dict[str, str]) -> None:
    """Refuse flags the chosen engine does not take (``{attribute: flag}``)."""
    if args.engine != "spark":
        if args.spark_master is not None:
            raise SegmentationError("--spark-master goes with --engine spark")
        return
    for attribute, flag in refused.items():
        if getattr(args, attribute, None) not in (None, False):
            raise SegmentationError(f"{flag} is not available with --engine spark")


def _customers(args: argparse.Namespace):
    """The per-customer table from ``--data``: the table itself, or derived from a
    transaction log (``rfm``, ``--transactions``), which is streamed rather than loaded."""
    if not getattr(args, "transactions", False) and args.command != "rfm":
        if any(getattr(args, f"{f}_col", None) for f in _COLUMN_FLAGS) or args.dayfirst is not None:
            raise SegmentationError("the transaction column flags go with --transactions")
        return _read(args.data), None
    options = {f"{f}_col": getattr(args, f"{f}_col") for f in _COLUMN_FLAGS}
    options["dayfirst"] = args.dayfirst
    if getattr(args, "engine", "local") == "spark":
        from segmentation.engines.spark import customers_from_log

        if args.data == "-":
            raise SegmentationError("--engine spark reads a file or folder; give its path")
        customers, report = customers_from_log(_spark_session(args), args.data, **options)
    else:
        from segmentation.engines.local import customers_from_log

        customers, report = customers_from_log(args.data, **options)
    print(report.summary(), file=sys.stderr)
    return customers, report


def _read(path: str):
    from segmentation.data.read import read_table

    return read_table(sys.stdin.buffer if path == "-" else path)


def _add_user_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        help="who is acting, for the audit log (default: $SEGMENTATION_USER, else the OS user)",
    )


def _store(args: argparse.Namespace):
    from segmentation.workflows import get_store

    return get_store(args.models_dir)


def _print_json(data: object) -> None:
    from segmentation.store import json_safe

    json.dump(json_safe(data), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def cmd_generate(args: argparse.Namespace) -> None:
    from segmentation.data.synthetic import generate_customers
    from segmentation.data.write import write_csv

    write_csv(generate_customers(args.rows, seed=args.seed), args.out)
    print(f"wrote {args.rows:,} customers to {args.out}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> None:
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.workflows import train_and_save

    both = sorted(set(args.segment_on) & set(args.describe_with))
    if both:
        raise _UsageError(
            f"column(s) {', '.join(both)} given to both --segment-on and --describe-with; "
            "choose one purpose for each column"
        )
    purposes = {column: "segment" for column in args.segment_on}
    purposes |= {column: "describe" for column in args.describe_with}
    params = {
        "k": args.k,
        "k_range": (args.k_min, args.k_max),
        "algorithm": args.algorithm,
        "scaler": args.scaler,
        "outlier_method": args.outliers,
        "purposes": purposes or None,
        "id_column": args.id_column,
        "exclude": args.exclude,
        "random_state": args.seed,
    }
    # The estimator's own check, the one place parameters are validated, before any work.
    SegmentationModel(**params)._validate_params()
    _check_engine(args, {"transactions": "--transactions"})
    extra = {}
    if args.engine == "spark":
        data, extra["sample"] = _spark_sample(args)
    else:
        if args.sample is not None:
            raise SegmentationError("--sample goes with --engine spark")
        data, report = _customers(args)
        if report is not None:
            extra["transactions"] = report.to_dict()
    _warn_unparsed(data)
    store = _store(args)
    version, model = train_and_save(
        data,
        data_name=args.data,
        store=store,
        **params,
        extra=extra or None,
        user=args.user,
    )
    summary = model.summary()
    if summary["k_choice"] and summary["k_choice"]["verdict"] != "clear":
        # Said on stderr so the JSON on stdout stays machine-readable.
        print(model.k_choice_.describe(), file=sys.stderr)
    identity = store.metadata(version).get("identity")
    sample = {"sample": extra["sample"]} if "sample" in extra else {}
    _print_json({"version": version, **summary, "identity": identity, **sample})


def _spark_sample(args: argparse.Namespace):
    """``train --engine spark``: the seeded sample read through Spark, typed by the local
    reader's rules, and what it was a sample of."""
    from segmentation.engines.spark import read_table
    from segmentation.engines.spark_labeling import sample_customers

    if args.data == "-":
        raise SegmentationError("--engine spark reads a file or folder, not standard input")
    wanted = SPARK_SAMPLE if args.sample is None else args.sample
    frame, total = sample_customers(read_table(_spark_session(args), args.data), wanted, args.seed)
    if frame.empty:
        raise SegmentationError(f"{args.data} holds no customers")
    print(f"training on a sample of {len(frame):,} of {total:,} customers", file=sys.stderr)
    return frame, {"customers": len(frame), "of": total, "seed": args.seed}


def cmd_predict(args: argparse.Namespace) -> None:
    from segmentation.workflows import ensure_active_model

    _check_engine(
        args,
        {
            "json": "--json",
            "report": "--report",
            "impute_missing": "--impute-missing",
            "explain": "--explain",
            "split_by_segment": "--split-by-segment",
            "transactions": "--transactions",
        },
    )
    if args.engine == "spark":
        _predict_spark(args)
        return
    # The input is checked before the model is loaded (or, on first use, trained).
    if args.json is not None:
        if args.out is not None:
            raise SegmentationError("--out goes with --data; --json prints its result")
        record = parse_record(args.json)
        if args.report is not None:
            raise SegmentationError("--report goes with --data; --json prints its warnings")
        if args.impute_missing:
            raise SegmentationError(
                "--impute-missing goes with --data; --json imputes a missing field by itself"
            )
        if args.explain:
            raise SegmentationError(
                "--explain goes with --data; --json always prints its 'why' (runner-up, margin)"
            )
        if args.split_by_segment is not None:
            raise SegmentationError("--split-by-segment goes with --data, a file of customers")
    else:
        if args.split_by_segment is not None:
            from segmentation.report.audiences import check_target

            check_target(args.split_by_segment)
        elif args.out is None:
            raise SegmentationError(
                "--out is required with --data (a path, or - for standard output), "
                "or --split-by-segment"
            )
        if args.out not in (None, "-") and os.path.isdir(args.out):
            raise SegmentationError(f"--out {args.out!r} is a folder; give a file name")
        if args.report is not None and (args.report == "-" or os.path.isdir(args.report)):
            raise SegmentationError(f"--report {args.report!r} must be a file name for the JSON")
        source = _predict_source(args)
    store = _store(args)
    if args.model is None:
        ensure_active_model(store)
    if args.json is not None:
        model, _ = store.load(args.model)
        if not record:
            raise SegmentationError(
                "--json gives no columns; pass the customer's values by column name, e.g. "
                f"'{{\"Age\": 35, ...}}'; this model uses: {', '.join(model.schema_.features)}"
            )
        _print_json(model.predict_one(record))
        return
    from segmentation.modeling.labeling import label_file

    dest = sys.stdout.buffer if args.out == "-" else args.out
    # With --split-by-segment the labeled CSV is written to a file first (--out itself when
    # it is one), then split from there in blocks: no copy of the table is kept in memory.
    labeled_path = _labeled_path(args)
    if labeled_path is not None:
        dest = labeled_path
    if args.transactions:
        from segmentation.data.write import write_csv

        model, metadata = store.load(args.model)
        _check_drift_reference(model, metadata, args.report)
        data = source
        from segmentation.modeling.features import table_columns
        from segmentation.modeling.labeling import imputed_warnings

        absent = table_columns(data, model.schema_)[1] if args.impute_missing else []
        prediction = model.label(data, allow_missing=bool(absent), explain=args.explain)
        warnings = prediction.report.warnings() + imputed_warnings(model.imputed_values(absent))
        drift = prediction.drift
        write_csv(prediction.join(data), dest)
    else:
        # Labeling a file needs only the compiled labeler: no scikit-learn, no pandas,
        # unless the file needs the general path. It is read once and streamed out.
        labeler, metadata = store.load_labeler(args.model)
        _check_drift_reference(labeler, metadata, args.report)
        labeled = label_file(
            labeler, source, dest, impute_missing=args.impute_missing, explain=args.explain
        )
        warnings = labeled.report.warnings() + labeled.imputed_warnings()
        drift = labeled.drift
    if labeled_path is not None:
        _split_by_segment(args, labeled_path)
    if drift is not None and drift.moved:
        moved = ", ".join(f.feature for f in drift.moved)
        warnings.append(f"the file differs from the training data ({drift.verdict}) in: {moved}")
    if args.report is not None and drift is not None:
        from segmentation.data.files import open_output
        from segmentation.store import json_safe

        document = {"model": metadata.get("version"), "data": args.data, **drift.to_dict()}
        with open_output(args.report) as out:
            out.write(json.dumps(json_safe(document), indent=2, allow_nan=False).encode())
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _predict_spark(args: argparse.Namespace) -> None:
    """``predict --engine spark``: label a file or folder into a Parquet folder in Spark."""
    from segmentation.engines.spark_labeling import label_table

    if args.out is None or args.out == "-":
        raise SegmentationError("--engine spark writes a Parquet folder: give --out DIR")
    if args.data == "-":
        raise SegmentationError("--engine spark reads a file or folder, not standard input")
    if os.path.isfile(args.out):
        raise SegmentationError(f"--out {args.out!r} is a file; give a folder for the Parquet")
    store = _store(args)
    if args.model is None:
        from segmentation.workflows import ensure_active_model

        ensure_active_model(store)
    labeler, metadata = store.load_labeler(args.model)
    counts = label_table(_spark_session(args), args.data, labeler, args.out)
    total = sum(counts.values())
    mix = ", ".join(f"{name}: {n:,}" for name, n in counts.items())
    print(
        f"labeled {total:,} customers with model {metadata.get('version')} into "
        f"{args.out} (Parquet; {mix})",
        file=sys.stderr,
    )


def _labeled_path(args: argparse.Namespace) -> str | None:
    """Where ``predict --split-by-segment`` writes the labeled CSV it splits: ``--out``
    when it is a file, else a hidden name beside the split target (created only when the
    labeling succeeds, removed by :func:`_split_by_segment`). None without a split."""
    from segmentation.data.files import is_replaceable

    if args.split_by_segment is None:
        return None
    if args.out is not None and args.out != "-" and is_replaceable(args.out):
        return args.out
    import uuid
    from pathlib import Path

    target = Path(args.split_by_segment.rstrip("/\\") or ".").resolve()
    return str(target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.labeled.csv"))


def _split_by_segment(args: argparse.Namespace, labeled_path: str) -> None:
    """Split the labeled CSV at ``labeled_path`` into ``--split-by-segment``; copy it to
    ``--out`` when that is standard output or a pipe; remove it when it was a scratch file."""
    import shutil

    from segmentation.data.files import open_output
    from segmentation.report.audiences import split_labeled_csv

    scratch = labeled_path != args.out
    try:
        if scratch and args.out is not None:
            with open(labeled_path, "rb") as labeled, open_output(args.out) as out:
                shutil.copyfileobj(labeled, out, 1 << 20)
        split = split_labeled_csv(labeled_path, args.split_by_segment)
    finally:
        if scratch:
            os.unlink(labeled_path)
    print(f"{split.summary()} to {args.split_by_segment}", file=sys.stderr)


def _check_drift_reference(model, metadata: dict, report: str | None) -> None:
    """Refuse ``--report`` before labeling when the model kept no drift reference."""
    has = getattr(model, "drift", None) or getattr(model, "drift_reference_", None)
    if report is not None and not has:
        raise SegmentationError(
            f"model {metadata.get('version')} was trained before files could be compared "
            "with the training data; retrain it to get a --report"
        )


def _predict_source(args: argparse.Namespace):
    """What ``predict --data`` labels: the table itself with --transactions, else the path or
    the bytes of standard input, checked as the reader checks them (size, binary, NUL)."""
    from segmentation.data.checks import check_input, read_bounded

    if args.transactions:
        return _customers(args)[0]
    source = read_bounded(sys.stdin.buffer) if args.data == "-" else args.data
    check_input(source)
    return source


def _warn_unparsed(data) -> None:
    """Say which numeric cells did not parse (``inf``, typos); training imputes them."""
    from segmentation.data.rules import FeatureReport

    unparsed = data.attrs.get("unparsed_values") or {}
    for warning in FeatureReport(bad_values=dict(unparsed)).warnings():
        print(f"warning: {warning}", file=sys.stderr)


class _Unusable:
    """A JSON value kept aside while parsing, so the message can name its key."""

    def __init__(self, text: str) -> None:
        self.text = text


def _json_int(text: str) -> int | _Unusable:
    from segmentation.data.checks import LARGEST_NUMBER

    # Python refuses int() of more than 4,300 digits; anything past 100 is too large anyway.
    if len(text.lstrip("-")) > 100:
        return _Unusable(text)
    value = int(text)
    return value if abs(value) <= LARGEST_NUMBER else _Unusable(text)


def _json_float(text: str) -> float | _Unusable:
    from segmentation.data.checks import LARGEST_NUMBER

    value = float(text)
    return value if abs(value) <= LARGEST_NUMBER else _Unusable(text)


def parse_record(text: str) -> dict[str, object]:
    """Parse ``predict --json``: one flat JSON object of column: number, text or null.

    Raises
    ------
    SegmentationError
        For invalid JSON, anything but an object, a nested value (the message names the
        key), ``NaN``/``Infinity`` or a number too large to use (``1e309``, 400 digits).
    """
    example = 'pass one object like \'{"Age": 35, "Gender": "Female"}\''
    try:
        record = json.loads(
            text, parse_constant=_Unusable, parse_int=_json_int, parse_float=_json_float
        )
    except json.JSONDecodeError as exc:
        raise SegmentationError(
            f"--json is not valid JSON ({exc.msg} at character {exc.pos}); {example}"
        ) from None
    except RecursionError:
        raise SegmentationError(f"--json is nested too deeply; {example}") from None
    if not isinstance(record, dict):
        kind = {list: "a list", str: "a string"}.get(type(record), "a single value")
        raise SegmentationError(
            f"--json must be one object of column: value, not {kind}; {example}"
        )
    for key, value in record.items():
        if isinstance(value, (dict, list)):
            kind = "an object" if isinstance(value, dict) else "a list"
            raise SegmentationError(
                f"--json value of {_shorten(key)!r} is {kind}; give one number or text per "
                "column (or null to have it imputed)"
            )
        if isinstance(value, _Unusable):
            raise SegmentationError(
                f"--json value of {_shorten(key)!r} ({_shorten(value.text)}) is not a usable "
                "number (infinite, NaN or too large); give an ordinary number, or null to have "
                "it imputed"
            )
    return record


def _shorten(text: object, limit: int = _QUOTE_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cmd_rfm(args: argparse.Namespace) -> None:
    from segmentation.data.transactions import rfm_scores
    from segmentation.data.write import write_csv

    _check_engine(args, {})
    customers, _ = _customers(args)
    write_csv(rfm_scores(customers), sys.stdout.buffer if args.out == "-" else args.out)


def cmd_clv(args: argparse.Namespace) -> None:
    from segmentation.data.write import write_csv
    from segmentation.insight.clv import customer_lifetime_value

    columns = {f"{f}_col": getattr(args, f"{f}_col") for f in _COLUMN_FLAGS}
    table, report = customer_lifetime_value(
        _read(args.data),
        horizon_months=args.horizon_months,
        discount_rate=args.discount_rate,
        as_of=args.as_of,
        check=not args.no_check,
        dayfirst=args.dayfirst,
        **columns,
    )
    to_stdout = args.out == "-"
    write_csv(table, sys.stdout.buffer if to_stdout else args.out)
    summary = {"out": args.out, "customers": len(table), **report.to_dict()}
    if to_stdout:
        from segmentation.store import json_safe

        print(json.dumps(json_safe(summary), allow_nan=False), file=sys.stderr)
    else:
        _print_json(summary)


def cmd_models(args: argparse.Namespace) -> None:
    store = _store(args)
    _print_json(
        {
            "active": store.active_version(),
            "versions": [
                {
                    "version": info.version,
                    "active": info.active,
                    **{
                        key: info.metadata.get(key)
                        for key in (
                            "created_at",
                            "data_name",
                            "trained_by",
                            "k",
                            "silhouette",
                            "davies_bouldin",
                            "calinski_harabasz",
                            "n_rows",
                            "features",
                            "segments",
                        )
                    },
                    **({"damaged": info.damaged} if info.damaged else {}),
                }
                for info in store.list()
            ],
        }
    )


def cmd_compare(args: argparse.Namespace) -> None:
    from segmentation.workflows import compare_versions

    store = _store(args)
    for version in (args.old, args.new):
        store.metadata(version)  # a wrong name fails here, before any table is read
    data = _read(args.data) if args.data is not None else None
    migration, table = compare_versions(store, args.old, args.new, data)
    table = args.data if args.data is not None else table
    _print_json({"from": args.old, "to": args.new, "table": table, **migration.to_dict()})


def cmd_rename(args: argparse.Namespace) -> None:
    store = _store(args)
    _print_json(
        store.rename_segment(
            args.model,
            args.cluster,
            name=args.name,
            recommendations=args.recommendations,
            user=args.user,
        )
    )


def cmd_activate(args: argparse.Namespace) -> None:
    store = _store(args)
    before = store.active_version()
    store.activate(args.model, user=args.user)
    _print_json({"active": args.model, "previous": before})


def cmd_delete(args: argparse.Namespace) -> None:
    store = _store(args)
    store.delete(args.model, user=args.user)
    _print_json({"deleted": args.model, "versions": store.versions()})


def cmd_history(args: argparse.Namespace) -> None:
    _print_json({"events": _store(args).history()})


#: Report formats by the extension of ``--out``.
REPORT_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


def cmd_report(args: argparse.Namespace) -> None:
    from pathlib import Path

    from segmentation.data.files import atomic_write_bytes
    from segmentation.errors import ModelStoreError
    from segmentation.workflows import ensure_active_model

    # The format is checked before anything is loaded or trained.
    fmt = REPORT_FORMATS.get(Path(args.out).suffix.lower())
    if fmt is None:
        raise SegmentationError(
            f"--out {_shorten(args.out)!r} must end in .html or .pdf (the report's format "
            "comes from the extension)"
        )
    if os.path.isdir(args.out):
        raise SegmentationError(f"--out {args.out!r} is a folder; give a file name")
    store = _store(args)
    version = args.model or ensure_active_model(store)
    model, metadata = store.load(version)
    from segmentation.report.html import build_report_html, customer_points

    try:
        points = customer_points(model, store.training_data(version))
    except ModelStoreError:
        points = None  # a version saved without its table: the report says there is no map
    if fmt == "html":
        content = build_report_html(model, metadata, points=points).encode("utf-8")
    else:
        from segmentation.report.pdf import build_report_pdf

        content = build_report_pdf(model, metadata, points=points)
    # Written whole or not at all: an existing file is replaced only once the report is made.
    atomic_write_bytes(args.out, content)
    # One line of JSON, so a script can read where the report went.
    written = {"report": args.out, "format": fmt, "version": version, "bytes": len(content)}
    print(json.dumps(written))


COMMANDS = {
    "generate": cmd_generate,
    "train": cmd_train,
    "predict": cmd_predict,
    "models": cmd_models,
    "rfm": cmd_rfm,
    "clv": cmd_clv,
    "compare": cmd_compare,
    "rename": cmd_rename,
    "report": cmd_report,
    "activate": cmd_activate,
    "delete": cmd_delete,
    "history": cmd_history,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    The one boundary where every failure becomes one line on stderr starting ``error:``
    and exit status 2, never a traceback: the project's own errors say what was wrong and
    what to do; anything else is reported as unexpected (set ``SEGMENTATION_DEBUG=1`` to
    see the traceback). A reader closing the output pipe (``... | head``) is a normal end:
    exit 0, nothing printed. Ctrl-C exits with 130.
    """
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit flush
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from segmentation.data.write import is_broken_pipe

        if is_broken_pipe(exc):
            _discard_stdout()
            return 0
        if os.environ.get("SEGMENTATION_DEBUG"):
            raise
        print(f"error: {_one_line(_describe(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _describe(exc: Exception) -> str:
    """What to tell the user about ``exc``."""
    if isinstance(exc, (_UsageError, SegmentationError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory for this input; use a smaller file or a sample of it"
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc)
        where = f"{exc.filename}: " if exc.filename else ""
        if isinstance(exc, FileNotFoundError):
            return f"{where}no such file; check the path"
        return f"{where}{what}; check the path, the permissions and the free disk space"
    try:
        detail = str(exc)
    except Exception:  # noqa: BLE001 - the message itself failed; the type still helps
        detail = ""
    return (
        f"unexpected {type(exc).__name__}"
        + (f" ({_shorten(detail, 300)})" if detail else "")
        + "; this is a bug, please report it with the command you ran "
        "(SEGMENTATION_DEBUG=1 shows the details)"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _discard_stdout() -> None:
    """Point stdout at the null device so the interpreter's exit flush cannot fail loudly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass
