"""The preprocessing pipeline and outlier screening."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from segmentation.data.schema import infer_schema
from segmentation.modeling.features import prepare_features
from segmentation.modeling.preprocess import (
    MAX_OUTLIER_SHARE,
    BalancedOneHotEncoder,
    FlagRobustScaler,
    FlagStandardScaler,
    build_preprocessor,
    outlier_mask,
    outlier_reasons,
    outlier_screen,
    signed_log1p,
)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "spend": rng.lognormal(5, 1, n),
            "age": rng.normal(40, 10, n),
            "plan": rng.choice(["a", "b"], n),
        }
    )
    df.loc[[1, 2], "age"] = np.nan
    df.loc[[3], "plan"] = np.nan
    return df


@pytest.mark.parametrize("scaler", ["standard", "robust"])
def test_pipeline_imputes_scales_and_encodes(frame, scaler):
    schema = infer_schema(frame, purposes={"age": "segment"})
    features, _ = prepare_features(frame, schema)
    pre = build_preprocessor(schema, scaler=scaler).fit(features)
    X = pre.transform(features)
    assert not np.isnan(X).any()
    assert X.shape == (300, 2 + 2)
    assert schema.spec("spend").log_transform


def test_unknown_category_at_prediction_is_ignored(frame):
    schema = infer_schema(frame)
    features, _ = prepare_features(frame, schema)
    pre = build_preprocessor(schema).fit(features)
    new = features.head(2).copy()
    new["plan"] = "never seen"
    X = pre.transform(new)
    assert (X[:, -2:] == 0).all()


def test_bad_scaler(frame):
    with pytest.raises(ValueError, match="scaler"):
        build_preprocessor(infer_schema(frame), scaler="minmax")


def test_signed_log_handles_negatives():
    np.testing.assert_allclose(signed_log1p(np.array([-np.e + 1, 0, np.e - 1])), [-1, 0, 1])


@pytest.mark.parametrize("method", ["iqr", "isolation_forest"])
def test_outliers_found(method):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    X[:5, 0] = 40
    mask = outlier_mask(X, method=method, random_state=0)
    assert mask[:5].all()
    assert mask.sum() <= 0.05 * 500


def test_screen_is_on_the_whole_row_not_one_column():
    """A customer a little beyond Tukey's 1.5 IQR fence on one column is ordinary; only a
    row far from everybody on the model's scale as a whole is flagged."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 4))
    X[:50, 1] = rng.uniform(3.0, 4.0, 50)  # 5% beyond the old per-column fences
    X[999] = [12, -12, 12, -12]  # far from typical on everything
    mask, score, note = outlier_screen(X)
    assert mask[999] and mask.sum() == 1
    assert not mask[:50].any()
    assert score[999] > 1 and "1 extreme customer" in note


def test_screen_left_out_when_it_would_flag_a_large_share():
    wide = np.random.default_rng(0).standard_cauchy((1000, 20))
    mask, score, note = outlier_screen(wide)
    assert not mask.any()
    assert (score > 1).mean() > MAX_OUTLIER_SHARE
    assert note.startswith("screen left out")


def test_outlier_reasons_name_the_column():
    X = np.random.default_rng(3).normal(size=(200, 3))
    X[7, 2] = 30
    (reason,) = outlier_reasons(X, ["Income", "Spend", "Balance"], np.array([7]))
    assert reason.startswith("far from typical on Balance")


def test_none_method():
    assert not outlier_mask(np.ones((50, 2)) * 9, method="none").any()


def test_rare_flag_cannot_reach_ten_standard_deviations():
    """A Complain flag with 1% ones reached 10 SD after standard scaling."""
    flag = np.zeros((1000, 1))
    flag[:10] = 1
    for scaler in (FlagStandardScaler(), FlagRobustScaler()):
        scaled = scaler.fit_transform(flag)
        step = scaled[0, 0] - scaled[-1, 0]
        assert step == pytest.approx(np.sqrt(2))
        assert scaler.flags_.tolist() == [True]
    balanced = np.tile([[0.0], [1.0]], (50, 1))
    assert FlagStandardScaler().fit_transform(balanced).var() == pytest.approx(0.5)
    # Other columns are scaled as scikit-learn scales them.
    plain = np.random.default_rng(0).normal(5, 2, (300, 1))
    np.testing.assert_allclose(
        FlagStandardScaler().fit_transform(plain), StandardScaler().fit_transform(plain)
    )


@pytest.mark.parametrize("n_values", [2, 3, 10], ids=lambda n: f"{n}-values")
def test_a_category_weighs_at_most_half_a_numeric_column(n_values):
    rng = np.random.default_rng(n_values)
    values = rng.choice([f"v{i}" for i in range(n_values)], size=(2000, 1))
    encoder = BalancedOneHotEncoder(handle_unknown="ignore", sparse_output=False)
    block = encoder.fit_transform(values)
    assert block.var(axis=0).sum() == pytest.approx(0.5, rel=0.02)
    # Two customers in different categories are at most a 0/1 step apart in each column.
    assert block.max() <= 1.0


def test_rare_category_is_not_pulled_far():
    values = np.array(["common"] * 990 + ["rare"] * 10).reshape(-1, 1)
    encoder = BalancedOneHotEncoder(handle_unknown="ignore", sparse_output=False)
    block = encoder.fit_transform(values)
    assert encoder.weights_.tolist() == [1.0]
    assert np.linalg.norm(block[0] - block[-1]) == pytest.approx(np.sqrt(2))


def test_yes_no_weighs_the_same_as_text_or_as_0_1():
    flags = np.r_[np.zeros(700), np.ones(300)]
    as_number = FlagStandardScaler().fit_transform(flags.reshape(-1, 1))
    text = np.where(flags == 1, "yes", "no").reshape(-1, 1)
    as_text = BalancedOneHotEncoder(sparse_output=False).fit_transform(text)
    np.testing.assert_allclose(
        np.linalg.norm(as_text[0] - as_text[-1]), abs(as_number[0, 0] - as_number[-1, 0])
    )
    np.testing.assert_allclose(as_text.var(axis=0).sum(), as_number.var())
