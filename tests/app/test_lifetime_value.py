"""Customer lifetime value in the app: a log's customers get it, segments show it."""

from __future__ import annotations

import pytest

from segmentation import config
from segmentation.insight.clv import simulate_log
from segmentation.store import ModelStore
from tests.app.conftest import open_page, plain
from tests.app.test_messy_files import csv_of, transaction_log, upload


def captions(at) -> str:
    return plain("\n".join(c.value for c in at.caption))


@pytest.mark.slow
def test_segments_of_a_log_show_their_lifetime_value(app):
    """As a marketer I see what each segment is worth over the next year and how many of its
    customers are slipping away, trained from my order lines."""
    log = csv_of(simulate_log(300, days=200, seed=2))
    at = upload(open_page(app, "5_Retrain.py"), "retrain.upload", "orders.csv", log)
    assert not at.exception, at.exception
    assert "Lifetime value was estimated" in captions(at)
    at.slider(key="retrain.k").set_value(3)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    next(b for b in at.button if b.label.startswith("Save as a new version")).click()
    at.run()
    assert not at.exception, at.exception
    _, meta = ModelStore(config.models_dir()).load()
    # The estimates describe the segments; the purchase behaviour forms them.
    assert {"clv_12m", "p_alive", "expected_purchases_90d"} <= set(meta["descriptors"])
    assert "clv_12m" not in meta["features"]
    assert meta["clv"]["trust"] in ("rough", "weak")  # 200 days: no held-out check

    at = open_page(at, "1_Overview.py")
    assert not at.exception, at.exception
    cards = [m for m in at.markdown if m.value.startswith("**Lifetime value**")]
    assert len(cards) == 3
    assert all("per customer" in m.value and "at risk" in m.value for m in cards)
    assert "No held-out check" in captions(at)

    at = open_page(at, "2_Cluster_Analysis.py")
    assert not at.exception, at.exception
    assert "Lifetime value by segment" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "total_clv" in d.value.columns)
    assert table["customers"].sum() == 300
    assert (table["total_clv"] > 0).all()

    # Explorer still works on the customers with their lifetime value columns.
    at = open_page(at, "4_Explorer.py")
    assert not at.exception, at.exception
    assert "Lifetime value was estimated" in captions(at)


def test_a_short_log_says_why_it_has_no_lifetime_value(app):
    """As an analyst with a month of order lines I am told why there is no lifetime value,
    and still get my customers."""
    at = upload(open_page(app, "4_Explorer.py"), "explorer.upload", "orders.csv", transaction_log())
    assert not at.exception, at.exception
    assert "No lifetime value estimate: the log covers" in captions(at)
    assert at.metric[0].value == "60"


def test_default_dataset_pages_show_no_lifetime_value(app):
    """As a user of the bundled customers I see no lifetime value sections."""
    at = open_page(app, "1_Overview.py")
    assert not at.exception, at.exception
    assert not [m for m in at.markdown if m.value.startswith("**Lifetime value**")]
    at = open_page(at, "2_Cluster_Analysis.py")
    assert not at.exception, at.exception
    assert "Lifetime value by segment" not in [s.value for s in at.subheader]
