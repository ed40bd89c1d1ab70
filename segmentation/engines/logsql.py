"""The log-to-customers aggregation as SQL, written once for DuckDB and Spark.

A transaction log becomes one row per customer in the same steps on every engine
(:func:`aggregate` runs them, given the engine's way to run a query):

1. :func:`profile_sql` over the first rows guesses what a sample can only guess: whether
   ``04/09/2012`` is day-first, whether ``C...`` invoices are cancellations (fewer than
   half of them), which mark is the decimal one (:func:`decide`, the reader's rules);
2. :func:`rows_sql` cleans the log as it is read (text cells as the messy-file reader
   reads them: missing-value spellings, thousands separators, dates, ids such as
   ``17850.0``), in layers so each cleaned cell is computed once: the numbers per order
   line, which are then summed per group of lines with the same raw customer, invoice
   and date cells (an order's lines share them), and those cells once per group, into
   :data:`ROW_COLUMNS`;
3. :func:`groups_sql` aggregates the groups per customer and order, then per customer,
   and in a branch of its own the whole log's counts and the same whole-column facts
   (two rows: the lines with a customer id and those without); when the facts overturn
   the guess (rare: the first rows would have to mislead), the aggregation runs again
   with the right reading;
4. :func:`customers_from_groups` (pandas, one row per customer) makes the customer table
   and its :class:`~segmentation.data.transactions.TransactionReport`.

Dialects differ only in a few spellings (:class:`_Dialect`): identifier quoting and
string escapes, ``regexp_full_match`` versus ``RLIKE``, ``try_strptime`` with strftime
formats versus ``try_to_timestamp`` with Java patterns, ISO text to a UTC timestamp,
``trim(x, chars)`` versus ``trim(BOTH chars FROM x)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from segmentation.data.read import (
    _DMY,
    _EU_GROUPED,
    _EU_UNAMBIGUOUS,
    _ISO_DATE,
    _NUMBER_NOISE,
    _US_GROUPED,
    _US_UNAMBIGUOUS,
    _YMD_SLASH,
    LARGEST_NUMBER,
)
from segmentation.data.rules import NA_LOWER
from segmentation.errors import DataError

__all__ = [
    "DIALECTS",
    "ROW_COLUMNS",
    "LogSource",
    "Profile",
    "customers_from_groups",
    "groups_sql",
    "profile_sql",
    "rows_sql",
]

#: Engines the SQL is written for.
DIALECTS = ("duckdb", "spark")

#: Columns of :func:`rows_sql`, one row per group of lines with the same raw customer,
#: invoice and date cells: customer id (text, NULL when missing), timestamp (NULL when
#: empty or unreadable), whether the date cell is not empty, whether the invoice reads
#: ``C`` + digit, the order key (the normalised invoice, NULL without one), and the
#: group's :data:`GROUP_COUNTS`.
ROW_COLUMNS = (
    "customer",
    "ts",
    "date_given",
    "c_invoice",
    "order_key",
    "line_count",
    "negative_count",
    "purchase_spend",
    "negative_spend",
    "missing_spend_count",
)

#: The roles whose cells group the lines (cleaned once per group), and the number roles
#: (cleaned per line).
KEY_ROLES = ("customer", "invoice", "date")
NUMBER_ROLES = ("quantity", "price", "amount")

#: Per group of lines: its lines, its negative ones (negative quantity or spend), the
#: absolute spend of the others and of those, and its lines without a readable spend.
GROUP_COUNTS = ROW_COLUMNS[5:]

#: Per customer, from :func:`groups_sql`: net spend, orders with a dated purchase, the
#: times of the last and first purchase, and of the first and last dated line.
CUSTOMER_FIGURES = (
    "monetary",
    "frequency",
    "last_purchase",
    "first_purchase",
    "date_min",
    "date_max",
)

# Whitespace that str.strip() removes and exports put around cells.
_SPACE_CHARS = " \t\n\r\f\v\u00a0\u202f"

_INTEGRAL_ID_FULL = "[0-9]+[.]0+"
_LONGEST_TOKEN = max(len(t) for t in NA_LOWER)
_DMY_HEAD = "^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]"
# A text column of dates is one when this share of its values read as dates (as
# ``segmentation.data.transactions`` asks of a column named like a date).
_DATE_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class _Dialect:
    name: str
    text_type: str
    backref: str

    def ident(self, name: str) -> str:
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def literal(self, text: str) -> str:
        if self.name == "spark":  # Spark reads backslash escapes in literals
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def strip(self, expr: str, chars: str) -> str:
        """``expr`` without ``chars`` at either end (trimming only when an end character
        may be one of them: the general trim is several times slower).

        The guard is two character codes in one range: every one of ``chars`` is at most
        32 or above 159, so a value whose first and last codes lie in 33-159 has nothing
        to trim (the rest are trimmed, which leaves any other character). An ``IN`` list
        of characters would be planned as a join by DuckDB, and a chain of ``OR`` tests
        costs more than the trim it spares."""
        assert all(ord(c) <= 32 or ord(c) > 159 for c in chars), chars
        if self.name == "spark":
            trimmed = f"trim(BOTH {self.literal(chars)} FROM {expr})"
        else:
            trimmed = f"trim({expr}, {self.literal(chars)})"
        inner = f"ascii({expr}) BETWEEN 33 AND 159 AND ascii(right({expr}, 1)) BETWEEN 33 AND 159"
        return f"CASE WHEN {inner} THEN {expr} ELSE {trimmed} END"

    def full_match(self, expr: str, pattern: str) -> str:
        if self.name == "spark":
            return f"({expr} RLIKE {self.literal('^(' + pattern + ')$')})"
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def replace(self, expr: str, pattern: str, replacement: str) -> str:
        flags = "" if self.name == "spark" else ", 'g'"  # Spark always replaces every match
        return (
            f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)}{flags})"
        )

    def extract(self, expr: str, pattern: str, group: int) -> str:
        return f"regexp_extract({expr}, {self.literal(pattern)}, {group})"

    def strptime(self, expr: str, fmt: str) -> str:
        """Parse ``fmt`` written strftime-style (``%d/%m/%Y %H:%M``); NULL when it fails."""
        if self.name == "spark":
            java = (
                fmt.replace("%d", "d")
                .replace("%m", "M")
                .replace("%Y", "yyyy")
                .replace("%H", "H")
                .replace("%M", "mm")
                .replace("%S", "ss")
            )
            return f"try_to_timestamp({expr}, {self.literal(java)})"
        return f"try_strptime({expr}, {self.literal(fmt)})"

    def iso_timestamp(self, expr: str) -> str:
        """ISO 8601 text to a naive UTC timestamp (offsets applied)."""
        if self.name == "spark":  # the session's time zone is UTC (engines.spark.session)
            return f"try_cast({expr} AS TIMESTAMP)"
        return f"CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"

    def try_double(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"


_DIALECTS = {
    "duckdb": _Dialect("duckdb", "VARCHAR", "\\1"),
    "spark": _Dialect("spark", "STRING", "$1"),
}


def _dialect(name: str) -> _Dialect:
    if name not in _DIALECTS:
        raise ValueError(f"dialect {name!r} is not one of {DIALECTS}")
    return _DIALECTS[name]


@dataclasses.dataclass(frozen=True)
class LogSource:
    """What the SQL needs to know about a log: its role columns and how each is stored.

    Attributes
    ----------
    relation : str
        SQL for the table, e.g. ``read_csv(...)`` or a registered view's name.
    roles : dict
        Column name per role (``customer``, ``date``, ``invoice``, ``quantity``, ``price``,
        ``amount``), ``None`` when unused.
    kinds : dict
        How each used role's column is stored: ``"text"`` (cleaned as the reader cleans
        text), ``"number"`` or ``"timestamp"``.
    """

    relation: str
    roles: dict[str, str | None]
    kinds: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Profile:
    """What one pass over the whole log decided.

    Attributes
    ----------
    dayfirst : bool
        Whether ``04/09/2012`` is the 4th of September.
    dayfirst_decided : bool
        False when every day-month date read both ways (the reading was assumed or given).
    c_rule : bool
        Whether invoices ``C`` + digit are cancellations (fewer than half the lines).
    european : dict
        Per text number role, whether ``,`` is the decimal mark.
    example : str or None
        An ambiguous date, for the report.
    dmy_form : tuple or None
        The separator and number of colons of the first rows' day-month dates
        (``("/", 1)`` for ``12/1/2010 08:26``): the form read by a fast branch that gives
        exactly what the general one gives (:func:`_dmy_fast`). Speed only.
    plain_votes : tuple
        The number roles whose plain numbers (``4.36``) vote on the decimal mark too
        (:func:`_number_facts`): needed only when "," may win, that is when "," is the
        mark a tie gives, or values read only with "," were seen. Speed only.
    """

    dayfirst: bool = True
    dayfirst_decided: bool = True
    c_rule: bool = True
    european: dict[str, bool] = dataclasses.field(default_factory=dict)
    example: str | None = None
    dmy_form: tuple[str, int] | None = None
    plain_votes: tuple[str, ...] = ()


def _layers(relation: str, layers: list[list[str]]) -> str:
    """Nest ``SELECT *, <expressions> FROM (...)`` once per layer, so that an expression
    used several times (a stripped cell, a cleaned number) is computed once per row."""
    query = f"SELECT * FROM {relation}"
    for i, expressions in enumerate(layers):
        if expressions:
            query = f"SELECT *, {', '.join(expressions)} FROM ({query}) AS layer_{i}"
    return query


def _cells(d: _Dialect, source: LogSource, profile: Profile | None = None) -> list[list[str]]:
    """Layers giving ``cell_<role>``: text stripped with every missing-value spelling as
    NULL, or the typed value as it is (NaN, infinities and huge numbers as NULL).

    With a ``profile`` (the whole log, not its first rows), number and date text first
    tries a fast branch on the cell as read: ``fast_<role>``, the plain number (``TRY_CAST``
    allows the white space the strip removes, so the value is the same), and
    ``date_fast``, an exact day-month date of the first rows' form (:func:`_dmy_fast`).
    Only the other cells are stripped and checked for missing-value spellings (such a
    spelling is never a plain number but ``nan``, which reads as NaN and so as missing)."""
    raws, fasts, cells = [], [], []
    tokens = ", ".join(d.literal(t) for t in sorted(NA_LOWER))

    def missing(text: str) -> str:
        return (
            f"CASE WHEN length({text}) <= {_LONGEST_TOKEN} AND lower({text}) IN ({tokens}) "
            f"THEN NULL ELSE {text} END"
        )

    for role, column in source.roles.items():
        if column is None:
            continue
        kind = source.kinds[role]
        raw = f"raw_{role}"
        if kind == "text":
            text = f"CAST({d.ident(column)} AS {d.text_type})"
            lazy = _fast_branch(source, profile, role)
            if not lazy:
                raws.append(f"{d.strip(text, _SPACE_CHARS)} AS {raw}")
                cells.append(f"{missing(raw)} AS cell_{role}")
                if role == "date" and profile is not None:
                    fasts.append("false AS date_fast")
                continue
            raws.append(f"{text} AS {raw}")
            if role == "date":
                fasts.append(f"coalesce({_dmy_fast(d, raw, profile.dmy_form)}, false) AS date_fast")
                slow = "NOT date_fast"
            else:
                fasts.append(f"{d.try_double(raw)} AS fast_{role}")
                slow = f"fast_{role} IS NULL"
            cells.append(
                f"CASE WHEN {slow} THEN {missing(d.strip(raw, _SPACE_CHARS))} END AS cell_{role}"
            )
        elif kind == "number":
            raws.append(f"CAST({d.ident(column)} AS DOUBLE) AS {raw}")
            cells.append(
                f"CASE WHEN isnan({raw}) OR abs({raw}) > {LARGEST_NUMBER!r} "
                f"THEN NULL ELSE {raw} END AS cell_{role}"
            )
        else:
            raws.append(f"CAST({d.ident(column)} AS TIMESTAMP) AS {raw}")
            cells.append(f"{raw} AS cell_{role}")
    return [raws, fasts, cells]


def _fast_branch(source: LogSource, profile: Profile | None, role: str) -> bool:
    """Whether the text of ``role`` is read with a fast branch first (see :func:`_cells`):
    numbers unless "," is their decimal mark, dates when the first rows had a day-month
    form."""
    if profile is None or source.kinds.get(role) != "text":
        return False
    if role == "date":
        return profile.dmy_form is not None
    return role in ("quantity", "price", "amount") and not profile.european.get(role, False)


def _id(d: _Dialect, source: LogSource, role: str) -> str:
    """The normalised id of ``cell_<role>`` (``17850.0`` -> ``17850``)."""
    cell = f"cell_{role}"
    if source.kinds[role] == "number":
        whole = f"CAST(CAST({cell} AS BIGINT) AS {d.text_type})"
        return (
            f"CASE WHEN {cell} = floor({cell}) AND abs({cell}) < 9007199254740992 "
            f"THEN {whole} ELSE CAST({cell} AS {d.text_type}) END"
        )
    if source.kinds[role] == "timestamp":
        return f"CAST({cell} AS {d.text_type})"
    # "17850.0" -> "17850"; the guards spare the regex on the ids without a dot.
    integral = f"contains({cell}, '.') AND {d.full_match(cell, _INTEGRAL_ID_FULL)}"
    return f"CASE WHEN {integral} THEN split_part({cell}, '.', 1) ELSE {cell} END"


def _number_layers(
    d: _Dialect, source: LogSource, role: str, european: bool, fast: bool = False
) -> list[str]:
    """Layers of expressions ending in ``num_<role>`` (DOUBLE, NULL if unreadable);
    ``fast``: the cells have a fast branch (:func:`_cells`)."""
    cell = f"cell_{role}"
    if source.kinds[role] == "number":
        return [[], [], [f"{cell} AS num_{role}"]]
    if source.kinds[role] != "text":
        return [[], [], [f"CAST(NULL AS DOUBLE) AS num_{role}"]]
    # A plain number ("12", "-3.5", "1e3") reads the same either way; only the others
    # need the noise, accounting and grouping rules (and with "," as the decimal mark,
    # "1.234" is a thousand: no shortcut then).
    plain = "CAST(NULL AS DOUBLE)" if european else d.try_double(cell)
    if fast:
        plain = f"coalesce(fast_{role}, {plain})"
    cleaned = f"CASE WHEN plain_{role} IS NULL THEN {d.replace(cell, _NUMBER_NOISE, '')} END"
    k = f"clean_{role}"
    accounting = (
        f"CASE WHEN {k} LIKE '(%)' THEN concat('-', substr({k}, 2, length({k}) - 2)) ELSE {k} END"
    )
    a = f"signed_{role}"
    if european:
        grouped, converted = _EU_GROUPED, f"replace(replace({a}, '.', ''), ',', '.')"
    else:
        grouped, converted = _US_GROUPED, f"replace({a}, ',', '')"
    text = f"CASE WHEN {d.full_match(a, grouped)} THEN {converted} ELSE {a} END"
    value = f"value_{role}"
    return [
        [f"{plain} AS plain_{role}"],
        [f"{cleaned} AS {k}"],
        [f"{accounting} AS {a}"],
        [f"coalesce(plain_{role}, {d.try_double(text)}) AS {value}"],
        [
            f"CASE WHEN isnan({value}) OR abs({value}) > {LARGEST_NUMBER!r} THEN NULL "
            f"ELSE {value} END AS num_{role}"
        ],
    ]


def _dmy_form(example: str | None) -> tuple[str, int] | None:
    """The separator and colon count of a day-month date such as ``12/1/2010 08:26``."""
    if not example or len(example) < 3:
        return None
    sep = example[1] if example[1] in "-/." else example[2]
    return (sep, example.count(":")) if sep in "-/." else None


def _dmy_fast(d: _Dialect, text: str, form: tuple[str, int]) -> str:
    """Whether ``text`` is a day-month date of exactly ``form``: one regex, where the
    general branch needs up to three and then splits the value to find its separator and
    time. Such a value is one the general branch reads as shape 3 with this separator and
    colon count (the ISO and year-first shapes need four digits first), so both branches
    give the same timestamp."""
    sep, colons = form
    field = "[0-9]{1,2}"
    clock = ("", f" {field}:[0-9]{{2}}", f" {field}:[0-9]{{2}}:[0-9]{{2}}")[colons]
    return d.full_match(text, f"{field}[{sep}]{field}[{sep}][0-9]{{4}}{clock}")


def _timestamp(
    d: _Dialect, source: LogSource, dayfirst: bool, form: tuple[str, int] | None = None
) -> list[list[str]]:
    """Layers ending in ``ts`` from ``cell_date``, or from ``raw_date`` where ``date_fast``
    (the value is a day-month date of the first rows' ``form``: :func:`_cells`)."""
    if source.kinds["date"] == "timestamp":
        return [["cell_date AS ts"]]
    if source.kinds["date"] != "text":
        return [["CAST(NULL AS TIMESTAMP) AS ts"]]
    text = "cell_date"
    times = ("", " %H:%M", " %H:%M:%S")

    def by_colons(day: str) -> str:
        # The shape regex admits only these three times: count the colons to pick one
        # format, rather than trying all three on every value.
        parts = " ".join(f"WHEN {i} THEN {d.strptime(text, day + t)}" for i, t in enumerate(times))
        return f"CASE date_colons {parts} END"

    # A day-month date uses one separator, the one after its first field (as the reader
    # has it: "04/09.2012" is not a date); one format per separator and time.
    order = "%d{0}%m{0}%Y" if dayfirst else "%m{0}%d{0}%Y"
    dmy = " ".join(f"WHEN {d.literal(sep)} THEN {by_colons(order.format(sep))}" for sep in "/-.")
    # Most logs write every date one way: those values skip the shape regexes.
    general = "NOT date_fast"
    fast_ts = (
        f"WHEN date_fast THEN {d.strptime('raw_date', order.format(form[0]) + times[form[1]])} "
        if form
        else ""
    )
    return [
        [
            # ISO and year-first dates have their fifth character decided: test it first.
            f"CASE WHEN {general} THEN CASE "
            f"WHEN substr({text}, 5, 1) = '-' AND {d.full_match(text, _ISO_DATE)} THEN 1 "
            f"WHEN substr({text}, 5, 1) = '/' AND {d.full_match(text, _YMD_SLASH)} THEN 2 "
            f"WHEN {d.full_match(text, _DMY)} THEN 3 END END AS date_shape",
            f"CASE WHEN {general} THEN length({text}) - length(replace({text}, ':', '')) END "
            "AS date_colons",
        ],
        [
            f"CASE WHEN date_shape = 3 THEN substr({text}, CASE WHEN substr({text}, 2, 1) "
            "BETWEEN '0' AND '9' THEN 3 ELSE 2 END, 1) END AS date_sep",
        ],
        [
            f"CASE {fast_ts}WHEN date_shape = 1 THEN {d.iso_timestamp(text)} "
            f"WHEN date_shape = 2 THEN {by_colons('%Y/%m/%d')} "
            f"WHEN date_shape = 3 THEN CASE date_sep {dmy} END END AS ts",
            f"CASE WHEN date_shape = 3 THEN {text} END AS dmy_text",
        ],
    ]


def _c_invoice(invoice: str) -> str:
    """Whether an invoice reads ``C`` + digit (a cancellation in the UCI log), regex-free."""
    return f"(left({invoice}, 1) IN ('C', 'c') AND substr({invoice}, 2, 1) BETWEEN '0' AND '9')"


def _merge(*stacks: list[list[str]]) -> list[list[str]]:
    """Stack layers side by side: layer i of the result holds layer i of every stack."""
    depth = max((len(stack) for stack in stacks), default=0)
    return [sum((stack[i] for stack in stacks if i < len(stack)), []) for i in range(depth)]


def _lines_sql(d: _Dialect, source: LogSource, profile: Profile) -> tuple[str, list[str]]:
    """The order lines grouped by their raw key cells (customer, invoice, date as read),
    with each group's line counts and spend, and the number columns' votes: the numbers
    are cleaned once per line, the keys (and so the dates) once per group (an order's lines
    share them, so a log has several times fewer groups than lines).

    Returns the query and the names of its vote columns."""
    roles = source.roles
    keys = list(dict.fromkeys(roles[r] for r in KEY_ROLES if roles[r]))
    numbers = dataclasses.replace(
        source, roles={r: (c if r in NUMBER_ROLES else None) for r, c in roles.items()}
    )
    stacks = [
        _number_layers(
            d,
            source,
            role,
            profile.european.get(role, False),
            fast=_fast_branch(source, profile, role),
        )
        for role in NUMBER_ROLES
        if roles[role]
    ]
    spend = "num_amount" if roles["amount"] else "(num_quantity * num_price)"
    negative = f"coalesce({spend} < 0, false)"
    if roles["quantity"]:
        negative = f"({negative} OR coalesce(num_quantity < 0, false))"
    # The text each number votes with (see _number_facts), and where its "." is: once per
    # line.
    votes = [
        r
        for r in NUMBER_ROLES
        if roles[r] and source.kinds[r] == "text" and r in profile.plain_votes
    ]
    text = {r: f"coalesce(cell_{r}, raw_{r})" if _fast_branch(source, profile, r) else f"cell_{r}"
            for r in votes}  # fmt: skip
    layers = _cells(d, numbers, profile) + _merge(*stacks)
    layers += [
        [f"{spend} AS line_spend", f"{negative} AS line_negative"]
        + [f"{text[r]} AS vote_text_{r}" for r in votes],
        [f"instr(vote_text_{r}, '.') AS vote_dot_{r}" for r in votes],
    ]
    facts = _number_facts(d, source, profile)
    inner = _layers(source.relation, layers)
    key_list = ", ".join(d.ident(k) for k in keys)
    return (
        f"SELECT {key_list}, count(*) AS line_count, "
        "count(*) FILTER (WHERE line_negative) AS negative_count, "
        "sum(abs(line_spend)) FILTER (WHERE NOT line_negative) AS purchase_spend, "
        "sum(abs(line_spend)) FILTER (WHERE line_negative) AS negative_spend, "
        "count(*) FILTER (WHERE line_spend IS NULL) AS missing_spend_count"
        + "".join(f", sum({expr}) AS {name}" for name, expr, _ in facts)
        + f" FROM ({inner}) AS lines GROUP BY {key_list}"
    ), [name for name, _, _ in facts]


def rows_sql(
    source: LogSource, profile: Profile, dialect: str, keep: dict[str, str] | None = None
) -> str:
    """SQL selecting one clean row per group of order lines: the columns
    :data:`ROW_COLUMNS`.

    Lines are grouped by their raw customer, invoice and date cells (:func:`_lines_sql`:
    numbers cleaned per line), then each group's cells are cleaned as the reader cleans
    them: lines whose cells differ only in spelling (``17850`` and ``17850.0``) are in
    different groups that clean to the same customer, which :func:`groups_sql` adds up.

    Parameters
    ----------
    source : LogSource
        The log and how its columns are stored.
    profile : Profile
        What :func:`profile_sql` decided (day-first, decimal marks).
    dialect : {"duckdb", "spark"}
    keep : dict, optional
        More columns, name to an expression over the cleaning's inner columns (such as
        ``raw_date``, the date cell as read).

    Returns
    -------
    str
        A ``SELECT`` over ``source.relation``.
    """
    d = _dialect(dialect)
    roles = source.roles
    lines, votes = _lines_sql(d, source, profile)
    keyed = LogSource(
        relation=f"({lines}) AS line_groups",
        roles={r: (c if r in KEY_ROLES else None) for r, c in roles.items()},
        kinds={r: k for r, k in source.kinds.items() if r in KEY_ROLES},
    )
    derived = [f"{_id(d, keyed, 'customer')} AS customer"]
    if roles["invoice"]:
        derived.append(f"{_id(d, keyed, 'invoice')} AS invoice")
    else:
        derived.append(f"CAST(NULL AS {d.text_type}) AS invoice")
    layers = _cells(d, keyed, profile) + _merge(
        [derived], _timestamp(d, keyed, profile.dayfirst, profile.dmy_form)
    )
    c_invoice = f"coalesce({_c_invoice('invoice')}, false)" if roles["invoice"] else "false"
    given = "(cell_date IS NOT NULL)"
    if source.kinds["date"] == "text":
        given = "(date_fast OR cell_date IS NOT NULL)"
    inner = _layers(keyed.relation, layers)
    passed = [*GROUP_COUNTS, *votes]
    return (
        f"SELECT customer, ts, {given} AS date_given, {c_invoice} AS c_invoice, "
        f"invoice AS order_key, {', '.join(passed)}"
        + "".join(f", {expr} AS {name}" for name, expr, _ in _date_facts(d, source, profile))
        + "".join(f", {expr} AS {name}" for name, expr in (keep or {}).items())
        + f" FROM ({inner}) AS cleaned"
    )


def _facts(
    d: _Dialect, source: LogSource, profile: Profile | None = None
) -> list[tuple[str, str, str]]:
    """Whole-column facts gathered by the aggregation itself, as ``(name, per-row
    expression, aggregate)``: the day-month date fields (to decide day-first), and per
    text number column the values readable only with "." or only with "," as the decimal
    mark. Invoices ``C`` + digit are counted from ``c_invoice``."""
    return _date_facts(d, source, profile) + _number_facts(d, source, profile)


def _date_facts(
    d: _Dialect, source: LogSource, profile: Profile | None = None
) -> list[tuple[str, str, str]]:
    """The day-month date fact (see :func:`_facts`), per group of lines."""
    facts = []
    if source.kinds.get("date") == "text":
        # One bit mask per row: 4 a day-month date, 2 its first field above 12, 1 its
        # second; OR-ed over the log, it is all that deciding day-first needs.
        def bits(text: str) -> str:
            # The fields as the reader takes them: the digits before and after the first
            # separator (in "12/05.2010" too, which then reads as no date).
            first, second = (f"CAST({d.extract(text, _DMY_HEAD, i)} AS INT)" for i in (1, 2))
            return (
                f"4 + CASE WHEN {first} > 12 THEN 2 ELSE 0 END "
                f"+ CASE WHEN {second} > 12 THEN 1 ELSE 0 END"
            )

        mask = f"CASE WHEN dmy_text IS NULL THEN 0 ELSE {bits('dmy_text')} END"
        form = profile.dmy_form if profile is not None else None
        if form:
            # A date read on the fast branch has its fields in the timestamp: the day is
            # the first field when reading day-first, the second otherwise (the month is
            # never above 12). An unreadable one (02/30) is taken apart as elsewhere.
            day = "CASE WHEN dayofmonth(ts) > 12 THEN {} ELSE 0 END"
            from_ts = "4 + " + day.format(2 if profile.dayfirst else 1)
            mask = (
                f"CASE WHEN date_fast THEN CASE WHEN ts IS NULL THEN {bits('raw_date')} "
                f"ELSE {from_ts} END ELSE {mask} END"
            )
        facts.append(("dmy_mask", mask, "bit_or"))
    return facts


def _number_facts(
    d: _Dialect, source: LogSource, profile: Profile | None = None
) -> list[tuple[str, str, str]]:
    """The decimal-mark votes (see :func:`_facts`), per line.

    Plain numbers vote only for the roles in ``profile.plain_votes``: for the others the
    vote is that of the other values, "." values minus "," ones, and while it is not
    negative "." is the mark whatever the plain numbers say (:func:`_decided` counts them
    in a second pass otherwise). Sparing the plain numbers' test saves a fifth of the
    time on a clean log."""
    facts = []
    for role in NUMBER_ROLES:
        if source.roles.get(role) and source.kinds.get(role) == "text":
            # The plain number's text (as read, when it took the fast branch) and its ".".
            cell, dot, clean = f"vote_text_{role}", f"vote_dot_{role}", f"clean_{role}"
            # A plain number ("4.36", "12", "1e3") can only be read one way if it has a
            # single "." followed by other than three digits: no regex needed for it.
            # A plain number has at most one "." and, without an exponent, only digits
            # after it (then perhaps white space, if read as it came): the digit count is
            # told by the characters 1, 3 and 4 places after the ".". (No number that
            # reads has both a "." and an "n": nan, inf and infinity have no ".".)

            def digit(offset: int, cell: str = cell, dot: str = dot) -> str:
                return f"substr({cell}, {dot} + {offset}, 1) BETWEEN '0' AND '9'"

            plain_us = (
                f"{dot} > 0 AND NOT (contains({cell}, 'e') OR contains({cell}, 'E')) "
                f"AND {digit(1)} AND NOT ({digit(3)} AND NOT {digit(4)})"
            )
            us, eu = (
                f"CASE WHEN {d.full_match(clean, pattern)} THEN 1 ELSE 0 END"
                for pattern in (_US_UNAMBIGUOUS, _EU_UNAMBIGUOUS)
            )
            # Values read only with "." count +1, only with "," -1: the sign decides.
            if profile is not None and role not in profile.plain_votes:
                plain_us = "false"
            vote = (
                f"CASE WHEN plain_{role} IS NOT NULL THEN CASE WHEN {plain_us} THEN 1 ELSE 0 "
                f"END WHEN {clean} IS NOT NULL THEN {us} - {eu} ELSE 0 END"
            )
            facts.append((f"vote_{role}", vote, "sum"))
    return facts


def profile_sql(source: LogSource, dialect: str) -> str | None:
    """SQL for the one row of whole-column facts that a sample cannot settle, or None.

    The row has ``n`` (lines), ``n_c`` (invoices ``C`` + digit), ``first_max`` and
    ``second_max`` (largest first and second field of day-month dates), ``example`` (one
    such date) and, per text number role, ``us_<role>`` / ``eu_<role>`` (values that can be
    read only with ``.`` / only with ``,`` as the decimal mark). None when nothing needs
    deciding (no invoice, typed dates and typed numbers).
    """
    d = _dialect(dialect)
    parts = []
    roles = {"invoice": source.roles["invoice"]}
    if source.roles["invoice"]:
        c = _c_invoice(_id(d, source, "invoice"))
        parts += ["count(*) AS n", f"sum(CASE WHEN {c} THEN 1 ELSE 0 END) AS n_c"]
    shapes = []
    if source.kinds.get("date") == "text":
        roles["date"] = source.roles["date"]
        shapes.append(f"{d.full_match('cell_date', _DMY)} AS is_dmy")
        for i, name in ((1, "first_max"), (2, "second_max")):
            field = f"CAST({d.extract('cell_date', _DMY_HEAD, i)} AS INT)"
            parts.append(f"max(CASE WHEN is_dmy THEN {field} END) AS {name}")
        parts.append("min(CASE WHEN is_dmy THEN cell_date END) AS example")
    for role in ("quantity", "price", "amount"):
        if source.roles.get(role) and source.kinds.get(role) == "text":
            roles[role] = source.roles[role]
            shapes.append(f"{d.replace(f'cell_{role}', _NUMBER_NOISE, '')} AS clean_{role}")
            for mark, pattern in (("us", _US_UNAMBIGUOUS), ("eu", _EU_UNAMBIGUOUS)):
                hit = d.full_match(f"clean_{role}", pattern)
                parts.append(f"sum(CASE WHEN {hit} THEN 1 ELSE 0 END) AS {mark}_{role}")
    if not parts:
        return None
    only = dataclasses.replace(source, roles=roles)
    cells = _layers(source.relation, [*_cells(d, only), shapes])
    return f"SELECT {', '.join(parts)} FROM ({cells}) AS cells"


def decide(
    row: dict[str, Any] | None, *, dayfirst: bool | None = None, european: bool = False
) -> Profile:
    """The :class:`Profile` from :func:`profile_sql`'s row (``None``: nothing to decide).

    Parameters
    ----------
    row : dict or None
        The profile row.
    dayfirst : bool, optional
        The reading of day-month dates the user chose; None decides from the column (a
        first field above 12 means day-first, else a second field above 12 month-first,
        else day-first is assumed), as :func:`segmentation.data.read.parse_datetimes` does.
    european : bool, default False
        Whether ``,`` is the decimal mark when a number column's values read both ways
        (the reader's rule: true for ``;``-separated files).
    """
    row = row or {}
    first, second = row.get("first_max"), row.get("second_max")
    decided = first is None or first > 12 or second > 12
    if dayfirst is None:
        dayfirst = first is None or first > 12 or second <= 12
    n = row.get("n") or 0
    marks, plain_votes = {}, []
    for role in NUMBER_ROLES:
        if f"us_{role}" in row:
            us, eu = row[f"us_{role}"] or 0, row[f"eu_{role}"] or 0
            marks[role] = bool(eu > us or (eu == us and european))
            if european or eu > 0:
                plain_votes.append(role)
    return Profile(
        dayfirst=bool(dayfirst),
        dayfirst_decided=bool(decided),
        c_rule=not n or (row.get("n_c") or 0) < 0.5 * n,
        european=marks,
        example=None if decided else row.get("example"),
        dmy_form=_dmy_form(row.get("example")),
        plain_votes=tuple(plain_votes),
    )


#: The per-customer counts :func:`groups_sql` gives, as (name, lines counted, condition
#: on the group of lines): lines, lines with a date cell, lines with a readable date, and
#: among those the returns and the lines without a readable spend, and lines of ``C`` +
#: digit invoices. :func:`_totals` adds them up into the whole log's.
COUNTS = (
    ("n_lines", "line_count", None),
    ("n_given", "line_count", "date_given"),
    ("n_dated", "line_count", "ts IS NOT NULL"),
    ("n_returns", "return_count", "ts IS NOT NULL"),
    ("n_missing_spend", "missing_spend_count", "ts IS NOT NULL"),
    ("n_c_invoices", "line_count", "c_invoice"),
)


def _returns(c_rule: bool) -> list[str]:
    """Per group: whether all its lines are returns (a ``C`` invoice, when those are
    cancellations), its return lines, and whether it has a purchase line."""
    all_returns = "c_invoice" if c_rule else "false"
    return [
        f"{all_returns} AS all_returns",
        f"CASE WHEN {all_returns} THEN line_count ELSE negative_count END AS return_count",
        f"NOT {all_returns} AND negative_count < line_count AS has_purchase",
    ]


def groups_sql(
    rows: str,
    *,
    c_rule: bool,
    dialect: str,
    source: LogSource | None = None,
    profile: Profile | None = None,
) -> str:
    """SQL aggregating :func:`rows_sql`'s groups of lines per customer, with the whole
    log's totals.

    Parameters
    ----------
    rows : str
        A query (or relation) with the columns :data:`ROW_COLUMNS`.
    c_rule : bool
        Whether ``C`` invoices are cancellations (see :class:`Profile`).
    dialect : {"duckdb", "spark"}
    source : LogSource, optional
        The log, for the whole-column facts (:func:`_facts`) it gathers.
    profile : Profile, optional
        The reading the rows were made with (the facts need it).

    Returns
    -------
    str
        Columns ``is_total``, ``known``, ``customer``, :data:`CUSTOMER_FIGURES`, the
        :data:`COUNTS` and the facts. One row per
        customer id (``is_total`` false): ``monetary``, ``frequency``, ``last_purchase``,
        ``first_purchase`` (timestamps of purchases), ``date_min``, ``date_max``
        (timestamps of dated lines). Then at most two rows with ``is_total`` true, for the
        lines with a customer id (``known`` true) and those without: the :data:`COUNTS`
        and facts, which :func:`_totals` and :func:`_whole_column` read.

    Notes
    -----
    Orders are counted by grouping per customer and order first, then per customer: a
    ``COUNT DISTINCT`` took as long as the rest of the query on DuckDB at 10M lines (it
    hashes every group again and joins the counts back). The totals are summed over the
    same groups of lines in a branch of their own, in two groups (DuckDB computes the
    groups once and streams them to both branches), instead of per customer through both
    levels: about half a second less again. ``FILTER`` clauses beat sums of ``CASE`` by a
    third.
    """
    d = _dialect(dialect)
    facts = _facts(d, source, profile) if source is not None else []
    kept = "ts IS NOT NULL"
    order = (
        f"CASE WHEN order_key IS NULL THEN concat('date:', CAST(ts AS {d.text_type})) "
        "ELSE order_key END"
    )
    purchases, returns = "coalesce(purchase_spend, 0)", "coalesce(negative_spend, 0)"
    per_order = (
        f"bool_or({kept} AND has_purchase) AS is_order, "
        f"sum(CASE WHEN all_returns THEN -({purchases} + {returns}) "
        f"ELSE {purchases} - {returns} END) FILTER (WHERE {kept}) AS monetary, "
        "max(ts) FILTER (WHERE has_purchase) AS last_purchase, "
        "min(ts) FILTER (WHERE has_purchase) AS first_purchase, "
        "min(ts) AS date_min, max(ts) AS date_max"
    )
    per_customer = (
        "sum(monetary) AS monetary, count(*) FILTER (WHERE is_order) AS frequency, "
        "max(last_purchase) AS last_purchase, min(first_purchase) AS first_purchase, "
        "min(date_min) AS date_min, max(date_max) AS date_max"
    )
    totals = [
        f"CAST(coalesce(sum({lines}){'' if where is None else f' FILTER (WHERE {where})'}, 0) "
        f"AS BIGINT) AS {name}"
        for name, lines, where in COUNTS
    ] + [f"CAST({agg}({name}) AS BIGINT) AS {name}" for name, _, agg in facts]
    names = [name for name, _, _ in COUNTS] + [name for name, _, _ in facts]
    marked = f"SELECT *, {', '.join(_returns(c_rule))} FROM ({rows}) AS log_rows"
    orders = (
        f"SELECT customer, {per_order} FROM marked WHERE customer IS NOT NULL "
        f"GROUP BY customer, {order}"
    )
    customers = (
        f"SELECT false AS is_total, true AS known, customer, {per_customer}, "
        f"{', '.join(f'NULL AS {name}' for name in names)} "
        f"FROM ({orders}) AS orders GROUP BY customer"
    )
    none = ", ".join(f"NULL AS {name}" for name in CUSTOMER_FIGURES)
    whole_log = (
        f"SELECT true AS is_total, customer IS NOT NULL AS known, NULL AS customer, {none}, "
        f"{', '.join(totals)} FROM marked GROUP BY customer IS NOT NULL"
    )
    materialized = "MATERIALIZED " if dialect == "duckdb" else ""
    return f"WITH marked AS {materialized}({marked}) {whole_log} UNION ALL {customers}"


def customers_from_groups(
    groups: pd.DataFrame,
    *,
    roles: dict[str, str | None],
    as_of: Any,
    ask: Any,
    date_reading: str | None = None,
    date_example: Any = None,
) -> tuple[pd.DataFrame, Any]:
    """The customer table and report from :func:`groups_sql`'s result.

    Parameters
    ----------
    groups : pandas.DataFrame
        The groups, in any order.
    roles : dict
        Column per role, for the report and messages.
    as_of : date-like or None
        As for :func:`segmentation.data.transactions.customers_from_transactions`.
    ask : callable
        How messages ask for a column (a flag on the command line, a choice in the app).
    date_reading : str, optional
        How ambiguous dates were read, for the report.
    date_example : callable, optional
        ``date_example() -> str or None``: a date cell that did not read, asked for only
        when too few did (the message shows it).

    Returns
    -------
    customers : pandas.DataFrame
    report : TransactionReport
    """
    from segmentation.data.transactions import (
        TransactionReport,
        _as_of_day,
        _id_order,
        not_dates_message,
    )

    totals = _totals(groups)
    if totals["t_dated"] < _DATE_FRACTION * totals["t_given"]:
        example = date_example() if date_example is not None else None
        raise DataError(not_dates_message(roles["date"], example, ask))
    # The customers with at least one dated line, sorted by id; only the columns used
    # are taken, and the ids stay Arrow strings until the end (a million customers:
    # copying the whole frame took a third of a second, the ids as Python strings a tenth).
    ids = _arrow_text(groups["customer"])
    known = ~groups["is_total"].to_numpy(dtype=bool) & groups["date_min"].notna().to_numpy()
    if not known.any():
        raise DataError(
            f"no usable rows: none has both a customer id in {roles['customer']!r} and a date "
            f"in {roles['date']!r}; {ask('customer', 'check')} and {ask('date', 'check')}"
        )
    rows = np.flatnonzero(known)
    order = _id_order(ids.take(rows))
    rows = rows[order]

    def column(name: str, dtype: Any = None) -> np.ndarray:
        return groups[name].to_numpy(dtype=dtype)[rows]

    def times(name: str) -> np.ndarray:
        return pd.to_datetime(groups[name]).to_numpy(dtype="datetime64[us]")[rows]

    firsts, lasts = times("date_min"), times("date_max")
    date_min, date_max = pd.Timestamp(firsts.min()), pd.Timestamp(lasts.max())
    as_of_day = _as_of_day(as_of, date_max)

    def days(name: str, fallback: np.ndarray) -> np.ndarray:
        # The day of the latest (earliest) time is the latest (earliest) day.
        time = times(name)
        day = np.where(np.isnat(time), fallback, time).astype("datetime64[D]")
        return (np.datetime64(as_of_day, "D") - day).astype("int64")

    frequency = column("frequency", "float64").astype("int64")
    monetary = column("monetary", "float64")
    monetary = np.where(np.isnan(monetary), 0.0, monetary)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(frequency > 0, monetary / np.maximum(frequency, 1), 0.0)
    customers = pd.DataFrame(
        {
            "CustomerID": pd.Series(ids.take(rows).to_numpy(zero_copy_only=False), dtype=object),
            "Recency": days("last_purchase", lasts),
            "Frequency": frequency,
            "Monetary": monetary,
            "AvgOrderValue": average,
            "Tenure": days("first_purchase", firsts),
        },
        copy=False,  # fresh arrays: consolidating them into blocks only copied them
    )
    report = TransactionReport(
        n_rows=totals["t_lines"],
        n_used_rows=totals["t_used"],
        n_customers=len(customers),
        n_orders=int(customers["Frequency"].sum()),
        n_missing_customer=totals["t_no_customer"],
        n_cancellations=totals["t_returns"],
        n_bad_dates=totals["t_bad_dates"],
        n_missing_amount=totals["t_missing_spend"],
        n_nonpositive_customers=int((customers["Monetary"] <= 0).sum()),
        date_min=date_min,
        date_max=date_max,
        as_of=as_of_day,
        columns=dict(roles),
        date_reading=date_reading,
    )
    return customers, report


def _arrow_text(values: pd.Series) -> Any:
    """A text column as one Arrow string array (no copy of the text when it is Arrow
    already, as DuckDB's results are: a chunked array would send the id sort down its
    slow path, a third of a second for a million ids)."""
    import pyarrow as pa

    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    return array


def _total_rows(groups: pd.DataFrame) -> pd.DataFrame:
    """:func:`groups_sql`'s totals rows (``is_total``): at most two, ``known`` telling the
    lines with a customer id from those without."""
    return groups.loc[groups["is_total"].to_numpy(dtype=bool)]


def _whole_log(groups: pd.DataFrame, column: str, agg: str = "sum") -> int:
    """A whole-log figure from :func:`groups_sql`'s totals rows (0 for an empty log): the
    sum, or with ``agg="bit_or"`` the bits set in any."""
    values = _total_rows(groups)[column].dropna().to_numpy(dtype="int64")
    if agg == "bit_or":
        return int(np.bitwise_or.reduce(values)) if len(values) else 0
    return int(values.sum())


def _totals(groups: pd.DataFrame) -> dict[str, int]:
    """The whole-log counts, from :func:`groups_sql`'s totals rows of :data:`COUNTS`:
    lines, lines without a customer, lines with a customer but no readable date, lines
    with a date cell, lines with a readable date, used lines (a customer and a date),
    returns and lines without a readable spend among the used, and lines of ``C`` + digit
    invoices."""
    rows = _total_rows(groups)
    known = rows["known"].to_numpy(dtype=bool)

    def total(column: str, where: Any = None) -> int:
        values = rows[column].to_numpy(dtype="int64")
        return int(values.sum() if where is None else values[where].sum())

    lines = total("n_lines")
    customers_lines = total("n_lines", known)
    used = total("n_dated", known)
    return {
        "t_lines": lines,
        "t_no_customer": lines - customers_lines,
        "t_bad_dates": customers_lines - used,
        "t_given": total("n_given"),
        "t_dated": total("n_dated"),
        "t_used": used,
        "t_returns": total("n_returns", known),
        "t_missing_spend": total("n_missing_spend", known),
        "t_c_invoices": total("n_c_invoices"),
    }


def _head(relation: str, rows: int = 10_000) -> str:
    return f"(SELECT * FROM {relation} LIMIT {rows}) AS head"


def _whole_column(groups: pd.DataFrame, source: LogSource) -> dict[str, Any]:
    """:func:`profile_sql`'s row, from the facts each group gathered."""
    row: dict[str, Any] = {}
    totals = _totals(groups)
    if source.roles["invoice"]:
        row["n"] = totals["t_lines"]
        row["n_c"] = totals["t_c_invoices"]
    if "dmy_mask" in groups:
        mask = _whole_log(groups, "dmy_mask", "bit_or")
        if mask & 4:  # 13 stands for "above 12", 12 for "12 at most"
            row["first_max"] = 13 if mask & 2 else 12
            row["second_max"] = 13 if mask & 1 else 12
    for column in groups.columns:
        if column.startswith("vote_"):
            vote = _whole_log(groups, column)
            role = column.removeprefix("vote_")
            row[f"us_{role}"], row[f"eu_{role}"] = max(vote, 0), max(-vote, 0)
    return row


def aggregate(
    source: LogSource,
    *,
    dialect: str,
    fetch_row: Any,
    fetch_frame: Any,
    as_of: Any = None,
    ask: Any = None,
    dayfirst: bool | None = None,
    european: bool = False,
) -> tuple[pd.DataFrame, Any]:
    """Run the whole aggregation on an engine: profile, decide, aggregate, finish.

    Parameters
    ----------
    source : LogSource
        The log and how its columns are stored.
    dialect : {"duckdb", "spark"}
    fetch_row : callable
        ``fetch_row(sql) -> dict``: the engine's one-row answer.
    fetch_frame : callable
        ``fetch_frame(sql) -> pandas.DataFrame``: the engine's answer as a frame.
    as_of, ask, dayfirst, european
        See :func:`customers_from_groups` and :func:`decide`.

    Returns
    -------
    customers : pandas.DataFrame
    report : TransactionReport
    """
    from segmentation.data.transactions import _ask_flag

    ask = ask or _ask_flag
    profile, groups, reading = _decided(
        source, dialect=dialect, fetch_row=fetch_row, fetch_frame=fetch_frame, ask=ask,
        dayfirst=dayfirst, european=european,
    )  # fmt: skip

    def date_example() -> Any:
        return fetch_row(unread_date_sql(source, profile, dialect))["example"]

    return customers_from_groups(
        groups, roles=source.roles, as_of=as_of, ask=ask, date_reading=reading,
        date_example=date_example,
    )  # fmt: skip


def unread_date_sql(source: LogSource, profile: Profile, dialect: str) -> str:
    """SQL for one row, ``example``: the text of a date cell that did not read as a date
    (the least, so every engine shows the same; NULL when every one read), for the message
    that the column holds no dates. A pass over the log, run only for that message."""
    d = _dialect(dialect)
    text = {"date_text": f"CAST(raw_date AS {d.text_type})"}
    rows = rows_sql(source, profile, dialect, keep=text)
    return (
        f"SELECT min(date_text) AS example FROM ({rows}) AS log_rows "
        "WHERE date_given AND ts IS NULL"
    )


def _decided(
    source: LogSource,
    *,
    dialect: str,
    fetch_row: Any,
    fetch_frame: Any,
    ask: Any,
    dayfirst: bool | None,
    european: bool,
) -> tuple[Profile, pd.DataFrame, str | None]:
    """The reading of the log (day-first, C invoices, decimal marks), its groups, and the
    note on ambiguous dates: guessed from the first rows, checked on the whole log."""
    from segmentation.data.transactions import dayfirst_note

    # A first guess from the first rows; the aggregation gathers the same facts over the
    # whole log, and runs again only in the rare case where they overturn the guess.
    query = profile_sql(dataclasses.replace(source, relation=_head(source.relation)), dialect)
    head = fetch_row(query) if query else None
    profile = decide(head, dayfirst=dayfirst, european=european)
    # A third pass only when values read only with "," turn up after the first rows, so
    # that plain numbers must vote too (see Profile.plain_votes).
    for _ in range(3):
        rows = rows_sql(source, profile, dialect)
        groups = fetch_frame(
            groups_sql(rows, c_rule=profile.c_rule, dialect=dialect, source=source, profile=profile)
        )
        facts = _whole_column(groups, source)
        # Reported only when every date reads both ways: any of them is an example.
        facts["example"] = (head or {}).get("example")
        final = decide(facts, dayfirst=dayfirst, european=european)
        voted = set(profile.plain_votes)
        if set(final.plain_votes) <= voted and (final.dayfirst, final.c_rule, final.european) == (
            profile.dayfirst,
            profile.c_rule,
            profile.european,
        ):
            break
        profile = dataclasses.replace(
            final, plain_votes=tuple(sorted(voted | set(final.plain_votes)))
        )
    profile = final
    reading = None
    if dayfirst is None and not profile.dayfirst_decided:
        reading = dayfirst_note(source.roles["date"], profile.example, profile.dayfirst, ask)
    return profile, groups, reading


def days_sql(rows: str, *, c_rule: bool, dialect: str) -> str:
    """SQL summing :func:`rows_sql`'s purchases per customer and calendar day.

    Returns and cancellations are left out (they are not purchases), as are lines without
    a customer or a readable date; an unreadable amount counts as 0. Columns ``customer``,
    ``day`` (midnight) and ``spend``.
    """
    _dialect(dialect)
    day = "date_trunc('day', ts)" if dialect == "duckdb" else "date_trunc('DAY', ts)"
    marked = f"SELECT *, {', '.join(_returns(c_rule))} FROM ({rows}) AS log_rows"
    return (
        f"SELECT customer, {day} AS day, sum(coalesce(purchase_spend, 0)) AS spend "
        f"FROM ({marked}) AS marked WHERE customer IS NOT NULL AND ts IS NOT NULL "
        f"AND has_purchase GROUP BY customer, {day}"
    )


def purchase_days(
    source: LogSource,
    *,
    dialect: str,
    fetch_row: Any,
    fetch_frame: Any,
    ask: Any = None,
    dayfirst: bool | None = None,
    european: bool = False,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Each customer's purchases per day, read exactly as :func:`aggregate` reads the log.

    Returns
    -------
    days : pandas.DataFrame
        ``customer``, ``day``, ``spend``.
    date_max : pandas.Timestamp
        The log's latest time (returns included), for the as-of day.
    """
    from segmentation.data.transactions import _ask_flag

    profile, groups, _ = _decided(
        source, dialect=dialect, fetch_row=fetch_row, fetch_frame=fetch_frame,
        ask=ask or _ask_flag, dayfirst=dayfirst, european=european,
    )  # fmt: skip
    rows = rows_sql(source, profile, dialect)
    days = fetch_frame(days_sql(rows, c_rule=profile.c_rule, dialect=dialect))
    known = ~groups["is_total"].to_numpy(dtype=bool)
    date_max = pd.Timestamp(groups.loc[known, "date_max"].max())
    return days, date_max
