"""Customer lifetime value from a transaction log: BG/NBD and Gamma-Gamma, fitted by MAP.

Time is counted in **days** throughout: a customer's ``frequency`` is the number of days
with a purchase after the first one (repeat purchase occasions), ``recency`` the days from
the first to the last purchase day, ``T`` the days from the first purchase day to the day
the log is observed to, and ``monetary_value`` the mean spend of the repeat purchase days.
The BG/NBD model (Fader, Hardie and Lee, 2005) gives each customer's expected purchases
and the probability that they are still active; the Gamma-Gamma model (Fader and Hardie,
2013) their expected spend per purchase, fitted on the repeat customers. Lifetime value is
expected spend over the next months, discounted by a **monthly** rate, as in
``pymc_marketing.clv.customer_lifetime_value`` (a month is 30 days there).

Both models come from ``pymc-marketing``'s CLV module, fitted at their maximum a posteriori
estimate (seconds, not the minutes of sampling); the first fit in a process compiles the
model with PyTensor (about 20 s).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from segmentation.errors import DataError

__all__ = [
    "AT_RISK_BELOW",
    "CLV_COLUMNS",
    "ClvReport",
    "LifetimeValueModel",
    "add_to_customers",
    "customer_lifetime_value",
    "holdout_check",
    "rfm_summary",
    "segment_summary",
    "simulate_log",
]

#: A customer is "at risk" when the probability that they are still active is below this.
AT_RISK_BELOW = 0.5
#: Days of expected purchases reported per customer.
PURCHASE_DAYS = 90
#: Fewest customers and repeat customers (a purchase on two days or more) a fit needs:
#: with fewer, four population parameters are not pinned down by the data.
MIN_CUSTOMERS = 50
MIN_REPEAT_CUSTOMERS = 20
#: Fewest days between the log's first and last day.
MIN_LOG_DAYS = 30
#: The held-out check takes the last HOLDOUT_DAYS of a log at least HOLDOUT_MIN_LOG_DAYS long.
HOLDOUT_DAYS = 90
HOLDOUT_MIN_LOG_DAYS = 270
#: Repeat customers below which estimates are weak whatever the held-out check says.
FEW_REPEAT_CUSTOMERS = 200
#: Repeat customers from which a fit counts as well supported (when the held-out check agrees).
WELL_SUPPORTED_REPEAT = 500
#: Held-out check: predicted total purchases within this share of the actual ones.
HOLDOUT_TOLERANCE = 0.15

#: Columns :func:`customer_lifetime_value` adds per customer (the issue's names).
CLV_COLUMNS = ("p_alive", "expected_purchases_90d", "clv_12m")

_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Per-customer summary
# --------------------------------------------------------------------------------------------


def rfm_summary(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Summarise purchase days per customer the way BG/NBD and Gamma-Gamma read them.

    Parameters
    ----------
    days : pandas.DataFrame
        One row per customer and purchase day: ``CustomerID``, ``Day`` (midnight) and
        ``Spend``, as from :func:`segmentation.data.transactions.purchase_days`.
    as_of : pandas.Timestamp
        Day the log is observed to (not before the last purchase day).

    Returns
    -------
    pandas.DataFrame
        One row per customer, in ``CustomerID`` order: ``customer_id``, ``frequency``
        (repeat purchase days), ``recency`` (days from the first to the last purchase day),
        ``T`` (days from the first purchase day to ``as_of``), ``monetary_value`` (mean
        spend of the repeat purchase days; 0 for one-time buyers), all float but the id.
    """
    grouped = days.groupby("CustomerID", sort=True)
    first, last = grouped["Day"].min(), grouped["Day"].max()
    count = grouped["Day"].size()
    first_spend = days.loc[grouped["Day"].idxmin(), ["CustomerID", "Spend"]].set_index(
        "CustomerID"
    )["Spend"]
    repeat_spend = grouped["Spend"].sum() - first_spend
    frequency = (count - 1).astype("float64")
    monetary = (repeat_spend / frequency.where(frequency > 0)).fillna(0.0)
    return pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(dtype=object),
            "frequency": frequency.to_numpy(),
            "recency": (last - first).dt.days.to_numpy(dtype="float64"),
            "T": (pd.Timestamp(as_of).normalize() - first).dt.days.to_numpy(dtype="float64"),
            "monetary_value": monetary.to_numpy(dtype="float64"),
        }
    )


# --------------------------------------------------------------------------------------------
# The fitted models
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence PyMC's and PyTensor's progress output, logs and warnings around a fit."""
    loggers = [logging.getLogger(name) for name in ("pymc", "pytensor", "pymc_marketing")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _point(model: Any, names: tuple[str, ...]) -> dict[str, float]:
    posterior = model.fit_result
    return {name: float(np.asarray(posterior[name]).ravel()[0]) for name in names}


class LifetimeValueModel(BaseEstimator):
    """BG/NBD (purchases, activity) and Gamma-Gamma (spend per purchase), fitted by MAP.

    Parameters
    ----------
    horizon_months : int, default=12
        Months of future purchases that lifetime value adds up (a month is 30 days).
    discount_rate : float, default=0.01
        Monthly discount rate applied to each future month's spend (0.01 is about 12.7% a
        year); 0 adds the months up undiscounted.

    Attributes
    ----------
    purchase_model_ : pymc_marketing.clv.BetaGeoModel
        The fitted BG/NBD model.
    spend_model_ : pymc_marketing.clv.GammaGammaModel
        The fitted Gamma-Gamma model.
    purchase_params_ : dict
        ``r`` and ``alpha`` (purchase rates ~ Gamma(r, alpha), alpha in days) and ``a``,
        ``b`` (drop-out probability after each purchase ~ Beta(a, b)).
    spend_params_ : dict
        ``p``, ``q``, ``v`` of the Gamma-Gamma model.
    n_customers_, n_repeat_customers_, n_spend_customers_ : int
        Customers the BG/NBD model was fitted on, of them with a repeat purchase, and those
        with a positive repeat spend that the Gamma-Gamma model was fitted on.
    fit_seconds_ : float
        Wall time of the two fits (the first fit in a process includes compiling).
    """

    def __init__(self, *, horizon_months: int = 12, discount_rate: float = 0.01) -> None:
        self.horizon_months = horizon_months
        self.discount_rate = discount_rate

    def fit(self, summary: pd.DataFrame, y: object = None) -> LifetimeValueModel:
        """Fit both models on a per-customer summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            From :func:`rfm_summary`: ``customer_id``, ``frequency``, ``recency``, ``T``,
            ``monetary_value``.
        y : None
            Ignored.

        Returns
        -------
        LifetimeValueModel
            This model, fitted.

        Raises
        ------
        DataError
            When there are too few customers or repeat customers, or a fit does not
            converge to finite parameters.
        """
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

        if not (isinstance(self.horizon_months, int | np.integer) and self.horizon_months >= 1):
            raise ValueError(
                f"horizon_months must be a whole number of months >= 1, got {self.horizon_months!r}"
            )
        if not (0 <= self.discount_rate < 1):
            raise ValueError(
                f"discount_rate is a monthly rate from 0 to 1, got {self.discount_rate!r}"
            )
        repeat = summary["frequency"] > 0
        spenders = repeat & (summary["monetary_value"] > 0)
        if len(summary) < MIN_CUSTOMERS or repeat.sum() < MIN_REPEAT_CUSTOMERS:
            raise DataError(
                f"too little history for lifetime value: {len(summary):,} customers, "
                f"{int(repeat.sum()):,} of them bought on two days or more; the models need "
                f"at least {MIN_CUSTOMERS} customers and {MIN_REPEAT_CUSTOMERS} repeat "
                "customers (use a longer log)"
            )
        if spenders.sum() < MIN_REPEAT_CUSTOMERS:
            raise DataError(
                f"only {int(spenders.sum())} repeat customers have a positive repeat spend; "
                f"the spend model needs at least {MIN_REPEAT_CUSTOMERS}"
            )
        start = time.perf_counter()
        data = summary[["customer_id", "frequency", "recency", "T"]]
        with _quiet():
            purchases = BetaGeoModel()
            purchases.fit(data=data, method="map", progressbar=False)
            spend = GammaGammaModel()
            spend.fit(
                data=summary.loc[spenders, ["customer_id", "frequency", "monetary_value"]],
                method="map",
                progressbar=False,
            )
        self.fit_seconds_ = time.perf_counter() - start
        self.purchase_params_ = _point(purchases, ("r", "alpha", "a", "b"))
        self.spend_params_ = _point(spend, ("p", "q", "v"))
        for name, value in {**self.purchase_params_, **self.spend_params_}.items():
            if not (math.isfinite(value) and value > 0):
                raise DataError(
                    f"the lifetime value fit did not converge ({name} = {value}); the log may "
                    "be too short or too irregular for these models"
                )
        if self.spend_params_["q"] <= 1:
            # The population mean spend v*p/(q-1) is undefined: spend is too heavy-tailed.
            raise DataError(
                f"the spend model did not converge (q = {self.spend_params_['q']:.3g} <= 1): "
                "repeat spend is too heavy-tailed or too few customers have it"
            )
        self.purchase_model_ = purchases
        self.spend_model_ = spend
        self.n_customers_ = len(summary)
        self.n_repeat_customers_ = int(repeat.sum())
        self.n_spend_customers_ = int(spenders.sum())
        return self

    def expected_purchases(self, summary: pd.DataFrame, days: float) -> np.ndarray:
        """Expected purchase days of each customer in the next ``days`` days.

        Parameters
        ----------
        summary : pandas.DataFrame
            As for :meth:`fit` (``monetary_value`` not needed).
        days : float
            Length of the future period, in days.

        Returns
        -------
        numpy.ndarray of shape (n_customers,)
        """
        check_is_fitted(self, "purchase_model_")
        with _quiet():
            out = self.purchase_model_.expected_purchases(
                data=summary[["customer_id", "frequency", "recency", "T"]], future_t=days
            )
        return np.asarray(out).reshape(-1)

    def predict(self, summary: pd.DataFrame) -> pd.DataFrame:
        """Each customer's activity, expected purchases, spend and lifetime value.

        Parameters
        ----------
        summary : pandas.DataFrame
            As for :meth:`fit`.

        Returns
        -------
        pandas.DataFrame
            One row per customer of ``summary`` (same order): ``p_alive`` (0 to 1),
            ``expected_purchases_90d`` (purchase days in the next 90 days),
            ``expected_order_value`` (Gamma-Gamma expected spend per purchase day, shrunk
            towards the population mean for customers with few purchases; the population
            mean for one-time buyers) and ``clv_12m`` (expected discounted spend over
            ``horizon_months``; the column keeps its name whatever the horizon).
        """
        check_is_fitted(self, "purchase_model_")
        from pymc_marketing.clv import customer_lifetime_value as pm_clv

        data = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
        spend = _spend(self.spend_params_, data["frequency"], data["monetary_value"])
        data["future_spend"] = spend
        with _quiet():
            alive = self.purchase_model_.expected_probability_alive(
                data=data[["customer_id", "frequency", "recency", "T"]]
            )
            value = pm_clv(
                self.purchase_model_,
                data,
                future_t=self.horizon_months,
                discount_rate=self.discount_rate,
                time_unit="D",
            )
        return pd.DataFrame(
            {
                "p_alive": np.asarray(alive).reshape(-1),
                "expected_purchases_90d": self.expected_purchases(data, PURCHASE_DAYS),
                "expected_order_value": spend,
                "clv_12m": np.asarray(value).reshape(-1),
            },
            index=summary.index,
        )


def _spend(params: dict[str, float], frequency: pd.Series, monetary: pd.Series) -> np.ndarray:
    """Gamma-Gamma expected spend per purchase (Fader and Hardie 2013, eq. 5).

    Computed here rather than with ``GammaGammaModel.expected_customer_spend`` so that a
    one-time buyer (no repeat spend) gets the population mean instead of a shrunk zero.
    """
    p, q, v = params["p"], params["q"], params["v"]
    x = frequency.to_numpy(dtype="float64")
    m = monetary.to_numpy(dtype="float64")
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * np.where(x > 0, m, 0.0)


# --------------------------------------------------------------------------------------------
# From a log to a table
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClvReport:
    """How a lifetime value estimate was made and how far to trust it.

    Attributes
    ----------
    n_customers, n_repeat_customers, n_spend_customers : int
        Customers the purchase model was fitted on, of them repeat customers, and those the
        spend model was fitted on (repeat customers with a positive repeat spend).
    log_days : int
        Days from the log's first day to ``as_of``.
    as_of : pandas.Timestamp
        Day the log is observed to.
    horizon_months : int
    discount_rate : float
        Monthly.
    purchase_params, spend_params : dict
        Fitted BG/NBD (``r``, ``alpha`` in days, ``a``, ``b``) and Gamma-Gamma (``p``,
        ``q``, ``v``) parameters.
    fit_seconds : float
        Wall time of the fit on the whole log (the held-out check not included).
    holdout : dict or None
        The held-out check, when the log is long enough: ``days`` held out,
        ``n_customers`` (those seen before it), ``predicted`` and ``actual`` total purchase
        days in it, ``ratio`` (predicted / actual) and ``correlation`` of the per-customer
        counts; ``None`` when the log is shorter than ``HOLDOUT_MIN_LOG_DAYS`` days, or
        ``{"error": message}`` when the calibration fit failed.
    trust : {"good", "rough", "weak"}
        ``good``: 500 repeat customers or more and the held-out check within 15%; ``weak``:
        fewer than 200 repeat customers, or the check misses by more than 30%; ``rough``
        otherwise (no check, or a check within 30%).
    trust_reason : str
        Why, in words.
    """

    n_customers: int
    n_repeat_customers: int
    n_spend_customers: int
    log_days: int
    as_of: pd.Timestamp
    horizon_months: int
    discount_rate: float
    purchase_params: dict[str, float]
    spend_params: dict[str, float]
    fit_seconds: float
    holdout: dict[str, Any] | None
    trust: str
    trust_reason: str

    def summary(self) -> str:
        """How far to trust the estimate, in two or three sentences.

        Returns
        -------
        str
        """
        base = (
            f"Lifetime value over {self.horizon_months} months (discounted {self.discount_rate:g} "
            f"a month) from {self.log_days:,} days of purchases by {self.n_customers:,} "
            f"customers; the spend model rests on the {self.n_spend_customers:,} who bought "
            "on two days or more."
        )
        check = self.holdout
        if check is None:
            how = (
                f" No held-out check: the log is shorter than {HOLDOUT_MIN_LOG_DAYS} days, so "
                "treat the values as a rough ranking, not a forecast."
            )
        elif "error" in check:
            how = f" The held-out check could not be made ({check['error']})."
        elif not math.isfinite(check["ratio"]):
            how = (
                f" Held-out check: nobody bought in the last {check['days']} days, so it "
                "could not be compared."
            )
        else:
            how = (
                f" Held-out check: fitted without the last {check['days']} days, the model "
                f"expected {check['predicted']:,.0f} purchase days in them and there were "
                f"{check['actual']:,.0f} ({check['ratio'] - 1:+.0%})."
            )
        return (
            base
            + how
            + f" Trust: {self.trust} - {self.trust_reason}."
            + " A one-time buyer always counts as active in this model (p_alive 1); their low "
            "expected purchases say more."
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe values (``as_of`` as an ISO date).

        Returns
        -------
        dict
        """
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.date().isoformat()
        out["fit_seconds"] = round(self.fit_seconds, 2)
        out["summary"] = self.summary()
        return out


def _trust(n_repeat: int, holdout: dict[str, Any] | None) -> tuple[str, str]:
    """``(level, reason)``: how far the estimates can be trusted, and why."""
    checked = holdout is not None and "error" not in holdout and math.isfinite(holdout["ratio"])
    miss = abs(holdout["ratio"] - 1) if checked else None
    if n_repeat < FEW_REPEAT_CUSTOMERS:
        return "weak", (
            f"only {n_repeat:,} repeat customers, too few to pin the models down; do not plan "
            "on these amounts"
        )
    if miss is not None and miss > 2 * HOLDOUT_TOLERANCE:
        return "weak", (
            f"the held-out check missed by {miss:.0%}: the model does not describe this log "
            "well; do not plan on these amounts"
        )
    if not checked:
        return "rough", "not checked on held-out days; use it to rank customers, not as a forecast"
    if miss <= HOLDOUT_TOLERANCE and n_repeat >= WELL_SUPPORTED_REPEAT:
        return "good", "the held-out check is close; fit for totals and rankings"
    return "rough", (
        f"the held-out check missed by {miss:.0%}"
        + (f" with {n_repeat:,} repeat customers" if n_repeat < WELL_SUPPORTED_REPEAT else "")
        + "; use it to rank customers, not as a forecast"
    )


def holdout_check(
    days: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    holdout_days: int = HOLDOUT_DAYS,
) -> dict[str, Any]:
    """Fit on the log without its last ``holdout_days`` days and compare purchases in them.

    Parameters
    ----------
    days : pandas.DataFrame
        Purchase days, as for :func:`rfm_summary`.
    as_of : pandas.Timestamp
        Day the log is observed to.
    holdout_days : int, default=90
        Days held out at the end of the log.

    Returns
    -------
    dict
        ``days``, ``n_customers`` (customers who bought before the held-out days),
        ``predicted`` and ``actual`` total purchase days in them, ``ratio`` (predicted over
        actual), ``correlation`` of the per-customer predicted and actual counts, and
        ``deciles``: mean predicted and actual per decile of predicted purchases.

    Raises
    ------
    DataError
        When the calibration part is too small to fit (see :meth:`LifetimeValueModel.fit`).
    """
    cutoff = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=holdout_days)
    calibration = days[days["Day"] <= cutoff]
    summary = rfm_summary(calibration, cutoff)
    model = LifetimeValueModel().fit(summary)
    predicted = model.expected_purchases(summary, holdout_days)
    later = days[days["Day"] > cutoff].groupby("CustomerID").size()
    actual = later.reindex(summary["customer_id"]).fillna(0).to_numpy(dtype="float64")
    return _compare(predicted, actual) | {
        "days": holdout_days,
        "n_customers": len(summary),
    }


def _compare(predicted: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    """Totals, their ratio, correlation and decile means of predicted vs actual counts."""
    order = np.argsort(predicted, kind="stable")
    deciles = np.array_split(order, 10)
    total = float(actual.sum())
    return {
        "predicted": float(predicted.sum()),
        "actual": total,
        "ratio": float(predicted.sum() / total) if total else float("nan"),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]) if len(actual) > 1 else 0.0,
        "deciles": [
            {
                "predicted": round(float(predicted[i].mean()), 3),
                "actual": round(float(actual[i].mean()), 3),
            }
            for i in deciles
            if len(i)
        ],
    }


def customer_lifetime_value(
    log: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    as_of: Any = None,
    check: bool = True,
    flags: bool = True,
    dayfirst: bool | None = None,
    **columns: str | None,
) -> tuple[pd.DataFrame, ClvReport]:
    """Estimate each customer's activity, purchases and lifetime value from a transaction log.

    Parameters
    ----------
    log : pandas.DataFrame
        One row per order line, read as for
        :func:`segmentation.data.transactions.customers_from_transactions`.
    horizon_months : int, default=12
        Months that lifetime value adds up (30 days each).
    discount_rate : float, default=0.01
        Monthly discount rate.
    as_of : date-like, optional
        Day the log is observed to (default: its last day).
    check : bool, default=True
        Whether to run :func:`holdout_check` when the log spans at least
        ``HOLDOUT_MIN_LOG_DAYS`` days (a second fit).
    flags : bool, default=True
        Whether error messages about columns name the command line's flags.
    dayfirst : bool, optional
        How dates such as 12/1/2010 read (None: decided from the whole column).
    **columns : str
        ``customer_col``, ``date_col``, ``amount_col``, ``quantity_col``, ``price_col``,
        ``invoice_col`` overriding detection.

    Returns
    -------
    table : pandas.DataFrame
        One row per customer with a purchase, by ``CustomerID``: ``CustomerID``,
        ``frequency``, ``recency``, ``T`` (days), ``monetary_value``, then ``p_alive``,
        ``expected_purchases_90d``, ``expected_order_value`` and ``clv_12m``.
    report : ClvReport
        The fitted parameters, the data behind them and how far to trust them.

    Raises
    ------
    DataError
        When the log cannot be read as a transaction log, is shorter than
        ``MIN_LOG_DAYS`` days, has too few (repeat) customers, or a fit does not converge.
    """
    from segmentation.data.transactions import purchase_days

    days, as_of_day = purchase_days(log, as_of=as_of, flags=flags, dayfirst=dayfirst, **columns)
    log_days = int((as_of_day - days["Day"].min()).days)
    if log_days < MIN_LOG_DAYS:
        raise DataError(
            f"the log covers {log_days} days; lifetime value needs at least {MIN_LOG_DAYS} "
            "days of purchases to tell regular customers from one-off ones"
        )
    summary = rfm_summary(days, as_of_day)
    model = LifetimeValueModel(horizon_months=horizon_months, discount_rate=discount_rate)
    model.fit(summary)
    predicted = model.predict(summary)
    holdout = None
    if check and log_days >= HOLDOUT_MIN_LOG_DAYS:
        try:
            holdout = holdout_check(days, as_of_day)
            del holdout["deciles"]  # for tests and benchmarks; the report keeps the totals
        except DataError as exc:
            holdout = {"error": str(exc)}
    trust, trust_reason = _trust(model.n_repeat_customers_, holdout)
    report = ClvReport(
        n_customers=model.n_customers_,
        n_repeat_customers=model.n_repeat_customers_,
        n_spend_customers=model.n_spend_customers_,
        log_days=log_days,
        as_of=as_of_day,
        horizon_months=horizon_months,
        discount_rate=float(discount_rate),
        purchase_params=model.purchase_params_,
        spend_params=model.spend_params_,
        fit_seconds=model.fit_seconds_,
        holdout=holdout,
        trust=trust,
        trust_reason=trust_reason,
    )
    table = pd.concat([summary.rename(columns={"customer_id": "CustomerID"}), predicted], axis=1)
    return table, report


def add_to_customers(customers: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The customer table with :data:`CLV_COLUMNS` joined on ``CustomerID``.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with ``CustomerID``, as from
        :func:`segmentation.data.transactions.customers_from_transactions`.
    table : pandas.DataFrame
        From :func:`customer_lifetime_value`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``customers`` (same rows, same order) with ``p_alive``,
        ``expected_purchases_90d`` and ``clv_12m`` last; missing for a customer with no
        purchase (only returns).
    """
    found = table.set_index("CustomerID")[list(CLV_COLUMNS)]
    extra = found.reindex(customers["CustomerID"].to_numpy())
    out = customers.drop(columns=[c for c in CLV_COLUMNS if c in customers.columns])
    return out.assign(**{c: extra[c].to_numpy() for c in CLV_COLUMNS})


# --------------------------------------------------------------------------------------------
# Per segment
# --------------------------------------------------------------------------------------------


def segment_summary(labels: pd.Series, clv: pd.DataFrame) -> pd.DataFrame:
    """Total and average lifetime value, and the share of customers at risk, per segment.

    Parameters
    ----------
    labels : pandas.Series
        Segment (name or number) per customer, aligned with ``clv`` on the index.
    clv : pandas.DataFrame
        ``clv_12m`` and ``p_alive`` per customer (missing for customers without a purchase;
        they count in ``customers`` only).

    Returns
    -------
    pandas.DataFrame
        Indexed by segment in order of first appearance: ``customers``, ``customers_valued``
        (with an estimate), ``total_clv``, ``mean_clv``, ``at_risk_share`` (``p_alive``
        below :data:`AT_RISK_BELOW`, among the valued customers) and ``share_of_clv``.

    Raises
    ------
    ValueError
        If ``labels`` and ``clv`` differ in length or a column is missing.
    """
    missing = [c for c in ("clv_12m", "p_alive") if c not in clv.columns]
    if missing:
        raise ValueError(f"columns {missing} are missing; pass the lifetime value table")
    if len(labels) != len(clv):
        raise ValueError(
            f"labels has {len(labels)} values but clv has {len(clv)} rows; pass one per customer"
        )
    frame = pd.DataFrame(
        {
            "segment": labels.to_numpy(),
            "clv": clv["clv_12m"].to_numpy(dtype="float64"),
            "at_risk": (clv["p_alive"] < AT_RISK_BELOW).where(clv["p_alive"].notna()).to_numpy(),
        }
    )
    grouped = frame.groupby("segment", sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "customers_valued": grouped["clv"].count(),
            "total_clv": grouped["clv"].sum(),
            "mean_clv": grouped["clv"].mean(),
            "at_risk_share": grouped["at_risk"].mean().astype("float64"),
        }
    )
    total = out["total_clv"].sum()
    out["share_of_clv"] = out["total_clv"] / total if total else np.nan
    return out


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def simulate_log(
    n_customers: int,
    *,
    days: int = 365,
    r: float = 0.75,
    alpha: float = 20.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.0,
    q: float = 4.0,
    v: float = 15.0,
    start: str = "2024-01-01",
    seed: int = 0,
) -> pd.DataFrame:
    """A transaction log drawn from known BG/NBD and Gamma-Gamma parameters.

    Each customer's first purchase falls uniformly in the first half of the ``days``;
    after it they buy at rate ``lambda ~ Gamma(r, rate=alpha)`` per day (exponential
    gaps), and after each repeat purchase drop out for good with probability
    ``p_drop ~ Beta(a, b)``. Each purchase is worth ``Gamma(p, rate=nu)`` with
    ``nu ~ Gamma(q, rate=v)`` per customer (mean ``p * v / (q - 1)``).

    Parameters
    ----------
    n_customers : int
    days : int, default=365
        Days the log covers (purchases after them are not written).
    r, alpha, a, b : float
        BG/NBD parameters (``alpha`` in days).
    p, q, v : float
        Gamma-Gamma parameters.
    start : str
        The log's first day.
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``InvoiceNo``, ``CustomerID`` (``"C000001"``...), ``InvoiceDate``, ``Amount``, one
        row per purchase, by date. Two purchases can fall on the same day.
    """
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n_customers)
    drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(q, 1 / v, n_customers)
    now = rng.uniform(0, days / 2, n_customers)
    who, when = [np.arange(n_customers)], [now.copy()]
    active = np.arange(n_customers)
    while active.size:
        # The next purchase; after it (a repeat purchase) the customer may drop out for good.
        # As in the model's likelihood, nobody drops out right after their first purchase.
        now_active = now[active] + rng.exponential(1 / rate[active])
        inside = now_active < days
        active, now_active = active[inside], now_active[inside]
        now[active] = now_active
        who.append(active)
        when.append(now_active)
        active = active[rng.random(active.size) >= drop[active]]
    customer = np.concatenate(who)
    at = np.concatenate(when)
    amount = rng.gamma(p, 1 / nu[customer])
    order = np.argsort(at, kind="stable")
    moment = pd.Timestamp(start) + pd.to_timedelta(at[order], unit="D")
    return pd.DataFrame(
        {
            "InvoiceNo": np.arange(1, len(order) + 1),
            "CustomerID": np.char.add("C", np.char.zfill(customer[order].astype(str), 6)),
            "InvoiceDate": moment.floor("min"),
            "Amount": np.round(amount[order], 2),
        }
    )
