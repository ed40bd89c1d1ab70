"""The house style: colours, how numbers, shares and dates read, and user text made safe.

One definition of each, used by the pages, the charts and the insight tables alike, so a
number reads the same wherever it is shown. Nothing here imports streamlit or the rest of
the package (the insight and modeling layers import it).
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
from plotly.colors import qualitative

#: Segment colours, by cluster order. Tableau 10 first (distinct, colour-blind aware),
#: then 26 more for models with many segments.
PALETTE: tuple[str, ...] = tuple(qualitative.T10 + qualitative.Alphabet)

#: Colours of category values (stacked bars), kept apart from the segment colours.
CATEGORY_PALETTE: tuple[str, ...] = tuple(qualitative.Pastel + qualitative.Set3)

#: Single-series charts: the main bars and lines, a comparison series, and a highlight.
PRIMARY = "#2E6FBA"
SECONDARY = "#9AA8B8"
ACCENT = "#D9822B"

#: How a missing category value is shown and counted (profiles, filters, charts).
MISSING = "(missing)"

#: What a number that is missing or undefined is shown as.
NO_VALUE = "-"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: object) -> str:
    """A count: ``1234`` -> ``"1,234"`` (rounded), ``"-"`` when missing."""
    if _is_missing(value):
        return NO_VALUE
    return f"{float(value):,.0f}"


def fmt_metric(value: object, digits: int = 3) -> str:
    """A quality metric to ``digits`` decimals: ``0.41234`` -> ``"0.412"``; ``"-"`` when
    undefined (e.g. a silhouette with one segment)."""
    if _is_missing(value):
        return NO_VALUE
    return f"{float(value):,.{digits}f}"


def fmt_number(value: object, digits: int = 2) -> str:
    """A value in a table: thousands separators, no needless decimals, ``"-"`` if missing.

    ``1234567.8`` -> ``"1,234,568"``; ``45.237`` -> ``"45.24"``; ``12.0`` -> ``"12"``;
    text is returned as it is and yes/no flags as ``"yes"``/``"no"``.
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return NO_VALUE
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(number) >= 1000 or number == int(number):
        return f"{number:,.0f}"
    return f"{number:,.{digits}f}"


def fmt_rounded(value: object, *, whole: bool = False) -> str:
    """A value in a sentence or a hover, as precise as a reader needs.

    No decimals from 100 (or always, with ``whole``: money), one from 10, else two:
    ``4521.7`` -> ``"4,522"``, ``45.237`` -> ``"45.2"``, ``0.456`` -> ``"0.46"``.
    """
    if _is_missing(value):
        return NO_VALUE
    number = float(value)
    if abs(number) >= 100 or whole:
        return f"{number:,.0f}"
    if abs(number) >= 10:
        return f"{number:,.1f}"
    return f"{number:,.2f}"


def fmt_share(value: object, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``"12.3%"``; ``"-"`` when missing."""
    if _is_missing(value):
        return NO_VALUE
    return f"{float(value):.{digits}%}"


def fmt_datetime(value: object) -> str:
    """A stored timestamp to the minute: ``"2024-05-01T10:00:31+00:00"`` -> ``"2024-05-01
    10:00"``; ``""`` when there is none (e.g. a model not saved yet)."""
    return str(value or "")[:16].replace("T", " ")


# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped and
# then shows it as it is, so none can open a link, an image, emphasis, code, a heading, a
# table, maths ($), HTML or an autolink (<), an entity (&) or a Streamlit directive
# (:red[...]).
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
# GitHub-flavoured Markdown also turns bare URLs and e-mail addresses into links, and it
# finds them in the text after escapes are resolved (remark-gfm's autolink literals), so
# escaping cannot stop them: an invisible WORD JOINER inside "://", after "www" and after
# "@" does.
_AUTOLINK_START = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def md_bold(text: object) -> str:
    """User text in bold markdown: escaped, and without the edge spaces that would stop
    ``**...**`` from rendering (a name ending in a space showed its asterisks)."""
    inner = md_escape(str(text).strip())
    return f"**{inner}**" if inner else ""


def md_escape(text: object) -> str:
    """User data (a file, column, category or segment name) as Markdown that shows it as text.

    Use it for every piece of user data put into a Markdown string (``st.markdown``,
    ``st.caption``, ``st.error``, a widget label or help, a metric). Line breaks become
    spaces, so a value cannot start a new block (a list, a heading, a table), and a
    :data:`WORD_JOINER` (invisible) breaks up what would become a link by itself.

    >>> md_escape("[c](x).csv")
    '\\\\[c\\\\]\\\\(x\\\\)\\\\.csv'
    """
    text = _AUTOLINK_START.sub(WORD_JOINER, _LINE_BREAKS.sub(" ", str(text)))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def plotly_text(text: object) -> str:
    """User data as text in a plotly figure (a trace or axis name, a category, a hover).

    Plotly draws a subset of HTML in every label, title and hover text, ``<a href>``
    included, and shows the entities ``&lt;``, ``&gt;`` and ``&amp;`` as the characters
    they stand for; so ``<``, ``>`` and ``&`` are written as those entities.
    """
    return html.escape(str(text), quote=False)
