"""How well each rule for choosing k does on tables whose number of segments is known.

Run ``python benchmarks/k_choice_suite.py [--seeds N] [--json PATH]``. It builds a suite of
tables with known k (different separations, unequal sizes, elongated shapes, a
categorical column, the project's default generator) and structureless ones (uniform,
one Gaussian, one correlated Gaussian), sweeps k = 2..10 on each through the project's
preprocessing, and reports per rule the k chosen, whether it is right, the ARI of the
chosen k's segments with the truth, and on structureless tables whether the rule says
"none". Rules:

- ``silhouette``: the highest silhouette (the former rule; never says "none").
- ``ps_gap_silhouette``: the shipped rule (:data:`segmentation.modeling.selection.RULE`):
  of the k with prediction strength >= 0.8 whose gap beats one segment's, the highest
  silhouette.
- ``ps_gap_largest``: the largest k passing the same test (Tibshirani & Walther's choice).
- ``prediction_strength``: the largest k with prediction strength >= 0.8 (no gap guard).
- ``split_agreement``: the largest k whose split-half ARI is at least 0.8.
- ``gap``: the gap statistic (Tibshirani, Walther & Hastie 2001), a uniform reference in
  the principal-component box, 5 references; k = 1 means "none".

Also measures seed-to-seed agreement (mean pairwise ARI across 5 seeds) of the final
K-Means fit on realistic tables at forced k.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from segmentation.data.schema import infer_schema
from segmentation.data.synthetic import generate_customers
from segmentation.modeling.features import FeaturePreparer
from segmentation.modeling.preprocess import build_preprocessor
from segmentation.modeling.selection import PS_THRESHOLD, fit_kmeans, sweep_k

K_RANGE = (2, 10)


# -- the suite -------------------------------------------------------------------------
def _frame(X: np.ndarray, extra: dict | None = None) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    for name, values in (extra or {}).items():
        df[name] = values
    return df


def _blobs(n, k, d, std, seed, spread=10.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-spread, spread, size=(k, d))
    X, y = make_blobs(n, centers=centres, cluster_std=std, random_state=seed)
    return X, y


def suite(seed: int) -> list[tuple[str, pd.DataFrame, np.ndarray | None, int | None]]:
    """``(name, table, truth, true k)``; truth and k are None for structureless tables."""
    rng = np.random.default_rng(seed)
    out = []
    for k, d, std, tag in [
        (2, 2, 1.0, "2 clear"),
        (3, 2, 1.0, "3 clear"),
        (4, 5, 1.5, "4 in 5-D"),
        (5, 3, 2.0, "5 moderate"),
        (6, 8, 1.5, "6 in 8-D"),
        (8, 10, 1.5, "8 in 10-D"),
        (4, 2, 2.5, "4 overlapping"),
    ]:
        X, y = _blobs(600, k, d, std, seed + k)
        out.append((tag, _frame(X), y, k))
    # Unequal sizes: 60%, 25%, 10%, 5%.
    X, y = make_blobs(
        [360, 150, 60, 30], centers=[[0, 0], [8, 0], [0, 8], [8, 8]], random_state=seed
    )
    out.append(("4 unequal sizes", _frame(X), y, 4))
    # Elongated: three stretched, sheared clusters.
    X, y = make_blobs(600, centers=[[0, 0], [0, 6], [6, 3]], cluster_std=0.7, random_state=seed)
    X = X @ np.array([[2.5, 0.3], [0.0, 0.6]])
    out.append(("3 elongated", _frame(X), y, 3))
    # A categorical column that follows the clusters (as a region might).
    X, y = _blobs(600, 4, 3, 1.3, seed + 40)
    cats = np.array(["North", "South", "East", "West"])
    noisy = np.where(rng.random(len(y)) < 0.8, y, rng.integers(0, 4, len(y)))
    out.append(("4 with a category", _frame(X, {"region": cats[noisy]}), y, 4))
    # The project's default generator.
    df, personas = generate_customers(1000, seed=seed, return_personas=True)
    out.append(("default generator", df, personas, len(np.unique(personas))))
    # Structureless.
    out.append(("uniform 2-D", _frame(rng.uniform(size=(600, 2))), None, None))
    out.append(("uniform 5-D", _frame(rng.uniform(size=(600, 5))), None, None))
    out.append(("gaussian 3-D", _frame(rng.normal(size=(600, 3))), None, None))
    cov = np.diag([4.0, 2.0, 1.0, 0.5, 0.3])
    rot = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    out.append(
        (
            "correlated gaussian 5-D",
            _frame(rng.multivariate_normal(np.zeros(5), rot @ cov @ rot.T, 600)),
            None,
            None,
        )
    )
    return out


def matrix(df: pd.DataFrame) -> np.ndarray:
    """The table through the project's column roles, features and preprocessing."""
    schema = infer_schema(df, id_column="CustomerID" if "CustomerID" in df else None)
    features, _ = FeaturePreparer(schema=schema).prepare(df)
    return build_preprocessor(schema).fit(features).transform(features)


# -- the rules -------------------------------------------------------------------------
def gap_statistic(X: np.ndarray, k_max: int, seed: int, n_refs: int = 3) -> int:
    """Tibshirani, Walther & Hastie's gap: the smallest k with gap(k) >= gap(k+1) - s(k+1)."""
    rng = np.random.default_rng(seed)
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    refs = [rng.uniform(low, high, size=rotated.shape) @ vt for _ in range(n_refs)]

    def log_w(data, k):
        return np.log(KMeans(k, n_init=3, random_state=seed).fit(data).inertia_)

    gaps, sds = [], []
    for k in range(1, k_max + 2):
        ref = np.array([log_w(r, k) for r in refs])
        gaps.append(ref.mean() - log_w(X, k))
        sds.append(ref.std() * np.sqrt(1 + 1 / n_refs))
    for k in range(1, k_max + 1):
        if gaps[k - 1] >= gaps[k] - sds[k]:
            return k
    return k_max


def choices(sweep, X, seed) -> dict[str, tuple[int | None, str]]:
    """``{rule: (k or None for "none", verdict)}``."""
    cands = sweep.choice.candidates
    passing = [c for c in cands if c.passes]
    strong = [c for c in cands if not c.too_small and c.prediction_strength >= PS_THRESHOLD]
    sil = max(cands, key=lambda c: (c.silhouette, -c.k))
    agree = [c for c in cands if not c.too_small and c.stability >= 0.8]
    gap = gap_statistic(X, K_RANGE[1], seed)
    return {
        "silhouette": (sil.k, "clear"),
        "ps_gap_silhouette": (
            sweep.choice.k if sweep.choice.verdict != "none" else None,
            sweep.choice.verdict,
        ),
        "ps_gap_largest": (passing[-1].k if passing else None, "clear" if passing else "none"),
        "prediction_strength": (strong[-1].k if strong else None, "clear" if strong else "none"),
        "split_agreement": (agree[-1].k if agree else None, "clear" if agree else "none"),
        "gap": (gap if gap > 1 else None, "clear" if gap > 1 else "none"),
    }


# -- seed-to-seed agreement ------------------------------------------------------------
def credit_card_like(n: int, seed: int) -> pd.DataFrame:
    """Correlated, skewed, zero-inflated money columns with no planted clusters."""
    rng = np.random.default_rng(seed)
    base = rng.multivariate_normal(np.zeros(6), 0.5 * np.eye(6) + 0.5, n)
    cols = {
        "BALANCE": np.exp(7 + 1.2 * base[:, 0]),
        "PURCHASES": np.where(rng.random(n) < 0.25, 0, np.exp(6 + 1.4 * base[:, 1])),
        "CASH_ADVANCE": np.where(rng.random(n) < 0.5, 0, np.exp(6 + 1.3 * base[:, 2])),
        "CREDIT_LIMIT": np.exp(8 + 0.7 * base[:, 3]),
        "PAYMENTS": np.exp(6.5 + 1.1 * base[:, 4]),
        "PURCHASES_FREQUENCY": np.clip(0.5 + 0.35 * base[:, 5], 0, 1),
        "TENURE": rng.choice([6, 8, 10, 12, 12, 12, 12], n),
    }
    return pd.DataFrame(cols)


def seed_agreement(X: np.ndarray, k: int, seeds=(0, 1, 2, 3, 4)) -> float:
    labels = [fit_kmeans(X, k, random_state=s).labels_ for s in seeds]
    return float(np.mean([adjusted_rand_score(a, b) for a, b in itertools.combinations(labels, 2)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="suite repetitions (seeds 0..N-1)")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    rows = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        for name, df, truth, true_k in suite(seed):
            X = matrix(df)
            sweep = sweep_k(X, K_RANGE, random_state=seed)
            for rule, (k, verdict) in choices(sweep, X, seed).items():
                ari = None
                if truth is not None and k is not None:
                    ari = adjusted_rand_score(truth, fit_kmeans(X, k, random_state=seed).labels_)
                rows.append(
                    {
                        "seed": seed,
                        "table": name,
                        "true_k": true_k,
                        "rule": rule,
                        "k": k,
                        "verdict": verdict,
                        "ari": ari,
                    }
                )
            ps = " ".join(
                f"{c.k}:{c.prediction_strength:.2f}/{c.gap_gain:+.2f}{'*' if c.too_small else ''}"
                for c in sweep.choice.candidates
            )
            print(
                f"[{seed}] {name:26s} true {true_k}  verdict {sweep.choice.verdict:5s} "
                f"k {sweep.choice.k}  PS {ps}",
                flush=True,
            )
    results = pd.DataFrame(rows)
    known = results[results["true_k"].notna()]
    none = results[results["true_k"].isna()]
    print(f"\nPrediction strength threshold {PS_THRESHOLD}; k = {K_RANGE[0]}..{K_RANGE[1]}")
    print("\nk chosen per table (- = none):")
    shown = results.assign(
        k=results["k"].map(lambda v: "-" if v is None or pd.isna(v) else str(int(v))),
        true_k=results["true_k"].map(lambda v: "none" if pd.isna(v) else str(int(v))),
    )
    wide = shown.groupby(["table", "true_k", "rule"], sort=False)["k"].agg(",".join).unstack()
    print(wide.to_string())
    summary = pd.DataFrame(
        {
            "right k": known.assign(ok=known["k"] == known["true_k"]).groupby("rule")["ok"].sum(),
            "of": known.groupby("rule").size(),
            "mean ARI": known.groupby("rule")["ari"].apply(lambda s: s.fillna(0).mean()),
            "none on structureless": none.assign(n=none["k"].isna()).groupby("rule")["n"].sum(),
            "of structureless": none.groupby("rule").size(),
        }
    )
    print("\nPer rule (ARI of a 'none' answer counted as 0):")
    print(summary.round(3).to_string())

    print("\nSeed-to-seed agreement of the final fit (mean pairwise ARI over seeds 0-4):")
    seed_rows = []
    for name, df in [
        ("credit-card-like 8,950", credit_card_like(8950, 0)),
        ("default generator 5,000", generate_customers(5000, seed=1)),
    ]:
        X = matrix(df)
        for k in (4, 6, 8):
            value = seed_agreement(X, k)
            seed_rows.append({"table": name, "k": k, "seed_ari": value})
            print(f"  {name:26s} k = {k}: {value:.3f}", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rules": rows, "seed_agreement": seed_rows}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
