"""The workflows the pages and the CLI share: default data, first-use training, labeling."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

from segmentation.config import DEFAULT_SEED, default_data_path, models_dir
from segmentation.errors import ModelStoreError
from segmentation.store import ModelStore
from segmentation.types import Progress

if TYPE_CHECKING:  # imported where used: labeling with a saved model needs neither
    import pandas as pd

    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.modeling.matching import Migration

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
    user: str | None = None,
    **params,
) -> tuple[str, SegmentationModel]:
    """Fit a :class:`SegmentationModel` with ``params`` and save it as a new version.

    When a version is active, the new segments are first matched to its segments
    (:func:`match_to_version`), so matched segments keep their ids and names; the match
    is recorded in the metadata under ``identity``.

    Returns
    -------
    version : str
    model : SegmentationModel
    """
    from segmentation.modeling.estimator import SegmentationModel

    model = SegmentationModel(**params).fit(data, progress=progress)
    extra = dict(extra or {})
    if (active := store.active_version()) is not None:
        _, extra["identity"] = match_to_version(model, data, store, active)
    version = store.save(
        model, data=data, data_name=data_name, activate=activate, extra=extra, user=user
    )
    return version, model


def match_to_version(
    model: SegmentationModel, data: pd.DataFrame, store: ModelStore, version: str
) -> tuple[Migration | None, dict]:
    """Match a freshly fitted model's segments to a saved version's and renumber it in place.

    Both models label the same customers: the new model's training table ``data`` (the
    new model's own training labels against the saved model's labels of it), or, when the
    saved model cannot read that table (its columns are missing), the saved version's
    training table (its training labels against the new model's labels of it). Segments
    are matched on that co-assignment (:mod:`segmentation.modeling.matching`): a matched
    segment takes the saved segment's id and name, and the recommendations an analyst
    chose for it (:meth:`~segmentation.store.ModelStore.rename_segment`, kept in
    ``model.segment_edits_`` and saved with the new version); the others take fresh ids.

    Parameters
    ----------
    model : SegmentationModel
        Fitted, not saved yet; renumbered in place.
    data : DataFrame
        Its training table.
    store : ModelStore
    version : str
        The version to match against (usually the active one).

    Returns
    -------
    migration : Migration or None
        Old x new segments after renumbering; None when the versions could not be
        compared (a saved model this code cannot load, or tables neither model reads).
    identity : dict
        For the metadata: ``matched_against``, ``on``, ``min_jaccard``, ``kept_share``,
        ``fitted_ids`` (the id each segment had as fitted -> its id now) and
        ``segments`` (``cluster``, ``name``, ``matched_to``, ``jaccard``), or
        ``matched_against`` and ``reason`` when nothing was matched.
    """
    from segmentation.errors import ModelStoreError, SchemaError
    from segmentation.modeling.matching import (
        MIN_JACCARD,
        jaccard,
        match_segments,
        migration,
        migration_matrix,
        stable_ids,
        unique_names,
    )

    try:
        old, _ = store.load(version)
    except ModelStoreError as exc:
        return None, {"matched_against": None, "reason": f"{version}: {exc}"}
    try:
        old_labels, new_labels = old.label(data).labels["cluster"].to_numpy(), model.labels_
        on = "the new version's training table"
    except SchemaError:
        try:
            old_table = store.training_data(version)
            old_labels, new_labels = old.labels_, model.label(old_table).labels["cluster"]
            on = f"the training table of {version}"
        except (SchemaError, ModelStoreError) as exc:
            return None, {
                "matched_against": None,
                "reason": f"{version} and the new model share no table both can read ({exc})",
            }
    counts = migration_matrix(old_labels, np.asarray(new_labels), old.k_, model.k_)
    matches = match_segments(counts)
    overlap = jaccard(counts)
    ids = stable_ids(matches, old.k_, model.k_)
    inherited = {int(ids[new]): old.segment_names[o] for new, o in matches.items()}
    names = [model.profiles_[int(np.flatnonzero(ids == i)[0])].name for i in range(model.k_)]
    names = unique_names([inherited.get(i, n) for i, n in enumerate(names)], set(inherited))
    model.renumber_segments(ids, names=dict(enumerate(names)))
    # What the analyst chose for a segment (its name, its recommendations) goes with it.
    old_edits = getattr(old, "segment_edits_", None) or {}
    carried = {int(ids[new]): dict(old_edits[o]) for new, o in matches.items() if o in old_edits}
    model.apply_segment_edits(carried)
    result = migration(
        old_labels, ids[np.asarray(new_labels)], list(old.segment_names.values()), names
    )
    return result, {
        "matched_against": version,
        "on": on,
        "min_jaccard": MIN_JACCARD,
        "kept_share": result.kept_share(),
        "fitted_ids": {str(j): int(i) for j, i in enumerate(ids)},
        "segments": [
            {
                "cluster": int(ids[new]),
                "name": names[int(ids[new])],
                "matched_to": matches.get(new),
                "jaccard": float(overlap[matches[new], new]) if new in matches else None,
            }
            for new in np.argsort(ids).tolist()
        ],
    }


def compare_versions(
    store: ModelStore, old: str, new: str, data: pd.DataFrame | None = None
) -> tuple[Migration, str]:
    """Where the customers of version ``old``'s segments go in version ``new``.

    Parameters
    ----------
    store : ModelStore
    old, new : str
        Version names.
    data : DataFrame, optional
        The customers both versions label; by default the training table of the newer of
        the two.

    Returns
    -------
    migration : Migration
    table : str
        Which table was labeled, in words.

    Raises
    ------
    ModelStoreError
        When a version does not exist or cannot be loaded.
    SchemaError
        When a model's columns are missing from the table.
    """
    from segmentation.modeling.matching import migration

    before, _ = store.load(old)
    after, _ = store.load(new)
    table = "the given table"
    if data is None:
        newer = max(old, new, key=lambda v: int(v[1:]))
        data, table = store.training_data(newer), f"the training table of {newer}"
    old_labels = before.label(data).labels["cluster"].to_numpy()
    new_labels = after.label(data).labels["cluster"].to_numpy()
    names = (list(m.segment_names.values()) for m in (before, after))
    return migration(old_labels, new_labels, *names), table


def ensure_active_model(store: ModelStore) -> str:
    """Return the active version, training the default model first if there is none.

    A fresh clone has no model: the first use trains one on the bundled data (a few
    seconds) so the app and the CLI work straight away.
    """
    # Threads of one app and separate processes (two apps, a CLI) starting together on a
    # fresh clone: the first trains, the others wait and find its version.
    # First use is the studio's own action, not the signed-in user's: any role may
    # trigger it, so it goes through a store without an actor.
    store = ModelStore(store.root)
    with _FIRST_USE, store.first_use_lock():
        return _ensure_active_model(store)


#: Two app sessions opening a fresh clone at once train the default model once.
_FIRST_USE = threading.Lock()


def _ensure_active_model(store: ModelStore) -> str:
    version = store.active_version()
    if version is None:
        if problem := store.active_problem():
            # Versions exist but none is active: a read must not repoint ACTIVE on its own.
            raise ModelStoreError(problem)
        version, _ = train_and_save(
            load_default_data(),
            data_name=DEFAULT_DATA_NAME,
            store=store,
            random_state=DEFAULT_SEED,
            user="studio (first use)",
        )
    return version
