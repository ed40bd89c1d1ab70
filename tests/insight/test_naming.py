"""Segment names come from what the traits mean, and recommendations never contradict them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from segmentation.data.schema import infer_schema
from segmentation.insight.naming import (
    MAX_NAME,
    column_meaning,
    name_segments,
    trait_phrase,
)
from segmentation.insight.profiles import profile_segments
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.features import prepare_features

MALL_GROUPS = {  # (annual income k$, spending score): the name the group should get
    (25, 20): "Budget-Conscious Shoppers",
    (25, 80): "Aspirational Impulse Buyers",
    (90, 82): "Premium Big Spenders",
    (90, 18): "Cautious Affluent Customers",
}


def mall_table(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The mall shape: five income x spending-score groups, the middle one average."""
    rng = np.random.default_rng(seed)
    centres = [*MALL_GROUPS, (55, 50)]
    frames = []
    for g, (income, score) in enumerate(centres):
        frames.append(
            pd.DataFrame(
                {
                    "Gender": rng.choice(["Male", "Female"], n),
                    "Age": rng.integers(18, 70, n),
                    "Annual Income (k$)": rng.normal(income, 5, n).round(),
                    "Spending Score (1-100)": np.clip(rng.normal(score, 5, n), 1, 100).round(),
                    "group": g,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "CustomerID", np.arange(1, len(table) + 1))
    return table.drop(columns="group"), table["group"].to_numpy()


CARD_GROUPS = {
    "Revolvers Carrying a Balance": dict(
        BALANCE=4000, PURCHASES=300, ONEOFF_PURCHASES=200, INSTALLMENTS_PURCHASES=100,
        CASH_ADVANCE=200, CASH_ADVANCE_FREQUENCY=0.05, PURCHASES_FREQUENCY=0.2,
        PRC_FULL_PAYMENT=0.0, CREDIT_LIMIT=5000, PAYMENTS=800,
    ),
    "Transactors Paying in Full": dict(
        BALANCE=300, PURCHASES=2500, ONEOFF_PURCHASES=1500, INSTALLMENTS_PURCHASES=400,
        CASH_ADVANCE=50, CASH_ADVANCE_FREQUENCY=0.02, PURCHASES_FREQUENCY=0.9,
        PRC_FULL_PAYMENT=0.9, CREDIT_LIMIT=6000, PAYMENTS=2500,
    ),
    "Cash-Advance Users": dict(
        BALANCE=2500, PURCHASES=200, ONEOFF_PURCHASES=150, INSTALLMENTS_PURCHASES=50,
        CASH_ADVANCE=3500, CASH_ADVANCE_FREQUENCY=0.6, PURCHASES_FREQUENCY=0.15,
        PRC_FULL_PAYMENT=0.05, CREDIT_LIMIT=4500, PAYMENTS=3000,
    ),
    "Installment Buyers": dict(
        BALANCE=900, PURCHASES=1200, ONEOFF_PURCHASES=100, INSTALLMENTS_PURCHASES=1100,
        CASH_ADVANCE=60, CASH_ADVANCE_FREQUENCY=0.03, PURCHASES_FREQUENCY=0.85,
        PRC_FULL_PAYMENT=0.2, CREDIT_LIMIT=3500, PAYMENTS=1100,
    ),
}  # fmt: skip


def card_table(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The credit-card shape with four planted behaviours (revolver, transactor, cash
    advance, installments); the tenure varies too."""
    rng = np.random.default_rng(seed)
    frames = []
    for g, centres in enumerate(CARD_GROUPS.values()):
        frame = pd.DataFrame(
            {c: np.abs(rng.normal(v, abs(v) * 0.1 + 1e-3, n)) for c, v in centres.items()}
        )
        for rate in ("CASH_ADVANCE_FREQUENCY", "PURCHASES_FREQUENCY", "PRC_FULL_PAYMENT"):
            frame[rate] = frame[rate].clip(0, 1)
        frame["TENURE"] = rng.integers(11, 13, n)
        frame["group"] = g
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "CUST_ID", [f"C{i:05d}" for i in range(len(table))])
    return table.drop(columns="group"), table["group"].to_numpy()


def profiles_of(table: pd.DataFrame, labels: np.ndarray):
    schema = infer_schema(table)
    features, _ = prepare_features(table, schema)
    return profile_segments(features, labels, schema.with_descriptors())


def test_mall_groups_are_named_by_income_and_spending_together():
    table, labels = mall_table()
    names = [p.name for p in profiles_of(table, labels)]
    assert names[:4] == list(MALL_GROUPS.values())
    assert names[4] == "Typical Customers"


def test_mall_groups_found_by_the_model_get_the_same_names():
    table, labels = mall_table(seed=1)
    model = SegmentationModel(k=5, random_state=0).fit(table)
    for profile in model.profiles_:
        planted = np.bincount(labels[model.labels_ == profile.cluster], minlength=5).argmax()
        expected = [*MALL_GROUPS.values(), "Typical Customers"][planted]
        assert profile.name == expected


def test_credit_card_behaviours_get_the_card_vocabulary():
    table, labels = card_table()
    names = [p.name for p in profiles_of(table, labels)]
    assert names == list(CARD_GROUPS)


def test_a_low_income_group_is_never_offered_premium_nor_the_affluent_value_first():
    table, labels = mall_table()
    profiles = profiles_of(table, labels)
    aspirational = profiles[1]
    assert not any(
        word in r.lower()
        for r in aspirational.recommendations
        for word in ("premium", "vip", "upsell", "upgrade", "luxury")
    )
    for affluent in (profiles[2], profiles[3]):
        first = affluent.recommendations[0].lower()
        assert not any(w in first for w in ("value", "discount", "coupon", "promotion"))


PREMIUM_WORDS = ("premium", "vip", "upsell", "upgrade", "luxury")
VALUE_WORDS = ("value", "discount", "coupon", "price-match")


def test_recommendations_never_contradict_the_traits_for_any_profile():
    """Every archetype and the fallback, over many random segment profiles."""
    rng = np.random.default_rng(7)
    meanings = ["income", "spend", "frequency", "recency", "age", "tenure", "balance",
                "cash_advance", "installments", "oneoff", "full_payment"]  # fmt: skip
    columns = {
        "income": "Income", "spend": "TotalSpend", "frequency": "PURCHASES_FREQUENCY",
        "recency": "Recency", "age": "Age", "tenure": "TENURE", "balance": "BALANCE",
        "cash_advance": "CASH_ADVANCE", "installments": "INSTALLMENTS_PURCHASES",
        "oneoff": "ONEOFF_PURCHASES", "full_payment": "PRC_FULL_PAYMENT",
    }  # fmt: skip
    checked = 0
    for _ in range(300):
        k = 6
        z = pd.DataFrame(rng.normal(0, 1.2, (k, len(meanings))), columns=list(columns.values()))
        scores = [
            {m: 0.0 for m in (*meanings, "credit_limit", "payments")}
            | {m: float(z.at[c, columns[m]]) for m in meanings}
            for c in range(k)
        ]
        names, recommendations = name_segments(scores, z, {})
        assert len(set(names)) == k
        for c in range(k):
            recs = recommendations[c]
            assert 2 <= len(recs) <= 4
            income = scores[c]["income"]
            if income <= -0.3:
                text = " ".join(recs).lower()
                assert not any(w in text for w in PREMIUM_WORDS), (names[c], income, recs)
                checked += 1
            if income >= 0.3:
                text = " ".join(recs).lower()
                assert not any(w in text for w in VALUE_WORDS), (names[c], income, recs)
                checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    "column,meaning,kind",
    [
        ("PURCHASES", "spend", "money"),
        ("ONEOFF_PURCHASES", "oneoff", "money"),
        ("INSTALLMENTS_PURCHASES", "installments", "money"),
        ("PURCHASES_FREQUENCY", "frequency", "rate"),
        ("PURCHASES_TRX", "frequency", "count"),
        ("NumWebPurchases", "frequency", "count"),
        ("MntWines", "spend", "money"),
        ("CASH_ADVANCE", "cash_advance", "money"),
        ("CASH_ADVANCE_FREQUENCY", "cash_advance", "rate"),
        ("PRC_FULL_PAYMENT", "full_payment", "rate"),
        ("CREDIT_LIMIT", "credit_limit", "money"),
        ("Spending Score (1-100)", "spend", "score"),
        ("Annual Income (k$)", "income", "money"),
        ("Dt_Customer", "tenure", "other"),
        ("days_since_last_purchase", "recency", "other"),
    ],
)
def test_money_columns_are_not_counts(column, meaning, kind):
    found = column_meaning(column)
    assert (found.meaning, found.kind) == (meaning, kind)


def test_a_money_purchases_column_is_shown_as_money_not_a_frequency():
    """PURCHASES holds amounts: a segment high on it is not called frequent buyers."""
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {
            "PURCHASES": np.r_[rng.normal(5000, 200, 80), rng.normal(300, 30, 80)],
            "PURCHASES_FREQUENCY": rng.uniform(0.4, 0.6, 160),
        }
    )
    profiles = profiles_of(table, np.r_[np.zeros(80, int), np.ones(80, int)])
    assert profiles[0].name == "Big Spenders"
    assert "Frequent" not in profiles[0].name
    # Money traits without decimals, named in words.
    pattern = r"Purchases (much )?higher than average \(\d,\d{3} vs \d,\d{3}\)$"
    assert any(re.match(pattern, t) for t in profiles[0].traits), profiles[0].traits


def test_fallback_names_are_words_near_duplicates_named_once_and_short():
    rng = np.random.default_rng(4)
    n = 80
    balance = np.r_[rng.normal(6000, 300, n), rng.normal(800, 100, n), rng.normal(3000, 200, n)]
    table = pd.DataFrame(
        {
            "BALANCE": balance,
            # Two near-duplicate columns (correlation above 0.9): named once.
            "WIDGET_SCORE_A": np.r_[
                rng.normal(10, 1, n), rng.normal(50, 2, n), rng.normal(30, 1, n)
            ],
            "WIDGET_SCORE_B": 0,
            "CASH_ADVANCE_FREQUENCY": np.r_[rng.uniform(0.5, 0.7, n), rng.uniform(0, 0.1, n),
                                            rng.uniform(0.1, 0.2, n)],
        }
    )  # fmt: skip
    table["WIDGET_SCORE_B"] = table["WIDGET_SCORE_A"] * 2 + rng.normal(0, 0.5, 3 * n)
    labels = np.repeat([0, 1, 2], n)
    profiles = profiles_of(table, labels)
    names = [p.name for p in profiles]
    assert len(set(names)) == 3
    for name in names:
        assert len(name) <= MAX_NAME
        assert "WIDGET" not in name and "BALANCE" not in name and "_" not in name
        # Of the two near-duplicates, at most one is named.
        assert not ("widget score A" in name and "widget score B" in name)
    assert names[0] == "Cash-Advance Users"
    assert any(
        name.startswith(("High balance", "Low balance")) or "widget" in name for name in names[1:]
    )


@pytest.mark.parametrize(
    "column,high,low",
    [
        ("CASH_ADVANCE_FREQUENCY", "frequent cash advances", "rare cash advances"),
        ("BALANCE", "high balance", "low balance"),
        (
            "PURCHASES_INSTALLMENTS_FREQUENCY",
            "frequent installment purchases",
            "rare installment purchases",
        ),
        ("NumWebPurchases", "many web purchases", "few web purchases"),
        ("MntWines", "high spend on wines", "low spend on wines"),
        ("PRC_FULL_PAYMENT", "often pay in full", "rarely pay in full"),
        ("Year_Birth", "younger", "older"),
    ],
)  # fmt: skip
def test_trait_phrases_read_like_words(column, high, low):
    assert trait_phrase(column, 1.0) == high
    assert trait_phrase(column, -1.0) == low


def test_lapsed_and_new_customers():
    rng = np.random.default_rng(5)
    n = 60
    table = pd.DataFrame(
        {
            "Recency": np.r_[rng.normal(300, 20, n), rng.normal(20, 5, n), rng.normal(25, 5, n)],
            "TenureDays": np.r_[
                rng.normal(900, 50, n), rng.normal(40, 10, n), rng.normal(950, 50, n)
            ],
            "TotalSpend": rng.normal(500, 20, 3 * n),
        }
    )  # fmt: skip
    names = [p.name for p in profiles_of(table, np.repeat([0, 1, 2], n))]
    assert names[0] == "Lapsed Customers"
    assert names[1] == "New Customers"


def test_a_noun_before_purchases_reads_as_a_modifier():
    """'NumDealsPurchases' is 'deal purchases', not 'deals purchases'."""
    from segmentation.insight.naming import trait_phrase

    assert trait_phrase("NumDealsPurchases", 1) == "many deal purchases"
    assert trait_phrase("NumWebPurchases", -1) == "few web purchases"
