"""The workflows the pages and the CLI share: default data, first-use training, labeling."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from segmentation.config import DEFAULT_SEED, default_data_path, models_dir
from segmentation.store import ModelStore
from segmentation.types import Progress

if TYPE_CHECKING:  # imported where used: labeling with a saved model needs neither
    import pandas as pd

    from segmentation.modeling.estimator import SegmentationModel

DEFAULT_DATA_NAME = "customers.csv (bundled default)"


def get_store(root: str | os.PathLike | None = None) -> ModelStore:
    """The model store at ``root``, else ``$SEGMENTATION_MODELS_DIR``, else ``models/``."""
    return ModelStore(root if root is not None else models_dir())


def load_default_data() -> pd.DataFrame:
    """The bundled default customers; regenerated with the defaults if the file is gone."""
    from segmentation.data.read import read_table
    from segmentation.data.synthetic import generate_customers

    path = default_data_path()
    if not path.exists():
        return generate_customers(seed=DEFAULT_SEED)
    return read_table(path)


def train_and_save(
    data: pd.DataFrame,
    *,
    data_name: str,
    store: ModelStore,
    activate: bool = True,
    progress: Progress | None = None,
    extra: dict | None = None,
    **params,
) -> tuple[str, SegmentationModel]:
    """Fit a :class:`SegmentationModel` with ``params`` and save it as a new version.

    Returns
    -------
    version : str
    model : SegmentationModel
    """
    from segmentation.modeling.estimator import SegmentationModel

    model = SegmentationModel(**params).fit(data, progress=progress)
    version = store.save(model, data=data, data_name=data_name, activate=activate, extra=extra)
    return version, model


def ensure_active_model(store: ModelStore) -> str:
    """Return the active version, training the default model first if there is none.

    A fresh clone has no model: the first use trains one on the bundled data (about a
    second) so the app and the CLI work straight away.
    """
    with _FIRST_USE:
        return _ensure_active_model(store)


#: Two app sessions opening a fresh clone at once train the default model once.
_FIRST_USE = threading.Lock()


def _ensure_active_model(store: ModelStore) -> str:
    version = store.active_version()
    if version is None:
        versions = store.versions()
        if versions:
            # Versions exist but none is active (pointer lost): serve the newest.
            store.activate(versions[-1])
            return versions[-1]
        version, _ = train_and_save(
            load_default_data(),
            data_name=DEFAULT_DATA_NAME,
            store=store,
            random_state=DEFAULT_SEED,
        )
    return version
