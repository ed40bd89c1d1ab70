"""Seeded generator of synthetic customers drawn from a handful of latent personas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.config import DEFAULT_SEED

#: The columns of the default dataset, in order.
DEFAULT_COLUMNS = [
    "CustomerID",
    "Age",
    "Gender",
    "Income",
    "SpendingScore",
    "Region",
    "PurchaseFrequency",
    "AvgOrderValue",
    "Recency",
    "TotalSpend",
]

REGIONS = ["North", "South", "East", "West"]
GENDERS = ["Female", "Male"]


@dataclass(frozen=True)
class Persona:
    """One latent customer type: its share of customers and its distributions.

    Money-like quantities are log-normal (``*_median`` with a log-scale ``*_sigma``),
    bounded ones normal then clipped. Spending score moves with income inside a persona,
    so features are correlated the way real customer tables are.
    """

    name: str
    weight: float
    age_mean: float
    age_sd: float
    income_median: float
    income_sigma: float
    score_mean: float
    score_sd: float
    frequency_median: float
    frequency_sigma: float
    order_value_median: float
    order_value_sigma: float
    recency_median: float
    recency_sigma: float
    female_share: float
    region_weights: tuple[float, float, float, float]


#: The latent personas behind the default dataset.
PERSONAS: tuple[Persona, ...] = (
    Persona(
        "Premium Big Spenders",
        0.18,
        45,
        7,
        130_000,
        0.15,
        85,
        6,
        24,
        0.2,
        300,
        0.2,
        10,
        0.4,
        0.5,
        (0.35, 0.15, 0.35, 0.15),
    ),
    Persona(
        "Budget-Conscious Shoppers",
        0.30,
        42,
        10,
        32_000,
        0.18,
        25,
        7,
        10,
        0.25,
        30,
        0.25,
        30,
        0.4,
        0.55,
        (0.2, 0.35, 0.2, 0.25),
    ),
    Persona(
        "Young Frequent Buyers",
        0.22,
        23,
        3,
        38_000,
        0.2,
        70,
        8,
        50,
        0.2,
        22,
        0.25,
        4,
        0.5,
        0.45,
        (0.25, 0.25, 0.25, 0.25),
    ),
    Persona(
        "Lapsed Customers",
        0.17,
        55,
        9,
        60_000,
        0.25,
        18,
        7,
        2,
        0.3,
        70,
        0.3,
        300,
        0.25,
        0.5,
        (0.25, 0.25, 0.2, 0.3),
    ),
    Persona(
        "Affluent Occasional Buyers",
        0.13,
        62,
        5,
        95_000,
        0.15,
        45,
        7,
        5,
        0.25,
        180,
        0.2,
        70,
        0.3,
        0.6,
        (0.3, 0.2, 0.3, 0.2),
    ),
)


def generate_customers(
    n_rows: int = 1000,
    *,
    seed: int = DEFAULT_SEED,
    missing_rate: float = 0.03,
    outlier_rate: float = 0.015,
    return_personas: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Generate a deterministic table of synthetic customers.

    Parameters
    ----------
    n_rows : int, default=1000
        Number of customers.
    seed : int, default=42
        Seed of the random generator: the same seed gives the same table.
    missing_rate : float, default=0.03
        Share of cells emptied in the columns Age, Income, SpendingScore, Region,
        PurchaseFrequency and AvgOrderValue, so preprocessing has imputation to do.
    outlier_rate : float, default=0.015
        Share of rows given one extreme value (income, order value or frequency).
    return_personas : bool, default=False
        Also return each row's latent persona (an index into :data:`PERSONAS`), so
        tests can check that clustering recovers it. It is never a column.

    Returns
    -------
    customers : DataFrame of shape (n_rows, 10)
        Columns :data:`DEFAULT_COLUMNS`. ``TotalSpend`` is roughly
        ``PurchaseFrequency * AvgOrderValue``; ``Recency`` is days since the last purchase.
    personas : ndarray of shape (n_rows,), only when ``return_personas``
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    if not 0 <= missing_rate < 0.5 or not 0 <= outlier_rate < 0.5:
        raise ValueError("missing_rate and outlier_rate must be between 0 and 0.5")
    rng = np.random.default_rng(seed)
    weights = np.array([p.weight for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n_rows, p=weights / weights.sum())

    def per_persona(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in PERSONAS])[persona]

    z = rng.standard_normal((n_rows, 6))
    age = np.clip(per_persona("age_mean") + per_persona("age_sd") * z[:, 0], 18, 85).round()
    income = per_persona("income_median") * np.exp(per_persona("income_sigma") * z[:, 1])
    income = (income / 100).round() * 100
    # Within a persona, richer customers score a little higher.
    score = per_persona("score_mean") + per_persona("score_sd") * (0.4 * z[:, 1] + 0.9 * z[:, 2])
    score = np.clip(score, 1, 100).round()
    frequency = per_persona("frequency_median") * np.exp(per_persona("frequency_sigma") * z[:, 3])
    frequency = np.maximum(frequency.round(), 1)
    order_value = per_persona("order_value_median") * np.exp(
        per_persona("order_value_sigma") * (0.3 * z[:, 1] + 0.95 * z[:, 4])
    )
    order_value = order_value.round(2)
    recency = per_persona("recency_median") * np.exp(per_persona("recency_sigma") * z[:, 5])
    recency = np.clip(recency.round(), 0, 730)
    total = frequency * order_value * rng.normal(1.0, 0.08, n_rows)
    total = np.maximum(total, 0).round(2)

    gender = np.where(rng.random(n_rows) < per_persona("female_share"), *GENDERS)
    region_probs = np.array([p.region_weights for p in PERSONAS])[persona]
    region_idx = (rng.random((n_rows, 1)) > np.cumsum(region_probs, axis=1)).sum(axis=1)
    region = np.array(REGIONS)[np.minimum(region_idx, len(REGIONS) - 1)]

    df = pd.DataFrame(
        {
            "CustomerID": [f"C{i:06d}" for i in range(1, n_rows + 1)],
            "Age": age,
            "Gender": gender.astype(object),
            "Income": income,
            "SpendingScore": score,
            "Region": region.astype(object),
            "PurchaseFrequency": frequency,
            "AvgOrderValue": order_value,
            "Recency": recency,
            "TotalSpend": total,
        }
    )

    n_outliers = int(round(outlier_rate * n_rows))
    if n_outliers:
        rows = rng.choice(n_rows, size=n_outliers, replace=False)
        columns = rng.choice(["Income", "AvgOrderValue", "PurchaseFrequency"], size=n_outliers)
        factors = rng.uniform(20, 60, size=n_outliers)
        for column in ("Income", "AvgOrderValue", "PurchaseFrequency"):
            hit = rows[columns == column]
            scaled = df.loc[hit, column] * factors[columns == column]
            # Counts stay whole numbers, money keeps its cents.
            df.loc[hit, column] = scaled.round(0 if column == "PurchaseFrequency" else 2)

    if missing_rate:
        for column in (
            "Age",
            "Income",
            "SpendingScore",
            "Region",
            "PurchaseFrequency",
            "AvgOrderValue",
        ):
            # The columns together hold about ``missing_rate`` of their cells empty.
            hit = rng.random(n_rows) < missing_rate
            df.loc[hit, column] = np.nan

    return (df, persona) if return_personas else df


def generate_transactions(
    n_lines: int, *, n_customers: int | None = None, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Generate a seeded order log shaped like the UCI Online Retail export.

    Orders are spread over a year (``InvoiceDate`` written month-first, ``12/01/2010
    08:26``); about 2% of orders are cancellations (invoice ``C...``, negative quantities)
    and about 2% of lines have no customer, as in the real export.

    Parameters
    ----------
    n_lines : int
        Order lines.
    n_customers : int, optional
        Distinct customers (default: one per ten lines).
    seed : int, default DEFAULT_SEED

    Returns
    -------
    pandas.DataFrame
        Columns ``InvoiceNo`` (str), ``StockCode`` (str), ``Quantity`` (int),
        ``InvoiceDate`` (str), ``UnitPrice`` (float), ``CustomerID`` (float, NaN when
        missing), ``Country`` (str); ``n_lines`` rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if n_lines < 1:
        raise ValueError(f"n_lines must be at least 1, got {n_lines}")
    n_customers = n_customers or max(1, n_lines // 10)
    rng = np.random.default_rng(seed)
    n_orders = max(1, n_lines // 5)
    order_customer = rng.integers(0, n_customers, n_orders)
    order_minute = rng.integers(0, 373 * 24 * 60, n_orders)
    cancelled = rng.random(n_orders) < 0.02
    line_order = np.sort(rng.integers(0, n_orders, n_lines))
    invoice = pc.binary_join_element_wise(
        pa.array(np.where(cancelled[line_order], "C", "")),
        pc.cast(pa.array(536365 + line_order), pa.string()),
        "",
    )
    start = np.datetime64("2010-12-01T08:00", "m")
    when = pa.array((start + order_minute[line_order]).astype("datetime64[s]"))
    quantity = rng.integers(1, 25, n_lines) * np.where(cancelled[line_order], -1, 1)
    customer = (12346 + order_customer[line_order]).astype("float64")
    customer[rng.random(n_lines) < 0.02] = np.nan
    codes = np.array([f"{85000 + i}" for i in range(200)] + ["85123A", "POST", "M"])
    countries = np.array(["United Kingdom"] * 9 + ["Germany", "France", "EIRE"])
    return pd.DataFrame(
        {
            "InvoiceNo": invoice.to_pandas(),
            "StockCode": codes[rng.integers(0, len(codes), n_lines)],
            "Quantity": quantity,
            "InvoiceDate": pc.strftime(when, format="%m/%d/%Y %H:%M").to_pandas(),
            "UnitPrice": np.round(rng.gamma(2.0, 2.0, n_lines), 2),
            "CustomerID": customer,
            "Country": countries[rng.integers(0, len(countries), n_lines)],
        }
    )
