"""The house style: numbers, shares and dates read one way everywhere; user text stays text."""

import re

import numpy as np
import pytest

from segmentation.viz import style


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234567.8, "1,234,568"), (45.237, "45.24"), (12.0, "12"), (None, "-"), (np.nan, "-")],
    ids=["big", "decimal", "whole", "none", "nan"],
)
def test_fmt_number(value, expected):
    assert style.fmt_number(value) == expected


def test_fmt_number_passes_text_and_flags():
    assert style.fmt_number("West") == "West"
    assert style.fmt_number(np.bool_(True)) == "yes"


@pytest.mark.parametrize(
    ("value", "whole", "expected"),
    [(4521.7, False, "4,522"), (45.237, False, "45.2"), (0.456, False, "0.46"), (12.3, True, "12")],
    ids=["hundreds", "tens", "small", "money"],
)
def test_fmt_rounded_by_magnitude(value, whole, expected):
    assert style.fmt_rounded(value, whole=whole) == expected


def test_counts_metrics_shares_and_dates():
    assert style.fmt_int(1234.6) == "1,235"
    assert style.fmt_int(np.int64(7)) == "7"
    assert style.fmt_metric(0.41234) == "0.412"
    assert style.fmt_metric(float("nan")) == style.fmt_int(None) == style.NO_VALUE
    assert style.fmt_share(0.1234) == "12.3%"
    assert style.fmt_share(0.1234, 0) == "12%"
    assert style.fmt_datetime("2024-05-01T10:00:31+00:00") == "2024-05-01 10:00"
    assert style.fmt_datetime(None) == ""


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://example.invalid/a.png).csv",
        "[click](http://example.invalid)",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code` # $x$ ~~s~~ | a | :red[x] www.example.invalid a@b.invalid &amp;",
    ],
    ids=["image", "link", "html", "everything-else"],
)
def test_md_escape_leaves_no_markdown_syntax(text):
    escaped = style.md_escape(text)
    # Every punctuation character is escaped, and unescaping gives the text back.
    assert not re.search(r"(?<!\\)[\[\]()!<>*_`#$~|:&@.]", escaped.replace("\\\\", ""))
    shown = re.sub(r"\\(.)", r"\1", escaped).replace(style.WORD_JOINER, "")
    assert shown == text
    assert "](http" not in escaped


def test_md_escape_keeps_a_value_on_one_line():
    assert style.md_escape("North\n- East\r\n# West") == "North \\- East \\# West"
    assert style.md_escape(12) == "12"


@pytest.mark.parametrize(
    "text",
    ["see http://example.invalid/a", "www.example.invalid", "ask@example.invalid"],
    ids=["url", "www", "email"],
)
def test_md_escape_breaks_bare_links(text):
    """GFM links bare URLs and addresses after escapes are resolved: a word joiner stops it."""
    shown = re.sub(r"\\(.)", r"\1", style.md_escape(text))
    assert style.WORD_JOINER in shown
    assert not re.search(r"://|www\.|@\w", shown)
    assert shown.replace(style.WORD_JOINER, "") == text


def test_plotly_text_writes_markup_as_entities():
    assert style.plotly_text('<a href="x">A & B</a>') == '&lt;a href="x"&gt;A &amp; B&lt;/a&gt;'


def test_bold_user_text_renders_even_with_edge_spaces():
    """A segment name ending in a space showed '**Name **' with its asterisks."""
    from segmentation.viz.style import md_bold

    assert md_bold("Loyal customers ") == "**Loyal customers**"
    assert md_bold(" *x* ") == "**\\*x\\***"
    assert md_bold("   ") == ""
