"""AppTest of the Overview page: key numbers, segment sizes and map, personas, download."""

from __future__ import annotations

from segmentation.workflows import get_store
from tests.app.conftest import open_page, plain


def segment_names() -> list[str]:
    """The active model's segment names, in cluster order."""
    store = get_store()
    return [s["name"] for s in store.metadata(store.active_version())["segments"]]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_the_key_numbers(app):
    """As an analyst I see at a glance how many customers and segments there are and how good
    the segmentation is."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    numbers = metrics(at)
    assert numbers["Customers"] == "1,000"
    assert numbers["Segments"] == "5"
    assert len(numbers["Silhouette"].split(".")[1]) == 3
    assert len(numbers["Davies-Bouldin"].split(".")[1]) == 3
    assert numbers["Largest segment"].endswith("%")
    assert "Total Spend" in numbers  # the bundled data has a spend column
    assert "," in numbers["Total Spend"]


def test_overview_describes_every_segment(app):
    """As a marketer I read a card per segment with its size, traits and what to do."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    text = plain("\n".join(m.value for m in at.markdown))
    captions = "\n".join(c.value for c in at.caption)
    names = segment_names()
    for name in names:
        assert f"#### {name}" in text
    assert text.count("**Key traits**") == len(names)
    assert text.count("**What to do**") == len(names)
    # Each card's rule says how far it holds, in numbers and in words.
    assert text.count("**Rule**:") == len(names)
    assert text.count("(precision)") == text.count("(recall)") == len(names)
    assert "of all customers" in captions
    assert len(at.get("plotly_chart")) == 3  # bar, donut, customer map
    assert "Each dot is a customer" in captions


def test_overview_says_how_stable_each_segment_is(app):
    """As a marketer I see on each card whether the segment is stable, the number on hover."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    words = [
        m for m in at.markdown if m.value in ("**Stable**", "**Fairly stable**", "**Fragile**")
    ]
    assert len(words) == len(segment_names())
    assert all(
        m.help and m.help.startswith("Stability 0.") or "Stability 1." in m.help for m in words
    )


def test_overview_offers_the_clustered_customers_for_download(app):
    """As an analyst I download the customers with their segments to use them in my CRM."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels[:3] == [
        "Download the clustered customers (CSV)",
        "Download this segment's customers (CSV)",
        "Download all segments",
    ]
    assert "Download the report (HTML)" in labels
