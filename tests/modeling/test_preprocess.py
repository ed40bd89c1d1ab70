"""The preprocessing pipeline and outlier screening."""

import numpy as np
import pandas as pd
import pytest

from segmentation.data.schema import infer_schema
from segmentation.modeling.features import prepare_features
from segmentation.modeling.preprocess import build_preprocessor, outlier_mask, signed_log1p


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
    schema = infer_schema(frame)
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


def test_iqr_ignores_constant_flags_and_caps_share():
    X = np.zeros((100, 2))
    X[:3, 1] = 1  # a rare flag: IQR 0, never an outlier by itself
    assert not outlier_mask(X).any()
    wide = np.random.default_rng(0).standard_cauchy((1000, 20))
    assert outlier_mask(wide).sum() == 50


def test_none_method():
    assert not outlier_mask(np.ones((50, 2)) * 9, method="none").any()
