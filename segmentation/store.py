"""The model store: immutable, atomically written versions and an active pointer."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segmentation.data.files import atomic_write_text
from segmentation.errors import ModelStoreError

if TYPE_CHECKING:  # the store is read without pandas or scikit-learn when only labeling
    import pandas as pd

    from segmentation.modeling.estimator import SegmentationModel
    from segmentation.modeling.labeling import CompiledLabeler

ACTIVE_FILE = "ACTIVE"
#: The last version number handed out, so a deleted version's name is never reused.
COUNTER_FILE = "LAST_VERSION"
MODEL_FILE = "model.joblib"
#: The fitted pipeline compiled to arrays, for labeling without unpickling the model.
LABELER_FILE = "labeler.npz"
#: Layout of a saved version. 2: the estimator holds one Pipeline (issue 8); versions
#: without it were saved by the first layout and must be retrained.
STORE_FORMAT = 2
METADATA_FILE = "metadata.json"
#: The training table, kept so every page can show the customers a version learned from.
DATA_FILE = "training.parquet"
#: Segment names and recommendations an analyst chose: the one file of a version that
#: changes after it is saved (replaced atomically, applied on every load).
EDITS_FILE = "edits.json"
#: Longest segment name an analyst may give, in characters.
MAX_SEGMENT_NAME = 60
#: Most recommendations per segment, and the longest one, in characters.
MAX_RECOMMENDATIONS, MAX_RECOMMENDATION = 10, 300
_VERSION_RE = re.compile(r"^v(\d{1,6})$")


def fingerprint(path: str | os.PathLike) -> str:
    """A short hash of a stored training table's file, to tell training sets apart.

    The table is hashed as saved (Parquet), which takes a tenth of the time hashing the
    frame row by row did on a million customers.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def frame_fingerprint(data: pd.DataFrame) -> str:
    """The :func:`fingerprint` a table would get if it were saved as a training table now,
    so a model not saved yet can tell whether it was trained on the active version's data."""
    with tempfile.TemporaryDirectory(prefix="fingerprint-") as folder:
        path = Path(folder) / DATA_FILE
        _write_parquet(data, path)
        return fingerprint(path)


def library_versions() -> dict[str, str]:
    """Versions that a saved model depends on."""
    import joblib
    import numpy as np
    import pandas as pd
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


@dataclass(frozen=True)
class VersionInfo:
    """One saved version as listed by :meth:`ModelStore.list`."""

    version: str
    active: bool
    metadata: dict


class ModelStore:
    """Saved model versions under one directory.

    Layout: ``<root>/v<N>/model.joblib`` and ``<root>/v<N>/metadata.json``, and
    ``<root>/ACTIVE`` holding the name of the version the app serves. A version is
    written into a hidden temporary directory and renamed into place in one step, so a
    crash never leaves a half-written version; the active pointer is replaced atomically.

    Parameters
    ----------
    root : path
        The store's directory; created when first written.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    # -- reading ----------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Names of the saved versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _VERSION_RE.match(p.name) and (p / METADATA_FILE).exists()
        ]
        return sorted(found, key=lambda v: int(v[1:]))

    def active_version(self) -> str | None:
        """The active version's name, or None when nothing is active."""
        pointer = self.root / ACTIVE_FILE
        if not pointer.exists():
            return None
        version = pointer.read_text().strip()
        return version if version in self.versions() else None

    def metadata(self, version: str) -> dict:
        """The metadata of one version."""
        path = self._path(version) / METADATA_FILE
        try:
            metadata = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelStoreError(
                f"model {version} has unreadable metadata ({exc}); delete it and retrain"
            ) from exc
        edits = self.segment_edits(version)
        if edits:
            for segment in metadata.get("segments") or []:
                edit = edits.get(int(segment.get("cluster", -1)), {})
                segment["name"] = edit.get("name", segment.get("name"))
            metadata["segment_edits"] = {str(c): e for c, e in sorted(edits.items())}
        return metadata

    def segment_edits(self, version: str) -> dict[int, dict]:
        """The segment names and recommendations an analyst chose for a version.

        Returns
        -------
        dict
            ``{cluster id: {"name": str, "recommendations": [str, ...]}}`` (either key
            may be missing); empty when nothing was edited.
        """
        path = self._path(version) / EDITS_FILE
        if not path.exists():
            return {}
        try:
            raw = json.loads(path.read_text())
            return {int(c): dict(e) for c, e in raw["segments"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelStoreError(
                f"model {version} has unreadable segment edits ({exc}); delete "
                f"{path} to go back to the rule-based names"
            ) from exc

    def edits_stamp(self, version: str) -> str:
        """Changes whenever a version's segment edits change (for caches keyed by version)."""
        path = self._path(version) / EDITS_FILE
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            return ""

    def list(self) -> list[VersionInfo]:
        """Every version with its metadata, newest first, the active one marked."""
        active = self.active_version()
        return [VersionInfo(v, v == active, self.metadata(v)) for v in reversed(self.versions())]

    def load(self, version: str | None = None) -> tuple[SegmentationModel, dict]:
        """Load a version (the active one by default) and its metadata.

        Raises
        ------
        ModelStoreError
            When it does not exist, or was saved with another scikit-learn version
            (the message offers to retrain instead of unpickling across versions).
        """
        import joblib
        import sklearn

        version, metadata = self._usable(version)
        saved = metadata.get("library_versions", {}).get("scikit-learn")
        if saved != sklearn.__version__:
            raise ModelStoreError(
                f"model {version} was saved with scikit-learn {saved} but this is "
                f"{sklearn.__version__}; retrain the model on its data to use it here"
            )
        try:
            model = joblib.load(self._path(version) / MODEL_FILE)
        except Exception as exc:  # a corrupt or foreign file: say so, never crash
            raise ModelStoreError(
                f"model {version} could not be loaded ({exc}); delete it and retrain"
            ) from exc
        model.apply_segment_edits(self.segment_edits(version))
        return model, metadata

    def load_labeler(self, version: str | None = None) -> tuple[CompiledLabeler, dict]:
        """The compiled labeler of a version, read without unpickling the model.

        Labeling a file needs only the fitted statistics, so the command line does not
        import scikit-learn for it. The labeler's ``loader`` loads the full model for the
        general path. A version saved without a labeler (or with an unreadable one) is
        loaded whole and compiled.

        Raises
        ------
        ModelStoreError
            As :meth:`load`.
        """
        from segmentation.modeling.labeling import CompiledLabeler, compiled_labeler

        version, metadata = self._usable(version)
        try:
            labeler = CompiledLabeler.load(self._path(version) / LABELER_FILE)
        except (OSError, ValueError, KeyError):
            model, _ = self.load(version)
            labeler = compiled_labeler(model)
            if labeler is None:  # an algorithm the fast path cannot take: label with it
                return model, metadata
            labeler.loader = lambda: model
            return labeler, metadata
        labeler.loader = lambda: self.load(version)[0]
        edits = self.segment_edits(version)
        labeler.names = [
            str(edits.get(i, {}).get("name", name)) for i, name in enumerate(labeler.names)
        ]
        return labeler, metadata

    def _usable(self, version: str | None) -> tuple[str, dict]:
        """The version (the active one by default) and its metadata, if this code can use it."""
        version = version or self.active_version()
        if version is None:
            raise ModelStoreError("no model is trained yet; train one first")
        metadata = self.metadata(version)
        if metadata.get("store_format") != STORE_FORMAT:
            raise ModelStoreError(
                f"model {version} was saved by an earlier version of the studio; retrain it "
                "on its data (Retrain page, or python -m segmentation train --data FILE) "
                "and activate the new version"
            )
        return version, metadata

    def training_data(self, version: str) -> pd.DataFrame:
        """The table a version was trained on, as it was read."""
        import pandas as pd

        path = self._path(version) / DATA_FILE
        if not path.exists():
            raise ModelStoreError(f"model {version} has no stored training data; retrain it")
        return pd.read_parquet(path)

    # -- writing ----------------------------------------------------------------------
    def save(
        self,
        model: SegmentationModel,
        *,
        data: pd.DataFrame,
        data_name: str,
        activate: bool = True,
        extra: dict | None = None,
    ) -> str:
        """Save a fitted model as a new immutable version and optionally activate it.

        Parameters
        ----------
        model : SegmentationModel
            A fitted model.
        data : DataFrame
            Its training table (for the fingerprint).
        data_name : str
            Where the data came from, shown in the model history.
        activate : bool, default=True
        extra : dict, optional
            More metadata (e.g. the transaction report).

        Returns
        -------
        str
            The new version's name, e.g. ``"v3"``.
        """
        import joblib

        from segmentation.modeling.labeling import compiled_labeler

        self.root.mkdir(parents=True, exist_ok=True)
        metadata = {
            "store_format": STORE_FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_name": data_name,
            **model.summary(),
            "recommended_k_rule": model.sweep_.rule if model.sweep_ else None,
            "sweep": model.sweep_.to_dict() if model.sweep_ else None,
            "schema": model.schema_.to_dict(),
            "params": model.get_params(),
            "library_versions": library_versions(),
            **(extra or {}),
        }
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            joblib.dump(model, staging / MODEL_FILE)
            labeler = compiled_labeler(model)
            if labeler is not None:
                labeler.save(staging / LABELER_FILE)
            _write_parquet(data, staging / DATA_FILE)
            if edits := getattr(model, "segment_edits_", None):
                # Carried from the version this one replaces (matched segments).
                _write_json(staging / EDITS_FILE, _edits_document(edits))
            metadata["data_fingerprint"] = fingerprint(staging / DATA_FILE)
            while True:
                existing = [int(v[1:]) for v in self.versions()]
                existing += [
                    int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION_RE.match(p.name))
                ]
                existing.append(self._last_number())
                version = f"v{max(existing) + 1}"
                metadata["version"] = version
                _write_json(staging / METADATA_FILE, metadata)
                try:
                    # Atomic: the version appears whole or not at all.
                    os.rename(staging, self.root / version)
                    atomic_write_text(self.root / COUNTER_FILE, version[1:] + "\n")
                    break
                except OSError:
                    if not (self.root / version).exists():
                        raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if activate:
            self.activate(version)
        return version

    def rename_segment(
        self,
        version: str | None,
        cluster: int,
        name: str | None = None,
        recommendations: list[str] | None = None,
    ) -> dict:
        """Give a segment of a saved version another name and/or recommendations.

        The edit is saved beside the version (``edits.json``, replaced atomically), applied
        whenever the version is loaded (model profiles, the compiled labeler's names, the
        metadata), and carried to the matched segment of the next version trained over it
        (:func:`segmentation.workflows.match_to_version`).

        Parameters
        ----------
        version : str or None
            The version (the active one when None).
        cluster : int
            The segment's id, 0 to k-1.
        name : str, optional
            The new name: not empty, at most :data:`MAX_SEGMENT_NAME` characters, not the
            name of another segment of the version (ignoring case).
        recommendations : list of str, optional
            The new recommendations, at least one (blank lines are dropped).

        Returns
        -------
        dict
            The segment as it now reads: ``version``, ``cluster``, ``name``, ``size``,
            ``share``, ``traits``, ``recommendations``, ``edited`` (which parts an analyst
            chose).

        Raises
        ------
        ModelStoreError
            When the version or segment does not exist or the name or recommendations
            are not acceptable; nothing is written then.
        """
        model, metadata = self.load(version)
        version = metadata["version"]
        if isinstance(cluster, bool) or not isinstance(cluster, int):
            raise ModelStoreError(f"the segment must be a whole number; got {cluster!r}")
        if not 0 <= cluster < model.k_:
            raise ModelStoreError(
                f"model {version} has no segment {cluster}; its segments are 0 to {model.k_ - 1}"
            )
        if name is None and recommendations is None:
            raise ModelStoreError("give a new name or new recommendations for the segment")
        edit = dict(self.segment_edits(version).get(cluster, {}))
        if name is not None:
            edit["name"] = _check_segment_name(name, model, cluster)
        if recommendations is not None:
            edit["recommendations"] = _check_recommendations(recommendations)
        edits = {**self.segment_edits(version), cluster: edit}
        _write_json(self._path(version) / EDITS_FILE, _edits_document(edits))
        model.apply_segment_edits(edits)
        profile = model.profiles_[cluster]
        return {
            "version": version,
            "cluster": cluster,
            "name": profile.name,
            "size": profile.size,
            "share": profile.share,
            "traits": list(profile.traits),
            "recommendations": list(profile.recommendations),
            "edited": sorted(edit),
        }

    def activate(self, version: str) -> None:
        """Make ``version`` the one the app serves (also how to roll back)."""
        self._path(version)
        if version not in self.versions():
            raise ModelStoreError(
                f"model {version} does not exist; "
                f"the versions are {', '.join(self.versions()) or 'none'}"
            )
        atomic_write_text(self.root / ACTIVE_FILE, version + "\n")

    def delete(self, version: str) -> None:
        """Delete a version. The active version cannot be deleted: activate another first."""
        path = self._path(version)
        if version not in self.versions():
            raise ModelStoreError(f"model {version} does not exist")
        if version == self.active_version():
            raise ModelStoreError(
                f"model {version} is active; activate another version before deleting it"
            )
        # Rename first so a crash mid-delete never leaves a half version that lists.
        trash = self.root / f".trash-{version}-{os.getpid()}"
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _last_number(self) -> int:
        try:
            return int((self.root / COUNTER_FILE).read_text().strip())
        except (OSError, ValueError):
            return 0

    def _path(self, version: str) -> Path:
        """The directory of a version; names are checked so nothing outside the store loads."""
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise ModelStoreError(f"{version!r} is not a model version; versions look like v1, v2")
        path = self.root / version
        if not path.is_dir():
            raise ModelStoreError(
                f"model {version} does not exist; "
                f"the versions are {', '.join(self.versions()) or 'none'}"
            )
        return path


def _write_parquet(data: pd.DataFrame, path: Path) -> None:
    """Parquet needs one type per column: mixed text/number columns are stored as text."""
    import pandas as pd

    frame = data.copy(deep=False)  # columns are replaced, never changed in place
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        mixed = values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in (
            "string",
            "empty",
        )
        if mixed:
            frame.isetitem(position, values.where(values.isna(), values.astype(str)))
    frame.columns = [str(c) for c in frame.columns]
    frame.to_parquet(path, index=False)


def _check_segment_name(name: object, model: SegmentationModel, cluster: int) -> str:
    """The name, tidied, or a ModelStoreError saying what is wrong with it."""
    if not isinstance(name, str):
        raise ModelStoreError(f"the segment name must be text; got {name!r}")
    tidy = " ".join(name.split())
    if not tidy:
        raise ModelStoreError("the segment name is empty; type a name")
    if len(tidy) > MAX_SEGMENT_NAME:
        raise ModelStoreError(
            f"the segment name has {len(tidy)} characters; keep it to {MAX_SEGMENT_NAME}"
        )
    for other in model.profiles_:
        if other.cluster != cluster and other.name.casefold() == tidy.casefold():
            raise ModelStoreError(
                f"segment {other.cluster} is already called {other.name!r}; choose another name"
            )
    return tidy


def _check_recommendations(recommendations: object) -> list[str]:
    """The recommendations, blank ones dropped, or a ModelStoreError."""
    if isinstance(recommendations, str) or not isinstance(recommendations, list | tuple):
        raise ModelStoreError("recommendations must be a list of sentences")
    kept = []
    for item in recommendations:
        if not isinstance(item, str):
            raise ModelStoreError(f"a recommendation must be text; got {item!r}")
        tidy = " ".join(item.split())
        if len(tidy) > MAX_RECOMMENDATION:
            raise ModelStoreError(
                f"a recommendation has {len(tidy)} characters; keep each to "
                f"{MAX_RECOMMENDATION}: {tidy[:40]}..."
            )
        if tidy:
            kept.append(tidy)
    if not kept:
        raise ModelStoreError("give at least one recommendation that is not blank")
    if len(kept) > MAX_RECOMMENDATIONS:
        raise ModelStoreError(
            f"{len(kept)} recommendations given; keep it to {MAX_RECOMMENDATIONS}"
        )
    return kept


def _edits_document(edits: dict) -> dict:
    return {"segments": {str(c): dict(e) for c, e in sorted(edits.items())}}


def _write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False))


def json_safe(value: object) -> object:
    """Recursively turn numpy scalars into Python ones and NaN/inf into None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)
