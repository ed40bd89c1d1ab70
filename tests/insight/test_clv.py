"""Customer lifetime value: the per-customer summary, the fits, and a simulation check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.data.transactions import purchase_days
from segmentation.errors import DataError
from segmentation.insight import clv

TRUE = {"r": 0.75, "alpha": 20.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}
HOLDOUT = 90


def _days(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["CustomerID", "Day", "Spend"])
    frame["Day"] = pd.to_datetime(frame["Day"])
    return frame


def test_summary_counts_repeat_days_and_their_mean_spend():
    days = _days(
        [
            ("A", "2024-01-01", 100.0),  # the first purchase: not in monetary_value
            ("A", "2024-01-11", 20.0),
            ("A", "2024-01-31", 40.0),
            ("B", "2024-01-21", 50.0),
        ]
    )
    summary = clv.rfm_summary(days, pd.Timestamp("2024-02-10"))
    a, b = summary.set_index("customer_id").loc[["A", "B"]].to_dict("records")
    assert a == {"frequency": 2, "recency": 30, "T": 40, "monetary_value": 30.0}
    assert b == {"frequency": 0, "recency": 0, "T": 20, "monetary_value": 0.0}


def test_segment_summary_totals_means_and_share_at_risk():
    table = pd.DataFrame(
        {"clv_12m": [10.0, 30.0, 60.0, np.nan], "p_alive": [0.9, 0.2, 0.4, np.nan]}
    )
    labels = pd.Series(["Loyal", "Loyal", "Lapsing", "Lapsing"])
    out = clv.segment_summary(labels, table)
    assert out.loc["Loyal"].to_dict() == pytest.approx(
        {
            "customers": 2,
            "customers_valued": 2,
            "total_clv": 40.0,
            "mean_clv": 20.0,
            "at_risk_share": 0.5,
            "share_of_clv": 0.4,
        }
    )
    # The customer without an estimate counts in the size, not in the values.
    assert out.loc["Lapsing", "customers"] == 2
    assert out.loc["Lapsing", "mean_clv"] == 60.0
    assert out.loc["Lapsing", "at_risk_share"] == 1.0


def test_segment_summary_needs_one_label_per_customer():
    with pytest.raises(ValueError, match="one per customer"):
        clv.segment_summary(pd.Series(["a"]), pd.DataFrame({"clv_12m": [1, 2], "p_alive": 1}))


def test_simulated_log_is_seeded_and_readable_as_a_log():
    first, again = clv.simulate_log(200, seed=4), clv.simulate_log(200, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert first["CustomerID"].nunique() == 200
    assert (first["Amount"] > 0).all()
    days, _ = purchase_days(first)
    assert days["CustomerID"].nunique() == 200


@pytest.mark.parametrize(
    ("n", "days", "match"),
    [(300, 20, "covers 19 days"), (30, 365, "too little history")],
    ids=["short-log", "few-customers"],
)
def test_too_little_history_is_a_clear_error_not_a_fit(n, days, match):
    log = clv.simulate_log(n, days=days, seed=1)
    with pytest.raises(DataError, match=match):
        clv.customer_lifetime_value(log)


@pytest.mark.parametrize(
    ("n_repeat", "ratio", "level"),
    [
        (5000, 1.05, "good"),
        (5000, None, "rough"),
        (300, 1.05, "rough"),
        (5000, 1.25, "rough"),
        (5000, 1.5, "weak"),
        (100, 1.0, "weak"),
        (5000, float("nan"), "rough"),
    ],
    ids=["close", "unchecked", "few-repeat", "off-by-25%", "off-by-50%", "too-few", "no-buyers"],
)
def test_trust_never_rounds_a_weak_fit_up(n_repeat, ratio, level):
    holdout = None if ratio is None else {"ratio": ratio}
    assert clv._trust(n_repeat, holdout)[0] == level


# -- fits (PyMC): a few, sharing the fitted models -----------------------------------------


@pytest.fixture(scope="module")
def simulation():
    """4,000 customers over a year from known parameters; fitted on all but the last 90 days."""
    log = clv.simulate_log(4000, days=365, seed=11)
    days, as_of = purchase_days(log)
    cutoff = as_of - pd.Timedelta(days=HOLDOUT)
    calibration = clv.rfm_summary(days[days["Day"] <= cutoff], cutoff)
    model = clv.LifetimeValueModel().fit(calibration)
    later = days[days["Day"] > cutoff].groupby("CustomerID").size()
    actual = later.reindex(calibration["customer_id"]).fillna(0).to_numpy()
    predicted = model.expected_purchases(calibration, HOLDOUT)
    return model, calibration, predicted, actual


@pytest.mark.slow
def test_expected_purchases_in_held_out_days_track_the_simulated_ones(simulation):
    """As an analyst I can trust the model's purchase forecast when its assumptions hold."""
    _, _, predicted, actual = simulation
    assert predicted.sum() / actual.sum() == pytest.approx(1.0, abs=0.10)
    assert np.corrcoef(predicted, actual)[0, 1] > 0.6
    # Per decile of predicted purchases, the actual mean follows the prediction.
    order = np.argsort(predicted, kind="stable")
    deciles = np.array_split(order, 10)
    mean_predicted = np.array([predicted[d].mean() for d in deciles])
    mean_actual = np.array([actual[d].mean() for d in deciles])
    assert np.all(np.diff(mean_actual[4:]) > 0)  # the busier half rises decile by decile
    assert mean_actual[-1] == pytest.approx(mean_predicted[-1], rel=0.15)
    assert np.abs(mean_actual - mean_predicted).max() < 0.35


@pytest.mark.slow
def test_fitted_parameters_are_near_the_simulated_ones(simulation):
    model, *_ = simulation
    fitted = model.purchase_params_
    assert fitted["r"] == pytest.approx(TRUE["r"], rel=0.25)
    assert fitted["alpha"] == pytest.approx(TRUE["alpha"], rel=0.3)
    # a and b trade off; their mean drop-out probability a / (a + b) is what is pinned down.
    mean_drop = fitted["a"] / (fitted["a"] + fitted["b"])
    assert mean_drop == pytest.approx(TRUE["a"] / (TRUE["a"] + TRUE["b"]), rel=0.25)
    spend = model.spend_params_
    mean_spend = spend["p"] * spend["v"] / (spend["q"] - 1)
    assert mean_spend == pytest.approx(TRUE["p"] * TRUE["v"] / (TRUE["q"] - 1), rel=0.1)


@pytest.mark.slow
def test_scores_are_probabilities_and_money(simulation):
    model, calibration, *_ = simulation
    scores = model.predict(calibration)
    assert list(scores.columns) == [
        "p_alive",
        "expected_purchases_90d",
        "expected_order_value",
        "clv_12m",
    ]
    assert scores.notna().all().all()
    assert scores["p_alive"].between(0, 1).all()
    assert (scores[["expected_purchases_90d", "expected_order_value", "clv_12m"]] >= 0).all().all()
    # BG/NBD: nobody is seen dropping out before a repeat purchase.
    assert (scores.loc[calibration["frequency"] == 0, "p_alive"] == 1).all()
    # Discounting lowers the value; a longer horizon raises it.
    model.set_params(discount_rate=0.0)
    undiscounted = model.predict(calibration)["clv_12m"]
    model.set_params(discount_rate=0.01, horizon_months=24)
    longer = model.predict(calibration)["clv_12m"]
    model.set_params(horizon_months=12)
    assert (undiscounted >= scores["clv_12m"] - 1e-9).all()
    assert (longer >= scores["clv_12m"] - 1e-9).all()
    assert undiscounted.sum() > scores["clv_12m"].sum() > 0
