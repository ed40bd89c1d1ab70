"""What the engine gives on real exports: every method, the choice of k, seed-to-seed
agreement and how many customers keep their segment after a 5% drop.

Run by hand on files the test suite never reads (the suite builds its own tables)::

    PYTHONPATH=. python benchmarks/real_exports.py \\
        --customers ../shared/datasets/marketing_campaign.csv \\
        --transactions ../shared/datasets/online_retail.csv

Prints one JSON object per measurement, one per line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

from segmentation.data.read import read_table
from segmentation.data.transactions import customers_from_transactions
from segmentation.errors import SegmentationError
from segmentation.modeling.algorithms import ALGORITHMS
from segmentation.modeling.estimator import SegmentationModel
from segmentation.store import ModelStore
from segmentation.workflows import train_and_save


def _methods(name: str, data) -> None:
    for algorithm in ALGORITHMS:
        start = time.perf_counter()
        try:
            model = SegmentationModel(algorithm=algorithm, random_state=42).fit(data)
        except SegmentationError as exc:
            _say(table=name, method=algorithm, refused=str(exc))
            continue
        _say(
            table=name,
            method=algorithm,
            k=model.k_,
            verdict=model.k_choice_.verdict,
            at_edge=model.k_choice_.at_edge,
            silhouette=round(model.metrics_.silhouette, 3),
            stability=round(model.stability_.overall, 3),
            sizes=[p.size for p in model.profiles_],
            names=[p.name for p in model.profiles_],
            rules=[f"{r.text()} (P {r.precision:.2f}, R {r.recall:.2f})" for r in model.rules_],
            left_out=model.n_outliers_removed_,
            seconds=round(time.perf_counter() - start, 1),
        )


def _seeds(name: str, data, ks=(4, 6, 8), seeds=range(5)) -> None:
    for k in ks:
        labels = [SegmentationModel(k=k, random_state=s).fit(data).labels_ for s in seeds]
        pairs = [adjusted_rand_score(a, b) for a, b in itertools.combinations(labels, 2)]
        _say(table=name, k=k, seeds=len(labels), mean_pairwise_ari=round(float(np.mean(pairs)), 4))


def _retention(name: str, data, k: int | None) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = ModelStore(root)
        train_and_save(data, data_name="full", store=store, k=k)
        kept = data.sample(frac=0.95, random_state=7)
        version, _ = train_and_save(kept, data_name="95%", store=store, k=k)
        identity = store.metadata(version)["identity"]
        _say(
            table=name,
            k=k or "auto",
            kept_share_same_id_and_name=identity.get("kept_share"),
            matched=[s["matched_to"] for s in identity.get("segments", [])],
        )


def _say(**fields) -> None:
    print(json.dumps(fields, default=str), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", required=True, help="a customer table")
    parser.add_argument("--transactions", help="an order log, aggregated to customers")
    args = parser.parse_args()
    tables = {"customers": read_table(args.customers)}
    if args.transactions:
        tables["transactions"] = customers_from_transactions(read_table(args.transactions))[0]
    for name, data in tables.items():
        _methods(name, data)
    _seeds("customers", tables["customers"])
    for k in (None, 6):
        _retention("customers", tables["customers"], k)


if __name__ == "__main__":
    main()
