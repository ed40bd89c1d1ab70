"""Charts stay readable with ten segments whose names are 60 characters long, and say
what their colours and scales mean (issue 10, section 5)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segmentation.modeling.estimator import SegmentationModel
from segmentation.viz import charts

LONG = 60


@pytest.fixture(scope="module")
def ten(customers):
    """A k=10 model's profiles, each renamed to a distinct 60-character name."""
    model = SegmentationModel(k=10, random_state=42).fit(customers[0])
    profiles = [
        dataclasses.replace(p, name=f"Segment {p.cluster} " + "very long descriptive name " * 3)
        for p in model.profiles_
    ]
    profiles = [dataclasses.replace(p, name=p.name[:LONG]) for p in profiles]
    assert all(len(p.name) == LONG for p in profiles)
    assert len({p.name for p in profiles}) == 10
    return profiles, list(model.schema_.numeric)


def test_short_labels_cut_long_names_and_stay_unique():
    names = ["Short", "A" * 40, "B" * 27 + "x" * 10, "B" * 27 + "y" * 10]
    labels = charts.short_labels(names)
    assert labels[0] == "Short"
    assert all(len(label) <= charts.LABEL_WIDTH for label in labels)
    assert labels[1].endswith("\u2026")
    assert len(set(labels)) == len(labels)  # two names cut alike are told apart
    with pytest.raises(ValueError, match="at least 8"):
        charts.short_labels(names, width=3)


def test_size_bar_labels_are_short_and_hover_has_the_full_name(ten):
    profiles, _ = ten
    (bar,) = charts.segment_sizes_bar(profiles).data
    assert all(len(label) <= charts.LABEL_WIDTH for label in bar.y)
    assert len(set(bar.y)) == 10
    assert list(bar.customdata) == [p.name for p in profiles]
    assert "%{customdata}" in bar.hovertemplate


def test_donut_keeps_its_size_and_legend_sits_below(ten):
    profiles, _ = ten
    fig = charts.segment_sizes_donut(profiles)
    (pie,) = fig.data
    assert pie.hole == 0.55
    assert tuple(pie.domain.x) == (0, 1) and tuple(pie.domain.y) == (0, 1)
    assert all(len(label) <= charts.LABEL_WIDTH for label in pie.labels)
    assert list(pie.customdata) == [p.name for p in profiles]
    legend, margin = fig.layout.legend, fig.layout.margin
    assert legend.y < 0 and legend.yanchor == "top"  # below the donut, not beside it
    # The plot area (the donut) keeps its height; the legend has its own margin.
    assert fig.layout.height - margin.t - margin.b >= charts.DONUT_SIZE
    assert margin.b >= charts.LEGEND_ROW * len(profiles)
    few = charts.segment_sizes_donut(profiles[:2]).layout
    assert few.height - few.margin.t - few.margin.b == fig.layout.height - margin.t - margin.b


def test_radar_legend_is_below_the_spokes(ten):
    profiles, numeric = ten
    fig = charts.radar_chart(profiles, numeric)
    legend = fig.layout.legend
    assert legend.y < 0 and legend.yanchor == "top"
    assert fig.layout.margin.b >= charts.LEGEND_ROW * 10  # a line per segment
    assert all(len(trace.name) <= charts.LABEL_WIDTH for trace in fig.data)
    assert len({trace.name for trace in fig.data}) == 10


def test_heatmap_rows_are_short_labels(ten):
    profiles, _ = ten
    (heat,) = charts.difference_heatmap(profiles).data
    assert all(len(label) <= charts.LABEL_WIDTH for label in heat.y)
    assert [row[0] for row in heat.customdata] == [p.name for p in profiles]
    assert charts.difference_heatmap(profiles).layout.yaxis.automargin is True


def test_radar_scales_on_every_segment_so_one_segment_keeps_its_shape(ten):
    profiles, numeric = ten
    everyone = charts.radar_chart(profiles, numeric)
    alone = charts.radar_chart(profiles[3:4], numeric, scale_on=profiles)
    assert list(alone.data[0].r) == pytest.approx(list(everyone.data[3].r))
    # Scaled on itself, a lone segment is a regular polygon: every spoke at 0.5.
    unscaled = charts.radar_chart(profiles[3:4], numeric)
    assert set(unscaled.data[0].r) == {0.5}
    assert len(set(np.round(alone.data[0].r, 6))) > 1


def test_heatmap_colours_high_recency_as_bad(ten):
    profiles, _ = ten
    features = ["Recency", "Income"]
    assert charts.lower_is_better("Recency") and charts.lower_is_better("days_since_last_order")
    assert not charts.lower_is_better("Income")
    assert not charts.lower_is_better("Region = Recency")
    (heat,) = charts.difference_heatmap(profiles, features).data
    recency = np.array([p.differences["Recency"] for p in profiles])
    income = np.array([p.differences["Income"] for p in profiles])
    colour = np.array(heat.z, dtype=float)
    assert colour[:, 0] == pytest.approx(-np.round(recency, 2))  # high recency is red
    assert colour[:, 1] == pytest.approx(np.round(income, 2))
    # The numbers shown are the real differences, and the column says which way is good.
    assert heat.text[0][0] == f"{np.round(recency[0], 2) + 0.0:+.2f}"
    assert heat.x[0].endswith("(lower is better)") and "lower" not in heat.x[1]
