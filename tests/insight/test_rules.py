"""Segment rules: short, readable, and measured honestly on the training customers."""

import numpy as np
import pandas as pd

from segmentation.insight.rules import Condition, SegmentRule, rule_trust, segment_rules


def _mall(seed=0, n_per=300):
    """Five income x spending groups (the textbook mall table), gender unrelated."""
    rng = np.random.default_rng(seed)
    centres = [(25, 20), (25, 80), (55, 50), (88, 18), (88, 82)]
    income = np.concatenate([rng.normal(c[0], 5, n_per) for c in centres])
    spend = np.concatenate([rng.normal(c[1], 6, n_per) for c in centres])
    labels = np.repeat(np.arange(5), n_per)
    gender = rng.choice(["Male", "Female"], len(labels))
    return pd.DataFrame({"Income": income, "Spend": spend, "Gender": gender}), labels


def test_planted_groups_get_rules_that_hold():
    frame, labels = _mall()
    rules = segment_rules(frame, labels, numeric=["Income", "Spend"], categorical=["Gender"])
    assert [r.cluster for r in rules] == [0, 1, 2, 3, 4]
    for rule in rules:
        assert 1 <= len(rule.conditions) <= 3
        assert rule.precision >= 0.95 and rule.recall >= 0.95, rule.text()
        assert rule.trust == "holds well"
        assert all(c.column != "Gender" for c in rule.conditions)


def test_precision_and_recall_are_measured_by_applying_the_rule():
    frame, labels = _mall(seed=1)
    for rule in segment_rules(frame, labels, numeric=["Income", "Spend"], categorical=[]):
        matched = np.ones(len(frame), dtype=bool)
        for condition in rule.conditions:
            matched &= condition.holds(frame)
        target = labels == rule.cluster
        assert rule.matched == matched.sum()
        assert np.isclose(rule.precision, (matched & target).sum() / matched.sum())
        assert np.isclose(rule.recall, (matched & target).sum() / target.sum())


def test_random_segments_get_weak_rules_not_confident_ones():
    frame, _ = _mall(seed=2)
    labels = np.random.default_rng(3).integers(0, 4, len(frame))
    rules = segment_rules(frame, labels, numeric=["Income", "Spend"], categorical=["Gender"])
    assert all(r.trust == "weak" for r in rules)
    assert all(r.precision < 0.5 for r in rules)


def test_a_categorical_segment_gets_an_equality_rule():
    rng = np.random.default_rng(4)
    region = rng.choice(["North", "South", "East", "West"], 1200)
    frame = pd.DataFrame({"Region": region, "Spend": rng.normal(50, 10, 1200)})
    labels = (region == "South").astype(int)
    rule = segment_rules(frame, labels, numeric=["Spend"], categorical=["Region"])[1]
    assert rule.conditions == (Condition("Region", "==", "South"),)
    assert rule.precision == rule.recall == 1.0
    other = segment_rules(frame, labels, numeric=["Spend"], categorical=["Region"])[0]
    assert other.conditions[0].op in ("in", "==") and "South" not in other.conditions[0].value


def test_a_missing_value_fails_a_condition_as_it_reads():
    frame = pd.DataFrame({"Income": [10.0, np.nan, 90.0], "Region": ["a", None, "b"]})
    assert Condition("Income", "<=", 50).holds(frame).tolist() == [True, False, False]
    assert Condition("Income", ">", 50).holds(frame).tolist() == [False, False, True]
    assert Condition("Region", "in", ["a", "b"]).holds(frame).tolist() == [True, False, True]


def test_json_shape_and_words():
    rule = SegmentRule(2, (Condition("Income", ">", 61487.5),), 0.64, 0.9, 100)
    data = rule.to_dict()
    assert data["conditions"] == [{"column": "Income", "op": ">", "value": 61487.5}]
    assert data["precision"] == 0.64 and data["recall"] == 0.9 and data["trust"] == "rough"
    assert rule.text() == "Income > 61,487.5"
    assert Condition("Rate", "<=", 0.0123).text() == "Rate <= 0.0123"
    assert rule_trust(0.9, 0.5) == "weak" and rule_trust(0.86, 0.9) == "holds well"


def test_a_fitted_model_has_a_rule_per_segment_in_its_summary():
    from segmentation.data.synthetic import generate_customers
    from segmentation.modeling.estimator import SegmentationModel

    model = SegmentationModel(k=4, random_state=0).fit(generate_customers(1500, seed=2))
    assert [r.cluster for r in model.rules_] == [0, 1, 2, 3]
    for segment, rule in zip(model.summary()["segments"], model.rules_, strict=True):
        assert segment["rule"]["precision"] == round(rule.precision, 4)
        assert {c["column"] for c in segment["rule"]["conditions"]} <= set(model.schema_.features)
        assert all(c["op"] in ("<=", ">", "==", "in") for c in segment["rule"]["conditions"])
    # Renumbering the segments carries each rule to its segment's new id.
    before = list(model.rules_)
    model.renumber_segments([1, 0, 3, 2])
    assert model.rules_[1].conditions == before[0].conditions
    assert [r.cluster for r in model.rules_] == [0, 1, 2, 3]


def test_the_sentence_never_rounds_up_to_a_perfect_rule():
    rule = SegmentRule(0, (Condition("Income", ">", 10.0),), 0.996, 0.5, 10)
    assert "99% of the customers it matches" in rule.sentence()
    assert rule.sentence().endswith("weak: it describes the segment only in part.")
