"""Readable rules for segments, with how far to trust them.

Each segment gets one short rule (at most three conditions on the customer columns, such
as ``Income > 61,500 and SpendingScore <= 40``) found by a one-vs-rest decision tree: of
every path from the root of the tree (the rule of each node), the one with the best
balance of precision and recall (F1) wins, a shorter rule on a tie. The tree only
proposes; precision and recall are then measured by applying the rule as written to the
training customers, so a missing value fails a condition exactly as it reads.

Precision: of the customers the rule matches, the share in the segment. Recall: of the
segment's customers, the share the rule matches. On real data at six segments or more
such rules often hold for under 70% of a segment; :func:`rule_trust` says so in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

#: Operators a condition may use.
OPS = ("<=", ">", "==", "in")
#: Conditions per rule at most.
MAX_CONDITIONS = 3
#: The trees are grown on at most this many customers (a seeded sample); precision and
#: recall are always measured on all of them.
RULE_SAMPLE = 50_000
#: Categories per column a tree may split on (the most frequent ones).
MAX_CATEGORIES = 20


@dataclass(frozen=True)
class Condition:
    """One test on one column: ``column op value``.

    ``value`` is a number for ``<=`` and ``>``, a category for ``==``, a sorted list of
    categories for ``in``.
    """

    column: str
    op: str
    value: float | str | list[str]

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` satisfy the condition (a missing value never does)."""
        values = frame[self.column]
        if self.op in ("<=", ">"):
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                out = numbers <= self.value if self.op == "<=" else numbers > self.value
            return np.asarray(out, dtype=bool)
        text = values.astype("string")
        allowed = [self.value] if self.op == "==" else list(self.value)
        return text.isin(allowed).fillna(False).to_numpy(dtype=bool)

    def text(self) -> str:
        """The condition as an analyst reads it."""
        if self.op in ("<=", ">"):
            return f"{self.column} {self.op} {_number(float(self.value))}"
        if self.op == "==":
            return f"{self.column} is {self.value}"
        return f"{self.column} is one of {', '.join(map(str, self.value))}"

    def to_dict(self) -> dict:
        value = float(self.value) if self.op in ("<=", ">") else self.value
        return {"column": self.column, "op": self.op, "value": value}


@dataclass(frozen=True)
class SegmentRule:
    """The rule of one segment and how well it holds on the training customers.

    Attributes
    ----------
    cluster : int
    conditions : tuple of Condition
        Joined by "and"; empty when no condition separates the segment at all.
    precision, recall : float
        0 to 1, measured on the training customers.
    matched : int
        Training customers the rule matches.
    """

    cluster: int
    conditions: tuple[Condition, ...]
    precision: float
    recall: float
    matched: int

    def text(self) -> str:
        """``"Income > 61,500 and SpendingScore <= 40"``."""
        if not self.conditions:
            return "no short rule describes this segment"
        return " and ".join(c.text() for c in self.conditions)

    @property
    def trust(self) -> str:
        return rule_trust(self.precision, self.recall)

    def sentence(self) -> str:
        """The rule with how far it holds, in words an analyst can repeat to their boss."""
        if not self.conditions:
            return "No rule of three conditions or fewer describes this segment."
        measured = (
            f"{_percent(self.precision)} of the customers it matches are in the segment "
            f"(precision) and it finds {_percent(self.recall)} of the segment (recall)"
        )
        verdict = {
            "holds well": "it holds well",
            "rough": "a rough guide",
            "weak": "weak: it describes the segment only in part",
        }[self.trust]
        return f"{self.text()}: {measured}; {verdict}."

    def to_dict(self) -> dict:
        """The train JSON's ``segments[i].rule``."""
        return {
            "conditions": [c.to_dict() for c in self.conditions],
            "precision": round(float(self.precision), 4),
            "recall": round(float(self.recall), 4),
            "text": self.text(),
            "trust": self.trust,
        }

    @classmethod
    def from_dict(cls, cluster: int, data: dict) -> SegmentRule:
        conditions = tuple(
            Condition(c["column"], c["op"], c["value"]) for c in data.get("conditions", [])
        )
        return cls(cluster, conditions, data["precision"], data["recall"], data.get("matched", 0))


def rule_trust(precision: float, recall: float) -> str:
    """How far a rule can be trusted, in words: never a weak rule made to sound sure.

    ``"holds well"`` when both precision and recall reach 0.85; ``"rough"`` when both reach
    0.6; ``"weak"`` otherwise (the rule describes the segment only in part).
    """
    low = min(precision, recall)
    if low >= 0.85:
        return "holds well"
    if low >= 0.6:
        return "rough"
    return "weak"


def segment_rules(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    numeric: list[str],
    categorical: list[str],
    clusters: list[int] | None = None,
    random_state: int | None = 42,
) -> list[SegmentRule]:
    """One rule per segment, in cluster order.

    Parameters
    ----------
    features : DataFrame
        The training customers' columns as the model reads them (numbers parsed, dates as
        days); rows aligned with ``labels``.
    labels : ndarray of int
    numeric, categorical : list of str
        The columns rules may use.
    clusters : list of int, optional
        The segment ids (default: those present in ``labels``).
    random_state : int, optional
        Seeds the sample the trees are grown on.

    Returns
    -------
    list of SegmentRule
    """
    labels = np.asarray(labels)
    clusters = sorted(set(labels.tolist())) if clusters is None else list(clusters)
    design, describe = _design(features, numeric, categorical)
    rng = np.random.default_rng(random_state)
    rows = np.arange(len(features))
    if len(rows) > RULE_SAMPLE:
        rows = np.sort(rng.choice(len(rows), size=RULE_SAMPLE, replace=False))
    out = []
    for cluster in clusters:
        target = labels == cluster
        candidates = _candidate_rules(design, describe, target, rows, random_state)
        out.append(_best(cluster, candidates, describe, features, target))
    return out


def _design(
    features: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
    """The matrix the trees see, and what each of its columns is: ``(column, None)`` for a
    number, ``(column, category)`` for a 0/1 indicator."""
    blocks, describe = [], []
    for column in numeric:
        blocks.append(pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=float))
        describe.append((column, None))
    for column in categorical:
        text = features[column].astype("string")
        for category in text.value_counts().index[:MAX_CATEGORIES]:
            blocks.append(text.eq(category).fillna(False).to_numpy(dtype=float))
            describe.append((column, str(category)))
    if not blocks:
        return np.empty((len(features), 0)), describe
    return np.column_stack(blocks), describe


def _candidate_rules(
    design: np.ndarray,
    describe: list[tuple[str, str | None]],
    target: np.ndarray,
    rows: np.ndarray,
    random_state: int | None,
) -> list[list[tuple[int, str, float]]]:
    """The path to every node of a depth-3 tree, as ``(design column, op, threshold)``."""
    if design.shape[1] == 0 or target[rows].all() or not target[rows].any():
        return [[]]
    tree = DecisionTreeClassifier(
        max_depth=MAX_CONDITIONS,
        min_samples_leaf=max(5, len(rows) // 200),
        class_weight="balanced",
        random_state=random_state,
    ).fit(design[rows], target[rows])
    t = tree.tree_
    paths: list[list[tuple[int, str, float]]] = []
    stack: list[tuple[int, list[tuple[int, str, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if path:
            paths.append(path)
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            continue
        column, threshold = int(t.feature[node]), float(t.threshold[node])
        stack.append((left, [*path, (column, "<=", threshold)]))
        stack.append((right, [*path, (column, ">", threshold)]))
    return paths or [[]]


def _conditions(
    path: list[tuple[int, str, float]], describe: list[tuple[str, str | None]], features
) -> tuple[Condition, ...]:
    """A tree path as conditions on the original columns, one or two per column merged
    (``x > 3 and x > 5`` is ``x > 5``; ``not Female and not Male`` is ``one of Other``)."""
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    equal: dict[str, str] = {}
    excluded: dict[str, set[str]] = {}
    order: list[str] = []
    for index, op, threshold in path:
        column, category = describe[index]
        if not np.isfinite(threshold):
            # A tree split that only separates missing values ("x <= inf"): no condition
            # reads like that; the rule is measured without it.
            continue
        if column not in order:
            order.append(column)
        if category is None:
            if op == ">":
                lower[column] = max(lower.get(column, -np.inf), threshold)
            else:
                upper[column] = min(upper.get(column, np.inf), threshold)
        elif op == ">":  # indicator is 1
            equal[column] = category
        else:
            excluded.setdefault(column, set()).add(category)
    out = []
    for column in order:
        if column in lower:
            out.append(Condition(column, ">", _round_threshold(lower[column])))
        if column in upper:
            out.append(Condition(column, "<=", _round_threshold(upper[column])))
        if column in equal:
            out.append(Condition(column, "==", equal[column]))
        elif column in excluded:
            seen = features[column].astype("string").dropna().unique().tolist()
            allowed = sorted(str(c) for c in seen if str(c) not in excluded[column])
            if len(allowed) == 1:
                out.append(Condition(column, "==", allowed[0]))
            elif allowed:
                out.append(Condition(column, "in", allowed))
    return tuple(out)


def _best(
    cluster: int,
    candidates: list[list[tuple[int, str, float]]],
    describe: list[tuple[str, str | None]],
    features: pd.DataFrame,
    target: np.ndarray,
) -> SegmentRule:
    """The candidate with the best F1 on all customers; fewer conditions on a tie."""
    best = None
    for path in candidates:
        conditions = _conditions(path, describe, features)
        f1, precision, recall, matched = _score(conditions, features, target)
        key = (round(f1, 6), -len(conditions))
        if best is None or key > best[0]:
            best = (key, SegmentRule(cluster, conditions, precision, recall, matched))
    return best[1]


def _score(conditions: tuple[Condition, ...], features: pd.DataFrame, target: np.ndarray):
    matched = np.ones(len(features), dtype=bool)
    for condition in conditions:
        matched &= condition.holds(features)
    hits = int((matched & target).sum())
    n_matched = int(matched.sum())
    precision = hits / n_matched if n_matched else 0.0
    recall = hits / int(target.sum()) if target.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall, n_matched


def _round_threshold(value: float) -> float:
    """A threshold as a reader would write it, to 4 significant digits (61,487.5 becomes
    61,490); precision and recall are measured with the rounded value."""
    if not np.isfinite(value) or value == 0:
        return float(value)
    return float(f"{value:.4g}")


def _percent(share: float) -> str:
    """A share as a whole percentage, rounded down: 99.6% is not written as 100%."""
    return f"{int(np.floor(share * 100 + 1e-9))}%"


def _number(value: float) -> str:
    """A rounded threshold written out in full (61,490 or 0.1235, never 6.149e+04)."""
    text = np.format_float_positional(float(value), trim="-")
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    return sign + whole + ("." + fraction if fraction else "")
