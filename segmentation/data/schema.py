"""Column roles: infer what each column of any customer table is, and apply it to new tables."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from segmentation.data.rules import normalize_name
from segmentation.errors import SchemaError

ROLES = ("id", "numeric", "categorical", "date", "ignored")
#: What a feature column is for: ``segment`` columns form the segments (they enter the
#: distances); ``describe`` columns are profiled and shown beside them but never move a
#: customer from one segment to another.
PURPOSES = ("segment", "describe")
#: Roles that make a column a feature, which then has a purpose.
FEATURE_ROLES = ("numeric", "categorical", "date")

#: Name words (after splitting camelCase, digits and punctuation) that make a column
#: describe the segments by default, with the reason shown to the analyst. Whole words
#: only: ``Average`` is not ``age``, ``Usage`` is not ``age``, ``Sexton`` is not ``sex``.
_DESCRIBE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "describe: a demographic (who the customer is, not how they buy)",
        frozenset(
            {
                "age",
                "gender",
                "sex",
                "region",
                "country",
                "city",
                "marital",
                "married",
                "education",
                "children",
                "child",
                "kid",
                "kids",
                "kidhome",
                "teen",
                "teens",
                "teenhome",
                "birth",
                "birthyear",
                "dob",
                "nationality",
            }
        ),
    ),
    (
        "describe: a campaign or outcome flag (a result to explain with the segments)",
        frozenset(
            {
                "response",
                "responded",
                "responder",
                "accepted",
                "acceptedcmp",
                "complain",
                "complained",
                "complaint",
                "complaints",
                "churn",
                "churned",
            }
        ),
    ),
    (
        # Lifetime value and its parts are predicted from the purchase columns that already
        # segment: segmenting on them too would count that behaviour twice.
        "describe: an outcome estimate (predicted from the purchase history, not behaviour)",
        frozenset({"clv", "ltv", "alive", "expected", "predicted", "forecast"}),
    ),
)
#: Name words of behaviour and value columns: they segment (the reason says so).
_SEGMENT_WORDS = frozenset(
    {
        "spend",
        "spent",
        "spending",
        "income",
        "salary",
        "frequency",
        "recency",
        "order",
        "orders",
        "value",
        "balance",
        "purchase",
        "purchases",
        "tenure",
        "count",
        "num",
        "visits",
        "mnt",
        "amount",
        "payment",
        "payments",
        "revenue",
        "monetary",
        "transactions",
        "credit",
        "cash",
        "score",
        "customer",
    }
)

#: Normalized column names that mark an identifier even before looking at the values.
_ID_NAMES = {
    "id",
    "customerid",
    "clientid",
    "userid",
    "memberid",
    "accountid",
    "custid",
    "customerno",
    "customernumber",
    "customer",
    "client",
    "uuid",
    "guid",
    "key",
}

MAX_MISSING_SHARE = 0.6
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class ColumnSpec:
    """What one column is and why.

    Attributes
    ----------
    name : str
        The column's name in the training table.
    role : {"id", "numeric", "categorical", "date", "ignored"}
        ``date`` columns are used as a numeric feature: days before the reference date.
    reason : str
        A short human explanation, e.g. ``"categorical: 4 values"``.
    log_transform : bool
        Whether a skewed non-negative numeric feature is log-transformed before scaling.
    purpose : {"segment", "describe"} or None
        For features: whether the column forms the segments or only describes them.
        None for id and ignored columns (and, read as ``segment``, in schemas stored
        before purposes existed).
    purpose_reason : str
        Why, e.g. ``"describe: a demographic (who the customer is, not how they buy)"``.
    """

    name: str
    role: str
    reason: str
    log_transform: bool = False
    purpose: str | None = None
    purpose_reason: str = ""

    @property
    def is_feature(self) -> bool:
        """True for numeric, categorical and date columns."""
        return self.role in FEATURE_ROLES

    @property
    def segments(self) -> bool:
        """True when the column is a feature that forms the segments."""
        return self.is_feature and self.purpose != "describe"


@dataclass(frozen=True)
class Schema:
    """The roles of every column of a training table.

    Attributes
    ----------
    columns : tuple of ColumnSpec
        One entry per column of the training table, in table order.
    reference_date : str or None
        ISO date that ``date`` features count days back from (the latest date seen in
        training), so that a later table is measured on the same scale.
    """

    columns: tuple[ColumnSpec, ...]
    reference_date: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    #: Set by :meth:`with_descriptors`: descriptors then count as features too.
    descriptors_as_features: bool = field(default=False, repr=False, compare=False)

    def names(self, *roles: str) -> list[str]:
        """Names of the columns with any of the given roles, in table order (any purpose)."""
        return [c.name for c in self.columns if c.role in roles]

    def _used(self, *roles: str) -> list[str]:
        return [
            c.name
            for c in self.columns
            if c.role in roles and (c.segments or self.descriptors_as_features)
        ]

    @property
    def features(self) -> list[str]:
        """Input columns that form the segments (numeric, categorical and date, purpose
        ``segment``): all that preprocessing, distances and labeling need."""
        return self._used(*FEATURE_ROLES)

    @property
    def numeric(self) -> list[str]:
        """Segmenting numeric columns, date columns included (they become day counts)."""
        return self._used("numeric", "date")

    @property
    def categorical(self) -> list[str]:
        """Segmenting categorical columns."""
        return self._used("categorical")

    @property
    def descriptors(self) -> list[str]:
        """Feature columns that describe the segments without forming them."""
        return [c.name for c in self.columns if c.is_feature and not c.segments]

    def with_descriptors(self) -> Schema:
        """This schema with descriptors counted as features, for preparing and profiling
        every column a segment is described by (never for distances or labeling)."""
        return replace(self, descriptors_as_features=True)

    @property
    def id_column(self) -> str | None:
        """The identifier column, carried through to outputs, or None."""
        ids = self.names("id")
        return ids[0] if ids else None

    def spec(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict:
        """JSON-safe form, stored in a model version's metadata."""
        return {
            "columns": [asdict(c) for c in self.columns],
            "reference_date": self.reference_date,
            "renames": dict(self.renames),
            "features": self.features,
            "descriptors": self.descriptors,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        """Inverse of :meth:`to_dict`."""
        return cls(
            columns=tuple(ColumnSpec(**c) for c in data["columns"]),
            reference_date=data.get("reference_date"),
            renames=dict(data.get("renames", {})),
        )


def _infer_one(name: str, values: pd.Series, n_rows: int, id_taken: bool) -> ColumnSpec:
    """Infer one column's role from its name and values (private: assumes a clean frame)."""
    n_missing = int(values.isna().sum())
    missing_share = n_missing / n_rows if n_rows else 1.0
    if missing_share >= MAX_MISSING_SHARE:
        return ColumnSpec(name, "ignored", f"ignored: {missing_share:.0%} missing")
    present = values.dropna()
    n_unique = int(present.nunique())
    if n_unique <= 1:
        return ColumnSpec(name, "ignored", "ignored: constant (one value)")
    normalized = normalize_name(name)
    is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    is_integer_like = is_number and bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
    unique_per_row = n_unique == len(present) and n_missing == 0
    id_like_name = (
        normalized in _ID_NAMES
        or (normalized.endswith("id") and len(normalized) <= 12 and not is_number)
        or normalized.endswith(("customerid", "clientid"))
    )
    if not id_taken and unique_per_row and (id_like_name or not is_number or is_integer_like):
        if id_like_name or not is_number:
            return ColumnSpec(name, "id", "identifier: unique per row")
        if _is_sequence(present):
            return ColumnSpec(name, "id", "identifier: unique per row, a running number")
    if id_like_name and not is_number and n_unique > MAX_CATEGORIES:
        return ColumnSpec(name, "ignored", "ignored: identifier-like name, many values")
    if pd.api.types.is_datetime64_any_dtype(values):
        return ColumnSpec(name, "date", "date: used as days before the latest date")
    if pd.api.types.is_bool_dtype(values):
        return ColumnSpec(name, "numeric", "numeric: yes/no flag")
    if is_number:
        skewed = bool(present.min() >= 0 and n_unique > 10 and present.skew() > 1.0)
        reason = f"numeric: {n_unique:,} distinct values" + (
            ", skewed (log scale)" if skewed else ""
        )
        return ColumnSpec(name, "numeric", reason, log_transform=skewed)
    if n_unique > MAX_CATEGORIES or n_unique > 0.5 * len(present):
        kind = "free text" if present.astype(str).str.len().mean() > 30 else "too many values"
        return ColumnSpec(name, "ignored", f"ignored: {kind} ({n_unique:,} distinct)")
    return ColumnSpec(name, "categorical", f"categorical: {n_unique} values")


def _is_sequence(values: pd.Series) -> bool:
    """True when integer values are a running number (1, 2, 3, ... with few gaps)."""
    as_float = values.to_numpy(dtype=float)
    span = as_float.max() - as_float.min() + 1
    return bool(span <= 2 * len(as_float))


def infer_schema(
    df: pd.DataFrame,
    *,
    roles: dict[str, str] | None = None,
    id_column: str | None = None,
    exclude: list[str] | tuple[str, ...] = (),
    purposes: dict[str, str] | None = None,
) -> Schema:
    """Infer every column's role and purpose in a customer table, with the reason for each.

    Parameters
    ----------
    df : DataFrame
        The training table, one row per customer.
    roles : dict, optional
        Overrides ``{column: role}``; a role is one of :data:`ROLES`. Column names match
        case-, space- and punctuation-insensitively.
    id_column : str, optional
        The identifier column; it is excluded from features and carried to outputs.
    exclude : sequence of str, optional
        Columns to ignore.
    purposes : dict, optional
        Overrides ``{column: purpose}``, a purpose one of :data:`PURPOSES`; the other
        features keep the default of :func:`default_purpose`. When no feature would
        segment, every feature segments (the reasons say so).

    Returns
    -------
    Schema

    Raises
    ------
    SchemaError
        When an override names a column the table does not have, an unknown role or
        purpose, or gives a purpose to a column that is not a feature.
    """
    overrides: dict[str, str] = {}
    requested = dict(roles or {})
    if id_column is not None:
        requested[id_column] = "id"
    for column in exclude:
        requested[column] = "ignored"
    for column, role in requested.items():
        if role not in ROLES:
            raise SchemaError(f"unknown role {role!r} for column {column!r}; use one of {ROLES}")
        overrides[resolve_column(df.columns, column)] = role

    n_rows = len(df)
    id_taken = "id" in overrides.values()
    specs = []
    for name in df.columns:
        if name in overrides:
            role = overrides[name]
            spec = ColumnSpec(name, role, f"{role}: chosen by the user")
            if role == "numeric":
                numeric = pd.to_numeric(df[name], errors="coerce").dropna()
                skewed = bool(
                    len(numeric)
                    and numeric.min() >= 0
                    and numeric.nunique() > 10
                    and numeric.skew() > 1.0
                )
                spec = replace(spec, log_transform=skewed)
        else:
            spec = _infer_one(str(name), df[name], n_rows, id_taken)
            id_taken = id_taken or spec.role == "id"
        specs.append(spec)

    specs = _with_purposes(specs, _purpose_overrides(df.columns, purposes))

    reference = None
    dates = [s.name for s in specs if s.role == "date"]
    if dates:
        latest = max(pd.to_datetime(df[c], errors="coerce").max() for c in dates)
        reference = None if pd.isna(latest) else pd.Timestamp(latest).isoformat()
    return Schema(columns=tuple(specs), reference_date=reference)


def resolve_column(columns: pd.Index | list[str], wanted: str) -> str:
    """Find ``wanted`` among ``columns`` exactly, else case/space/punctuation-insensitively.

    Raises
    ------
    SchemaError
        When no column matches, naming the columns there are.
    """
    if wanted in columns:
        return wanted
    by_norm = {normalize_name(c): c for c in columns}
    match = by_norm.get(normalize_name(wanted))
    if match is None:
        raise SchemaError(
            f"column {wanted!r} is not in the table; its columns are {', '.join(map(str, columns))}"
        )
    return match


def name_words(name: object) -> list[str]:
    """A column name as lower-case words: camelCase, digits and punctuation split
    (``"AcceptedCmp1"`` -> ``["accepted", "cmp", "1"]``, ``"Year_Birth"`` ->
    ``["year", "birth"]``)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(name))
    text = re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", " ", text)
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if w]


def default_purpose(name: object) -> tuple[str, str]:
    """``(purpose, reason)`` a feature column gets from its name.

    Demographics (age, gender, region, marital status, education, children, ...),
    campaign or outcome flags (responded, accepted a campaign, complained, churned) and
    outcome estimates (``clv_12m``, ``p_alive``, ``expected_purchases_90d``) describe the
    segments; everything else, behaviour and value first (spend, income, frequency,
    recency, balance, purchases, tenure, counts), segments. Names are compared
    word by word (see :func:`name_words`), never by substring.
    """
    words = set(name_words(name))
    for reason, describe_words in _DESCRIBE_WORDS:
        if words & describe_words:
            return "describe", reason
    if words & _SEGMENT_WORDS:
        return "segment", "segment: behaviour or value (how the customer buys)"
    return "segment", "segment: not a demographic or outcome column"


def _purpose_overrides(columns: pd.Index, purposes: dict[str, str] | None) -> dict[str, str]:
    overrides = {}
    for column, purpose in (purposes or {}).items():
        if purpose not in PURPOSES:
            raise SchemaError(
                f"unknown purpose {purpose!r} for column {column!r}; use one of {PURPOSES}"
            )
        overrides[resolve_column(columns, column)] = purpose
    return overrides


def _with_purposes(specs: list[ColumnSpec], overrides: dict[str, str]) -> list[ColumnSpec]:
    """Give every feature its purpose and reason: the user's choice, else the default;
    when nothing would segment, every feature segments."""
    for spec in specs:
        if spec.name in overrides and not spec.is_feature:
            raise SchemaError(
                f"column {spec.name!r} is not used as a feature ({spec.reason}), so it cannot "
                f"{'form' if overrides[spec.name] == 'segment' else 'describe'} segments; "
                "give it a numeric, categorical or date role first"
            )
    out = []
    for spec in specs:
        if not spec.is_feature:
            out.append(replace(spec, purpose=None, purpose_reason=""))
        elif spec.name in overrides:
            purpose = overrides[spec.name]
            out.append(
                replace(spec, purpose=purpose, purpose_reason=f"{purpose}: chosen by the user")
            )
        else:
            purpose, reason = default_purpose(spec.name)
            out.append(replace(spec, purpose=purpose, purpose_reason=reason))
    if any(s.is_feature for s in out) and not any(s.segments for s in out):
        chosen = [s.name for s in out if s.name in overrides]
        note = (
            "segment: every column was set to describe, so all of them form the segments"
            if chosen
            else "segment: no behaviour or value column, so every column forms the segments"
        )
        out = [
            replace(s, purpose="segment", purpose_reason=f"{note} (by default: {s.purpose_reason})")
            if s.is_feature
            else s
            for s in out
        ]
    return out
