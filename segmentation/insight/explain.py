"""Why this customer: the nearest segment, the runner-up, the margin and what pulls.

A customer is labeled the way the algorithm registry says new customers are labeled
(``assigns_new_by``), and the runner-up and margin follow the same notion:

- nearest centre (K-Means, Ward) and nearest prototype (k-prototypes): the runner-up is
  the second nearest centre, the **margin** is its distance minus the nearest one's, in
  the model's scaled space (k-prototypes: its own distance, categories that differ
  counted ``gamma`` each); ``margin_kind`` is ``"distance"``;
- most probable (a Gaussian mixture): the runner-up is the second most probable segment,
  the margin is the difference of the two posteriors; ``margin_kind`` is
  ``"probability"``.

The **relative margin** is the margin over the runner-up's distance (distance) or over
the top probability (probability): 0 for a customer exactly between two segments, 1 for
one at a centre (or certain). Under :data:`CLOSE_CALL` (10%) the label is a close call.

The features that pull a customer toward its segment rather than the runner-up are the
terms of the difference of the squared distances to the two centres, one per
preprocessed column, summed back to the customer's columns (a one-hot block is one
column). For a Gaussian mixture, whose posteriors do not split by feature, the same is
measured against the two segments' mean customers, and ``basis`` says so.

Nothing here imports Streamlit; sentences use the house number formatting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.modeling.algorithms import MOST_PROBABLE, NEAREST_PROTOTYPE

#: Relative margin under which a label is called a close call.
CLOSE_CALL = 0.10
#: Features listed as pulling a customer toward its segment.
TOP_FEATURES = 3
#: Names of the columns ``predict --data ... --explain`` adds, in order.
EXPLAIN_COLUMNS = ("runner_up_segment", "margin")


@dataclass(frozen=True)
class RunnerUp:
    """Nearest and runner-up segment of each row, and the margin between them.

    Attributes
    ----------
    nearest, runner_up : ndarray of int, shape (n_rows,)
    nearest_score, runner_up_score : ndarray of float, shape (n_rows,)
        Distances (``kind == "distance"``) or posterior probabilities (``"probability"``).
    margin : ndarray of float, shape (n_rows,)
        Runner-up distance minus nearest distance, or top probability minus the runner-up's.
    relative_margin : ndarray of float, shape (n_rows,)
        ``margin`` over the runner-up distance, or over the top probability (0 to 1).
    kind : str
        ``"distance"`` or ``"probability"``.
    """

    nearest: np.ndarray
    runner_up: np.ndarray
    nearest_score: np.ndarray
    runner_up_score: np.ndarray
    margin: np.ndarray
    relative_margin: np.ndarray
    kind: str

    @property
    def close_call(self) -> np.ndarray:
        """True where the relative margin is under :data:`CLOSE_CALL`."""
        return self.relative_margin < CLOSE_CALL


def margin_kind(assigns_new_by: str) -> str:
    """``"probability"`` for an algorithm that labels by the most probable segment, else
    ``"distance"``."""
    return "probability" if assigns_new_by == MOST_PROBABLE else "distance"


def runner_up_from_scores(scores: np.ndarray, nearest: np.ndarray, assigns_new_by: str) -> RunnerUp:
    """The runner-up of every row from its score for every segment.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, k)
        Distances to every centre (smaller is nearer), or posterior probabilities for
        :data:`~segmentation.modeling.algorithms.MOST_PROBABLE` (larger is likelier).
    nearest : ndarray of int, shape (n_rows,)
        The assigned segment of every row, as the labeler chose it.
    assigns_new_by : str
        The registry's ``assigns_new_by``.

    Returns
    -------
    RunnerUp
    """
    kind = margin_kind(assigns_new_by)
    n = len(nearest)
    rows = np.arange(n)
    masked = np.array(scores, dtype=float, copy=True)
    masked[rows, nearest] = -np.inf if kind == "probability" else np.inf
    runner = masked.argmax(axis=1) if kind == "probability" else masked.argmin(axis=1)
    top = scores[rows, nearest]
    second = scores[rows, runner]
    if kind == "probability":
        margin = top - second
        base = top
    else:
        margin = second - top
        base = second
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(base > 0, margin / np.where(base > 0, base, 1.0), 0.0)
    return RunnerUp(
        nearest=np.asarray(nearest, dtype=np.int64),
        runner_up=runner.astype(np.int64),
        nearest_score=top,
        runner_up_score=second,
        margin=margin,
        relative_margin=np.clip(relative, 0.0, 1.0),
        kind=kind,
    )


def segment_scores(model, X: np.ndarray) -> np.ndarray:
    """Every row's score for every segment, by the model's labeling rule.

    Distances in the scaled space for nearest-centre and nearest-prototype algorithms
    (computed directly, as the labelers compute the distance to the chosen centre),
    posterior probabilities for a Gaussian mixture.

    Returns
    -------
    ndarray of shape (n_rows, k)
    """
    clusterer = model.clusterer_
    how = model.algorithm_.assigns_new_by
    X = np.asarray(X, dtype=float)
    if how == MOST_PROBABLE:
        return clusterer.predict_proba(X)
    if how == NEAREST_PROTOTYPE:
        return np.sqrt(np.maximum(clusterer._cost(X), 0.0))
    centers = clusterer.cluster_centers_
    out = np.empty((len(X), len(centers)))
    for c, center in enumerate(centers):
        diff = X - center
        out[:, c] = np.sqrt((diff * diff).sum(axis=1))
    return out


def runner_up(model, X: np.ndarray, nearest: np.ndarray) -> RunnerUp:
    """:func:`runner_up_from_scores` for preprocessed rows ``X`` labeled ``nearest``."""
    return runner_up_from_scores(segment_scores(model, X), nearest, model.algorithm_.assigns_new_by)


# -- what pulls one customer ----------------------------------------------------------------
def column_owners(preprocess) -> list[str]:
    """The customer column behind each column of the fitted preprocessor's output."""
    owners: list[str] = []
    for name, pipeline, columns in preprocess.transformers_:
        if name == "remainder" or pipeline == "drop":
            continue
        steps = pipeline.named_steps
        if "onehot" in steps:
            for column, cats in zip(columns, steps["onehot"].categories_, strict=True):
                owners += [column] * len(cats)
        else:
            owners += list(columns)
    return owners


def pull_terms(model, x: np.ndarray, nearest: int, runner: int) -> dict[str, float]:
    """How much each customer column pulls one row toward ``nearest`` rather than ``runner``.

    The squared distance to the runner-up's centre minus that to the nearest centre, term
    by term (k-prototypes: ``gamma`` for a category that matches one prototype and not the
    other), summed per customer column. Positive pulls toward ``nearest``; the terms add
    up to the difference of the squared distances.
    """
    x = np.asarray(x, dtype=float).ravel()
    clusterer = model.clusterer_
    centers = np.asarray(clusterer.cluster_centers_, dtype=float)
    owners = column_owners(model.pipeline_.named_steps["preprocess"])
    near, far = centers[nearest], centers[runner]
    if model.algorithm_.assigns_new_by == NEAREST_PROTOTYPE:
        p = clusterer.n_numeric_
        terms = np.empty(len(x))
        terms[:p] = (x[:p] - far[:p]) ** 2 - (x[:p] - near[:p]) ** 2
        gamma = clusterer.gamma_
        terms[p:] = gamma * ((x[p:] != far[p:]).astype(float) - (x[p:] != near[p:]).astype(float))
    else:
        terms = (x - far) ** 2 - (x - near) ** 2
    out: dict[str, float] = {}
    for owner, term in zip(owners, terms, strict=True):
        out[owner] = out.get(owner, 0.0) + float(term)
    return out


def explain_one(model, features: pd.DataFrame, X: np.ndarray, cluster: int) -> dict:
    """The ``why`` of one customer: runner-up, margin, close call, the pulling features.

    Parameters
    ----------
    model : SegmentationModel
        Fitted.
    features : DataFrame of one row
        The customer as the model prepared it (original units; dates as days).
    X : ndarray of shape (1, n_outputs)
        The same row preprocessed.
    cluster : int
        The segment the model assigned.

    Returns
    -------
    dict
        ``segment``, ``cluster``, ``runner_up_segment``, ``runner_up_cluster``,
        ``margin``, ``relative_margin``, ``close_call``, ``margin_kind``, ``basis`` (how
        the margin and the pulls are measured), ``sentence`` and ``features``: up to
        :data:`TOP_FEATURES` of ``{column, label, value, pulls_toward, away_from,
        segment_typical, runner_up_typical, pull, sentence}``.
    """
    from segmentation.insight.profiles import humanize
    from segmentation.viz.style import fmt_metric, fmt_share

    result = runner_up(model, X, np.array([cluster]))
    runner = int(result.runner_up[0])
    margin = float(result.margin[0])
    relative = float(result.relative_margin[0])
    close = bool(result.close_call[0])
    near_profile, far_profile = model.profiles_[cluster], model.profiles_[runner]
    how = model.algorithm_.assigns_new_by
    if result.kind == "probability":
        basis = (
            "probability: the margin is the assigned segment's probability minus the "
            "runner-up's; the features are compared with the two segments' mean customers"
        )
        gap = (
            f"{fmt_share(result.nearest_score[0], 0)} likely against "
            f"{fmt_share(result.runner_up_score[0], 0)} for {far_profile.name}"
        )
        lead = f"ahead by {fmt_share(relative, 0)} of its own probability"
    else:
        what = "prototype" if how == NEAREST_PROTOTYPE else "centre"
        basis = (
            f"distance: the runner-up is the second nearest segment {what}; the margin is "
            "its distance minus the nearest one's, in the model's scaled units"
        )
        gap = (
            f"distance {fmt_metric(result.nearest_score[0], 2)} to its {what} against "
            f"{fmt_metric(result.runner_up_score[0], 2)} to the {what} of {far_profile.name}"
        )
        lead = f"nearer by {fmt_share(relative, 0)} of the runner-up's distance"
    if close:
        sentence = (
            f"A close call: {near_profile.name} only just wins over {far_profile.name} "
            f"({gap}; {lead}, under 10%). Treat the segment as uncertain."
        )
    else:
        sentence = (
            f"{near_profile.name} rather than {far_profile.name}: {gap}; {lead} "
            "(under 10% would be a close call)."
        )
    pulls = pull_terms(model, X[0], cluster, runner)
    ranked = sorted((p for p in pulls.items() if p[1] > 0), key=lambda p: -p[1])
    total = sum(v for _, v in ranked) or 1.0
    items = []
    dates = set(model.schema_.names("date"))
    fills = imputed_values(model.pipeline_.named_steps["preprocess"])
    for column, pull in ranked[:TOP_FEATURES]:
        item = _feature_item(column, features, near_profile, far_profile, humanize, dates, fills)
        item["pull"] = round(pull / total, 4)
        items.append(item)
    return {
        "segment": near_profile.name,
        "cluster": int(cluster),
        "runner_up_segment": far_profile.name,
        "runner_up_cluster": runner,
        "margin": margin,
        "relative_margin": relative,
        "close_call": close,
        "margin_kind": result.kind,
        "basis": basis,
        "sentence": sentence,
        "features": items,
    }


def imputed_values(preprocess) -> dict[str, object]:
    """The value the fitted preprocessor puts in for a missing cell of each column."""
    fills: dict[str, object] = {}
    for name, pipeline, columns in preprocess.transformers_:
        if name == "remainder" or pipeline == "drop":
            continue
        statistics = pipeline.named_steps["impute"].statistics_
        fills |= dict(zip(columns, statistics, strict=True))
    return fills


def _shown(value: float, column: str, dates) -> str:
    """A value in a sentence: whole numbers without decimals, else as traits show them."""
    from segmentation.insight.profiles import _format  # the traits' own rule (money whole)
    from segmentation.viz.style import fmt_int

    text = fmt_int(value) if float(value).is_integer() else _format(value, column)
    return text + (" days ago" if column in dates else "")


def _feature_item(column, features, near, far, humanize, dates, fills) -> dict:
    """One pulling feature, with the customer's value and the two segments' typical ones."""
    from segmentation.viz.style import fmt_share

    value = features[column].iloc[0]
    imputed = bool(pd.isna(value))
    if imputed:
        value = fills.get(column)
    label = humanize(column)
    item = {
        "column": column,
        "label": label,
        "pulls_toward": near.name,
        "away_from": far.name,
        "imputed": imputed,
    }
    given = " (not given, so the training median was used)" if imputed else ""
    if column in near.category_shares:
        given_category = given.replace("median", "most common value")
        text = "" if value is None or pd.isna(value) else str(value)
        near_share = near.category_shares[column].get(text, 0.0)
        far_share = far.category_shares.get(column, {}).get(text, 0.0)
        item |= {
            "value": text,
            "segment_typical": round(float(near_share), 4),
            "runner_up_typical": round(float(far_share), 4),
            "sentence": f"{label} is {text}{given_category}, as for {fmt_share(near_share, 0)} of "
            f"{near.name} against {fmt_share(far_share, 0)} of {far.name}.",
        }
        return item
    number = None if value is None or pd.isna(value) else float(value)
    near_typical = near.medians.get(column)
    far_typical = far.medians.get(column)
    item |= {
        "value": number,
        "segment_typical": None if near_typical is None else float(near_typical),
        "runner_up_typical": None if far_typical is None else float(far_typical),
    }
    if number is None or near_typical is None or far_typical is None:
        item["sentence"] = f"{label}{given} pulls toward {near.name} rather than {far.name}."
        return item
    shown = _shown(number, column, dates)
    near_text = _shown(near_typical, column, dates)
    far_text = _shown(far_typical, column, dates)
    # The pull is measured in the model's (scaled, maybe logged) space; in the file's
    # units the customer may not be nearer the typical value, and then no "nearer" is said.
    if abs(number - near_typical) < abs(number - far_typical):
        item["sentence"] = (
            f"{label} of {shown}{given} is nearer the typical {near_text} of {near.name} "
            f"than the {far_text} of {far.name}."
        )
    else:
        item["sentence"] = (
            f"{label} of {shown}{given} pulls toward {near.name} (typically {near_text}) "
            f"rather than {far.name} (typically {far_text})."
        )
    return item


# -- rules as the pages show them -----------------------------------------------------------
#: Below this precision or recall a rule is said, in so many words, to hold only in part.
RULE_HOLDS = 0.70


def rule_caveat(precision: float, recall: float) -> str:
    """A plain sentence when a rule holds for under :data:`RULE_HOLDS` (70%), else ``""``."""
    from segmentation.viz.style import fmt_share

    parts = []
    if precision < RULE_HOLDS:
        parts.append(f"only {fmt_share(precision, 0)} of the customers it matches are in it")
    if recall < RULE_HOLDS:
        parts.append(f"it finds only {fmt_share(recall, 0)} of the segment's customers")
    if not parts:
        return ""
    return (
        "Holds for under 70% of this segment: "
        + " and ".join(parts)
        + "; read it as a pointer, not a definition."
    )


def rules_table(model, clusters=None) -> pd.DataFrame:
    """The segments' rules with precision, recall and how far to trust them.

    Parameters
    ----------
    model : SegmentationModel
        Fitted; a version saved before rules has none (an empty table is returned).
    clusters : iterable of int, optional
        The segments to list, in this order; all by default.

    Returns
    -------
    DataFrame
        ``Segment``, ``Rule``, ``Precision`` and ``Recall`` (0 to 1, on the training
        customers), ``Trust`` (:func:`segmentation.insight.rules.rule_trust`'s word) and
        ``Note`` (:func:`rule_caveat`).
    """
    columns = ["Segment", "Rule", "Precision", "Recall", "Trust", "Note"]
    rules = getattr(model, "rules_", None)
    if rules is None:
        return pd.DataFrame(columns=columns)
    chosen = range(len(rules)) if clusters is None else clusters
    rows = []
    for c in chosen:
        rule = rules[c]
        rows.append(
            {
                "Segment": model.profiles_[c].name,
                "Rule": rule.text(),
                "Precision": float(rule.precision),
                "Recall": float(rule.recall),
                "Trust": rule.trust,
                "Note": rule_caveat(rule.precision, rule.recall),
            }
        )
    return pd.DataFrame(rows, columns=columns)
