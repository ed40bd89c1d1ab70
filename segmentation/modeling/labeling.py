"""Labeling customers: the one entry point the command line and the Predict page call.

:func:`label_file` takes a file (a path or its bytes) and writes it back with ``cluster``,
``segment`` and ``cluster_distance`` (and ``segment_probability`` for an algorithm that
gives probabilities). Clean comma-separated files take the fast path:
Arrow in, the fitted pipeline applied column by column with numpy, Arrow out, streamed.
Anything else (other delimiters, numbers written as text, odd files) takes the general
path: :func:`segmentation.data.read.read_table`, then the model's own pipeline.

The fast path is not a second model. :class:`CompiledLabeler` is *derived* from the fitted
``Pipeline`` (imputation values, log flags, scaler centres and scales, categories, centroids,
k-prototypes' gamma, a Gaussian mixture's weights and precisions) when a version is saved,
and reads cells by the same rules (:mod:`segmentation.data.rules`) as the general path; a
parametrised test proves the two give the same segments and distances. This module imports
neither pandas nor scikit-learn until the general path needs them: labeling a file with a
saved model starts in a fraction of a second.
"""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from segmentation.data.files import is_replaceable, open_output
from segmentation.data.rules import (
    ARROW_NULL_VALUES,
    DISTANCE_DECIMALS,
    FORMULA_PREFIXES,
    LABEL_COLUMNS,
    FeatureReport,
    category_text,
    match_columns,
    output_columns,
    zero_padded_columns,
)
from segmentation.insight.drift import MISSING_CODE, UNSEEN_CODE, DriftCounts, DriftReport
from segmentation.modeling.algorithms import MOST_PROBABLE, NEAREST_CENTROID, NEAREST_PROTOTYPE
from segmentation.modeling.transforms import US_PER_DAY, signed_log1p
from segmentation.types import Progress

#: Rows computed and written at a time when a file is read whole.
CHUNK_ROWS = 250_000
#: Bytes of CSV parsed per block when a file is streamed.
STREAM_BLOCK_BYTES = 1 << 20
#: Version of the saved labeler's layout; a store version with another loads the model.
#: Format 2 adds the one-hot block weights (a format 1 file is read with weights of 1,
#: which is what the pipelines of that time computed); 3 adds the drift reference.
LABELER_FORMAT = 3
_READABLE_FORMATS = (1, 2, 3)


#: In-memory payloads the fast path reads without copying (an upload's buffer included).
_BYTES = (bytes, bytearray, memoryview)


class _NotFast(Exception):
    """The fast path cannot take this input as it is; use the general path."""


# Arrow <-> numpy through raw buffers: pyarrow's own conversions (``pa.array``,
# ``to_numpy``, Python scalars) import pandas to check for pandas objects, which would
# double the start-up time of every labeling run.
def _values(array: pa.Array, dtype: type) -> np.ndarray:
    """The value buffer of a primitive Arrow array as a read-only numpy view."""
    return np.frombuffer(
        array.buffers()[1],
        dtype=dtype,
        count=len(array),
        offset=array.offset * np.dtype(dtype).itemsize,
    )


def _nulls(array: pa.Array) -> np.ndarray:
    """True where ``array`` is null."""
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return _values(pc.cast(pc.is_null(array), pa.int8()), np.int8).astype(bool)


def _arrow(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """A numpy vector as an Arrow array of ``kind`` (its exact numpy counterpart)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _strings(texts: list[str]) -> pa.Array:
    """A short list of Python strings as an Arrow string array."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def _single(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


@dataclass
class CompiledLabeler:
    """A fitted model as plain arrays: what labeling a row needs, nothing else.

    Built from a fitted model by :meth:`from_model`; saved with a store version
    (:meth:`save`, :meth:`load`) so the command line labels without unpickling the
    estimator. :meth:`assign` labels a batch of Arrow columns.

    Attributes
    ----------
    features : list of str
        The model's feature columns (for matching a file's header).
    renames : dict
        ``{model column: table column}`` saved with the model.
    numeric : list of str
        Numeric (and date) features in the order of the preprocessed matrix.
    fill, center, scale : ndarray of shape (n_numeric,)
        Imputation value, scaler centre and scale of each numeric feature.
    log : ndarray of bool, shape (n_numeric,)
        Whether the feature is log-transformed before scaling.
    categorical : list of (str, list of str, str)
        Each categorical feature, its categories (one-hot columns, or codes for
        k-prototypes) and its imputed category.
    weight : ndarray of shape (n_categorical,)
        The value a categorical feature's one-hot column takes when set (the block
        weight of :class:`~segmentation.modeling.preprocess.BalancedOneHotEncoder`).
    centers : ndarray of shape (k, n_numeric + n_onehot) or (k, n_numeric + n_categorical)
        The centroids in the preprocessed space (k-prototypes: category codes last).
    dates : list of str
        Features that are dates (days before ``reference_us``).
    reference_us : int or None
        The training reference date, in microseconds since the epoch.
    names : list of str
        Segment names by cluster id.
    drift : dict or None
        The model's drift reference (``drift_reference_``); None for a model fitted
        before drift references were kept.
    assign_by : str
        The registry's ``assigns_new_by``: nearest centroid, nearest prototype (then
        ``gamma`` weighs a differing category) or most probable Gaussian component (then
        ``weights``, ``means`` and ``precisions_chol``, the Cholesky factors of the full
        precision matrices, as scikit-learn's ``GaussianMixture`` stores them, by segment
        id, over the numeric columns ``mixture_columns``).
    """

    features: list[str]
    renames: dict[str, str]
    numeric: list[str]
    fill: np.ndarray
    log: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    categorical: list[tuple[str, list[str], str]]
    centers: np.ndarray
    dates: list[str]
    reference_us: int | None
    names: list[str]
    weight: np.ndarray | None = None
    drift: dict | None = None
    assign_by: str = NEAREST_CENTROID
    gamma: float = 0.0
    weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    precisions_chol: np.ndarray = field(default_factory=lambda: np.empty((0, 0, 0)))
    means: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    mixture_columns: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: Loads the full estimator for the general path (set by the model store).
    loader: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    # -- building, saving, loading ------------------------------------------------------
    @classmethod
    def from_model(cls, model) -> CompiledLabeler | None:
        """Read the fitted statistics out of ``model.pipeline_``.

        Returns None when the model's algorithm labels new customers in a way this class
        does not know (see the algorithm registry): such models use the general path.
        """
        assign_by = model.algorithm_.assigns_new_by
        if assign_by not in (NEAREST_CENTROID, NEAREST_PROTOTYPE, MOST_PROBABLE):
            return None
        clusterer = model.clusterer_
        pre = model.pipeline_.named_steps["preprocess"]
        schema = model.schema_
        numeric, fill, log, center, scale, categorical, weight = [], [], [], [], [], [], []
        for name, pipeline, columns in pre.transformers_:
            if name == "remainder" or pipeline == "drop":
                continue
            steps = pipeline.named_steps
            if name == "categorical":
                for i, column in enumerate(columns):
                    encoder = steps["onehot"] if "onehot" in steps else steps["ordinal"]
                    cats = [str(c) for c in encoder.categories_[i]]
                    categorical.append((column, cats, str(steps["impute"].statistics_[i])))
                # k-prototypes' codes carry no one-hot weight.
                onehot = steps.get("onehot")
                weight += list(getattr(onehot, "weights_", np.ones(len(columns))))
                continue
            scaler = steps["scale"]
            numeric += list(columns)
            fill += list(steps["impute"].statistics_)
            log += ["log" in steps] * len(columns)
            center += list(scaler.mean_ if hasattr(scaler, "mean_") else scaler.center_)
            scale += list(scaler.scale_)
        reference = None
        if schema.reference_date:
            reference = int(
                np.datetime64(schema.reference_date.split("+")[0], "us").astype(np.int64)
            )
        return cls(
            features=list(schema.features),
            renames=dict(schema.renames),
            numeric=numeric,
            fill=np.asarray(fill, dtype=float),
            log=np.asarray(log, dtype=bool),
            center=np.asarray(center, dtype=float),
            scale=np.asarray(scale, dtype=float),
            categorical=categorical,
            centers=np.asarray(clusterer.cluster_centers_, dtype=float),
            dates=list(schema.names("date")),
            reference_us=reference,
            names=[p.name for p in model.profiles_],
            weight=np.asarray(weight, dtype=float),
            drift=getattr(model, "drift_reference_", None),
            assign_by=assign_by,
            **_assignment_statistics(clusterer, assign_by),
        )

    def __post_init__(self) -> None:
        if self.weight is None:
            self.weight = np.ones(len(self.categorical))

    def save(self, path: str | os.PathLike) -> None:
        """Write the labeler as one ``.npz`` (arrays, and the rest as JSON text)."""
        meta = {
            "format": LABELER_FORMAT,
            "features": self.features,
            "renames": self.renames,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "dates": self.dates,
            "reference_us": self.reference_us,
            "names": self.names,
            "drift": self.drift,
            "assign_by": self.assign_by,
            "gamma": self.gamma,
        }
        with open(path, "wb") as handle:
            np.savez(
                handle,
                meta=np.array(json.dumps(meta)),
                fill=self.fill,
                log=self.log,
                center=self.center,
                scale=self.scale,
                centers=self.centers,
                weight=self.weight,
                weights=self.weights,
                precisions_chol=self.precisions_chol,
                means=self.means,
                mixture_columns=self.mixture_columns,
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> CompiledLabeler:
        """Read a labeler written by :meth:`save` (no pickle is involved).

        Raises
        ------
        ValueError
            When the file is not a labeler of this format.
        """
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") not in _READABLE_FORMATS:
                raise ValueError(f"labeler format {meta.get('format')!r}")
            return cls(
                features=meta["features"],
                renames=meta["renames"],
                numeric=meta["numeric"],
                fill=arrays["fill"],
                log=arrays["log"],
                center=arrays["center"],
                scale=arrays["scale"],
                categorical=[(c, list(cats), fill) for c, cats, fill in meta["categorical"]],
                centers=arrays["centers"],
                dates=meta["dates"],
                reference_us=meta["reference_us"],
                names=meta["names"],
                weight=arrays["weight"] if "weight" in arrays.files else None,
                drift=meta.get("drift"),
                # Labelers saved before other algorithms existed are nearest-centroid ones.
                assign_by=meta.get("assign_by", NEAREST_CENTROID),
                gamma=float(meta.get("gamma", 0.0)),
                weights=arrays["weights"] if "weights" in arrays else np.empty(0),
                precisions_chol=(
                    arrays["precisions_chol"]
                    if "precisions_chol" in arrays
                    else np.empty((0, 0, 0))
                ),
                means=arrays["means"] if "means" in arrays else np.empty((0, 0)),
                mixture_columns=(
                    arrays["mixture_columns"]
                    if "mixture_columns" in arrays
                    else np.empty(0, dtype=np.int64)
                ),
            )

    # -- labeling ---------------------------------------------------------------------
    @property
    def gives_probabilities(self) -> bool:
        """Whether labeled files get ``segment_probability``."""
        return self.assign_by == MOST_PROBABLE

    def assign_all(
        self,
        columns: Mapping[str, pa.Array | pa.ChunkedArray],
        missing: dict[str, int] | None = None,
        drift: DriftCounts | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`assign`, plus the posterior of the assigned segment (None unless the
        algorithm gives probabilities)."""
        if missing is not None:
            # Features read but not used for distances (a Gaussian mixture's categories)
            # are still counted, as the general path's report counts them.
            used = {*self.numeric, *(c for c, _, _ in self.categorical)}
            for column in (f for f in self.features if f not in used):
                self._codes(columns[column], [], "", missing, column)
        if self.assign_by == NEAREST_CENTROID:
            return (*self.assign(columns, missing, drift), None)
        scaled = [
            self._scaled(j, column, columns[column], missing, drift)
            for j, column in enumerate(self.numeric)
        ]
        if self.assign_by == NEAREST_PROTOTYPE:
            codes = [
                self._codes(columns[column], cats, fill, missing, column, drift)
                for column, cats, fill in self.categorical
            ]
            clusters, distances = self._nearest_prototype(scaled, codes)
            probability = None
        else:
            clusters, distances, probability = self._most_probable(scaled)
        if drift is not None:
            drift.add_segments(clusters)
        return clusters, distances, probability

    def _nearest_prototype(
        self, scaled: list[np.ndarray], codes: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """k-prototypes: squared distance over the numeric columns plus gamma per category
        that differs from the prototype's (an unseen category, code -1, differs from all)."""
        p = len(self.numeric)
        n = len(scaled[0]) if scaled else len(codes[0])
        cost = np.empty((n, len(self.centers)))
        X = np.column_stack(scaled) if scaled else np.empty((n, 0))
        codes = np.column_stack(codes)
        for c, center in enumerate(self.centers):
            diff = X - center[:p]
            cost[:, c] = (diff * diff).sum(axis=1) + self.gamma * (codes != center[p:]).sum(axis=1)
        clusters = cost.argmin(axis=1)
        return clusters.astype(np.int64), np.sqrt(cost[np.arange(n), clusters])

    def _most_probable(self, scaled: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """A full-covariance Gaussian mixture's most probable segment, its posterior, and
        the distance to the segment's mean (scikit-learn's log-density, term by term)."""
        X = np.column_stack(scaled)
        log_prob, log_norm = self._log_posterior(X)
        n = len(X)
        clusters = log_prob.argmax(axis=1)
        rows = np.arange(n)
        probability = np.exp(log_prob[rows, clusters] - log_norm)
        distances = np.sqrt(((X - self.centers[clusters]) ** 2).sum(axis=1))
        return clusters.astype(np.int64), distances, probability

    def _log_posterior(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's weighted log-density under every component, and their log-sum."""
        modeled = X[:, self.mixture_columns]
        n, d = modeled.shape
        log_prob = np.empty((n, len(self.centers)))
        for c, (mean, chol) in enumerate(zip(self.means, self.precisions_chol, strict=True)):
            y = modeled @ chol - mean @ chol
            log_det = np.log(np.diag(chol)).sum()
            log_prob[:, c] = (
                -0.5 * (d * np.log(2 * np.pi) + (y * y).sum(axis=1))
                + log_det
                + np.log(self.weights[c])
            )
        top = log_prob.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(log_prob - top).sum(axis=1))
        return log_prob, log_norm

    def segment_scores(self, columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> np.ndarray:
        """Every row's score for every segment, shape (n_rows, k), as
        :func:`segmentation.insight.explain.segment_scores` computes it from the model:
        the exact distance to every centre or prototype, or every posterior probability.

        Reads the columns again (no missing or drift counts): only ``--explain`` asks."""
        scaled = [
            self._scaled(j, column, columns[column], None) for j, column in enumerate(self.numeric)
        ]
        n = len(next(iter(columns.values())))
        X = np.column_stack(scaled) if scaled else np.empty((n, 0))
        codes = [self._codes(columns[c], cats, fill) for c, cats, fill in self.categorical]
        k = len(self.centers)
        if self.assign_by == MOST_PROBABLE:
            log_prob, log_norm = self._log_posterior(X)
            return np.exp(log_prob - log_norm[:, None])
        p = len(self.numeric)
        out = np.empty((n, k))
        if self.assign_by == NEAREST_PROTOTYPE:
            C = np.column_stack(codes) if codes else np.empty((n, 0))
            for c, center in enumerate(self.centers):
                diff = X - center[:p]
                out[:, c] = (diff * diff).sum(axis=1) + self.gamma * (center[p:] != C).sum(axis=1)
            return np.sqrt(np.maximum(out, 0.0))
        # Nearest centre: the one-hot blocks as the exact distance in :meth:`assign`.
        for c, center in enumerate(self.centers):
            diff = X - center[:p]
            exact = (diff * diff).sum(axis=1)
            start = p
            for codes_j, (_, cats, _), w in zip(codes, self.categorical, self.weight, strict=True):
                block = center[start : start + len(cats)]
                start += len(cats)
                exact += (block * block).sum()
                known = codes_j >= 0
                exact[known] += w * w - 2 * w * block[codes_j[known]]
            out[:, c] = np.sqrt(np.maximum(exact, 0.0))
        return out

    def _scaled(
        self,
        j: int,
        column: str,
        values: pa.Array | pa.ChunkedArray,
        missing: dict[str, int] | None,
        drift: DriftCounts | None = None,
    ) -> np.ndarray:
        """Numeric feature ``j`` as the model sees it: imputed, logged, scaled (counted
        for the drift check before imputation)."""
        values = self._numeric(column, values)
        empty = np.isnan(values)
        if drift is not None:
            drift.add_numeric(column, values, empty)
        if missing is not None and empty.any():
            missing[column] = missing.get(column, 0) + int(empty.sum())
        values[empty] = self.fill[j]
        if self.log[j]:
            values = signed_log1p(values)
        values -= self.center[j]
        values /= self.scale[j]
        return values

    def assign(
        self,
        columns: Mapping[str, pa.Array | pa.ChunkedArray],
        missing: dict[str, int] | None = None,
        drift: DriftCounts | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cluster id and distance to its centre for one batch of rows.

        Parameters
        ----------
        columns : dict
            ``{model feature: Arrow column}`` of equal lengths.
        missing : dict, optional
            Incremented with the number of missing (imputed) cells of each feature.
        drift : DriftCounts, optional
            Incremented with the batch's feature bins and segments (before imputation).

        Returns
        -------
        clusters : ndarray of int64
        distances : ndarray of float64
            Computed directly from the chosen centre, as the general path does.

        Raises
        ------
        _NotFast
            When a numeric feature holds text or a value that is not a finite number (the
            general path parses and reports those).
        """
        if self.assign_by != NEAREST_CENTROID:
            return self.assign_all(columns, missing, drift)[:2]
        n = len(next(iter(columns.values())))
        centers = self.centers
        k = centers.shape[0]
        # Squared distance to centre c, expanded: |x|^2 - 2 x.c + |c|^2, one feature
        # column at a time: skinny matrix products are slow on some BLAS builds, while
        # these vector operations stream through memory. Only the argmin uses it.
        d2 = np.empty((k, n))
        d2[:] = (centers[:, : len(self.numeric)] ** 2).sum(axis=1)[:, None]
        scaled = []
        for j, column in enumerate(self.numeric):
            values = self._scaled(j, column, columns[column], missing, drift)
            scaled.append(values)
            for c in range(k):
                d2[c] -= (2 * centers[c, j]) * values
        codes_list, offset = [], len(self.numeric)
        for (column, cats, fill), lookup in zip(self.categorical, self._onehot_terms, strict=True):
            codes = self._codes(columns[column], cats, fill, missing, column, drift)
            codes_list.append((codes, offset))
            offset += len(cats)
            # One-hot x: -2 x.c + |c_block|^2 is a lookup per category (|x|^2 is 1 or 0
            # for every centre alike, so it does not move the argmin).
            for c in range(k):
                d2[c] += lookup[codes, c]
        clusters = d2.argmin(axis=0)
        del d2
        if drift is not None:
            drift.add_segments(clusters)
        chosen = centers[clusters]
        exact = np.zeros(n)
        for j, values in enumerate(scaled):
            diff = values - chosen[:, j]
            exact += diff * diff
        blocks = zip(codes_list, self.categorical, self.weight, strict=True)
        for (codes, start), (_, cats, _), w in blocks:
            block = chosen[:, start : start + len(cats)]
            exact += (block * block).sum(axis=1)
            known = codes >= 0
            rows = np.flatnonzero(known)
            picked = block[rows, codes[known]]
            # (w - c)^2 = c^2 - 2wc + w^2 for the one-hot column that is set (to w).
            exact[rows] += w * w - 2 * w * picked
        return clusters.astype(np.int64), np.sqrt(np.maximum(exact, 0.0))

    @property
    def _onehot_terms(self) -> list[np.ndarray]:
        """Per categorical feature, ``(n_categories + 1, k)``: -2 w c_j + |c_block|^2 for
        each category j (w the block weight), and |c_block|^2 alone in the last row for an
        unseen category (code -1)."""
        if not hasattr(self, "_terms"):
            if self.assign_by != NEAREST_CENTROID:  # no one-hot block
                self._terms = []
                return self._terms
            terms, offset = [], len(self.numeric)
            for (_, cats, _), w in zip(self.categorical, self.weight, strict=True):
                block = self.centers[:, offset : offset + len(cats)]
                offset += len(cats)
                squared = (block**2).sum(axis=1)
                terms.append(np.vstack([-2 * w * block.T + squared, squared]))
            self._terms = terms
        return self._terms

    def _numeric(self, column: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        kind = values.type
        if column in self.dates:
            if not pa.types.is_timestamp(kind) and not pa.types.is_date(kind):
                raise _NotFast(column)
            if self.reference_us is None:
                return np.full(len(values), np.nan)
            stamps = pc.cast(pc.cast(_single(values), pa.timestamp("us")), pa.int64())
            days = np.floor_divide(self.reference_us - _values(stamps, np.int64), US_PER_DAY)
            days = days.astype(float)
            days[_nulls(stamps)] = np.nan
            return days
        if pa.types.is_null(kind):
            return np.full(len(values), np.nan)
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise _NotFast(column)
        floats = _single(values).cast(pa.float64())
        out = _values(floats, np.float64).copy()
        out[_nulls(floats)] = np.nan
        if np.isinf(out).any():
            raise _NotFast(column)  # the general path reports them with their rows
        return out

    @staticmethod
    def _codes(
        values: pa.Array | pa.ChunkedArray,
        cats: list[str],
        fill: str,
        missing: dict[str, int] | None = None,
        column: str = "",
        drift: DriftCounts | None = None,
    ) -> np.ndarray:
        """Index of each row's category in ``cats``; missing -> the imputed one; unseen -> -1."""
        values = _single(values)
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.string())
        encoded = values.dictionary_encode()
        lookup = {c: i for i, c in enumerate(cats)}
        fill_code = lookup.get(fill, -1)

        texts = [category_text(v) for v in encoded.dictionary.to_pylist()]
        mapping = np.array(
            [fill_code if t is None else lookup.get(t, -1) for t in texts] + [fill_code],
            dtype=np.int64,
        )
        indices = _values(pc.cast(encoded.indices, pa.int64()), np.int64).copy()
        indices[_nulls(encoded.indices)] = len(encoded.dictionary)
        if missing is not None:
            empty = np.array([t is None for t in texts] + [True])[indices]
            if empty.any():
                missing[column] = missing.get(column, 0) + int(empty.sum())
        if drift is not None:
            # Drift tells missing apart from the imputed category, unseen from both.
            raw = [MISSING_CODE if t is None else lookup.get(t, UNSEEN_CODE) for t in texts]
            drift.add_categorical(column, np.array([*raw, MISSING_CODE], dtype=np.int64)[indices])
        return mapping[indices]


def _assignment_statistics(clusterer, assign_by: str) -> dict:
    """What the fast labeler needs beyond the centres: k-prototypes' gamma, or a Gaussian
    mixture's weights and precision factors, in segment-id order."""
    if assign_by == NEAREST_PROTOTYPE:
        return {"gamma": float(clusterer.gamma_)}
    if assign_by == MOST_PROBABLE:
        mixture, order = clusterer.mixture_, clusterer.order_
        if mixture.covariance_type != "full":
            raise ValueError(f"covariance type {mixture.covariance_type!r}")
        return {
            "weights": np.asarray(mixture.weights_[order], dtype=float),
            "means": np.asarray(mixture.means_[order], dtype=float),
            "precisions_chol": np.asarray(mixture.precisions_cholesky_[order], dtype=float),
            "mixture_columns": np.asarray(clusterer.columns_, dtype=np.int64),
        }
    return {}


def compiled_labeler(model) -> CompiledLabeler | None:
    """The :class:`CompiledLabeler` of a fitted model, built once and kept on it."""
    if isinstance(model, CompiledLabeler):
        return model
    cached = model.__dict__.get("_compiled_labeler")
    if cached is None:
        cached = CompiledLabeler.from_model(model)
        model.__dict__["_compiled_labeler"] = cached
    return cached


@dataclass
class LabelReport:
    """What labeling a file did.

    Attributes
    ----------
    n_rows : int
    fast : bool
        Whether the Arrow fast path was used (else the general path).
    report : FeatureReport
        Renamed columns, unparseable values; filled on the general path and for renames.
    segment_counts : dict
        ``{segment name: customers}``.
    drift : DriftReport or None
        How the file compares with the training data (PSI and out-of-range share per
        feature, the segment mix); the same on both paths. None for a model fitted before
        drift references were kept.
    imputed : dict
        ``{model column: value}``: columns the file lacked, filled for every row with this
        value (``impute_missing``); empty when nothing was imputed.
    """

    n_rows: int
    fast: bool
    report: FeatureReport
    segment_counts: dict[str, int]
    drift: DriftReport | None = None
    imputed: dict[str, object] = field(default_factory=dict)

    def imputed_warnings(self) -> list[str]:
        """One sentence per imputed column: which, and with what value."""
        return imputed_warnings(self.imputed)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def imputed_warnings(imputed: Mapping[str, object]) -> list[str]:
    """Sentences naming each column filled by ``impute_missing`` and the value it got
    (``{"Income": 51234.5}`` -> "... every customer was given 51,234.5 (the training
    median)"); see :meth:`SegmentationModel.imputed_values`."""
    out = []
    for column, value in imputed.items():
        if value is None:
            what = "it is left out (this model's method does not use it in its distances)"
        elif isinstance(value, int | float):
            what = f"every customer was given {value:,.6g} (the training median)"
        elif _ISO_DATE.fullmatch(str(value)):
            what = f"every customer was given {value} (the training median date)"
        else:
            what = f"every customer was given {value!s} (the most common training value)"
        out.append(f"column {column!r} is missing from the file: {what}")
    return out


def label_file(
    model,
    source: str | os.PathLike | bytes,
    dest: str | os.PathLike | Any,
    *,
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    impute_missing: bool = False,
    explain: bool = False,
) -> LabelReport:
    """Label a customer file into a labeled CSV: its columns plus cluster, segment, distance.

    The one labeling entry point of the command line and the Predict page.

    Parameters
    ----------
    model : SegmentationModel or CompiledLabeler
        A fitted model, or the labeler of a stored version (its ``loader`` gives the model
        when the general path is needed).
    source : path, bytes or DataFrame
        The customer table (CSV or .xlsx), or a table already in memory (such as one row
        per customer derived from a transaction log), which takes the general path.
    dest : path, "-" or binary file-like
        Where the labeled CSV goes; a path is written atomically, a seekable stream is
        rewound if the fast path has to give way to the general one.
    mapping : dict, optional
        ``{model column: table column}`` for columns matched by hand.
    progress : callable, optional
        ``progress(fraction, message)`` as rows are labeled ("Labeled 250,000 of about
        1,000,000 customers": a streamed file's total is estimated from its size).
    impute_missing : bool, default=False
        Label a file that lacks some model columns (after ``mapping``) by filling them,
        for every customer, with the value a missing cell gets (the training median or
        most common value); :attr:`LabelReport.imputed` says which and with what. Off,
        such a file is refused with a :class:`~segmentation.errors.SchemaError` naming
        the columns.
    explain : bool, default=False
        Also write ``runner_up_segment`` and ``margin`` (see
        :mod:`segmentation.insight.explain`), the same on both paths.

    Returns
    -------
    LabelReport
    """
    labeler = None if _is_frame(source) else compiled_labeler(model)
    if labeler is not None:
        try:
            return _label_fast(
                labeler, source, dest, mapping=mapping, progress=progress, explain=explain
            )
        except _NotFast:
            pass
    if isinstance(model, CompiledLabeler):
        if model.loader is None:
            raise RuntimeError("this labeler has no model to fall back on")
        model = model.loader()
    from segmentation.data.read import read_table
    from segmentation.data.write import write_csv
    from segmentation.modeling.features import table_columns

    data = source if _is_frame(source) else read_table(source)
    imputed = {}
    if impute_missing:
        _, absent = table_columns(data, model.schema_, mapping)
        imputed = model.imputed_values(absent)
    prediction = model.label(
        data,
        mapping=mapping,
        progress=progress,
        allow_missing=bool(imputed),
        explain=explain,
    )
    write_csv(prediction.join(data), dest)
    counts = prediction.labels["segment"].value_counts()
    drift = prediction.drift
    if drift is not None and imputed:
        # A filled-in column is one value repeated: not the file's drift to report.
        drift = replace(drift, features=[f for f in drift.features if f.feature not in imputed])
    return LabelReport(
        len(data),
        False,
        prediction.report,
        {str(k): int(v) for k, v in counts.items()},
        drift,
        imputed,
    )


def _is_frame(source: object) -> bool:
    """A pandas DataFrame, recognised without importing pandas."""
    return type(source).__name__ == "DataFrame" and hasattr(source, "columns")


def _header(source: str | os.PathLike | bytes) -> tuple[list[str], bytes, int, set[str]]:
    """The column names of a clean comma-separated UTF-8 CSV, its header line as written
    (without the final line feed), an estimate of its rows (from the first 64 KiB) and its columns
    of zero-padded codes, or :class:`_NotFast` when the file needs the general reader's
    detection and cleaning."""
    if isinstance(source, _BYTES):
        head, size = bytes(source[:65536]), memoryview(source).nbytes
    else:
        path = Path(source)
        if not path.is_file() or path.suffix.lower() not in (".csv", ".txt", ""):
            raise _NotFast("not a plain CSV path")
        with open(path, "rb") as handle:
            head = handle.read(65536)
        size = path.stat().st_size
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if len(head.split(b"\n", 1)[0]) == len(head):
        raise _NotFast("no complete header line in the first 64 KiB")
    if (
        not head
        or head.startswith((b"\xef\xbb\xbf", b"PK"))
        or b"\x00" in head
        or b"\r" in head.replace(b"\r\n", b"")
        or len(first_line) == len(head)
        or b"," not in first_line
        or first_line.count(b";")
        or first_line.count(b"\t")
    ):
        raise _NotFast("needs delimiter/encoding detection")
    try:
        names = next(csv.reader([first_line.decode("utf-8")]))
    except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
        raise _NotFast("header not plain UTF-8 CSV") from exc
    if len(set(names)) != len(names) or any(n != n.strip() or not n for n in names):
        raise _NotFast("header needs cleaning")
    padded = zero_padded_columns(head.decode("utf-8", errors="ignore"), ",", names)
    lines_in_head = head.count(b"\n")
    if len(head) >= size:
        rows = max(lines_in_head - (0 if head.endswith(b"\n") else -1) - 1, 0)
    else:
        rows = int(size * max(lines_in_head - 1, 1) / len(head))
    return names, head.split(b"\n", 1)[0], rows, padded


def _chunks(source, first_line_bytes: int):
    """The file's rows after the header, in blocks of whole lines (about
    :data:`STREAM_BLOCK_BYTES` each), so memory stays small and every block parses alone."""
    handle = io.BytesIO(source) if isinstance(source, _BYTES) else open(source, "rb")  # noqa: SIM115
    with handle:
        handle.seek(first_line_bytes)
        carry = b""
        while block := handle.read(STREAM_BLOCK_BYTES):
            block = carry + block if carry else block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block
                continue
            carry = block[cut:]
            yield block[:cut]
        if carry:
            yield carry + b"\n"


def _parse(chunk: bytes, names: list[str], convert: pa_csv.ConvertOptions) -> pa.Table:
    try:
        return pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(chunk)),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False),
            convert_options=convert,
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise _NotFast(str(exc)) from exc


def _text_array(data: bytes | pa.Buffer, ends: np.ndarray) -> pa.Array:
    """The pieces ``data[ends[i-1]:ends[i]]`` (from 0) as one Arrow string array, no copy."""
    offsets = np.empty(len(ends) + 1, dtype=np.int32)  # a block is far below 2 GiB
    offsets[0] = 0
    offsets[1:] = ends
    buffer = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    return pa.Array.from_buffers(pa.string(), len(ends), [None, pa.py_buffer(offsets), buffer])


def _append_columns(chunk: bytes, suffix: pa.Array, rows: int) -> pa.Buffer | None:
    """Every line of ``chunk`` with the matching text of ``suffix`` appended after a comma,
    or ``None`` when the lines do not match the parsed rows one to one (a value with a line
    break inside quotes) and the block must be formatted instead.

    The lines are cut from ``chunk`` without copying, each with the line break before it
    (``"\\nline"``, the first without), so the joined array's bytes are the output.
    """
    raw = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    has_cr = chunk.find(b"\r") >= 0
    if has_cr:
        lengths = lengths - (raw[np.maximum(ends - 1, 0)] == 13)
    # The parser skips empty lines (a lone CR counts as empty there too).
    keep = lengths > 0
    if int(keep.sum()) != rows:
        return None
    lines = _text_array(chunk, ends)
    if has_cr:
        lines = pc.utf8_rtrim(lines, "\r")
    if not keep.all():
        lines = lines.filter(_bool_array(keep))
    joined = pc.binary_join_element_wise(lines, suffix, _text_scalar(","))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    first, last = offsets[joined.offset], offsets[joined.offset + len(joined)]
    body = joined.buffers()[2][first:last]
    if not keep[0]:  # the first kept line carries the break of the empty line before it
        body = body[1:]
    return body


def _label_text(
    clusters: np.ndarray,
    distances: np.ndarray,
    prefixes: pa.Array,
    probability: np.ndarray | None = None,
    explained: tuple[pa.Array, np.ndarray, np.ndarray] | None = None,
) -> pa.Array:
    """``cluster,"segment",distance[,probability]`` per row, formatted as pyarrow's CSV
    writer would.

    ``prefixes`` holds ``cluster,"segment",`` per segment, so one lookup formats two
    columns (a three-way join is several times slower in Arrow than two two-way ones).
    """
    text = pc.binary_join_element_wise(
        prefixes.take(_arrow(clusters, pa.int64())),
        _decimal_text(distances),
        _text_scalar(""),
    )
    if probability is not None:
        text = pc.binary_join_element_wise(text, _decimal_text(probability), _text_scalar(","))
    if explained is not None:  # ,"runner-up",margin
        quoted_names, runner, margin = explained
        text = pc.binary_join_element_wise(
            text, quoted_names.take(_arrow(runner, pa.int64())), _text_scalar(",")
        )
        text = pc.binary_join_element_wise(text, _decimal_text(margin), _text_scalar(","))
    return text


def _decimal_text(values: np.ndarray) -> pa.Array:
    return pc.cast(_arrow(np.round(values, DISTANCE_DECIMALS), pa.float64()), pa.string())


def _text_scalar(text: str) -> pa.Scalar:
    """An Arrow string scalar (``pa.scalar`` and plain ``str`` arguments import pandas)."""
    return _strings([text])[0]


def _bool_array(mask: np.ndarray) -> pa.Array:
    """A boolean Arrow array from a numpy mask (``pa.array`` would import pandas)."""
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def _neutralize(column: pa.Array) -> pa.Array:
    """OWASP CSV-injection guard on an Arrow text column (same rule as the CSV writer)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    pattern = "^[" + "".join("\\" + p if p in "-+" else p for p in FORMULA_PREFIXES) + "]"
    risky = pc.match_substring_regex(column, pattern)
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, "'"), column)


def _label_fast(
    labeler: CompiledLabeler, source, dest, *, mapping, progress, explain: bool = False
) -> LabelReport:
    names, first_line, estimated_rows, zero_padded = _header(source)
    found, missing = match_columns(
        names, labeler.features, renames=labeler.renames, mapping=mapping
    )
    if missing:
        raise _NotFast("missing columns: the general path raises the clear error")
    labeler._onehot_terms  # noqa: B018 - build the lookups once, before the threads share them
    # Features are read as the types the model needs, so a float in a column whose first
    # block held only integers cannot stop the stream halfway.
    column_types = {found[f]: pa.float64() for f in labeler.numeric if f not in labeler.dates}
    column_types |= {found[f]: pa.string() for f, _, _ in labeler.categorical}
    # Codes written with leading zeros (IDs, postcodes) pass through as the text they are.
    column_types |= {c: pa.string() for c in zero_padded if c not in column_types}
    segment_names = _neutralize(_strings(labeler.names))
    prefixes = _strings(
        [f"{i},{_quoted(_neutralize_name(name))}," for i, name in enumerate(labeler.names)]
    )
    labels_written = output_columns(labeler.gives_probabilities)
    # Columns this run writes: an input column of the same name is replaced (the explain
    # columns only when asked for, so a file's own "margin" is kept otherwise).
    label_names = set(LABEL_COLUMNS)
    if explain:
        from segmentation.insight.explain import EXPLAIN_COLUMNS, runner_up_from_scores

        labels_written = (*labels_written, *EXPLAIN_COLUMNS)
        label_names |= set(EXPLAIN_COLUMNS)
        quoted_names = _strings([_quoted(_neutralize_name(name)) for name in labeler.names])
    counts = np.zeros(len(labeler.names), dtype=np.int64)
    convert = pa_csv.ConvertOptions(
        null_values=ARROW_NULL_VALUES, strings_can_be_null=True, column_types=column_types
    )
    replaced = [c for c in names if c in label_names]
    out_names = [_neutralize_name(n) for n in names if n not in label_names]
    # The common case: the input's lines are written back as they are, with the three new
    # columns appended, so only the new columns are formatted. A file that already has
    # label columns, or a cell the CSV-injection guard must change, is formatted instead.
    passthrough = not replaced and out_names == names
    if passthrough:
        header = first_line.rstrip(b"\r") + b"," + _header_line(list(labels_written))
    else:
        header = _header_line([*out_names, *labels_written])
    header_bytes = len(first_line) + 1

    def label_chunk(chunk: bytes) -> tuple:
        table = _parse(chunk, names, convert)
        empty: dict[str, int] = {}
        drift = DriftCounts(labeler.drift) if labeler.drift is not None else None
        columns_in = {feature: table.column(column) for feature, column in found.items()}
        clusters, distances, probability = labeler.assign_all(columns_in, empty, drift)
        explained = None
        labels = [
            _arrow(clusters, pa.int64()),
            pa.DictionaryArray.from_arrays(
                _arrow(clusters.astype(np.int32), pa.int32()), segment_names
            ).cast(pa.string()),
            _arrow(np.round(distances, DISTANCE_DECIMALS), pa.float64()),
        ]
        if probability is not None:
            labels.append(_arrow(np.round(probability, DISTANCE_DECIMALS), pa.float64()))
        if explain:
            runners = runner_up_from_scores(
                labeler.segment_scores(columns_in), clusters, labeler.assign_by
            )
            explained = (quoted_names, runners.runner_up, runners.margin)
            labels.append(
                pa.DictionaryArray.from_arrays(
                    _arrow(runners.runner_up.astype(np.int32), pa.int32()), segment_names
                ).cast(pa.string())
            )
            labels.append(_arrow(np.round(runners.margin, DISTANCE_DECIMALS), pa.float64()))
        kept = [i for i, name in enumerate(names) if name not in label_names]
        columns = [_single(table.column(i)) for i in kept]
        guarded = [_neutralize(column) for column in columns]
        text = None
        if passthrough and all(g is c for g, c in zip(guarded, columns, strict=True)):
            suffix = _label_text(clusters, distances, prefixes, probability, explained)
            body = _append_columns(chunk, suffix, table.num_rows)
            text = None if body is None else [body, b"\n"] if table.num_rows else []
        if text is None:
            # Formatting the CSV is the costliest step, so every block is formatted in the
            # pool, in parallel, and only written in order.
            text = [_csv_text([*guarded, *labels], [*out_names, *labels_written])]
        return text, np.bincount(clusters, minlength=len(counts)), empty, drift

    # Three stages overlap: this thread reads (pyarrow parses without the GIL), a pool
    # labels and formats batches, a writer thread writes them; a few batches in flight.
    written: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def write_all(sink) -> None:
        try:
            while (pieces := written.get()) is not None:
                for piece in pieces:
                    sink.write(piece)
        except BaseException as exc:  # re-raised in the main thread
            failure.append(exc)
            while written.get() is not None:
                pass

    with _csv_sink(dest) as sink, ThreadPoolExecutor(max_workers=2) as pool:
        writer_thread = threading.Thread(target=write_all, args=(sink,), daemon=True)
        writer_thread.start()
        try:
            rows = 0
            missing: dict[str, int] = {}
            drift = DriftCounts(labeler.drift) if labeler.drift is not None else None
            for text, chunk_counts, chunk_missing, chunk_drift in _in_order(
                pool, label_chunk, _chunks(source, header_bytes)
            ):
                if failure:
                    break
                if rows == 0:
                    written.put([header])
                written.put(text)
                counts += chunk_counts
                if drift is not None:
                    drift.merge(chunk_drift)
                for feature, n in chunk_missing.items():
                    missing[feature] = missing.get(feature, 0) + n
                rows = int(counts.sum())
                if progress:
                    # Streaming does not know the row count: it is estimated from the size.
                    total = max(rows, estimated_rows)
                    progress(rows / total, f"Labeled {rows:,} of about {total:,} customers")
        finally:
            written.put(None)
            writer_thread.join()
        if failure:
            raise failure[0]
        if rows == 0:
            raise _NotFast("empty")
    if progress:
        progress(1.0, f"Labeled {rows:,} of {rows:,} customers")
    report = FeatureReport(
        renamed={m: t for m, t in found.items() if m != t},
        missing_values=missing,
        extra_columns=[c for c in names if c not in set(found.values())],
        replaced_columns=[c for c in names if c in label_names],
    )
    return LabelReport(
        rows,
        True,
        report,
        {str(labeler.names[i]): int(c) for i, c in enumerate(counts) if c},
        drift.report(labeler.names) if drift is not None else None,
    )


def _csv_text(columns: list[pa.Array], names: list[str]) -> pa.Buffer:
    """Rows of CSV text, no header, as pyarrow's writer formats them."""
    text = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.table(columns, names=names),
        text,
        write_options=pa_csv.WriteOptions(include_header=False),
    )
    return text.getvalue()


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _header_line(names: list[str]) -> bytes:
    """The CSV header as pyarrow's writer quotes it (every name in double quotes)."""
    return (",".join(map(_quoted, names)) + "\n").encode("utf-8")


def _neutralize_name(name: str) -> str:
    return "'" + name if name.startswith(FORMULA_PREFIXES) else name


def _in_order(pool: ThreadPoolExecutor, fn, items, ahead: int = 2):
    """Like ``pool.map`` but with at most ``ahead`` results waiting: ``map`` submits every
    chunk at once, and finished chunks would pile up in memory faster than they are written."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@contextmanager
def _csv_sink(dest):
    """A binary sink for ``dest`` that can be given up if the fast path must fall back.

    A file path goes through :func:`segmentation.data.files.open_output`: a temporary
    file renamed into place only when everything was written (never a half-written file).
    A seekable stream is rewound and truncated on failure. Standard output, a FIFO or a
    device cannot be rewound: the output is collected and written only at the end.
    """
    if isinstance(dest, str | os.PathLike) and str(dest) != "-" and is_replaceable(dest):
        with open_output(dest) as handle:
            yield handle
        return
    if isinstance(dest, str) and dest == "-":
        dest = sys.stdout.buffer
    seekable = not isinstance(dest, str | os.PathLike) and dest.seekable()
    if seekable:
        start = dest.tell()
        try:
            yield dest
        except BaseException:
            dest.seek(start)
            dest.truncate()
            raise
        return
    collected = pa.BufferOutputStream()
    yield collected
    with open_output(dest) as out:
        out.write(collected.getvalue())
