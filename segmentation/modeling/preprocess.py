"""Preprocessing: one fitted scikit-learn ColumnTransformer, and the outlier screen.

How much each column weighs in the distances is decided here, by construction:

* a numeric column is standardised (or robust-scaled): its variance is about 1;
* a categorical column's one-hot block is multiplied by
  ``w = min(1, sqrt(CATEGORY_VARIANCE / (1 - sum(p_j ** 2))))`` for its training
  category shares ``p_j``: the block's total variance is at most
  :data:`CATEGORY_VARIANCE` (half a standardised column's) however many values it has,
  and two customers in different categories are at most ``sqrt(2)`` apart (a plain 0/1
  step), so a rare category cannot pull its few customers far from the rest. Half, not
  all, of a numeric column's variance because a category's variance is all between
  groups (spikes, perfectly separable): at equal variance a random three-valued column
  already decides the choice of k over a real two-group numeric column;
* a two-valued numeric column (a 0/1 flag such as ``Complain``) is centred on its mean
  and divided by ``max(std / sqrt(CATEGORY_VARIANCE), range / MAX_STEP)``: exactly what
  the categorical rule gives two categories, so a yes/no column weighs the same whether
  it arrives as 0/1 or as text. Plain standardisation put the ones of a 1% flag ten
  standard deviations from everybody else, so k-means spent a segment on them; now the
  step from 0 to 1 is at most ``sqrt(2)``. Flags stay numeric (rather than becoming
  categories) so profiles still read "12% complained" as a mean.
"""

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
from sklearn.utils.validation import check_is_fitted

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

#: Tukey's "far out" fence, applied to each customer's distance from the median customer
#: in the model's scaled space (all segmenting features at once, never one column): a row
#: is an outlier when its distance lies this many IQRs of the distances above their
#: upper quartile. On well-behaved data this flags about 1 row in 10,000.
IQR_FACTOR = 3.0
#: When a screen would flag more than this share of training rows, the table has a long
#: tail rather than outliers: the screen is left out and nobody is removed.
MAX_OUTLIER_SHARE = 0.05
#: Isolation-forest anomaly score above which a row is flagged. Liu et al. read scores
#: near 1 as anomalies and up to 0.5 as normal; scikit-learn's "auto" cut at 0.5 flags
#: about a tenth of plain Gaussian data, so the screen asks for a clear anomaly.
ISOLATION_THRESHOLD = 0.65
#: The most a 0/1 step or a change of category may move a customer (a plain 0/1 step).
MAX_STEP = float(np.sqrt(2.0))
#: The most variance one categorical column (or 0/1 flag) carries; a standardised numeric
#: column carries 1 (see the module notes).
CATEGORY_VARIANCE = 0.5


def build_preprocessor(
    schema: Schema, *, scaler: str = "standard", kind: str = "scaled"
) -> ColumnTransformer:
    """Build the unfitted preprocessing transformer for a schema.

    Numeric features: median imputation, ``signed_log1p`` for skewed ones, then scaling
    (two-valued flags capped, see the module notes). Categorical features: most-frequent
    imputation, then a one-hot encoding weighted so one column weighs what one numeric
    column weighs, ignoring categories unseen in training (``kind="scaled"``); left out
    (``"numeric"``); or one integer code each, -1 for an unseen category (``"mixed"``).

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
    make_scaler = FlagStandardScaler if scaler == "standard" else FlagRobustScaler
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
            ("onehot", BalancedOneHotEncoder(handle_unknown="ignore", sparse_output=False))
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


class _FlagFloor:
    """Mixin for a scikit-learn scaler: two-valued columns are centred on their mean and
    scaled by ``max(std / sqrt(CATEGORY_VARIANCE), range / MAX_STEP)`` (module notes).

    Attributes
    ----------
    flags_ : ndarray of bool, shape (n_features,)
        Which columns held exactly two distinct values in training.
    """

    def fit(self, X, y=None, sample_weight=None):
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        super().fit(X, y, **kwargs)
        X = np.asarray(X, dtype=float)
        low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
        at_ends = np.equal(X, low) | np.equal(X, high) | np.isnan(X)
        self.flags_ = (high > low) & at_ends.all(axis=0)
        if self.flags_.any():
            flags = X[:, self.flags_]
            mean, std = np.nanmean(flags, axis=0), np.nanstd(flags, axis=0)
            scale = np.maximum(
                std / np.sqrt(CATEGORY_VARIANCE), (high - low)[self.flags_] / MAX_STEP
            )
            center_name = "mean_" if hasattr(self, "mean_") else "center_"
            center = np.array(getattr(self, center_name), dtype=float)
            center[self.flags_] = mean
            setattr(self, center_name, center)
            self.scale_ = np.array(self.scale_, dtype=float)
            self.scale_[self.flags_] = scale
        return self


class FlagStandardScaler(_FlagFloor, StandardScaler):
    """``StandardScaler`` whose two-valued columns weigh what a two-valued category does."""


class FlagRobustScaler(_FlagFloor, RobustScaler):
    """``RobustScaler`` whose two-valued columns are scaled as :class:`FlagStandardScaler`
    scales them (a rare flag has an interquartile range of zero)."""

    def fit(self, X, y=None):
        return super().fit(X, y)


class BalancedOneHotEncoder(OneHotEncoder):
    """One-hot encoding where each column's block is weighted by its category shares.

    Attributes
    ----------
    weights_ : ndarray of shape (n_features,)
        ``min(1, sqrt(CATEGORY_VARIANCE / (1 - sum(p_j ** 2))))`` per input column, from
        the shares ``p_j`` of its categories in training: the block's variance is at most
        :data:`CATEGORY_VARIANCE` and a change of category moves a customer at most
        ``sqrt(2)``.
    """

    def fit(self, X, y=None):
        super().fit(X, y)
        dense = super().transform(X)
        dense = dense.toarray() if hasattr(dense, "toarray") else np.asarray(dense)
        weights = []
        for start, stop in self._blocks():
            shares = dense[:, start:stop].mean(axis=0)
            spread = 1.0 - float((shares**2).sum())
            weights.append(
                1.0 if spread <= CATEGORY_VARIANCE else np.sqrt(CATEGORY_VARIANCE / spread)
            )
        self.weights_ = np.asarray(weights, dtype=float)
        return self

    def transform(self, X):
        check_is_fitted(self, "weights_")
        out = super().transform(X)
        out = out.toarray() if hasattr(out, "toarray") else np.asarray(out, dtype=float)
        return out * self.output_weights()

    def output_weights(self) -> np.ndarray:
        """The weight of every one-hot output column, shape (n_outputs,)."""
        return (
            np.concatenate(
                [
                    np.full(stop - start, w)
                    for (start, stop), w in zip(self._blocks(), self.weights_, strict=True)
                ]
            )
            if len(self.weights_)
            else np.empty(0)
        )

    def _blocks(self) -> list[tuple[int, int]]:
        sizes = [len(c) for c in self.categories_]
        ends = np.cumsum(sizes)
        return [(int(e - n), int(e)) for e, n in zip(ends, sizes, strict=True)]


def numeric_block(features: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The numeric features median-imputed, skewed ones on the signed-log scale, not
    scaled (kept for the benchmark; the screen itself works on the model's scaled space,
    see :func:`outlier_screen`)."""
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
    X: np.ndarray, *, method: str = "iqr", random_state: int | None = None
) -> np.ndarray:
    """The mask of :func:`outlier_screen` alone (True for rows to leave out)."""
    return outlier_screen(X, method=method, random_state=random_state)[0]


def outlier_screen(
    X: np.ndarray,
    *,
    method: str = "iqr",
    random_state: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Flag training rows that are extreme on the model's scale as a whole.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_columns)
        The rows in the model's scaled space (the preprocessor's output: every segmenting
        feature, categories weighted, skewed money columns on the log scale).
    method : {"iqr", "isolation_forest", "none"}, default="iqr"
        ``iqr``: each row's distance from the coordinate-wise median customer; a row is
        flagged when that distance lies more than :data:`IQR_FACTOR` interquartile ranges
        above the upper quartile of all distances (Tukey's far-out fence on one number
        per customer, not on each column). ``isolation_forest``: scikit-learn's
        ``IsolationForest`` on the same space, flagging anomaly scores above
        :data:`ISOLATION_THRESHOLD`.
        ``none``: nobody.
    random_state : int, optional

    Returns
    -------
    mask : ndarray of bool, shape (n_rows,)
        True for the rows to leave out of the fit.
    score : ndarray of float, shape (n_rows,)
        How far each row is from typical, in units of the threshold (above 1 is flagged).
    note : str
        What happened, in a sentence; says so when the screen was left out because it
        would have flagged more than :data:`MAX_OUTLIER_SHARE` of the rows.
    """
    if method not in OUTLIER_METHODS:
        raise ValueError(f"outlier method must be one of {OUTLIER_METHODS}, got {method!r}")
    n_rows = X.shape[0]
    nobody = np.zeros(n_rows, dtype=bool)
    if method == "none":
        return nobody, np.zeros(n_rows), "no outlier screen (method none)"
    if X.shape[1] == 0 or n_rows < 20:
        return nobody, np.zeros(n_rows), "no outlier screen: fewer than 20 customers"
    if method == "isolation_forest":
        forest = IsolationForest(random_state=random_state, n_jobs=1).fit(X)
        # score_samples is minus the anomaly score of the original paper.
        score = -forest.score_samples(X) / ISOLATION_THRESHOLD
        rule = f"isolation forest anomaly score above {ISOLATION_THRESHOLD:g}"
    else:
        distance = np.sqrt(((X - np.median(X, axis=0)) ** 2).sum(axis=1))
        q1, q3 = np.percentile(distance, [25, 75])
        fence = q3 + IQR_FACTOR * (q3 - q1)
        score = distance / fence if fence > 0 else np.zeros(n_rows)
        rule = (
            f"distance from the median customer beyond {IQR_FACTOR:g} IQRs above the upper "
            "quartile of distances"
        )
    flagged = score > 1
    n_flagged = int(flagged.sum())
    if n_flagged > MAX_OUTLIER_SHARE * n_rows:
        return (
            nobody,
            score,
            f"screen left out: it would flag {n_flagged:,} of {n_rows:,} customers "
            f"({n_flagged / n_rows:.0%}, more than {MAX_OUTLIER_SHARE:.0%}), which is a long "
            "tail, not outliers; every customer was used",
        )
    if not n_flagged:
        return flagged, score, f"no customer is extreme ({rule})"
    return flagged, score, f"{n_flagged:,} extreme customer(s) left out of the fit ({rule})"


def outlier_reasons(
    X: np.ndarray, columns: list[str], rows: np.ndarray, *, top: int = 2
) -> list[str]:
    """Why each of ``rows`` is extreme: the features that put it furthest from the median.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_outputs)
        The scaled space, as given to :func:`outlier_screen`.
    columns : list of str
        The feature each output column comes from (one-hot columns share one).
    rows : ndarray of int
        Positions of the flagged rows.
    """
    deviation = (X[rows] - np.median(X, axis=0)) ** 2
    names = list(dict.fromkeys(columns))
    per_feature = np.column_stack(
        [deviation[:, [i for i, c in enumerate(columns) if c == n]].sum(axis=1) for n in names]
    )
    reasons = []
    for row in per_feature:
        order = np.argsort(-row, kind="stable")[:top]
        share = row[order] / row.sum() if row.sum() > 0 else np.zeros(len(order))
        parts = [f"{names[i]} ({s:.0%})" for i, s in zip(order, share, strict=True) if s >= 0.1]
        reasons.append("far from typical on " + ", ".join(parts or [names[order[0]]]))
    return reasons


def output_features(preprocess: ColumnTransformer) -> list[str]:
    """The input feature behind each output column of a fitted preprocessor."""
    out = []
    for name, pipeline, columns in preprocess.transformers_:
        if name == "remainder" or pipeline == "drop":
            continue
        if name == "categorical":
            encoder = pipeline.named_steps["onehot"]
            for column, cats in zip(columns, encoder.categories_, strict=True):
                out += [column] * len(cats)
        else:
            out += list(columns)
    return out
