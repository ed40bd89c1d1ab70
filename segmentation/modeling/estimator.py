"""The segmentation model: schema + preprocessing pipeline + K-Means + segment profiles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import pairwise_distances_argmin_min

from segmentation.data.schema import (
    FeatureReport,
    infer_schema,
    normalize_name,
    prepare_features,
)
from segmentation.errors import DataError, SchemaError
from segmentation.insight.profiles import SegmentProfile, profile_segments
from segmentation.modeling.preprocess import build_preprocessor, numeric_block, outlier_mask
from segmentation.modeling.selection import evaluate, fit_kmeans, sweep_k

#: The three columns prediction adds to a table.
OUTPUT_COLUMNS = ("cluster", "segment", "cluster_distance")

Progress = Callable[[float, str], None]

#: Decimals kept of ``cluster_distance`` in outputs: ample for ranking, shorter files.
DISTANCE_DECIMALS = 6

#: Rows labeled at a time: bounds the memory of the dense transformed matrix.
PREDICT_CHUNK = 200_000


@dataclass
class Prediction:
    """Labels for a table, with what had to be fixed on the way.

    Attributes
    ----------
    labels : DataFrame
        ``cluster`` (int), ``segment`` (name) and ``cluster_distance`` (float), indexed
        like the input.
    report : FeatureReport
        Renamed columns, unparseable values with their row numbers, missing cells.
    """

    labels: pd.DataFrame
    report: FeatureReport = field(default_factory=FeatureReport)

    def join(self, table: pd.DataFrame) -> pd.DataFrame:
        """The input table with the three label columns appended (replacing old ones)."""
        kept = table.drop(columns=[c for c in OUTPUT_COLUMNS if c in table.columns])
        return pd.concat([kept, self.labels], axis=1)


class SegmentationModel:
    """Segment customers of any table with K-Means over one fitted preprocessing pipeline.

    Parameters
    ----------
    k : int, optional
        Number of segments. ``None`` chooses it with a sweep over ``k_range``.
    k_range : (int, int), default=(2, 10)
        Candidates for the automatic choice, both ends included.
    scaler : {"standard", "robust"}, default="standard"
    outlier_method : {"iqr", "isolation_forest", "none"}, default="iqr"
        How training rows are screened for outliers; they are left out of the fit but
        still labeled.
    roles : dict, optional
        Role overrides ``{column: role}`` (see :func:`segmentation.data.schema.infer_schema`).
    id_column : str, optional
    exclude : sequence of str, optional
    random_state : int, default=42
        Threaded through the sweep sample, k-means and the silhouette sample.

    Attributes
    ----------
    schema_ : Schema
    preprocessor_ : ColumnTransformer
    kmeans_ : KMeans
    k_ : int
    sweep_ : Sweep or None
        Set when k was chosen automatically.
    metrics_ : Metrics
        Of the final clustering, on the training rows.
    profiles_ : list of SegmentProfile
    n_rows_, n_train_rows_, n_outliers_removed_ : int
    fit_report_ : FeatureReport
    """

    def __init__(
        self,
        *,
        k: int | None = None,
        k_range: tuple[int, int] = (2, 10),
        scaler: str = "standard",
        outlier_method: str = "iqr",
        roles: Mapping[str, str] | None = None,
        id_column: str | None = None,
        exclude: tuple[str, ...] | list[str] = (),
        random_state: int = 42,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.scaler = scaler
        self.outlier_method = outlier_method
        self.roles = dict(roles or {})
        self.id_column = id_column
        self.exclude = tuple(exclude)
        self.random_state = random_state

    # -- training ---------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, *, progress: Progress | None = None) -> SegmentationModel:
        """Infer the schema, fit the pipeline, choose k if needed, cluster and profile.

        Parameters
        ----------
        data : DataFrame
            One row per customer.
        progress : callable, optional
            Called as ``progress(fraction, message)`` with fraction from 0 to 1.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Too few rows for the requested k.
        SchemaError
            No usable feature column.
        """
        report = progress or (lambda fraction, message: None)
        if len(data) == 0:
            raise DataError("the table has no rows; load a file with customers in it")
        report(0.02, "Reading columns")
        schema = infer_schema(
            data, roles=self.roles, id_column=self.id_column, exclude=self.exclude
        )
        if not schema.features:
            reasons = "; ".join(f"{c.name}: {c.reason}" for c in schema.columns)
            raise SchemaError(
                f"nothing to cluster: no column is usable as a feature ({reasons}); "
                "add numeric or categorical columns or change the column roles"
            )
        features, fit_report = prepare_features(data, schema)
        usable = ~features.isna().all(axis=1).to_numpy()
        n_usable = int(usable.sum())
        k_min = self.k or self.k_range[0]
        if n_usable < max(k_min, 2) + 1:
            raise DataError(
                f"only {n_usable} usable row(s) for k = {k_min}; a table needs more rows "
                "than segments: load more customers or lower k"
            )

        report(0.1, "Screening outliers")
        preprocessor = build_preprocessor(schema, scaler=self.scaler).fit(features[usable])
        X = preprocessor.transform(features)
        outliers = (
            outlier_mask(
                numeric_block(preprocessor, X),
                method=self.outlier_method,
                random_state=self.random_state,
            )
            & usable
        )
        train = usable & ~outliers
        if train.sum() < k_min + 1:
            train = usable
            outliers = np.zeros_like(outliers)
        # Refit so the scaling reflects typical customers, not the outliers.
        preprocessor = build_preprocessor(schema, scaler=self.scaler).fit(features[train])
        X = preprocessor.transform(features)
        X_train = X[train]

        sweep = None
        k = self.k
        if k is None:
            k_max = min(self.k_range[1], len(X_train) - 1)
            if k_max < self.k_range[0]:
                raise DataError(
                    f"only {len(X_train)} usable rows: too few to choose k between "
                    f"{self.k_range[0]} and {self.k_range[1]}; load more customers"
                )
            sweep = sweep_k(
                X_train,
                (self.k_range[0], k_max),
                random_state=self.random_state,
                progress=lambda i, n, msg: report(0.15 + 0.6 * i / n, f"Tried {i} of {n}: {msg}"),
            )
            k = sweep.recommended_k
        if k < 2:
            raise DataError(f"k must be at least 2, got {k}")
        if len(X_train) <= k:
            raise DataError(
                f"only {len(X_train)} usable rows for k = {k}; load more customers or lower k"
            )

        report(0.8, f"Fitting {k} segments")
        kmeans = fit_kmeans(X_train, k, random_state=self.random_state)
        metrics = evaluate(X_train, kmeans.labels_, kmeans.inertia_, random_state=self.random_state)
        labels, _ = pairwise_distances_argmin_min(X, kmeans.cluster_centers_)
        labels[train] = kmeans.labels_

        report(0.92, "Profiling segments")
        self.schema_ = schema
        self.preprocessor_ = preprocessor
        self.kmeans_ = kmeans
        self.k_ = int(k)
        self.sweep_ = sweep
        self.metrics_ = metrics
        self.profiles_ = profile_segments(features, labels, schema, k=k, typical=train)
        self.n_rows_ = len(data)
        self.n_train_rows_ = int(train.sum())
        self.n_outliers_removed_ = int(outliers.sum())
        self.fit_report_ = fit_report
        self.training_labels_ = labels
        report(1.0, "Done")
        return self

    # -- prediction -------------------------------------------------------------------
    @property
    def segment_names(self) -> dict[int, str]:
        """``{cluster id: segment name}``."""
        return {p.cluster: p.name for p in self.profiles_}

    def profile(self, cluster: int) -> SegmentProfile:
        """The profile of segment ``cluster``."""
        return self.profiles_[cluster]

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Preprocess a feature frame into the model's space (see ``prepare_features``)."""
        return self.preprocessor_.transform(features)

    def predict(
        self,
        data: pd.DataFrame,
        *,
        mapping: dict[str, str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Prediction:
        """Label every row of a table.

        Parameters
        ----------
        data : DataFrame
            Any table with the model's feature columns (names match case-, space- and
            punctuation-insensitively; ``mapping`` matches renamed ones by hand). Extra
            columns are ignored here and kept by :meth:`Prediction.join`.
        mapping : dict, optional
            ``{model column: table column}``.
        progress : callable, optional
            Called as ``progress(rows_done, rows_total)`` after each chunk.

        Returns
        -------
        Prediction

        Raises
        ------
        SchemaError
            When model columns are missing; the message names them.
        """
        features, report = prepare_features(data, self.schema_, mapping=mapping)
        n = len(features)
        clusters = np.empty(n, dtype=np.int64)
        distances = np.empty(n, dtype=np.float64)
        for start in range(0, max(n, 1), PREDICT_CHUNK):
            stop = min(start + PREDICT_CHUNK, n)
            if stop <= start:
                break
            X = self.preprocessor_.transform(features.iloc[start:stop])
            clusters[start:stop], distances[start:stop] = pairwise_distances_argmin_min(
                X, self.kmeans_.cluster_centers_
            )
            if progress:
                progress(stop, n)
        names = np.array([p.name for p in self.profiles_], dtype=object)
        labels = pd.DataFrame(
            {
                "cluster": clusters,
                "segment": pd.Categorical.from_codes(clusters, categories=names)
                if n
                else pd.Categorical([], categories=names),
                "cluster_distance": np.round(distances, DISTANCE_DECIMALS),
            },
            index=data.index,
        )
        labels["segment"] = labels["segment"].astype(object)
        return Prediction(labels, report)

    def predict_one(self, record: Mapping[str, object]) -> dict:
        """Label one customer given as a mapping of column names to values.

        Keys match the model's columns case-, space- and punctuation-insensitively
        (``spending_score`` is ``SpendingScore``). A feature the record lacks is imputed
        and named in ``warnings``; keys the model does not use are named there too.

        Returns
        -------
        dict
            ``cluster``, ``segment``, ``cluster_distance``, ``characteristics`` (the
            segment's traits), ``recommendations`` and ``warnings``.
        """
        if not isinstance(record, Mapping):
            raise DataError("a customer record must be a JSON object of column: value pairs")
        frame = pd.DataFrame({str(k): [v] for k, v in record.items()})
        features, report = prepare_features(frame, self.schema_, allow_missing=True)
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
        X = self.preprocessor_.transform(features)
        cluster, distance = pairwise_distances_argmin_min(X, self.kmeans_.cluster_centers_)
        profile = self.profiles_[int(cluster[0])]
        return {
            "cluster": int(cluster[0]),
            "segment": profile.name,
            "cluster_distance": float(distance[0]),
            "characteristics": list(profile.traits),
            "recommendations": list(profile.recommendations),
            "warnings": warnings,
        }

    # -- reporting --------------------------------------------------------------------
    def summary(self) -> dict:
        """JSON-safe summary of the fitted model: k, metrics, rows, features, segments."""
        return {
            "k": self.k_,
            **{name: _json_float(v) for name, v in self.metrics_.to_dict().items() if name != "k"},
            "n_rows": self.n_rows_,
            "n_train_rows": self.n_train_rows_,
            "n_outliers_removed": self.n_outliers_removed_,
            "features": self.schema_.features,
            "segments": [
                {"cluster": p.cluster, "name": p.name, "size": p.size} for p in self.profiles_
            ],
        }


def _json_float(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
