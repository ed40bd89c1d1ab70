"""SegmentationModel follows scikit-learn's estimator conventions and holds one Pipeline."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from segmentation import SegmentationModel
from segmentation.errors import SegmentationError
from segmentation.modeling.algorithms import ALGORITHMS, get_algorithm
from segmentation.modeling.features import FeaturePreparer


def test_top_level_import_and_params_round_trip():
    model = SegmentationModel(k=4, scaler="robust", roles={"Age": "ignored"}, random_state=7)
    params = model.get_params()
    assert (
        params["k"] == 4 and params["scaler"] == "robust" and params["roles"] == {"Age": "ignored"}
    )
    assert set(params) == {
        "k",
        "k_range",
        "algorithm",
        "scaler",
        "outlier_method",
        "roles",
        "purposes",
        "id_column",
        "exclude",
        "random_state",
    }
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    assert model.set_params(k=6) is model and model.k == 6


def test_init_only_stores_parameters():
    """Validation happens in fit: even nonsense is stored as given, as scikit-learn expects."""
    model = SegmentationModel(k=1, scaler="nonsense")
    assert model.k == 1 and model.scaler == "nonsense"


@pytest.mark.parametrize(
    "params, match",
    [
        ({"k": 1}, "from 2 to 50"),
        ({"k": 51}, "from 2 to 50"),
        ({"k": 2.5}, "from 2 to 50"),
        ({"k_range": (5, 3)}, "smallest <= largest"),
        ({"k_range": (2, 10**9)}, "<= 50"),
        ({"k_range": "ab"}, "k_range"),
        ({"scaler": "minmax"}, "scaler must be one of standard, robust"),
        ({"outlier_method": "zscore"}, "outlier method must be one of"),
        ({"algorithm": "dbscan"}, "algorithm must be one of kmeans"),
        ({"random_state": -1}, "seed must be a whole number from 0"),
        ({"random_state": 2**32}, "seed must be a whole number from 0"),
        ({"roles": {"Age": "weird"}}, "unknown role"),
    ],
    ids=[
        "k-1",
        "k-51",
        "k-float",
        "range-reversed",
        "range-huge",
        "range-text",
        "scaler",
        "outliers",
        "algorithm",
        "seed-negative",
        "seed-too-big",
        "role",
    ],
)
def test_parameters_validated_in_fit_with_one_clear_sentence(customers, params, match):
    with pytest.raises(SegmentationError, match=match):
        SegmentationModel(**params).fit(customers[0].head(50))


def test_unfitted_model_says_what_to_do(customers):
    with pytest.raises(NotFittedError, match="not been trained yet"):
        SegmentationModel().predict(customers[0].head(3))
    with pytest.raises(NotFittedError, match="not been trained yet"):
        SegmentationModel().label(customers[0].head(3))


def test_fitted_model_holds_one_pipeline_with_the_clusterer_last(fitted, customers):
    pipe = fitted.pipeline_
    assert isinstance(pipe, Pipeline)
    assert [name for name, _ in pipe.steps] == ["features", "preprocess", "cluster"]
    assert isinstance(pipe.named_steps["features"], FeaturePreparer)
    assert isinstance(pipe.named_steps["preprocess"], ColumnTransformer)
    assert pipe.named_steps["cluster"] is fitted.clusterer_
    # The pipeline alone labels a raw table: the feature step is inside it.
    raw = customers[0].head(100)
    np.testing.assert_array_equal(pipe.predict(raw), fitted.predict(raw))
    np.testing.assert_array_equal(fitted.fit_predict(customers[0]), fitted.labels_)


def test_preprocessor_is_fitted_once(customers, monkeypatch):
    calls = []
    original = ColumnTransformer.fit_transform  # what ColumnTransformer.fit runs

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ColumnTransformer, "fit_transform", counting)
    SegmentationModel(k=3, outlier_method="none").fit(customers[0])
    assert len(calls) == 1
    # The outlier screen works in the scaled space, so it needs a fit on every row; that
    # fit is the model's own unless customers were left out (then it is refitted on the
    # rest, once).
    calls.clear()
    model = SegmentationModel(k=3).fit(customers[0])
    assert len(calls) == (2 if model.n_outliers_removed_ else 1)


def test_registry_describes_each_algorithm():
    kmeans = get_algorithm("kmeans")
    assert kmeans.needs_k and kmeans.has_centroids and not kmeans.gives_probabilities
    assert kmeans.assigns_new_by == "nearest_centroid" and kmeans.preprocessing == "scaled"
    assert set(ALGORITHMS) == {"kmeans", "ward", "gmm", "kprototypes"}
    assert get_algorithm("gmm").gives_probabilities
    assert get_algorithm("kprototypes").preprocessing == "mixed"
    assert all(a.description for a in ALGORITHMS.values())
    with pytest.raises(SegmentationError, match="unknown algorithm 'hdbscan'; use one of kmeans"):
        get_algorithm("hdbscan")


def test_labeling_a_file_imports_neither_scikit_learn_nor_pandas(tmp_path, customers):
    """The CLI labels with the compiled labeler saved beside the model: start-up stays
    small (scikit-learn and pandas together take over a second to import)."""
    from segmentation.store import ModelStore

    store = ModelStore(tmp_path / "models")
    store.save(SegmentationModel(k=3).fit(customers[0]), data=customers[0], data_name="c.csv")
    src = tmp_path / "in.csv"
    customers[0].head(50).to_csv(src, index=False)
    code = (
        "import sys; from segmentation.cli import main; "
        f"rc = main(['predict', '--data', {str(src)!r}, '--out', {str(tmp_path / 'o.csv')!r}, "
        f"'--models-dir', {str(tmp_path / 'models')!r}]); "
        "print(rc, sorted(m for m in ('sklearn', 'pandas', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "0 []", result.stderr
    assert (tmp_path / "o.csv").read_text().count("\n") == 51
