"""The segmentation model: one scikit-learn estimator holding one fitted ``Pipeline``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.metrics import pairwise_distances_argmin
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from segmentation.config import MAX_K, MAX_SEED
from segmentation.data.rules import (
    DISTANCE_DECIMALS,
    LABEL_COLUMNS,
    OUTPUT_COLUMNS,
    PROBABILITY_COLUMN,
    FeatureReport,
    normalize_name,
)
from segmentation.data.schema import PURPOSES, ROLES, infer_schema
from segmentation.errors import DataError, SchemaError, SegmentationError
from segmentation.insight import drift
from segmentation.insight.profiles import SegmentProfile, profile_segments
from segmentation.insight.rules import segment_rules
from segmentation.modeling.algorithms import ALGORITHMS, NEAREST_CENTROID, get_algorithm
from segmentation.modeling.features import FeaturePreparer, prepare_features
from segmentation.modeling.preprocess import (
    OUTLIER_METHODS,
    SCALERS,
    build_preprocessor,
    outlier_reasons,
    outlier_screen,
    output_features,
)
from segmentation.modeling.selection import MIN_CUSTOMERS, assess_k, evaluate_fitted, sweep_k
from segmentation.modeling.stability import segment_stability
from segmentation.types import Progress

__all__ = ["OUTPUT_COLUMNS", "Prediction", "SegmentationModel"]


#: Rows labeled at a time: bounds the memory of the dense transformed matrix.
PREDICT_CHUNK = 200_000
#: Outliers listed in :meth:`SegmentationModel.summary` (all are in ``outliers_``).
OUTLIERS_LISTED = 50


@dataclass
class Prediction:
    """Labels for a table, with what had to be fixed on the way.

    Attributes
    ----------
    labels : DataFrame
        ``cluster`` (int), ``segment`` (name) and ``cluster_distance`` (float), indexed
        like the input; ``segment_probability`` too when the algorithm gives
        probabilities.
    report : FeatureReport
        Renamed columns, unparseable values with their row numbers, missing cells.
    """

    labels: pd.DataFrame
    report: FeatureReport = field(default_factory=FeatureReport)
    #: How the table compares with the training data; None for a model fitted before
    #: drift references were kept.
    drift: drift.DriftReport | None = None

    def join(self, table: pd.DataFrame) -> pd.DataFrame:
        """The input table with the label columns appended (replacing old ones)."""
        written = {*LABEL_COLUMNS, *self.labels.columns}
        kept = table.drop(columns=[c for c in table.columns if c in written])
        return pd.concat([kept, self.labels], axis=1)


class SegmentationModel(ClusterMixin, BaseEstimator):
    """Segment the customers of any table: features, preprocessing and a clusterer in one
    fitted scikit-learn ``Pipeline``, plus segment profiles.

    Parameters
    ----------
    k : int, optional
        Number of segments (2 to 50). ``None`` chooses it with a sweep over ``k_range``.
    k_range : (int, int), default=(2, 10)
        Candidates for the automatic choice, both ends included (2 to 50).
    algorithm : str, default="kmeans"
        A name in :data:`segmentation.modeling.algorithms.ALGORITHMS`.
    scaler : {"standard", "robust"}, default="standard"
    outlier_method : {"iqr", "isolation_forest", "none"}, default="iqr"
        How training rows are screened for outliers, on the model's scaled space as a
        whole (see :func:`segmentation.modeling.preprocess.outlier_screen`); they are
        left out of the fit but still labeled. When a screen would flag more than 5% of
        the rows it is left out.
    roles : dict, optional
        Role overrides ``{column: role}`` (see :func:`segmentation.data.schema.infer_schema`).
    purposes : dict, optional
        Purpose overrides ``{column: "segment" | "describe"}``; other features keep their
        default purpose (see :func:`segmentation.data.schema.default_purpose`). Only
        ``segment`` columns enter the distances; ``describe`` columns are profiled.
    id_column : str, optional
    exclude : sequence of str, default=()
    random_state : int, default=42
        Threaded through the outlier screen, the sweep sample, the clusterer and the
        silhouette sample.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        ``features`` (:class:`FeaturePreparer`) -> ``preprocess`` (``ColumnTransformer``)
        -> ``cluster`` (the fitted clusterer). Fitted once.
    schema_ : Schema
        Every column's role and purpose; ``schema_.features`` are the segmenting columns
        (all a new table needs for labeling), ``schema_.descriptors`` the describing ones.
    k_ : int
    labels_ : ndarray of int, shape (n_rows,)
        The segment of every training row (outliers included).
    sweep_ : Sweep or None
        Set when k was chosen automatically.
    k_choice_ : KChoice
        The evidence for k and the verdict (``clear``, ``weak``, ``none``); for a k given
        by hand, the evidence for that k alone.
    stability_ : Stability
        Bootstrap stability of every segment and overall.
    metrics_ : Metrics
        Of the final clustering, on the training rows.
    profiles_ : list of SegmentProfile
    segment_edits_ : dict
        ``{cluster id: {"name", "recommendations"}}`` an analyst chose (see
        :meth:`apply_segment_edits`); empty when fitted, set when loaded from the store.
    n_rows_, n_train_rows_, n_outliers_removed_ : int
    outliers_ : DataFrame
        The training rows left out of the fit: ``row`` (0-based position in ``X``),
        ``id`` (the id column's value, when there is one), ``score`` (distance in units
        of the screen's threshold) and ``reason``. Empty when nobody was left out.
    outlier_screen_ : dict
        ``method``, ``n_flagged``, ``n_removed`` and ``note`` (what the screen did, e.g.
        that it was left out because it would have flagged too many customers).
    fit_report_ : FeatureReport
    drift_reference_ : dict
        JSON-safe summary of the training table that files are compared with
        (:func:`segmentation.insight.drift.build_reference`): per-feature ranges,
        deciles and category shares of every training row, the segment mix, and per
        segment the 95th percentile of its fitted customers' distances to the centre.

    Examples
    --------
    >>> from segmentation.data.synthetic import generate_customers
    >>> model = SegmentationModel(k=5).fit(generate_customers(500))
    >>> model.predict(generate_customers(3, seed=1)).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 2, MAX_K, closed="both"), None],
        "k_range": [tuple, list],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "scaler": [StrOptions(set(SCALERS))],
        "outlier_method": [StrOptions(set(OUTLIER_METHODS))],
        "roles": [dict, None],
        "purposes": [dict, None],
        "id_column": [str, None],
        "exclude": [tuple, list],
        "random_state": [Interval(Integral, 0, MAX_SEED, closed="both")],
    }

    def __init__(
        self,
        *,
        k: int | None = None,
        k_range: tuple[int, int] = (2, 10),
        algorithm: str = "kmeans",
        scaler: str = "standard",
        outlier_method: str = "iqr",
        roles: Mapping[str, str] | None = None,
        purposes: Mapping[str, str] | None = None,
        id_column: str | None = None,
        exclude: tuple[str, ...] | list[str] = (),
        random_state: int = 42,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.algorithm = algorithm
        self.scaler = scaler
        self.outlier_method = outlier_method
        self.roles = roles
        self.purposes = purposes
        self.id_column = id_column
        self.exclude = exclude
        self.random_state = random_state

    # -- training ---------------------------------------------------------------------
    def _validate_params(self) -> None:
        """scikit-learn's declared checks, as one clear :class:`SegmentationError`."""
        try:
            super()._validate_params()
        except (ValueError, TypeError) as exc:
            name = next((p for p in _PARAM_HELP if f"'{p}' parameter" in str(exc)), None)
            if name is None:
                raise SegmentationError(str(exc)) from None
            raise SegmentationError(f"{_PARAM_HELP[name]}; got {getattr(self, name)!r}") from None
        k_min, k_max = _k_range(self.k_range)
        if not 2 <= k_min <= k_max <= MAX_K:
            raise SegmentationError(
                f"the range of k to try must satisfy 2 <= smallest <= largest <= {MAX_K}; got "
                f"{k_min} to {k_max}"
            )
        for column, role in (self.roles or {}).items():
            if role not in ROLES:
                raise SchemaError(
                    f"unknown role {role!r} for column {column!r}; use one of {ROLES}"
                )
        for column, purpose in (self.purposes or {}).items():
            if purpose not in PURPOSES:
                raise SchemaError(
                    f"unknown purpose {purpose!r} for column {column!r}; use one of {PURPOSES}"
                )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: pd.DataFrame, y=None, *, progress: Progress | None = None):
        """Infer the schema, fit the pipeline once, choose k if needed, cluster, profile.

        Parameters
        ----------
        X : DataFrame
            One row per customer.
        y : ignored
        progress : callable, optional
            Called as ``progress(fraction, message)`` with fraction from 0 to 1.

        Returns
        -------
        self

        Raises
        ------
        SegmentationError
            Invalid parameters (one sentence naming the parameter).
        DataError
            Fewer than 30 usable customers, or too few for the requested k.
        SchemaError
            No usable feature column.
        """
        report = progress or (lambda fraction, message: None)
        algorithm = get_algorithm(self.algorithm)
        if not isinstance(X, pd.DataFrame):
            raise DataError("a model is trained on a table (a pandas DataFrame) of customers")
        if len(X) == 0:
            raise DataError("the table has no rows; load a file with customers in it")
        report(0.02, "Reading columns")
        schema = infer_schema(
            X,
            roles=dict(self.roles or {}),
            id_column=self.id_column,
            exclude=self.exclude,
            purposes=dict(self.purposes or {}),
        )
        if not schema.features:
            reasons = "; ".join(f"{c.name}: {c.reason}" for c in schema.columns)
            raise SchemaError(
                f"nothing to cluster: no column is usable as a feature ({reasons}); "
                "add numeric or categorical columns or change the column roles"
            )
        preparer = FeaturePreparer(schema=schema)
        # Prepared once with the describing columns too (for the profiles); the pipeline
        # and every distance see only the segmenting ones.
        described, fit_report = prepare_features(X, schema.with_descriptors())
        features = described[schema.features]
        usable = ~features.isna().all(axis=1).to_numpy()
        n_usable = int(usable.sum())
        k_range = _k_range(self.k_range)
        k_min = self.k or k_range[0]
        if n_usable < MIN_CUSTOMERS:
            raise DataError(
                f"only {n_usable} usable customer(s); segmenting needs at least "
                f"{MIN_CUSTOMERS}, since fewer cannot show whether segments are real: "
                "load more customers"
            )

        if algorithm.preprocessing == "numeric" and not schema.numeric:
            raise SchemaError(
                f"{algorithm.label} segments on numeric columns and none forms the segments "
                "here; choose another method, or set a numeric column's purpose to segment"
            )
        if algorithm.preprocessing == "mixed" and not schema.categorical:
            raise SchemaError(
                f"{algorithm.label} is for tables with categorical columns and none forms "
                "the segments here; use K-Means (kmeans), or set a categorical column's "
                "purpose to segment (--segment-on COLUMN, or the Purpose column in Retrain)"
            )

        report(0.1, "Screening outliers")
        outliers, outlier_table, screen, probe = self._screen_outliers(X, features, usable, schema)
        train = usable & ~outliers
        if train.sum() < k_min + 1:
            train, outliers = usable, np.zeros_like(outliers)
            outlier_table = outlier_table.iloc[:0]
            screen["note"] += "; too few customers would be left, so every customer was used"
        # The preprocessing is fitted on typical customers, not the outliers: the screen's
        # own fit on every usable row is that fit when nobody was left out (the screen
        # uses the one-hot model space; other methods' preprocessing is fitted here).
        if (train == usable).all() and algorithm.preprocessing == "scaled":
            preprocess = probe
        else:
            preprocess = build_preprocessor(
                schema, scaler=self.scaler, kind=algorithm.preprocessing
            ).fit(features[train])
        X_train = preprocess.transform(features[train])

        sweep = None
        k = self.k
        if k is None:
            k_max = min(k_range[1], len(X_train) - 1)
            if k_max < k_range[0]:
                raise DataError(
                    f"only {len(X_train)} usable rows: too few to choose k between "
                    f"{k_range[0]} and {k_range[1]}; load more customers"
                )
            sweep = sweep_k(
                X_train,
                (k_range[0], k_max),
                random_state=self.random_state,
                fit=algorithm.fit,
                progress=lambda fraction, message: report(0.15 + 0.6 * fraction, message),
            )
            k = sweep.recommended_k
        if len(X_train) <= k:
            raise DataError(
                f"only {len(X_train)} usable rows for k = {k}; load more customers or lower k"
            )

        report(0.8, f"Fitting {k} segments")
        clusterer = (algorithm.final_fit or algorithm.fit)(X_train, k, self.random_state)
        metrics = evaluate_fitted(X_train, clusterer, random_state=self.random_state)
        report(0.85, "Checking how stable the segments are")
        k_choice = (
            sweep.choice
            if sweep is not None
            else assess_k(
                X_train,
                k,
                labels=clusterer.labels_,
                silhouette=metrics.silhouette,
                random_state=self.random_state,
                fit=algorithm.fit,
            )
        )
        stability = segment_stability(
            X_train, clusterer.labels_, k, fit=algorithm.fit, random_state=self.random_state
        )
        self.pipeline_ = Pipeline(
            [("features", preparer), ("preprocess", preprocess), ("cluster", clusterer)]
        )
        labels = np.empty(len(X), dtype=np.int64)
        labels[train] = clusterer.labels_
        if (~train).any():
            rest = preprocess.transform(features[~train])
            labels[~train] = self._assign(rest)[0]

        report(0.92, "Profiling segments")
        self.schema_ = schema
        self.k_ = int(k)
        self.labels_ = labels
        self.sweep_ = sweep
        self.k_choice_ = k_choice
        self.stability_ = stability
        self.metrics_ = metrics
        self.segment_edits_ = {}  # names and recommendations an analyst chose, by id
        self.profiles_ = profile_segments(
            described, labels, schema.with_descriptors(), k=k, typical=train
        )
        report(0.95, "Writing a short rule for each segment")
        # Rules read the segmenting columns only: what formed the segments explains them.
        self.rules_ = segment_rules(
            features,
            labels,
            numeric=schema.numeric,
            categorical=schema.categorical,
            clusters=list(range(self.k_)),
            random_state=self.random_state,
        )
        self.n_rows_ = len(X)
        self.n_train_rows_ = int(train.sum())
        self.n_outliers_removed_ = int(outliers.sum())
        self.outliers_ = outlier_table.reset_index(drop=True)
        self.outlier_screen_ = {**screen, "n_removed": self.n_outliers_removed_}
        self.fit_report_ = fit_report
        fit_clusters, fit_distances = self._assign(X_train)
        self.drift_reference_ = drift.build_reference(
            *self._drift_columns(features),
            labels,
            self.k_,
            train_clusters=fit_clusters,
            train_distances=fit_distances,
        )
        report(1.0, "Done")
        return self

    def _screen_outliers(
        self, X: pd.DataFrame, features: pd.DataFrame, usable: np.ndarray, schema
    ) -> tuple[np.ndarray, pd.DataFrame, dict, object]:
        """Flag training rows extreme on the model's scale as a whole (private: ``usable``
        has at least one row).

        The screen needs the scaled space, so a preprocessor is fitted on every usable
        row (returned last); when rows are left out, the model's own is refitted on the
        rest.
        """
        flagged = np.zeros(len(X), dtype=bool)
        rows = np.flatnonzero(usable)
        probe = build_preprocessor(schema, scaler=self.scaler).fit(features.iloc[rows])
        scaled = probe.transform(features.iloc[rows])
        mask, score, note = outlier_screen(
            scaled, method=self.outlier_method, random_state=self.random_state
        )
        flagged[rows[mask]] = True
        table = pd.DataFrame({"row": rows[mask], "score": np.round(score[mask], 2)})
        if schema.id_column is not None:
            table.insert(1, "id", X[schema.id_column].to_numpy()[rows[mask]])
        table["reason"] = (
            outlier_reasons(scaled, output_features(probe), np.flatnonzero(mask))
            if mask.any()
            else []
        )
        screen = {"method": self.outlier_method, "n_flagged": int(mask.sum()), "note": note}
        return flagged, table.sort_values("score", ascending=False), screen, probe

    # -- labeling ---------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "pipeline_")

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except NotFittedError:
            raise NotFittedError(
                "this segmentation model has not been trained yet: call fit() on a customer "
                "table first, or load a trained version from the model store"
            ) from None

    @property
    def algorithm_(self):
        """The registry entry of the fitted clusterer."""
        return get_algorithm(self.algorithm)

    @property
    def clusterer_(self):
        """The fitted clusterer, the pipeline's final step."""
        return self.pipeline_.named_steps["cluster"]

    @property
    def segment_names(self) -> dict[int, str]:
        """``{cluster id: segment name}``."""
        return {p.cluster: p.name for p in self.profiles_}

    def profile(self, cluster: int) -> SegmentProfile:
        """The profile of segment ``cluster``."""
        return self.profiles_[cluster]

    def preprocess(self, features: pd.DataFrame) -> np.ndarray:
        """Prepared features (see :meth:`prepare`) in the model's scaled space."""
        return self.pipeline_.named_steps["preprocess"].transform(features)

    def prepare(
        self,
        data: pd.DataFrame,
        *,
        mapping: Mapping[str, str] | None = None,
        allow_missing: bool = False,
    ) -> tuple[pd.DataFrame, FeatureReport]:
        """The pipeline's first step on ``data``, with its report."""
        self._check_fitted()
        return self.pipeline_.named_steps["features"].prepare(
            data, mapping=mapping, allow_missing=allow_missing
        )

    def imputed_values(self, columns: Sequence[str] | None = None) -> dict[str, object]:
        """What a missing value of each feature is replaced with before labeling.

        Parameters
        ----------
        columns : sequence of str, optional
            Model features; default all of them.

        Returns
        -------
        dict
            ``{feature: value}``: the training median of a numeric feature (a date
            feature's as a ``"YYYY-MM-DD"`` date), the most common training value of a
            categorical one; None for a feature the method does not use in its distances.
        """
        self._check_fitted()
        columns = list(self.schema_.features if columns is None else columns)
        fitted = {}
        for _, transformer, names in self.pipeline_.named_steps["preprocess"].transformers_:
            steps = getattr(transformer, "named_steps", {})
            if "impute" in steps:
                fitted.update(zip(names, steps["impute"].statistics_, strict=True))
        dates = set(self.schema_.names("date"))
        reference = self.schema_.reference_date
        out: dict[str, object] = {}
        for column in columns:
            value = fitted.get(column)
            if isinstance(value, np.generic):
                value = value.item()
            if column in dates and value is not None and reference:
                value = (pd.Timestamp(reference) - pd.Timedelta(days=float(value))).strftime(
                    "%Y-%m-%d"
                )
            out[column] = value
        return out

    def _assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment and distance to the segment's centre of preprocessed rows.

        By the registry's ``assigns_new_by``: the nearest centre is found as scikit-learn
        does, and the distance to it is then computed directly (not from the expanded
        square), so it is exact to rounding and the fast labeler's equals it; other
        algorithms assign with their own ``assign`` (k-prototypes' distance, the most
        probable Gaussian component).
        """
        clusterer = self.clusterer_
        if self.algorithm_.assigns_new_by != NEAREST_CENTROID:
            return clusterer.assign(X)
        centers = clusterer.cluster_centers_
        clusters = pairwise_distances_argmin(X, centers)
        distances = np.sqrt(((X - centers[clusters]) ** 2).sum(axis=1))
        return clusters.astype(np.int64), distances

    def _segment_probability(self, X: np.ndarray, clusters: np.ndarray) -> np.ndarray:
        """The posterior probability of each row's assigned segment (algorithms that give
        probabilities only)."""
        return self.clusterer_.predict_proba(X)[np.arange(len(X)), clusters]

    def segment_merges(self) -> np.ndarray | None:
        """How the segments merge, as a scipy linkage matrix over the segment ids (for a
        dendrogram), or None when the algorithm builds no tree."""
        self._check_fitted()
        return getattr(self.clusterer_, "linkage_", None)

    def label(
        self,
        data: pd.DataFrame,
        *,
        mapping: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        allow_missing: bool = False,
        explain: bool = False,
    ) -> Prediction:
        """Label every row of a table: the general path (any table, any algorithm).

        Parameters
        ----------
        data : DataFrame
            Any table with the model's feature columns (names match case-, space- and
            punctuation-insensitively; ``mapping`` matches renamed ones by hand). Extra
            columns are ignored here and kept by :meth:`Prediction.join`.
        mapping : dict, optional
            ``{model column: table column}``.
        progress : callable, optional
            Called as ``progress(fraction, message)`` after each chunk.
        allow_missing : bool, default=False
            Impute model columns the table lacks, for every row, as a missing value is
            imputed (:meth:`imputed_values` says with what), instead of failing.
        explain : bool, default=False
            Add ``runner_up_segment`` and ``margin`` (the second nearest or second most
            probable segment, and the gap to it: :mod:`segmentation.insight.explain`).

        Returns
        -------
        Prediction

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        SchemaError
            When model columns are missing and ``allow_missing`` is false; the message
            names them.
        """
        features, report = self.prepare(data, mapping=mapping, allow_missing=allow_missing)
        n = len(features)
        clusters = np.empty(n, dtype=np.int64)
        distances = np.empty(n, dtype=np.float64)
        soft = self.algorithm_.gives_probabilities
        probability = np.empty(n, dtype=np.float64) if soft else None
        if explain:
            from segmentation.insight.explain import runner_up

            runners = np.empty(n, dtype=np.int64)
            margins = np.empty(n, dtype=np.float64)
        for start in range(0, n, PREDICT_CHUNK):
            stop = min(start + PREDICT_CHUNK, n)
            X = self.preprocess(features.iloc[start:stop])
            clusters[start:stop], distances[start:stop] = self._assign(X)
            if soft:
                probability[start:stop] = self._segment_probability(X, clusters[start:stop])
            if explain:
                chunk = runner_up(self, X, clusters[start:stop])
                runners[start:stop], margins[start:stop] = chunk.runner_up, chunk.margin
            if progress:
                progress(stop / n, f"Labeled {stop:,} of {n:,} customers")
        names = np.array([p.name for p in self.profiles_], dtype=object)
        reference = getattr(self, "drift_reference_", None)
        drifted = None
        if reference is not None:
            counts = drift.DriftCounts(reference)
            numeric, categorical = self._drift_columns(features)
            for column, values in numeric.items():
                counts.add_numeric(column, values)
            for column, (codes, _) in categorical.items():
                counts.add_categorical(column, codes)
            counts.add_segments(clusters)
            drifted = counts.report(list(names))
        labels = pd.DataFrame(
            {
                "cluster": clusters,
                "segment": names[clusters] if n else np.array([], dtype=object),
                "cluster_distance": np.round(distances, DISTANCE_DECIMALS),
            },
            index=data.index,
        )
        if soft:
            labels[PROBABILITY_COLUMN] = np.round(probability, DISTANCE_DECIMALS)
        if explain:
            labels["runner_up_segment"] = names[runners] if n else np.array([], dtype=object)
            labels["margin"] = np.round(margins, DISTANCE_DECIMALS)
        return Prediction(labels, report, drifted)

    def _drift_columns(self, features: pd.DataFrame) -> tuple[dict, dict]:
        """Prepared features as the drift counts read them: numeric values (NaN where
        missing) and category codes (index in the fitted categories, unseen, missing)."""
        numeric = {
            c: features[c].to_numpy(dtype=float, na_value=np.nan) for c in self.schema_.numeric
        }
        categorical = {}
        transformers = self.pipeline_.named_steps["preprocess"].named_transformers_
        # A method that leaves the categories out of its distances (gmm) has no fitted
        # categories to compare a file with: only its numeric features are checked.
        if self.schema_.categorical and "categorical" in transformers:
            steps = transformers["categorical"].named_steps
            encoder = steps["onehot"] if "onehot" in steps else steps["ordinal"]
            for column, cats in zip(self.schema_.categorical, encoder.categories_, strict=True):
                cats = [str(c) for c in cats]
                lookup = {c: i for i, c in enumerate(cats)}
                codes, uniques = pd.factorize(features[column], use_na_sentinel=True)
                # Code -1 (missing) takes the trailing entry.
                mapping = np.array(
                    [lookup.get(str(u), drift.UNSEEN_CODE) for u in uniques] + [drift.MISSING_CODE],
                    dtype=np.int64,
                )
                categorical[column] = (mapping[codes], cats)
        return numeric, categorical

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The segment id of every row of ``X`` (see :meth:`label` for names, distances
        and the report).

        Returns
        -------
        ndarray of int, shape (n_rows,)
        """
        return self.label(X).labels["cluster"].to_numpy()

    def predict_one(self, record: Mapping[str, object]) -> dict:
        """Label one customer given as a mapping of column names to values.

        Keys match the model's columns case-, space- and punctuation-insensitively
        (``spending_score`` is ``SpendingScore``). A feature the record lacks is imputed
        and named in ``warnings``; keys the model does not use are named there too.

        Returns
        -------
        dict
            ``cluster``, ``segment``, ``cluster_distance``, ``characteristics`` (the
            segment's traits), ``recommendations``, ``outlier``, ``warnings`` and ``why``
            (the runner-up segment, the margin and the features that pull the customer
            toward its segment: :func:`segmentation.insight.explain.explain_one`).
            ``warnings`` names fields outside the training range; ``outlier`` is true
            when the customer lies more than 3 times further from the segment's centre
            than 95% of its training members (a sentence in ``warnings`` says so, and
            no recommendations are given).

        Raises
        ------
        DataError
            When a value is impossible for its column (a negative age, income, count).
        """
        self._check_fitted()
        if not isinstance(record, Mapping):
            raise DataError("a customer record must be a JSON object of column: value pairs")
        impossible = [m for k, v in record.items() if (m := drift.impossible_value(str(k), v))]
        if impossible:
            raise DataError("; ".join(impossible) + "; correct the record and try again")
        frame = pd.DataFrame({str(k): [v] for k, v in record.items()}, index=[0])
        features, report = self.prepare(frame, allow_missing=True)
        # Matching ``spending_score`` to ``SpendingScore`` is expected here, not a warning.
        report.renamed = {}
        warnings = report.warnings()
        known = {normalize_name(f) for f in self.schema_.features}
        present = {normalize_name(c) for c in frame.columns}
        for feature in self.schema_.features:
            if normalize_name(feature) not in present:
                warnings.append(f"{feature!r} is missing from the record; it was imputed")
        ignored = [c for c in frame.columns if normalize_name(c) not in known]
        if ignored:
            warnings.append(f"not used by the model: {', '.join(map(str, ignored))}")
        X = self.preprocess(features)
        cluster, distance = self._assign(X)
        profile = self.profiles_[int(cluster[0])]
        outlier = None
        reference = getattr(self, "drift_reference_", None)
        if reference is not None:
            values = {c: float(features[c].iloc[0]) for c in self.schema_.numeric}
            warnings += drift.range_warnings(reference, values, self.schema_.names("date"))
            outlier = drift.outlier_sentence(
                reference, int(cluster[0]), float(distance[0]), profile.name
            )
            if outlier:
                warnings.append(outlier)
        result = {
            "cluster": int(cluster[0]),
            "segment": profile.name,
            "cluster_distance": float(distance[0]),
        }
        if self.algorithm_.gives_probabilities:
            result[PROBABILITY_COLUMN] = float(self._segment_probability(X, cluster)[0])
        from segmentation.insight.explain import explain_one

        return {
            **result,
            "characteristics": list(profile.traits),
            # An outlier is not a confident member: no segment campaign for a typo.
            "recommendations": [] if outlier else list(profile.recommendations),
            "outlier": bool(outlier),
            "warnings": warnings,
            "why": explain_one(model=self, features=features, X=X, cluster=int(cluster[0])),
        }

    # -- identity across versions -----------------------------------------------------
    def apply_segment_edits(self, edits: Mapping[int, Mapping]) -> SegmentationModel:
        """Give segments the names and recommendations an analyst chose, in place.

        Parameters
        ----------
        edits : dict
            ``{cluster id: {"name": str, "recommendations": [str, ...]}}``; either key may
            be missing (that part keeps the rule-based text). Ids the model does not have
            are ignored.

        Returns
        -------
        self
        """
        self._check_fitted()
        kept = {int(c): dict(e) for c, e in edits.items() if 0 <= int(c) < self.k_}
        self.profiles_ = [
            replace(
                p,
                name=str(kept.get(p.cluster, {}).get("name", p.name)),
                recommendations=list(
                    kept.get(p.cluster, {}).get("recommendations", p.recommendations)
                ),
            )
            for p in self.profiles_
        ]
        self.segment_edits_ = kept
        return self

    def renumber_segments(self, ids, *, names: Mapping[int, str] | None = None):
        """Give the fitted segments other ids (and optionally names), in place.

        Used when a new version is matched to the one it replaces
        (:mod:`segmentation.modeling.matching`): a matched segment takes the old id and
        name. Everything indexed by id follows: the centroids (so :meth:`label`, the
        compiled labeler and ``predict`` agree), ``labels_`` and ``profiles_``.

        Parameters
        ----------
        ids : array-like of int, shape (k_,)
            A permutation of ``0..k_-1``: ``ids[j]`` is the new id of segment ``j``.
        names : dict, optional
            ``{new id: name}`` for the segments to rename; names must stay unique.

        Returns
        -------
        self

        Raises
        ------
        SegmentationError
            When ``ids`` is not a permutation of the segment ids or names clash.
        """
        self._check_fitted()
        ids = np.asarray(ids, dtype=np.int64)
        if ids.shape != (self.k_,) or set(ids.tolist()) != set(range(self.k_)):
            raise SegmentationError(
                f"segment ids must be a reordering of 0 to {self.k_ - 1}; got {ids.tolist()}"
            )
        order = np.argsort(ids)  # order[new id] = current id
        renamed = dict(names or {})
        profiles = [
            replace(
                self.profiles_[old], cluster=new, name=renamed.get(new, self.profiles_[old].name)
            )
            for new, old in enumerate(order.tolist())
        ]
        if len({p.name for p in profiles}) != len(profiles):
            raise SegmentationError(
                f"segment names must be unique; got {[p.name for p in profiles]}"
            )
        clusterer = self.clusterer_
        # Every per-segment array of every registered clusterer follows: centres (and
        # prototypes), a mixture's component order, Ward's merges of the segments.
        clusterer.cluster_centers_ = clusterer.cluster_centers_[order]
        clusterer.labels_ = ids[clusterer.labels_].astype(clusterer.labels_.dtype)
        if hasattr(clusterer, "order_"):
            clusterer.order_ = clusterer.order_[order]
        if getattr(clusterer, "linkage_", None) is not None:
            merges = clusterer.linkage_.copy()
            leaves = merges[:, :2] < self.k_
            merges[:, :2][leaves] = ids[merges[:, :2][leaves].astype(np.int64)]
            clusterer.linkage_ = merges
        self.labels_ = ids[self.labels_]
        self.profiles_ = profiles
        if getattr(self, "segment_edits_", None):
            self.segment_edits_ = {int(ids[c]): e for c, e in self.segment_edits_.items()}
        if getattr(self, "rules_", None) is not None:
            self.rules_ = [replace(self.rules_[old], cluster=new) for new, old in enumerate(order)]
        stability = getattr(self, "stability_", None)
        if stability is not None:
            self.stability_ = replace(
                stability, segments=tuple(stability.segments[j] for j in order.tolist())
            )
        if hasattr(self, "drift_reference_"):
            self.drift_reference_ = drift.permute_segments(self.drift_reference_, order.tolist())
        return self

    # -- reporting --------------------------------------------------------------------
    def summary(self) -> dict:
        """JSON-safe summary of the fitted model: k, metrics, rows, features, segments,
        the choice of k (``k_choice``) and ``stability``."""
        self._check_fitted()
        # Versions saved before the choice of k and stability were measured lack them.
        k_choice = getattr(self, "k_choice_", None)
        stability = getattr(self, "stability_", None)
        rules = getattr(self, "rules_", None)  # versions saved before rules have none
        # Models pickled before the outlier record existed have neither attribute.
        screen = getattr(self, "outlier_screen_", {"method": self.outlier_method, "note": ""})
        left_out = getattr(self, "outliers_", pd.DataFrame())
        return {
            "k": self.k_,
            "algorithm": self.algorithm,
            **{name: _json_float(v) for name, v in self.metrics_.to_dict().items() if name != "k"},
            "n_rows": self.n_rows_,
            "n_train_rows": self.n_train_rows_,
            "n_outliers_removed": self.n_outliers_removed_,
            "outliers": {
                "method": screen["method"],
                "n_removed": self.n_outliers_removed_,
                "note": screen["note"],
                "rows": [
                    {key: _json_value(value) for key, value in row.items()}
                    for row in left_out.head(OUTLIERS_LISTED).to_dict("records")
                ],
            },
            "features": self.schema_.features,
            "descriptors": self.schema_.descriptors,
            "columns": [
                {
                    "name": c.name,
                    "role": c.role,
                    "purpose": c.purpose,
                    "reason": c.purpose_reason or c.reason,
                }
                for c in self.schema_.columns
            ],
            "segments": [
                {
                    "cluster": p.cluster,
                    "name": p.name,
                    "size": p.size,
                    "stability": stability.segments[p.cluster] if stability else None,
                    "stability_word": stability.word(p.cluster) if stability else "unknown",
                    "rule": rules[p.cluster].to_dict() if rules else None,
                }
                for p in self.profiles_
            ],
            "k_choice": k_choice.to_dict() if k_choice else None,
            "stability": stability.to_dict() if stability else None,
        }


def _k_range(k_range) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in k_range)
    except (TypeError, ValueError):
        raise SegmentationError(
            f"k_range must be two whole numbers (smallest, largest), got {k_range!r}"
        ) from None
    return low, high


#: What each parameter must be, in the words the app and the command line use.
_PARAM_HELP = {
    "k": f"k (the number of segments) must be a whole number from 2 to {MAX_K}, or left out "
    "to choose it automatically",
    "k_range": "k_range must be two whole numbers (smallest, largest)",
    "algorithm": f"algorithm must be one of {', '.join(ALGORITHMS)}",
    "scaler": f"scaler must be one of {', '.join(SCALERS)}",
    "outlier_method": f"the outlier method must be one of {', '.join(OUTLIER_METHODS)}",
    "roles": "roles must be a mapping of column to role",
    "purposes": 'purposes must be a mapping of column to "segment" or "describe"',
    "id_column": "the id column must be a column name",
    "exclude": "exclude must be a list of column names",
    "random_state": f"the seed must be a whole number from 0 to {MAX_SEED}",
}


def _json_float(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _json_value(value: object) -> object:
    """A cell of the outlier table as JSON: numpy scalars as Python ones."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
