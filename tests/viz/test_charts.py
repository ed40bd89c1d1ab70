"""Tests of the pure chart functions and the tables and samples they are drawn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from segmentation.errors import SchemaError
from segmentation.viz import charts
from segmentation.viz.style import MISSING


@pytest.fixture(scope="module")
def labeled(customers, fitted):
    """The default customers labeled by the fitted model."""
    data = customers[0]
    return fitted.label(data).join(data)


@pytest.fixture(scope="module")
def frame(fitted, labeled):
    return charts.analysis_frame(fitted, labeled)


@pytest.fixture
def tiny():
    """Six hand-made customers in two segments."""
    return pd.DataFrame(
        {
            "segment": pd.Categorical(["B", "A", "A", "B", "A", "B"], categories=["A", "B"]),
            "spend": [10.0, 1.0, 2.0, 20.0, 3.0, np.nan],
            "visits": [1.0, 4.0, 6.0, 3.0, 5.0, 2.0],
            "region": ["N", "S", "S", "N", np.nan, "S"],
        }
    )


def big_frame(n: int, shares=(0.9, 0.09, 0.01), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ["Big", "Medium", "Small"]
    segment = rng.choice(names, size=n, p=shares)
    return pd.DataFrame(
        {
            "segment": pd.Categorical(segment, categories=names),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )


# -- colours, samples, tables -------------------------------------------------------------


def test_segment_colors_are_fixed_by_cluster_order():
    colors = charts.segment_colors(["A", "B", "C"])
    assert list(colors) == ["A", "B", "C"]
    assert len(set(colors.values())) == 3
    assert charts.segment_colors(["A", "B", "C", "D"])["B"] == colors["B"]


def test_stratified_sample_caps_rows_and_keeps_every_segment():
    df = big_frame(20_000)
    sample = charts.stratified_sample(df, "segment", 1_000, random_state=1)
    assert len(sample) == 1_000
    counts = sample["segment"].value_counts()
    assert counts["Small"] >= 1_000 // 12  # the floor keeps a 1% segment visible
    assert counts["Big"] > counts["Medium"] > counts["Small"] * 0.9
    assert sample.index.is_monotonic_increasing
    assert sample.index.is_unique


def test_stratified_sample_is_reproducible_and_returns_small_frames_whole():
    df = big_frame(5_000)
    first = charts.stratified_sample(df, "segment", 100, random_state=3)
    second = charts.stratified_sample(df, "segment", 100, random_state=3)
    pd.testing.assert_frame_equal(first, second)
    assert charts.stratified_sample(df, "segment", 10_000) is df


@pytest.mark.parametrize(
    ("by", "n", "match"),
    [("nope", 10, "not in the table"), ("segment", 0, "at least 1")],
    ids=["unknown-column", "zero-rows"],
)
def test_stratified_sample_rejects_bad_arguments(by, n, match):
    with pytest.raises(ValueError, match=match):
        charts.stratified_sample(big_frame(10), by, n)


def test_segment_stats_table_values(tiny):
    table = charts.segment_stats_table(tiny, ["spend", "visits"])
    assert list(table.columns) == [
        "Segment",
        "Feature",
        "Customers",
        "Mean",
        "Median",
        "Std. deviation",
    ]
    assert table[["Segment", "Feature"]].values.tolist() == [
        ["A", "Spend"],
        ["A", "Visits"],
        ["B", "Spend"],
        ["B", "Visits"],
    ]
    spend_b = table.iloc[2]
    assert spend_b["Customers"] == 2  # the missing value is not counted
    assert spend_b["Mean"] == pytest.approx(15.0)
    assert spend_b["Median"] == pytest.approx(15.0)
    assert spend_b["Std. deviation"] == pytest.approx(np.std([10, 20], ddof=1))
    visits_a = table.iloc[1]
    assert (visits_a["Customers"], visits_a["Mean"], visits_a["Median"]) == (3, 5.0, 5.0)


def test_segment_stats_table_without_features_is_empty(tiny):
    assert charts.segment_stats_table(tiny, []).empty


def test_filter_mask_combines_segments_ranges_and_categories(tiny):
    tiny = tiny.assign(region=tiny["region"].fillna(MISSING))
    assert charts.filter_mask(tiny).all()
    assert charts.filter_mask(tiny, segments=["A"]).tolist() == [0, 1, 1, 0, 1, 0]
    assert not charts.filter_mask(tiny, segments=[]).any()
    # A range covering every value keeps the customer whose spend is missing ...
    assert charts.filter_mask(tiny, ranges={"spend": (1, 20)}).all()
    # ... a narrower one does not.
    assert charts.filter_mask(tiny, ranges={"spend": (2, 20)}).tolist() == [1, 0, 1, 1, 1, 0]
    mask = charts.filter_mask(tiny, segments=["A", "B"], categories={"region": ["(missing)"]})
    assert mask.tolist() == [0, 0, 0, 0, 1, 0]


def test_analysis_frame_types_features(fitted, frame, labeled):
    schema = fitted.schema_.with_descriptors()  # describing columns are charted too
    assert list(frame.columns) == [schema.id_column, *schema.features, "segment"]
    assert list(frame["segment"].cat.categories) == [p.name for p in fitted.profiles_]
    assert (frame["segment"].astype(str) == labeled["segment"]).all()
    for column in schema.categorical:
        assert isinstance(frame[column].dtype, pd.CategoricalDtype)
        assert frame[column].notna().all()


def test_numeric_ranges_and_category_values(fitted, frame):
    ranges = charts.numeric_ranges(frame, fitted.schema_.with_descriptors().numeric)
    assert set(ranges) == set(fitted.schema_.with_descriptors().numeric)
    low, high = ranges["Age"]
    assert isinstance(low, int) and low < high
    values = charts.category_values(frame, ["Region"])["Region"]
    assert "(missing)" in values
    assert charts.numeric_ranges(pd.DataFrame({"c": [1.0, 1.0]}), ["c"]) == {}


def test_summarize_segments_matches_the_model_profiles(fitted, frame):
    names = [p.name for p in fitted.profiles_]
    schema = fitted.schema_.with_descriptors()
    summaries = charts.summarize_segments(
        frame, names, numeric=schema.numeric, categorical=schema.categorical
    )
    assert [s.name for s in summaries] == names
    assert sum(s.size for s in summaries) == len(frame)
    for summary, profile in zip(summaries, fitted.profiles_, strict=True):
        assert summary.size == profile.size
        assert set(summary.differences) == set(profile.differences)
        # The model leaves outliers out of its profiles; the page describes every row.
        assert summary.differences["Age"] == pytest.approx(profile.differences["Age"], abs=0.1)


def test_summarize_segments_of_a_subset_keeps_cluster_ids(fitted, frame):
    names = [p.name for p in fitted.profiles_]
    subset = frame[frame["segment"] == names[2]]
    (only,) = charts.summarize_segments(subset, names, numeric=["Age"], reference=frame)
    assert (only.cluster, only.name, only.share) == (2, names[2], 1.0)


def test_spend_column_prefers_totals_and_skips_scores():
    df = pd.DataFrame({"SpendingScore": [1], "AvgSpend": [2.0], "TotalSpend": [3.0], "Age": [4]})
    assert charts.spend_column(df) == "TotalSpend"
    assert charts.spend_column(df[["SpendingScore", "AvgSpend"]]) == "AvgSpend"
    assert charts.spend_column(df[["SpendingScore", "Age"]]) is None


def test_pca_projection_shape_and_attrs(fitted, labeled):
    points = charts.pca_projection(fitted, labeled, max_points=300)
    assert list(points.columns) == ["pc1", "pc2", "segment", "CustomerID"]
    assert len(points) == 300
    assert points["segment"].nunique() == fitted.k_
    ratios = points.attrs["explained_variance_ratio"]
    assert len(ratios) == 2 and 0 < ratios[1] <= ratios[0] < 1
    assert points.attrs["n_customers"] == len(labeled)
    assert points.attrs["sampled"] is True
    assert not charts.pca_projection(fitted, labeled).attrs["sampled"]


def test_pca_projection_needs_the_model_features(fitted, labeled):
    with pytest.raises(SchemaError, match="Income"):
        charts.pca_projection(fitted, labeled.drop(columns=["Income"]))


# -- figures ------------------------------------------------------------------------------


def test_segment_sizes_charts(fitted):
    bar = charts.segment_sizes_bar(fitted.profiles_)
    assert isinstance(bar, go.Figure) and len(bar.data) == 1
    assert list(bar.data[0].y) == [p.name for p in fitted.profiles_]
    first = fitted.profiles_[0]
    assert bar.data[0].text[0] == f"{first.size:,} ({first.share:.1%})"
    donut = charts.segment_sizes_donut(fitted.profiles_)
    assert isinstance(donut.data[0], go.Pie) and donut.data[0].hole > 0
    assert sum(donut.data[0].values) == sum(p.size for p in fitted.profiles_)


def test_segment_colors_agree_across_charts(fitted, frame):
    colors = charts.segment_colors([p.name for p in fitted.profiles_])
    bar = charts.segment_sizes_bar(fitted.profiles_)
    assert list(bar.data[0].marker.color) == list(colors.values())
    scatter = charts.feature_scatter(frame, "Age", "Income")
    assert {t.name: t.marker.color for t in scatter.data} == colors
    # With one segment filtered out, the others keep their colours.
    subset = frame[frame["segment"] != fitted.profiles_[0].name]
    box = charts.feature_box(subset, "Age")
    assert {t.name: t.marker.color for t in box.data} == {
        name: color for name, color in colors.items() if name != fitted.profiles_[0].name
    }


def test_pca_scatter_uses_webgl_one_trace_per_segment(fitted, labeled):
    points = charts.pca_projection(fitted, labeled, max_points=500)
    fig = charts.pca_scatter(points)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert len(fig.data) == fitted.k_
    assert sum(len(t.x) for t in fig.data) == 500
    assert "%" in fig.layout.xaxis.title.text


@pytest.mark.parametrize(
    "draw",
    [
        lambda df: charts.feature_scatter(df, "x", "y", max_points=2_000),
        lambda df: charts.pca_scatter(
            df.rename(columns={"x": "pc1", "y": "pc2"}), max_points=2_000
        ),
        lambda df: charts.feature_box(df, "x", "box", max_points=2_000),
        lambda df: charts.feature_box(df, "x", "violin", max_points=2_000),
    ],
    ids=["scatter", "pca-scatter", "box", "violin"],
)
def test_point_charts_cap_the_points_sent(draw):
    fig = draw(big_frame(50_000))
    sent = sum(len(t.x if t.x is not None else t.y) for t in fig.data)
    assert sent == 2_000
    assert len(fig.data) == 3


def test_point_charts_default_to_at_most_5000_points():
    fig = charts.feature_scatter(big_frame(60_000), "x", "y")
    assert sum(len(t.x) for t in fig.data) <= charts.MAX_POINTS


def test_feature_scatter_titles_in_words(frame):
    fig = charts.feature_scatter(frame, "SpendingScore", "AvgOrderValue")
    assert fig.layout.xaxis.title.text == "Spending Score"
    assert fig.layout.yaxis.title.text == "Avg Order Value"
    assert fig.layout.xaxis.tickformat == ","


def test_feature_box_rejects_unknown_kind(frame):
    with pytest.raises(ValueError, match="'box' or 'violin'"):
        charts.feature_box(frame, "Age", "histogram")
    assert isinstance(charts.feature_box(frame, "Age", "violin").data[0], go.Violin)


def test_radar_chart_scales_means_between_segments(fitted):
    fig = charts.radar_chart(fitted.profiles_, ["Age", "Income"])
    assert len(fig.data) == fitted.k_
    assert all(isinstance(t, go.Scatterpolar) for t in fig.data)
    radii = np.array([t.r[:2] for t in fig.data])
    assert radii.min(axis=0).tolist() == [0, 0] and radii.max(axis=0).tolist() == [1, 1]
    assert fig.data[0].r[0] == fig.data[0].r[-1]  # the outline is closed
    with pytest.raises(ValueError, match="at least one"):
        charts.radar_chart(fitted.profiles_, [])


def test_difference_heatmap_is_centred_and_annotated(fitted):
    fig = charts.difference_heatmap(fitted.profiles_)
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    assert np.shape(heat.z) == (fitted.k_, len(fitted.profiles_[0].differences))
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    assert heat.texttemplate
    assert "Region: East" in heat.x and "Spending Score" in heat.x


def test_category_mix_chart_stacks_to_100_percent(frame):
    fig = charts.category_mix_chart(frame, "Region")
    assert fig.layout.barmode == "stack"
    values = charts.category_values(frame, ["Region"])["Region"]
    assert [t.name for t in fig.data] == values
    totals = np.sum([t.x for t in fig.data], axis=0)
    assert totals == pytest.approx(np.full(len(totals), 100.0))


def test_category_mix_chart_groups_rare_values():
    df = pd.DataFrame({"segment": ["A"] * 30, "city": [f"c{i % 10}" for i in range(30)]})
    fig = charts.category_mix_chart(df, "city", max_values=4)
    assert [t.name for t in fig.data][-1] == "Other"
    assert len(fig.data) == 4


def test_slider_ends_ignore_extremes_and_stay_open():
    """A few extreme customers neither stretch a slider nor fall out at its ends."""
    values = np.r_[np.arange(1000, dtype=float), [1e9]]
    frame = pd.DataFrame({"x": values, "segment": "A"})
    low, high = charts.numeric_ranges(frame, ["x"])["x"]
    assert high < 1e6
    assert charts.filter_mask(frame, ranges={"x": (low, high)}).all()
    assert not charts.filter_mask(frame, ranges={"x": (low, high - 10)})[-1]


def test_spend_column_only_among_features():
    """A constant column named like revenue (ignored by the model) is not the spend."""
    frame = pd.DataFrame({"Z_Revenue": [11.0] * 4, "MntWines": [1.0, 2, 3, 4]})
    assert charts.spend_column(frame) == "Z_Revenue"
    assert charts.spend_column(frame, ["MntWines"]) is None


def test_user_text_in_charts_is_not_html():
    """Plotly draws <a href> in labels and hovers: a hostile category, column or segment name
    must show as text, not as a link."""
    link = '<a href="http://example.invalid">x</a>'
    df = pd.DataFrame(
        {
            "segment": pd.Categorical([link, "B", link, "B"], categories=[link, "B"]),
            f"city {link}": [link, "Rome", "Rome", link],
            "spend": [1.0, 2.0, 3.0, 4.0],
        }
    )
    figures = [
        charts.category_mix_chart(df, f"city {link}"),
        charts.feature_box(df, "spend"),
        charts.feature_scatter(df.assign(visits=[1.0, 2.0, 2.0, 1.0]), "spend", "visits"),
    ]
    for fig in figures:
        text = fig.to_json()
        assert "<a href" not in text and "&lt;a href" in text
