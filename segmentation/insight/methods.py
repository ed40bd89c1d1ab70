"""Several methods trained on the same customers, side by side: sizes, separation, agreement.

Retrain trains two or more algorithms of the registry on one table and shows these tables
before the analyst saves one. Separation is measured twice: in each method's own model
space (what its metrics say) and on one common scale (the K-Means preprocessing of the
first model's features), where the methods' silhouettes can be compared with each other.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, silhouette_score

from segmentation.errors import SegmentationError
from segmentation.modeling.preprocess import build_preprocessor
from segmentation.modeling.selection import SILHOUETTE_SAMPLE
from segmentation.viz.style import fmt_int, fmt_metric, fmt_share

#: Shown where a number is not available (stability comes with the stability work of
#: issue 9; a model that has ``stability_`` shows it).
NOT_AVAILABLE = "-"


def _check_same_rows(models: Mapping[str, object]) -> None:
    if len(models) < 1:
        raise SegmentationError("compare at least one trained method")
    sizes = {len(m.labels_) for m in models.values()}
    if len(sizes) != 1:
        raise SegmentationError(
            "the methods were trained on different tables; train them together to compare"
        )


def common_space(model, data: pd.DataFrame) -> np.ndarray:
    """``data`` on the common scale: the K-Means preprocessing (numeric scaled, categories
    one-hot) of ``model``'s features, fitted on ``data``."""
    features, _ = model.prepare(data)
    return build_preprocessor(model.schema_, scaler=model.scaler, kind="scaled").fit_transform(
        features
    )


def compare_methods(
    models: Mapping[str, object], data: pd.DataFrame, *, random_state: int | None = 0
) -> pd.DataFrame:
    """One row per method: segments, sizes, separation and stability, as text.

    Parameters
    ----------
    models : dict
        ``{label: fitted SegmentationModel}``, all trained on ``data``.
    data : DataFrame
        The table they were trained on.
    random_state : int, optional
        Seeds the silhouette sample on large tables.

    Returns
    -------
    DataFrame
        ``Method``, ``Segments``, ``Sizes`` (shares, largest first), ``Smallest segment``,
        ``Separation (own scale, fitted customers)`` (the model's silhouette: outliers left
        out of the fit are not counted), ``Separation (common scale, all customers)``,
        ``Stability``.
    """
    _check_same_rows(models)
    X = common_space(next(iter(models.values())), data)
    sample = SILHOUETTE_SAMPLE if len(X) > SILHOUETTE_SAMPLE else None
    rows = []
    for label, model in models.items():
        sizes = np.bincount(model.labels_, minlength=model.k_)
        shares = np.sort(sizes)[::-1] / max(sizes.sum(), 1)
        common = (
            silhouette_score(X, model.labels_, sample_size=sample, random_state=random_state)
            if len(np.unique(model.labels_)) > 1
            else float("nan")
        )
        stability = getattr(model, "stability_", None)
        rows.append(
            {
                "Method": label,
                "Segments": fmt_int(model.k_),
                "Sizes": " · ".join(fmt_share(s, 0) for s in shares),
                "Smallest segment": f"{fmt_int(sizes.min())} ({fmt_share(shares[-1])})",
                "Separation (own scale, fitted customers)": fmt_metric(model.metrics_.silhouette),
                "Separation (common scale, all customers)": fmt_metric(common),
                "Stability": (
                    NOT_AVAILABLE
                    if stability is None
                    else f"{stability.word()} ({fmt_metric(stability.overall)})"
                ),
            }
        )
    return pd.DataFrame(rows)


def agreement_table(models: Mapping[str, object]) -> pd.DataFrame:
    """How alike the methods' segmentations are: the adjusted Rand index of every pair
    (1: the same segments, about 0: no more alike than chance), as a labeled matrix."""
    _check_same_rows(models)
    labels = list(models)
    values = [
        [adjusted_rand_score(models[a].labels_, models[b].labels_) for b in labels] for a in labels
    ]
    return pd.DataFrame(np.round(values, 3), index=labels, columns=labels)


def migration_table(model_a, model_b) -> pd.DataFrame:
    """Customers in each segment of ``model_a`` (rows) by segment of ``model_b`` (columns).

    Both trained on the same table; segments named as each model names them.
    """
    _check_same_rows({"a": model_a, "b": model_b})
    names_a = np.array([p.name for p in model_a.profiles_], dtype=object)
    names_b = np.array([p.name for p in model_b.profiles_], dtype=object)
    table = pd.crosstab(
        pd.Categorical(names_a[model_a.labels_], categories=list(names_a)),
        pd.Categorical(names_b[model_b.labels_], categories=list(names_b)),
        dropna=False,
    )
    # Plain text labels: a categorical index does not survive the trip to the browser.
    table.index = pd.Index([str(name) for name in table.index])
    table.columns = pd.Index([str(name) for name in table.columns])
    return table
