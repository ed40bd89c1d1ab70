"""Feature preparation: any table -> the model's typed feature columns, as a pipeline step.

The first step of every fitted :class:`~segmentation.modeling.estimator.SegmentationModel`
pipeline is a :class:`FeaturePreparer`: it finds the model's columns in a table (renamed
headers included), parses numbers written as text, turns dates into days before the
training reference date and categories into stripped text, with missing-value tokens in
any spelling treated as missing. No caller has to remember to do this first.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from segmentation.data.rules import (
    LABEL_COLUMNS,
    NA_LOWER,
    FeatureReport,
    category_text,
    match_columns,
)
from segmentation.data.schema import Schema
from segmentation.errors import SchemaError
from segmentation.modeling.transforms import US_PER_DAY


def table_columns(df: pd.DataFrame, schema: Schema, mapping: Mapping[str, str] | None = None):
    """``(found, missing)``: the model's features matched to ``df``'s columns (see
    :func:`segmentation.data.rules.match_columns`)."""
    return match_columns(df.columns, schema.features, renames=schema.renames, mapping=mapping)


def prepare_features(
    df: pd.DataFrame,
    schema: Schema,
    *,
    mapping: Mapping[str, str] | None = None,
    allow_missing: bool = False,
    max_rows_listed: int = 10,
) -> tuple[pd.DataFrame, FeatureReport]:
    """Select and type the model's feature columns of a table, ready for the pipeline.

    Parameters
    ----------
    df : DataFrame
        Any table holding the model's features under their names or close variants.
    schema : Schema
        The model's schema.
    mapping : dict, optional
        ``{model column: table column}`` for columns the user matched by hand.
    allow_missing : bool, default=False
        Fill absent features with missing values (imputed later) instead of failing;
        used for a single customer record.
    max_rows_listed : int, default=10
        How many bad row numbers to keep per column.

    Returns
    -------
    features : DataFrame of shape (n_rows, n_features)
        Columns named as in the schema: numeric ones float64 (cells that are not finite
        numbers become NaN and are reported; missing-value tokens are just missing), date
        ones as whole days before the reference date, categorical ones stripped text with
        NaN for missing (any spelling of a missing-value token).
    report : FeatureReport

    Raises
    ------
    SchemaError
        When features are missing and ``allow_missing`` is false; the message names them.
    """
    found, missing = table_columns(df, schema, mapping)
    if missing and not allow_missing:
        raise SchemaError(
            f"the table lacks column(s) the model needs: {', '.join(missing)}; "
            "rename them in the file or match them by hand"
        )
    report = FeatureReport(
        renamed={m: t for m, t in found.items() if m != t},
        extra_columns=[c for c in df.columns if c not in set(found.values())],
        replaced_columns=[str(c) for c in df.columns if c in LABEL_COLUMNS],
    )
    out = {}
    n_rows = len(df)
    reference = pd.Timestamp(schema.reference_date) if schema.reference_date else None
    # Cells the file reader already turned from junk into missing (see read_table).
    unparsed = df.attrs.get("unparsed_values", {})
    for feature in schema.features:
        role = schema.spec(feature).role
        if feature not in found:
            out[feature] = np.full(n_rows, np.nan, dtype=float if role != "categorical" else object)
            continue
        raw = df[found[feature]]
        if role == "categorical":
            out[feature] = _categories(raw)
        elif role == "date":
            out[feature] = _days_before(raw, reference)
        else:
            values, bad = _numbers(raw)
            if bad.any():
                rows = (np.flatnonzero(bad)[:max_rows_listed] + 1).tolist()
                report.bad_values[feature] = (int(bad.sum()), rows)
            if found[feature] in unparsed and feature not in report.bad_values:
                report.bad_values[feature] = unparsed[found[feature]]
            out[feature] = values
    features = pd.DataFrame(out, index=df.index)
    counts = features.isna().sum()
    report.missing_values = {c: int(n) for c, n in counts.items() if n}
    return features, report


def _numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float values of a numeric feature and a mask of cells that were not finite numbers.

    Text is parsed as the reader does: stripped, thousands separators and spaces removed,
    missing-value tokens (any case) missing. ``inf``, ``1e400`` and the like are not
    usable numbers: they are reported like text and imputed.
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values)
        if bad.any():
            values = np.where(bad, np.nan, values)
        return values, bad
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float).to_numpy(dtype=float, na_value=np.nan), np.zeros(len(raw), bool)
    text = (
        raw.astype(object)
        .where(raw.notna(), None)
        .map(lambda v: None if v is None else str(v).strip(), na_action="ignore")
    )
    text = text.where(~text.str.lower().isin(NA_LOWER), None)
    cleaned = text.str.replace(r"[,\s]", "", regex=True)
    with np.errstate(over="ignore", invalid="ignore"):
        values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) & text.notna().to_numpy()
    values = np.where(bad, np.nan, values)
    return values, bad


def _categories(raw: pd.Series) -> np.ndarray:
    """Category cells as stripped text, NaN for missing ones (any spelling of a missing
    token); each distinct value is looked at once, however many rows hold it."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    texts = np.array([category_text(v) for v in uniques] + [None], dtype=object)
    out = texts[codes]  # code -1 (missing) takes the trailing None
    out[pd.isna(out)] = np.nan
    return out


def _days_before(raw: pd.Series, reference: pd.Timestamp | None) -> np.ndarray:
    """Whole days from each date to ``reference``, floored (as the fast labeler counts)."""
    if not pd.api.types.is_datetime64_any_dtype(raw):
        # The reader's own rules (ISO, or day-/month-first decided from the whole column):
        # pandas' dayfirst=True read ISO 2023-12-02 as the 12th of February.
        from segmentation.data.read import parse_datetimes

        text = raw.astype(object).map(category_text)
        parsed = parse_datetimes(text, min_fraction=0.0)
        raw = parsed if parsed is not None else pd.Series(pd.NaT, index=raw.index)
    elif isinstance(raw.dtype, pd.DatetimeTZDtype):
        raw = raw.dt.tz_convert(None)
    if reference is None:
        return np.full(len(raw), np.nan)
    stamps = raw.astype("datetime64[us]").to_numpy().astype("int64")
    missing = raw.isna().to_numpy()
    ref = np.datetime64(reference.to_datetime64(), "us").astype("int64")
    days = np.floor_divide(ref - stamps, US_PER_DAY).astype(float)
    days[missing] = np.nan
    return days


class FeaturePreparer(TransformerMixin, BaseEstimator):
    """Pipeline step: a customer table in, the model's typed feature frame out.

    Parameters
    ----------
    schema : Schema
        The fitted model's column roles and reference date.

    Notes
    -----
    Stateless given its schema: ``fit`` only checks the table has the columns.
    :meth:`prepare` also returns the :class:`FeatureReport` of what had to be fixed,
    which ``transform`` (the scikit-learn interface) drops.
    """

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema

    def fit(self, X: pd.DataFrame, y=None) -> FeaturePreparer:
        """Check ``X`` holds the schema's features; nothing is learned."""
        if not isinstance(self.schema, Schema):
            raise TypeError("FeaturePreparer needs a Schema (see infer_schema)")
        self.prepare(X)
        self.n_features_in_ = len(self.schema.features)
        return self

    def prepare(
        self,
        X: pd.DataFrame,
        *,
        mapping: Mapping[str, str] | None = None,
        allow_missing: bool = False,
    ) -> tuple[pd.DataFrame, FeatureReport]:
        """The typed feature frame and the report (see :func:`prepare_features`)."""
        return prepare_features(X, self.schema, mapping=mapping, allow_missing=allow_missing)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The typed feature frame of ``X``."""
        return self.prepare(X)[0]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The schema's feature names, in order."""
        return np.asarray(self.schema.features, dtype=object)
