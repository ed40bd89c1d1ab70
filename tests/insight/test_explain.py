"""Why this customer: nearest and runner-up segment, the margin, and what pulls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.insight.explain import (
    CLOSE_CALL,
    explain_one,
    pull_terms,
    rule_caveat,
    rules_table,
    runner_up,
    runner_up_from_scores,
)
from segmentation.modeling.algorithms import MOST_PROBABLE, NEAREST_CENTROID
from segmentation.modeling.estimator import SegmentationModel

# Three planted groups: A and B differ only in Income; C is far off in Income and Tenure.
# So for a customer of A the runner-up is B, and only Income tells A from B.
PLANTED = {"A": (20_000, 5), "B": (50_000, 5), "C": (80_000, 80)}


def _planted(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for income, tenure in PLANTED.values():
        parts.append(
            pd.DataFrame(
                {
                    "Income": rng.normal(income, 1_000, n).round(),
                    "Tenure": rng.normal(tenure, 2, n).round(1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def planted():
    """K-Means with k=3 on the planted groups, and each group's segment id."""
    data = _planted()
    model = SegmentationModel(k=3, random_state=0).fit(data)
    clusters = model.predict(data)
    ids = {
        name: int(np.bincount(clusters[i * 150 : (i + 1) * 150]).argmax())
        for i, name in enumerate(PLANTED)
    }
    assert len(set(ids.values())) == 3
    return model, ids


def _why(model, record: dict) -> dict:
    return model.predict_one(record)["why"]


def test_a_member_of_a_has_b_as_runner_up_and_a_clear_margin(planted):
    model, ids = planted
    why = _why(model, {"Income": 20_000, "Tenure": 5})
    assert why["cluster"] == ids["A"] and why["runner_up_cluster"] == ids["B"]
    assert why["segment"] == model.profiles_[ids["A"]].name
    assert why["runner_up_segment"] == model.profiles_[ids["B"]].name
    assert why["margin_kind"] == "distance"
    assert why["margin"] > 1 and why["relative_margin"] > 0.5
    assert why["close_call"] is False
    assert not why["sentence"].startswith("A close call")


def test_a_customer_midway_between_two_centres_is_a_close_call(planted):
    model, ids = planted
    why = _why(model, {"Income": 35_000, "Tenure": 5})
    assert {why["cluster"], why["runner_up_cluster"]} == {ids["A"], ids["B"]}
    assert why["relative_margin"] < CLOSE_CALL and why["close_call"] is True
    assert why["sentence"].startswith("A close call")


def test_the_feature_that_pulls_is_the_one_that_differs(planted):
    model, ids = planted
    why = _why(model, {"Income": 21_000, "Tenure": 5})
    assert why["features"][0]["column"] == "Income"
    assert why["features"][0]["pull"] > 0.9
    assert why["features"][0]["pulls_toward"] == why["segment"]
    # The sentence uses the column's words and house numbers, not raw floats.
    sentence = why["features"][0]["sentence"]
    assert "21,000" in sentence and "Income" in sentence and "nearer" in sentence
    # Tenure is the same in A and B: it barely pulls either way.
    X = model.preprocess(model.prepare(pd.DataFrame([{"Income": 21_000, "Tenure": 5}]))[0])
    terms = pull_terms(model, X[0], ids["A"], ids["B"])
    assert terms["Income"] > 10 * abs(terms["Tenure"])
    # The terms add up to the difference of the squared distances.
    centers = model.clusterer_.cluster_centers_
    d2 = ((X[0] - centers) ** 2).sum(axis=1)
    assert sum(terms.values()) == pytest.approx(d2[ids["B"]] - d2[ids["A"]])


def test_a_member_of_c_is_pulled_by_tenure(planted):
    model, ids = planted
    why = _why(model, {"Income": 80_000, "Tenure": 78})
    assert why["cluster"] == ids["C"]
    assert why["features"][0]["column"] == "Tenure"


def test_vectorised_runner_up_matches_one_by_one(planted):
    model, _ = planted
    data = _planted(n=20, seed=5)
    features, _ = model.prepare(data)
    X = model.preprocess(features)
    clusters = model._assign(X)[0]
    table = runner_up(model, X, clusters)
    for i in (0, 25, 59):
        one = explain_one(model, features.iloc[[i]], X[[i]], int(clusters[i]))
        assert one["runner_up_cluster"] == table.runner_up[i]
        assert one["margin"] == pytest.approx(table.margin[i], abs=1e-12)
    assert (table.runner_up != clusters).all() and (table.margin >= 0).all()


def test_an_imputed_field_says_so(planted):
    model, _ = planted
    why = _why(model, {"Income": 20_000})
    imputed = [f for f in why["features"] if f["imputed"]]
    assert all("not given" in f["sentence"] for f in imputed)


@pytest.mark.parametrize(
    ("scores", "nearest", "how", "runner", "margin", "relative"),
    [
        (np.array([[1.0, 3.0, 2.0]]), [0], NEAREST_CENTROID, 2, 1.0, 0.5),
        (np.array([[2.0, 2.1, 9.0]]), [0], NEAREST_CENTROID, 1, 0.1, 0.1 / 2.1),
        (np.array([[0.0, 4.0, 5.0]]), [0], NEAREST_CENTROID, 1, 4.0, 1.0),
        (np.array([[0.7, 0.2, 0.1]]), [0], MOST_PROBABLE, 1, 0.5, 0.5 / 0.7),
        (np.array([[0.34, 0.33, 0.33]]), [0], MOST_PROBABLE, 1, 0.01, 0.01 / 0.34),
    ],
    ids=["distance", "distance-close", "at-centre", "probability", "probability-close"],
)
def test_runner_up_from_scores(scores, nearest, how, runner, margin, relative):
    result = runner_up_from_scores(scores, np.array(nearest), how)
    assert result.runner_up[0] == runner
    assert result.margin[0] == pytest.approx(margin)
    assert result.relative_margin[0] == pytest.approx(relative)
    assert bool(result.close_call[0]) == (relative < CLOSE_CALL)
    assert result.kind == ("probability" if how == MOST_PROBABLE else "distance")


@pytest.mark.parametrize("algorithm", ["gmm", "ward", "kprototypes"])
def test_other_algorithms_explain_by_their_own_labeling_rule(algorithm):
    """A Gaussian mixture's margin is in probability; Ward's and k-prototypes' in distance
    by the rule each labels new customers with; the nearest is always the label."""
    data = _planted(n=60, seed=2)
    data["Plan"] = np.repeat(["basic", "plus", "pro"], 60)
    model = SegmentationModel(
        k=3, algorithm=algorithm, random_state=0, purposes={"Plan": "segment"}
    ).fit(data)
    result = model.predict_one({"Income": 20_000, "Tenure": 5, "Plan": "basic"})
    why = result["why"]
    assert why["cluster"] == result["cluster"] and why["runner_up_cluster"] != why["cluster"]
    assert why["margin_kind"] == ("probability" if algorithm == "gmm" else "distance")
    assert 0 <= why["relative_margin"] <= 1 and why["margin"] >= 0
    assert why["features"] and why["features"][0]["pulls_toward"] == why["segment"]
    if algorithm == "kprototypes":
        assert "prototype" in why["basis"]


@pytest.mark.parametrize(
    ("precision", "recall", "says"),
    [
        (0.9, 0.95, None),
        (0.7, 0.7, None),
        (0.65, 0.9, "only 65% of the customers it matches"),
        (0.9, 0.41, "it finds only 41% of the segment"),
    ],
    ids=["holds", "at-70", "low-precision", "low-recall"],
)
def test_rule_caveat_says_plainly_under_70_percent(precision, recall, says):
    text = rule_caveat(precision, recall)
    if says is None:
        assert text == ""
    else:
        assert text.startswith("Holds for under 70% of this segment") and says in text


def test_rules_table_lists_the_chosen_segments_with_trust(planted):
    model, ids = planted
    table = rules_table(model, [ids["C"], ids["A"]])
    assert list(table["Segment"]) == [
        model.profiles_[ids["C"]].name,
        model.profiles_[ids["A"]].name,
    ]
    assert table["Precision"].between(0, 1).all() and table["Recall"].between(0, 1).all()
    assert set(table["Trust"]) <= {"holds well", "rough", "weak"}
    # Planted groups this clear get rules that hold.
    assert (table["Trust"] == "holds well").all() and (table["Note"] == "").all()
