"""Segment identity across model versions: match segments by the customers they share.

Two segmentations of the same customers (an old version and a new one, both labeling one
table) give a *migration matrix*: customers per old segment x new segment. Segments are
matched on it by the Hungarian method (:func:`scipy.optimize.linear_sum_assignment`)
maximising the Jaccard overlap of their customers, and a pair is kept only when the overlap
is meaningful (Jaccard >= :data:`MIN_JACCARD`: more than half of each side's customers
are shared). A matched new segment takes the old segment's id and name; the others are
new. Everything here is a pure function of label arrays and counts.

Ids stay ``0..k-1`` (the labeler, the profiles list and the charts index segments by id),
so :func:`stable_ids` is a permutation: a matched segment keeps its old id whenever that
id exists in the new model (always, unless k shrank), and new segments take the ids the
old version never used first (``k_old``, ``k_old + 1``, ...), then ids of segments that
are gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "MIN_JACCARD",
    "MOSTLY",
    "PART",
    "Migration",
    "jaccard",
    "match_segments",
    "migration",
    "migration_matrix",
    "stable_ids",
    "unique_names",
]

#: A match needs at least this Jaccard overlap of the two segments' customers.
MIN_JACCARD = 0.5
#: A segment goes "mostly" into another when at least this share of it does.
MOSTLY = 0.5
#: A split's parts: each new segment takes at least this share of the old one.
PART = 0.2


def migration_matrix(
    old_labels: np.ndarray, new_labels: np.ndarray, k_old: int, k_new: int
) -> np.ndarray:
    """Customers per old segment x new segment.

    Parameters
    ----------
    old_labels, new_labels : array of int, shape (n_customers,)
        The segment of every customer under each segmentation (ids ``0..k-1``).
    k_old, k_new : int
        Number of segments of each (empty segments get a row or column of zeros).

    Returns
    -------
    ndarray of int64, shape (k_old, k_new)
    """
    old_labels = np.asarray(old_labels, dtype=np.int64)
    new_labels = np.asarray(new_labels, dtype=np.int64)
    flat = np.bincount(old_labels * k_new + new_labels, minlength=k_old * k_new)
    return flat.reshape(k_old, k_new)


def jaccard(counts: np.ndarray) -> np.ndarray:
    """Jaccard overlap of every old x new pair: shared / customers in either."""
    counts = np.asarray(counts, dtype=float)
    union = counts.sum(axis=1)[:, None] + counts.sum(axis=0)[None, :] - counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, counts / union, 0.0)


def match_segments(counts: np.ndarray, *, min_jaccard: float = MIN_JACCARD) -> dict[int, int]:
    """Match new segments to old ones: Hungarian assignment on the Jaccard overlap.

    Parameters
    ----------
    counts : ndarray of shape (k_old, k_new)
        The migration matrix (see :func:`migration_matrix`).
    min_jaccard : float, default=MIN_JACCARD
        Pairs that overlap less are not matched: the new segment is new.

    Returns
    -------
    dict
        ``{new id: old id}`` for the matched pairs.
    """
    overlap = jaccard(counts)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    return {
        int(new): int(old)
        for old, new in zip(rows, cols, strict=True)
        if overlap[old, new] >= min_jaccard and overlap[old, new] > 0
    }


def stable_ids(matches: dict[int, int], k_old: int, k_new: int) -> np.ndarray:
    """The id each new segment should carry so that matched segments keep theirs.

    Parameters
    ----------
    matches : dict
        ``{new id: old id}`` (see :func:`match_segments`).
    k_old, k_new : int

    Returns
    -------
    ndarray of int64, shape (k_new,)
        A permutation of ``0..k_new-1``: entry ``j`` is the id new segment ``j`` takes.
        Matched segments keep the old id when it is below ``k_new``; the rest, in their
        current order (largest first), take the ids the old version never had, then the
        ids of old segments that found no match, then any left.
    """
    ids = np.full(k_new, -1, dtype=np.int64)
    for new, old in sorted(matches.items()):
        if old < k_new:
            ids[new] = old
    taken = set(ids[ids >= 0].tolist())
    matched_old = set(matches.values())
    free = sorted(
        (i for i in range(k_new) if i not in taken),
        key=lambda i: (i < k_old, i in matched_old, i),
    )
    for new, slot in zip(np.flatnonzero(ids < 0), free, strict=True):
        ids[new] = slot
    return ids


def unique_names(names: Sequence[str], inherited: set[int]) -> list[str]:
    """Names made unique: an inherited (matched) name wins; a clashing new name is suffixed.

    Parameters
    ----------
    names : sequence of str
        By segment id.
    inherited : set of int
        Ids whose name was carried over from the old version.
    """
    result = list(names)
    used = {result[i] for i in inherited}
    for i, name in enumerate(result):
        if i in inherited:
            continue
        candidate, n = f"{name}", 1
        while candidate in used:
            n += 1
            candidate = f"{name} (new)" if n == 2 else f"{name} (new {n - 1})"
        result[i] = candidate
        used.add(candidate)
    return result


@dataclass(frozen=True)
class Migration:
    """Where the customers of one segmentation went in another, and what each segment became.

    Attributes
    ----------
    counts : ndarray of int64, shape (k_old, k_new)
        Customers per old segment (rows) x new segment (columns).
    old_names, new_names : list of str
        By segment id.
    matches : dict
        ``{new id: old id}`` of the matched pairs.
    min_jaccard : float
    """

    counts: np.ndarray
    old_names: list[str]
    new_names: list[str]
    matches: dict[int, int]
    min_jaccard: float = MIN_JACCARD

    @property
    def n_customers(self) -> int:
        return int(self.counts.sum())

    def kept_share(self) -> float:
        """Share of the customers whose segment has the same id and name in both."""
        total = self.counts.sum()
        if total == 0:
            return float("nan")
        k = min(self.counts.shape)
        same = sum(
            int(self.counts[i, i]) for i in range(k) if self.old_names[i] == self.new_names[i]
        )
        return same / total

    def statuses(self) -> tuple[list[dict], list[dict]]:
        """What each old and each new segment became, with the segments it went to or
        came from.

        Old segments: ``split`` (two or more new segments each take at least
        :data:`PART` of it), ``merged`` (it goes mostly, at least :data:`MOSTLY`, into a
        new segment that another old segment also goes mostly into), ``matched``, or
        ``gone`` (none of these). New segments: ``merged`` (two or more old segments go
        mostly into it), ``matched``, ``split`` (a part of a split old segment), or
        ``new``. ``matched_to`` is the partner's id whatever the status.
        """
        counts = self.counts.astype(float)
        k_old, k_new = counts.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            out_share = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True))
            in_share = np.nan_to_num(counts / counts.sum(axis=0, keepdims=True))
        old_of = {old: new for new, old in self.matches.items()}
        mostly_into = {
            i: int(out_share[i].argmax()) for i in range(k_old) if out_share[i].max() >= MOSTLY
        }
        sources: dict[int, list[int]] = {}
        for i, j in mostly_into.items():
            sources.setdefault(j, []).append(i)
        parts = {i: [int(j) for j in np.flatnonzero(out_share[i] >= PART)] for i in range(k_old)}
        split_from = {j: i for i, js in parts.items() if len(js) >= 2 for j in js}

        old = []
        for i in range(k_old):
            if len(parts[i]) >= 2:
                status = "split"
            elif i in mostly_into and len(sources[mostly_into[i]]) >= 2:
                status = "merged"
            elif i in old_of:
                status = "matched"
            else:
                status = "gone"
            old.append(
                {
                    "cluster": i,
                    "name": self.old_names[i],
                    "customers": int(counts[i].sum()),
                    "status": status,
                    "matched_to": old_of.get(i),
                    "into": [
                        {"cluster": j, "name": self.new_names[j], "share": float(out_share[i, j])}
                        for j in np.argsort(-counts[i], kind="stable")
                        if counts[i, j] > 0
                    ],
                }
            )
        new = []
        for j in range(k_new):
            if len(sources.get(j, ())) >= 2:
                status = "merged"
            elif j in self.matches:
                status = "matched"
            elif j in split_from:
                status = "split"
            else:
                status = "new"
            new.append(
                {
                    "cluster": j,
                    "name": self.new_names[j],
                    "customers": int(counts[:, j].sum()),
                    "status": status,
                    "matched_to": self.matches.get(j),
                    "from": [
                        {"cluster": i, "name": self.old_names[i], "share": float(in_share[i, j])}
                        for i in np.argsort(-counts[:, j], kind="stable")
                        if counts[i, j] > 0
                    ],
                }
            )
        return old, new

    def to_dict(self) -> dict:
        """JSON-safe: the matrix with both sides' names, each segment's status, the
        share of customers keeping id and name."""
        old, new = self.statuses()
        return {
            "n_customers": self.n_customers,
            "kept_share": self.kept_share(),
            "min_jaccard": self.min_jaccard,
            "migration": {
                "from": [{"cluster": i, "name": n} for i, n in enumerate(self.old_names)],
                "to": [{"cluster": j, "name": n} for j, n in enumerate(self.new_names)],
                "counts": self.counts.tolist(),
            },
            "segments": {"from": old, "to": new},
        }

    def frame(self):
        """The matrix as a table for display: one row per old segment, one column per new
        segment (``"<id> <name>"``), plus each old segment's status."""
        import pandas as pd

        old, _ = self.statuses()
        table = pd.DataFrame(
            self.counts,
            index=[f"{i} {n}" for i, n in enumerate(self.old_names)],
            columns=[f"{j} {n}" for j, n in enumerate(self.new_names)],
        )
        table.insert(0, "Became", [s["status"] for s in old])
        table.index.name = "Segment before"
        return table.reset_index()


def migration(
    old_labels: np.ndarray,
    new_labels: np.ndarray,
    old_names: Sequence[str],
    new_names: Sequence[str],
    *,
    min_jaccard: float = MIN_JACCARD,
) -> Migration:
    """The migration between two segmentations of the same customers, matched.

    Parameters
    ----------
    old_labels, new_labels : array of int, shape (n_customers,)
    old_names, new_names : sequence of str
        Segment names by id; their lengths give k.
    min_jaccard : float, default=MIN_JACCARD

    Returns
    -------
    Migration
    """
    counts = migration_matrix(old_labels, new_labels, len(old_names), len(new_names))
    return Migration(
        counts=counts,
        old_names=[str(n) for n in old_names],
        new_names=[str(n) for n in new_names],
        matches=match_segments(counts, min_jaccard=min_jaccard),
        min_jaccard=min_jaccard,
    )
