"""The reading rules every path shares: missing-value tokens, column names, category text.

One definition each, imported by the general reader (:mod:`segmentation.data.read`), the
schema, the CSV writer and the fast labeler alike, so two paths can never disagree on
what a cell means. Deliberately free of pandas and scikit-learn: the command line labels
a file without importing either.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Cell values read as missing, compared case-insensitively after stripping spaces
#: (``NA``, ``nULL`` and `` n/A `` are all missing).
NA_TOKENS: tuple[str, ...] = (
    "",
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
    "-",
    "?",
    "#N/A",
)

#: :data:`NA_TOKENS` lower-cased: the set a stripped, lower-cased cell is looked up in.
NA_LOWER: frozenset[str] = frozenset(token.lower() for token in NA_TOKENS)

#: :data:`NA_TOKENS` in the spellings a file is likely to use, for ``pyarrow.csv``'s
#: ``null_values`` (pyarrow matches them exactly; the rest, such as ``" NA "`` or ``"nULL"``,
#: are caught by the case-insensitive pass over text columns).
ARROW_NULL_VALUES: list[str] = sorted(
    {variant for t in NA_TOKENS for variant in (t, t.lower(), t.upper(), t.title())}
)

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

#: A whole number written with a leading zero: a code (ID, postcode), not a quantity.
_ZERO_PADDED = re.compile(r"0[0-9]+")

#: The three columns labeling adds to a table.
OUTPUT_COLUMNS: tuple[str, ...] = ("cluster", "segment", "cluster_distance")

#: The posterior of the assigned segment, added after :data:`OUTPUT_COLUMNS` by algorithms
#: that give probabilities (the registry's ``gives_probabilities``), such as ``gmm``.
PROBABILITY_COLUMN = "segment_probability"

#: Every column labeling may write. An input column of one of these names is replaced
#: whatever the algorithm: a ``segment_probability`` left by an earlier Gaussian-mixture
#: labeling would be stale beside a K-Means segment.
LABEL_COLUMNS: tuple[str, ...] = (*OUTPUT_COLUMNS, PROBABILITY_COLUMN)


def output_columns(gives_probabilities: bool) -> tuple[str, ...]:
    """The columns labeling appends, in order: :data:`OUTPUT_COLUMNS`, then
    :data:`PROBABILITY_COLUMN` when the algorithm gives probabilities."""
    return LABEL_COLUMNS if gives_probabilities else OUTPUT_COLUMNS


#: Decimals kept of ``cluster_distance`` in outputs, on both labeling paths: ample for
#: ranking, shorter files.
DISTANCE_DECIMALS = 6


def is_missing_token(text: str) -> bool:
    """True when a text cell means "no value" (see :data:`NA_TOKENS`)."""
    return text.strip().lower() in NA_LOWER


def normalize_name(name: object) -> str:
    """Return a column name reduced to lower-case letters and digits.

    ``spending_score``, ``SpendingScore`` and ``Spending Score`` all become
    ``spendingscore``, which is how a trained model recognises its columns in a new table.
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def category_text(value: object) -> str | None:
    """The text a category cell compares as, or None when it is missing.

    Categories compare as stripped text; a float like ``1.0`` reads as ``"1"``; a missing
    token in any spelling or case is missing.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            return str(int(value))
    text = str(value).strip()
    return None if text.lower() in NA_LOWER else text


def match_columns(
    columns: Iterable[object],
    features: Sequence[str],
    *,
    renames: Mapping[str, str] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Map each model feature to one of a table's ``columns``.

    Exact names first, then the user's ``mapping`` ``{model column: table column}`` (over
    the model's saved ``renames``), then case-, space- and punctuation-insensitive matches.

    Returns
    -------
    found : dict
        ``{model column: table column}`` for every feature that was found.
    missing : list
        Model features with no column in the table.
    """
    columns = list(columns)
    present = set(columns)
    chosen = {**(renames or {}), **(mapping or {})}
    by_norm: dict[str, object] = {}
    for column in columns:
        by_norm.setdefault(normalize_name(column), column)
    found, missing = {}, []
    for feature in features:
        if feature in present:
            found[feature] = feature
        elif feature in chosen and chosen[feature] in present:
            found[feature] = chosen[feature]
        elif normalize_name(feature) in by_norm:
            found[feature] = by_norm[normalize_name(feature)]
        else:
            missing.append(feature)
    return found, missing


@dataclass
class FeatureReport:
    """What preparing a table's features had to fix, for the validation report.

    Filled by :func:`segmentation.modeling.features.prepare_features` and the fast labeler.

    Attributes
    ----------
    renamed : dict
        ``{model column: table column}`` for columns matched by normalized name.
    bad_values : dict
        ``{column: (count, first row numbers)}`` for numeric cells that did not parse
        (row numbers are 1-based data rows); they were imputed.
    missing_values : dict
        ``{column: count}`` of empty cells that will be imputed.
    extra_columns : list
        Table columns the model does not use; they pass through unchanged.
    replaced_columns : list
        Table columns named like the labels (:data:`LABEL_COLUMNS`): the labeled output
        replaces them, so the user is told.
    """

    renamed: dict[str, str] = field(default_factory=dict)
    bad_values: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    replaced_columns: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """One human sentence per problem found."""
        out = []
        for model_col, table_col in self.renamed.items():
            out.append(f"column {table_col!r} was matched to the model's {model_col!r}")
        for column, (count, rows) in self.bad_values.items():
            shown = ", ".join(str(r) for r in rows)
            more = " ..." if count > len(rows) else ""
            out.append(
                f"{count:,} value(s) in {column!r} are not numbers (rows {shown}{more}); "
                "they were imputed"
            )
        if self.replaced_columns:
            out.append(
                f"the input already has column(s) {', '.join(map(repr, self.replaced_columns))}; "
                "the labeled output replaces them with the model's (rename them in the input to "
                "keep them)"
            )
        return out


def zero_padded_columns(sample: str, delimiter: str, names: Sequence[str]) -> set[str]:
    """Columns whose values in ``sample`` (the start of a CSV, header included) are codes
    written with leading zeros, such as ``007`` or ``01234``: they must stay text, or
    reading them as numbers would silently change IDs and postcodes."""
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))[1:-1]  # last: partial
    except csv.Error:  # a stray carriage return: the general reader copes or reports it
        return set()
    found = set()
    for i, name in enumerate(names):
        if any(len(r) > i and _ZERO_PADDED.match(r[i].strip()) for r in rows):
            found.add(name)
    return found
