"""Preprocessing: one fitted scikit-learn ColumnTransformer, and outlier removal."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from segmentation.data.schema import Schema
from segmentation.modeling.transforms import signed_log1p

SCALERS = ("standard", "robust")
#: What an algorithm's features need (the registry's ``preprocessing``):
#: ``scaled``: numeric scaled, categories one-hot (K-Means, Ward);
#: ``numeric``: the scaled numeric block alone (a Gaussian mixture: 0/1 columns have no
#: Gaussian shape and make covariances singular, so categories only describe segments);
#: ``mixed``: numeric scaled, then each category as one integer code, categories last
#: (k-prototypes counts mismatches instead of one-hot distances).
PREPROCESSINGS = ("scaled", "numeric", "mixed")
OUTLIER_METHODS = ("iqr", "isolation_forest", "none")

#: Tukey's fence: a row is an outlier when a feature lies this many IQRs beyond the
#: quartiles. It is applied after skewed columns are log-transformed, where the natural
#: long tail of money columns no longer looks extreme but a typo of x20 still does.
IQR_FACTOR = 1.5
#: Never drop more than this share of training rows as outliers: on wide or odd tables
#: only the most extreme rows go.
MAX_OUTLIER_SHARE = 0.05


def build_preprocessor(
    schema: Schema, *, scaler: str = "standard", kind: str = "scaled"
) -> ColumnTransformer:
    """Build the unfitted preprocessing transformer for a schema.

    Numeric features: median imputation, ``signed_log1p`` for skewed ones, then scaling.
    Categorical features: most-frequent imputation, then one-hot encoding that ignores
    categories unseen in training (``kind="scaled"``), left out (``"numeric"``), or one
    integer code each, -1 for an unseen category (``"mixed"``).

    Parameters
    ----------
    schema : Schema
        Which columns are numeric (dates included) and categorical.
    scaler : {"standard", "robust"}, default="standard"
    kind : {"scaled", "numeric", "mixed"}, default="scaled"
        See :data:`PREPROCESSINGS`; an algorithm's registry entry names it.

    Returns
    -------
    ColumnTransformer
        Expects the frame made by :func:`segmentation.modeling.features.prepare_features`.
    """
    if scaler not in SCALERS:
        raise ValueError(f"scaler must be one of {SCALERS}, got {scaler!r}")
    if kind not in PREPROCESSINGS:
        raise ValueError(f"preprocessing must be one of {PREPROCESSINGS}, got {kind!r}")
    make_scaler = StandardScaler if scaler == "standard" else RobustScaler
    numeric = schema.numeric
    logged = [c for c in numeric if schema.spec(c).log_transform]
    plain = [c for c in numeric if c not in logged]
    transformers = []
    if plain:
        transformers.append(
            (
                "numeric",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", make_scaler())]),
                plain,
            )
        )
    if logged:
        transformers.append(
            (
                "skewed",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
                        ("scale", make_scaler()),
                    ]
                ),
                logged,
            )
        )
    if schema.categorical and kind != "numeric":
        encode = (
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))
            if kind == "scaled"
            else (
                "ordinal",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
            )
        )
        transformers.append(
            (
                "categorical",
                Pipeline([("impute", SimpleImputer(strategy="most_frequent")), encode]),
                schema.categorical,
            )
        )
    make = MixedColumnTransformer if kind == "mixed" else ColumnTransformer
    return make(transformers, remainder="drop", verbose_feature_names_out=True)


class MixedMatrix(np.ndarray):
    """Rows in the ``mixed`` model space: scaled numeric columns, then category codes.

    The registry's ``fit(X, k, random_state)`` is the same for every algorithm, so the
    layout k-prototypes needs (how many trailing columns are codes) travels with the rows;
    numpy keeps it through row sampling and bootstrap indexing (``X[rows]``).

    Attributes
    ----------
    n_categorical : int
        The trailing columns that hold category codes (-1: a category unseen in training).
    """

    def __new__(cls, values: np.ndarray, n_categorical: int) -> MixedMatrix:
        matrix = np.asarray(values, dtype=float).view(cls)
        matrix.n_categorical = int(n_categorical)
        return matrix

    def __array_finalize__(self, obj) -> None:
        self.n_categorical = getattr(obj, "n_categorical", 0)


class MixedColumnTransformer(ColumnTransformer):
    """The ``mixed`` preprocessing: a ``ColumnTransformer`` whose output is a
    :class:`MixedMatrix` (its categorical block, last, holds codes)."""

    def _n_categorical(self) -> int:
        return sum(len(columns) for name, _, columns in self.transformers_ if name == "categorical")

    def fit_transform(self, X, y=None, **params):
        return MixedMatrix(super().fit_transform(X, y, **params), self._n_categorical())

    def transform(self, X, **params):
        return MixedMatrix(super().transform(X, **params), self._n_categorical())


def numeric_block(features: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The numeric features as the outlier screen sees them: median-imputed, skewed ones
    on the signed-log scale, not scaled.

    Both screens are unchanged by scaling a column (Tukey's fences move with the
    quartiles; an isolation forest splits uniformly between a column's ends), so they
    need no fitted scaler: the preprocessor is fitted once, on the rows they keep.
    """
    columns = []
    for name in schema.numeric:
        values = features[name].to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(values).all():
            values = np.zeros(len(values))
        else:
            values = np.where(np.isnan(values), np.nanmedian(values), values)
        columns.append(signed_log1p(values) if schema.spec(name).log_transform else values)
    if not columns:
        return np.empty((len(features), 0))
    return np.column_stack(columns)


def outlier_mask(
    X_numeric: np.ndarray, *, method: str = "iqr", random_state: int | None = None
) -> np.ndarray:
    """Flag training rows to leave out of the clustering fit.

    Parameters
    ----------
    X_numeric : ndarray of shape (n_rows, n_numeric)
        Imputed, transformed numeric features.
    method : {"iqr", "isolation_forest", "none"}, default="iqr"
        ``iqr``: a row is an outlier when any feature lies more than
        :data:`IQR_FACTOR` interquartile ranges beyond the quartiles (features with an
        IQR of zero, such as rare flags, are not used); at most
        :data:`MAX_OUTLIER_SHARE` of rows, the most extreme, are flagged.
        ``isolation_forest``: scikit-learn's IsolationForest with 2% contamination.
    random_state : int, optional

    Returns
    -------
    ndarray of bool, shape (n_rows,)
        True for outliers.
    """
    if method not in OUTLIER_METHODS:
        raise ValueError(f"outlier method must be one of {OUTLIER_METHODS}, got {method!r}")
    n_rows = X_numeric.shape[0]
    if method == "none" or X_numeric.shape[1] == 0 or n_rows < 20:
        return np.zeros(n_rows, dtype=bool)
    if method == "isolation_forest":
        forest = IsolationForest(contamination=0.02, random_state=random_state, n_jobs=-1)
        return forest.fit_predict(X_numeric) == -1
    q1, q3 = np.percentile(X_numeric, [25, 75], axis=0)
    iqr = q3 - q1
    used = iqr > 0
    low = q1 - IQR_FACTOR * iqr
    high = q3 + IQR_FACTOR * iqr
    scale = np.where(used, iqr, 1.0)
    # How far beyond its fence each row's worst feature lies, in IQRs (0 inside).
    excess = np.maximum(low - X_numeric, X_numeric - high) / scale
    worst = np.where(used, excess, 0.0).max(axis=1)
    flagged = worst > 0
    cap = int(MAX_OUTLIER_SHARE * n_rows)
    if flagged.sum() > cap:
        flagged = np.zeros(n_rows, dtype=bool)
        flagged[np.argsort(-worst, kind="stable")[:cap]] = True
    return flagged
