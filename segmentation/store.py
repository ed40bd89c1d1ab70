"""The model store: immutable, atomically written versions and an active pointer."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from segmentation.access import Actor
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
#: Every activation, rollback, rename, deletion and save, one JSON line each, appended.
AUDIT_FILE = "audit.jsonl"
#: Held while a version number is handed out, the pointer moves or a version goes.
LOCK_FILE = ".lock"
#: Held while the default model is trained at first use, by any process.
FIRST_USE_LOCK_FILE = ".first-use.lock"
#: Largest version number (nine digits): a counter beyond it is damaged, not reached.
MAX_VERSION_NUMBER = 999_999_999
_VERSION_RE = re.compile(r"^v(\d{1,9})$")
#: Leftovers of a save or delete that was killed: ``.staging-<pid>-<id>``, ``.trash-...``.
_LEFTOVER_RE = re.compile(r"^\.(staging|trash)-(?:v\d+-)?(\d+)?")
#: A leftover whose process cannot be told (an older layout) is removed after this long.
_LEFTOVER_AGE_S = 3600


def current_user() -> str:
    """Who is acting, for the audit log: ``SEGMENTATION_USER``, else the OS user."""
    named = os.environ.get("SEGMENTATION_USER", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name for this uid (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


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
    #: Why this version cannot be read (damaged metadata), or None when it can.
    damaged: str | None = None


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
    actor : Actor, optional
        Who acts through this store (signed-in deployments): saving and renaming need the
        analyst role, activating and deleting the admin role
        (:data:`segmentation.access.ACTIONS`); refused with
        :class:`segmentation.access.AccessDenied`. None allows everything.
    """

    def __init__(self, root: str | os.PathLike, *, actor: Actor | None = None) -> None:
        self.root = Path(root)
        #: Who acts through this store; None: nobody signed in, every action allowed.
        self.actor = actor

    def _allow(self, action: str, user: str | None) -> str:
        """Refuse ``action`` unless the actor's role allows it; the user to record."""
        if self.actor is not None:
            self.actor.check(action)
            return user or self.actor.name
        return user or current_user()

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
        try:
            version = pointer.read_text(errors="replace").strip()
        except OSError:
            return None
        return version if version in self.versions() else None

    def active_problem(self) -> str | None:
        """What is wrong with the active pointer when versions exist but none is active.

        Reading never repairs the pointer (a read-only command must not write); this says
        what is wrong and how to choose, for the CLI and the pages to show.
        """
        versions = self.versions()
        if not versions or self.active_version() is not None:
            return None
        listed = ", ".join(versions[-10:])
        try:
            held = (self.root / ACTIVE_FILE).read_text(errors="replace").strip()
        except FileNotFoundError:
            held = None
        except OSError as exc:
            held = f"<unreadable: {exc.strerror}>"
        said = (
            "no version is marked active (the ACTIVE file is missing)"
            if held is None
            else f"the ACTIVE file names {held[:40]!r}, which is not a saved version"
        )
        return (
            f"{said}; activate one: python -m segmentation activate --model VERSION, or in "
            f"the model history on the Retrain page (saved versions: {listed})"
        )

    def metadata(self, version: str) -> dict:
        """The metadata of one version."""
        path = self._path(version) / METADATA_FILE
        try:
            metadata = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelStoreError(
                f"model {version} is damaged: its metadata cannot be read ({_short(exc)}); "
                "activate another version, delete this one or retrain"
            ) from exc
        if not isinstance(metadata, dict) or not isinstance(metadata.get("segments", []), list):
            raise ModelStoreError(
                f"model {version} is damaged: its metadata is not a model description; "
                "activate another version, delete this one or retrain"
            )
        metadata["version"] = version
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
        listed = []
        for version in reversed(self.versions()):
            # One damaged version must not hide the others: it is listed with the reason,
            # so it can still be deleted (or another activated) from the history.
            try:
                listed.append(VersionInfo(version, version == active, self.metadata(version)))
            except ModelStoreError as exc:
                listed.append(VersionInfo(version, version == active, {}, damaged=str(exc)))
        return listed

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

        from segmentation.modeling.estimator import SegmentationModel

        version, metadata = self._usable(version)
        libraries = metadata.get("library_versions")
        saved = libraries.get("scikit-learn") if isinstance(libraries, dict) else None
        if saved != sklearn.__version__:
            raise ModelStoreError(
                f"model {version} was saved with scikit-learn {saved} but this is "
                f"{sklearn.__version__}; retrain the model on its data to use it here"
            )
        try:
            model = joblib.load(self._path(version) / MODEL_FILE)
        except Exception as exc:  # a corrupt or foreign file: say so, never crash
            raise ModelStoreError(
                f"model {version} is damaged: its model file cannot be loaded "
                f"({_short(exc)}); activate another version, delete this one or retrain"
            ) from exc
        if not isinstance(model, SegmentationModel) or not hasattr(model, "pipeline_"):
            raise ModelStoreError(
                f"model {version} is damaged: its model file holds a "
                f"{type(model).__name__}, not a trained segmentation model; activate another "
                "version, delete this one or retrain"
            )
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
        except Exception:  # missing, truncated or foreign: the model itself is the truth
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
            raise ModelStoreError(
                self.active_problem() or "no model is trained yet; train one first"
            )
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
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # truncated or foreign file: name the version, never crash
            raise ModelStoreError(
                f"model {version} is damaged: its training table cannot be read "
                f"({_short(exc)}); activate another version, delete this one or retrain"
            ) from exc

    # -- writing ----------------------------------------------------------------------
    def save(
        self,
        model: SegmentationModel,
        *,
        data: pd.DataFrame,
        data_name: str,
        activate: bool = True,
        extra: dict | None = None,
        user: str | None = None,
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
        user : str, optional
            Who trained it (default :func:`current_user`); recorded in the metadata and
            the audit log.

        Returns
        -------
        str
            The new version's name, e.g. ``"v3"``.
        """
        import joblib

        from segmentation.modeling.labeling import compiled_labeler

        user = self._allow("save", user)
        if activate and self.actor is not None:
            self.actor.check("activate")
        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_leftovers()
        metadata = {
            "store_format": STORE_FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_name": data_name,
            "trained_by": user,
            **model.summary(),
            "recommended_k_rule": model.sweep_.rule if model.sweep_ else None,
            "sweep": model.sweep_.to_dict() if model.sweep_ else None,
            "schema": model.schema_.to_dict(),
            "params": model.get_params(),
            "library_versions": library_versions(),
            **(extra or {}),
        }
        # 0o777 and the umask decide the folder's mode (mkdtemp would force 0700).
        staging = self.root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.mkdir(staging, 0o777)
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
            _fsync_tree(staging)  # before the lock: big files take a while
            with self._locked():
                # Under the lock: the number is unique for the life of the store, whatever
                # else saves or deletes at the same time, and the counter never goes back.
                number = self._next_number()
                version = f"v{number}"
                metadata["version"] = version
                _write_json(staging / METADATA_FILE, metadata)  # fsync-ed with its folder
                os.rename(staging, self.root / version)  # whole or not at all
                _fsync_folder(self.root)
                atomic_write_text(self.root / COUNTER_FILE, f"{number}\n")
                self._append_audit("save", version, user, data_name=data_name)
                if activate:
                    self._activate_locked(version, user)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version

    def rename_segment(
        self,
        version: str | None,
        cluster: int,
        name: str | None = None,
        recommendations: list[str] | None = None,
        *,
        user: str | None = None,
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
        user = self._allow("rename", user)
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
        with self._locked():
            _write_json(self._path(version) / EDITS_FILE, _edits_document(edits))
            self._append_audit("rename", version, user, segment=cluster, changed=sorted(edit))
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

    def activate(self, version: str, *, user: str | None = None) -> None:
        """Make ``version`` the one the app serves (also how to roll back).

        Recorded in the audit log as ``activate``, or ``rollback`` when the version is
        older than the one it replaces.
        """
        user = self._allow("activate", user)
        self._path(version)
        if version not in self.versions():
            raise ModelStoreError(
                f"model {version} does not exist; "
                f"the versions are {', '.join(self.versions()) or 'none'}"
            )
        self.metadata(version)  # a damaged version is never served
        with self._locked():
            self._activate_locked(version, user)

    def delete(self, version: str, *, user: str | None = None) -> None:
        """Delete a version. The active version cannot be deleted: activate another first.

        A damaged version can be deleted. Its number is never handed out again.
        """
        user = self._allow("delete", user)
        path = self._path(version)
        if version not in self.versions():
            raise ModelStoreError(f"model {version} does not exist")
        with self._locked():
            if version == self.active_version():
                raise ModelStoreError(
                    f"model {version} is active; activate another version before deleting it"
                )
            # The counter passes the number first, so it is never given out again.
            number = int(version[1:])
            if self._last_number() < number:
                atomic_write_text(self.root / COUNTER_FILE, f"{number}\n")
            # Rename first so a crash mid-delete never leaves a half version that lists.
            trash = self.root / f".trash-{version}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            os.rename(path, trash)
            _fsync_folder(self.root)
            self._append_audit("delete", version, user)
        shutil.rmtree(trash, ignore_errors=True)

    def history(self) -> list[dict]:
        """The audit log, oldest first: ``{"time", "user", "action", "version", ...}``.

        Actions: ``save``, ``activate``, ``rollback``, ``rename``, ``delete``. A line
        that cannot be read (a crash mid-append on a disk that tore it) is skipped.
        """
        try:
            text = (self.root / AUDIT_FILE).read_text(errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ModelStoreError(f"the audit log cannot be read ({_short(exc)})") from exc
        events = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def _activate_locked(self, version: str, user: str) -> None:
        before = self.active_version()
        atomic_write_text(self.root / ACTIVE_FILE, version + "\n")
        older = before is not None and int(version[1:]) < int(before[1:])
        self._append_audit("rollback" if older else "activate", version, user, previous=before)

    def _append_audit(self, action: str, version: str, user: str, **detail: object) -> None:
        """Append one event as one JSON line in one write, fsync-ed; never rewritten."""
        event = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "user": user,
            "action": action,
            "version": version,
            **{k: v for k, v in detail.items() if v is not None},
        }
        line = (json.dumps(json_safe(event), ensure_ascii=False) + "\n").encode()
        fd = os.open(self.root / AUDIT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked(self, name: str = LOCK_FILE) -> Iterator[None]:
        """An exclusive lock on the store shared by every process (``flock``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / name):
            yield

    @contextlib.contextmanager
    def first_use_lock(self) -> Iterator[None]:
        """Held while the default model is trained at first use, across processes."""
        with self._locked(FIRST_USE_LOCK_FILE):
            yield

    def _next_number(self) -> int:
        """The next version number: past every folder, the counter and the audit log."""
        seen = [self._last_number()]
        seen += [int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION_RE.match(p.name))]
        number = max(seen) + 1
        if number > MAX_VERSION_NUMBER:
            raise ModelStoreError(
                f"the store's version counter ({self.root / COUNTER_FILE}) holds "
                f"{number - 1}, past the largest version number; set it to the highest "
                "version saved (or delete the file) and save again"
            )
        return number

    def _last_number(self) -> int:
        try:
            return int((self.root / COUNTER_FILE).read_text().strip())
        except (OSError, ValueError):
            return 0

    def _clean_leftovers(self) -> None:
        """Remove what a killed save or delete left: folders whose process is gone."""
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        for path in entries:
            match = _LEFTOVER_RE.match(path.name)
            if not match or not path.is_dir():
                continue
            pid = int(match.group(2)) if match.group(2) else None
            if pid is not None and pid != os.getpid() and _process_alive(pid):
                continue
            if pid is None or pid == os.getpid():
                try:
                    if time.time() - path.stat().st_mtime < _LEFTOVER_AGE_S:
                        continue
                except OSError:
                    continue
            shutil.rmtree(path, ignore_errors=True)

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


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, released when the block ends (or the process dies)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _fsync_tree(folder: Path) -> None:
    """fsync every file in ``folder`` and the folder, so a rename publishes durable data."""
    for path in folder.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


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
