"""The command line: the scripted interface, a thin layer over the same functions the pages call."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from segmentation.config import DEFAULT_SEED
from segmentation.errors import SegmentationError
from segmentation.modeling.algorithms import ALGORITHMS

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse's name
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m segmentation`` argument parser."""
    parser = _Parser(
        prog="python -m segmentation",
        description="Customer segmentation: generate data, train, label, inspect.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="write the synthetic default customer table")
    gen.add_argument("--rows", type=int, default=1000, help="number of customers (default 1000)")
    gen.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    gen.add_argument("--out", required=True, help="CSV path to write")

    train = sub.add_parser("train", help="train a model, save it as a new active version")
    train.add_argument("--data", required=True, help="customer table (CSV or .xlsx)")
    train.add_argument("--k", type=int, help="number of segments (default: chosen automatically)")
    train.add_argument("--k-min", type=int, default=2, help="smallest k tried (default 2)")
    train.add_argument("--k-max", type=int, default=10, help="largest k tried (default 10)")
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
        "--algorithm",
        choices=sorted(ALGORITHMS),
        default="kmeans",
        help="clustering algorithm (default kmeans)",
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
        help="how outlying customers are kept out of the fit (default iqr)",
    )
    train.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    train.add_argument(
        "--models-dir", help="model store (default: $SEGMENTATION_MODELS_DIR or models/)"
    )
    _add_transaction_flags(train)

    predict = sub.add_parser("predict", help="label a table or one customer")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="table to label, or - for standard input")
    source.add_argument("--json", help="one customer as a JSON object")
    predict.add_argument("--out", help="labeled CSV to write, or - for standard output")
    predict.add_argument("--model", help="model version (default: the active one)")
    predict.add_argument("--models-dir", help="model store")
    _add_transaction_flags(predict)

    rfm = sub.add_parser(
        "rfm", help="one row per customer from a transaction log, with RFM scores and segments"
    )
    rfm.add_argument("--data", required=True, help="transaction log (CSV or .xlsx), or -")
    rfm.add_argument("--out", required=True, help="CSV path to write, or - for standard output")
    _add_column_flags(rfm)

    models = sub.add_parser("models", help="list the saved model versions as JSON")
    models.add_argument("--models-dir", help="model store")
    return parser


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


def _add_transaction_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transactions",
        action="store_true",
        help="the data is a transaction log: derive one row per customer "
        "(Recency, Frequency, Monetary, AvgOrderValue, Tenure) first",
    )
    _add_column_flags(parser)


_COLUMN_FLAGS = ("customer", "date", "amount", "quantity", "price", "invoice")


def _customers(args: argparse.Namespace, data):
    """The per-customer table: the data itself, or derived from a transaction log."""
    if not getattr(args, "transactions", False) and args.command != "rfm":
        if any(getattr(args, f"{f}_col", None) for f in _COLUMN_FLAGS):
            raise SegmentationError("the transaction column flags go with --transactions")
        return data, None
    from segmentation.data.transactions import customers_from_transactions

    columns = {f"{f}_col": getattr(args, f"{f}_col") for f in _COLUMN_FLAGS}
    customers, report = customers_from_transactions(data, **columns)
    print(report.summary(), file=sys.stderr)
    return customers, report


def _read(path: str):
    from segmentation.data.read import read_table

    return read_table(sys.stdin.buffer if path == "-" else path)


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

    if args.rows < 1:
        raise SegmentationError(f"--rows must be at least 1, got {args.rows}")
    write_csv(generate_customers(args.rows, seed=args.seed), args.out)
    print(f"wrote {args.rows:,} customers to {args.out}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> None:
    # The parameters are validated by the estimator, in one place, before any work.
    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.workflows import train_and_save

    params = {
        "k": args.k,
        "k_range": (args.k_min, args.k_max),
        "algorithm": args.algorithm,
        "scaler": args.scaler,
        "outlier_method": args.outliers,
        "id_column": args.id_column,
        "exclude": args.exclude,
        "random_state": args.seed,
    }
    SegmentationModel(**params)._validate_params()
    data, report = _customers(args, _read(args.data))
    version, model = train_and_save(
        data,
        data_name=args.data,
        store=_store(args),
        **params,
        extra={"transactions": report.to_dict()} if report is not None else None,
    )
    _print_json({"version": version, **model.summary()})


def cmd_predict(args: argparse.Namespace) -> None:
    from segmentation.workflows import ensure_active_model

    store = _store(args)
    if args.model is None:
        ensure_active_model(store)
    if args.json is not None:
        model, _ = store.load(args.model)
        if args.out is not None:
            raise SegmentationError("--out goes with --data; --json prints its result")
        try:
            record = json.loads(args.json)
        except ValueError as exc:
            raise SegmentationError(
                f"--json is not valid JSON ({exc.msg} at character "
                f"{exc.pos}); pass one object like '{{\"age\": 35}}'"
            ) from exc
        _print_json(model.predict_one(record))
        return
    # Labeling a file needs only the compiled labeler: no scikit-learn, no pandas, unless
    # the file needs the general path.
    if args.out is None:
        raise SegmentationError("--out is required with --data (a path, or - for standard output)")
    from segmentation.modeling.labeling import label_file

    dest = sys.stdout.buffer if args.out == "-" else args.out
    if args.transactions:
        from segmentation.data.write import write_csv

        model, _ = store.load(args.model)
        data, _ = _customers(args, _read(args.data))
        prediction = model.label(data)
        warnings = prediction.report.warnings()
        write_csv(prediction.join(data), dest)
    else:
        # The file is read once, labeled in chunks and streamed out (the fast path).
        source = sys.stdin.buffer.read() if args.data == "-" else args.data
        labeler, _ = store.load_labeler(args.model)
        warnings = label_file(labeler, source, dest).report.warnings()
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_rfm(args: argparse.Namespace) -> None:
    from segmentation.data.transactions import rfm_scores
    from segmentation.data.write import write_csv

    customers, _ = _customers(args, _read(args.data))
    write_csv(rfm_scores(customers), sys.stdout.buffer if args.out == "-" else args.out)


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
                            "k",
                            "silhouette",
                            "davies_bouldin",
                            "calinski_harabasz",
                            "n_rows",
                            "features",
                            "segments",
                        )
                    },
                }
                for info in store.list()
            ],
        }
    )


COMMANDS = {
    "generate": cmd_generate,
    "train": cmd_train,
    "predict": cmd_predict,
    "models": cmd_models,
    "rfm": cmd_rfm,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SegmentationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file; check the path", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, MemoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader (e.g. `head`) closed the pipe: stop quietly, no traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
