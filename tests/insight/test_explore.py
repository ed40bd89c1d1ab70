"""The pure tables and figures behind the Explorer, Predict and Retrain pages."""

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from segmentation.data.schema import infer_schema
from segmentation.errors import SchemaError
from segmentation.insight import explore
from segmentation.modeling.estimator import OUTPUT_COLUMNS, SegmentationModel
from segmentation.modeling.selection import RULE


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "age": [20, 30, np.nan, 40, 50, 60],
            "income": [1000.5, 2500.0, 12000.0, np.nan, np.nan, 3000.0],
            "region": ["North", "South", "North", None, "East", "North"],
            "joined": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", None, "2024-06-01"]
            ),
        }
    )


@pytest.fixture(scope="module")
def fitted(customers):
    """A model segmenting on every column (Age, Gender and Region describe by default), so
    the forms and column checks below cover numeric and categorical inputs alike."""
    purposes = {"Age": "segment", "Gender": "segment", "Region": "segment"}
    return SegmentationModel(random_state=42, purposes=purposes).fit(customers[0])


@pytest.fixture(scope="module")
def labeled(customers, fitted):
    return fitted.label(customers[0]).join(customers[0])


@pytest.fixture(scope="module")
def stats(fitted, labeled):
    return explore.feature_stats(fitted, labeled)


# -- a table at a glance ---------------------------------------------------------------


def test_overview_counts_rows_columns_and_empty_cells(table):
    facts = explore.overview(table)
    assert facts["rows"] == 6 and facts["columns"] == 5
    assert facts["numeric_columns"] == 2 and facts["other_columns"] == 3
    assert facts["missing_share"] == pytest.approx(5 / 30)


def test_summary_statistics_numeric_columns_only_with_separators(table):
    out = explore.summary_statistics(table)
    assert list(out["Column"]) == ["age", "income"]
    income = out.set_index("Column").loc["income"]
    assert income["Filled"] == "4" and income["Missing"] == "2"
    assert income["Highest"] == "12,000"
    assert explore.summary_statistics(table[["region"]]).empty


def test_text_summary_lists_distinct_and_most_common(table):
    out = explore.text_summary(table).set_index("Column")
    assert out.loc["region", "Most common"] == "North"
    assert out.loc["region", "Distinct values"] == "3"
    assert out.loc["region", "Share of most common"] == "60.0%"
    assert out.loc["joined", "Missing"] == "1"


def test_missing_values_most_first_and_chart(table):
    out = explore.missing_values(table)
    assert list(out.columns) == ["Column", "Missing", "Share"]
    assert out.iloc[0]["Column"] == "income" and out.iloc[0]["Missing"] == 2
    assert out["Missing"].sum() == 5
    fig = explore.missing_values_chart(out)
    assert len(fig.data[0].y) == 4  # only columns with gaps are drawn
    assert fig.layout.xaxis.title.text.startswith("Share")


# -- distributions ---------------------------------------------------------------------


def test_category_counts_groups_the_tail_and_counts_missing():
    values = pd.Series(["a"] * 5 + ["b"] * 3 + ["c", "d", None])
    out = explore.category_counts(values, top=2)
    assert list(out["Value"]) == ["a", "b", "Other (3 values)"]
    assert list(out["Customers"]) == [5, 3, 3]
    assert out["Share"].sum() == pytest.approx(1.0)
    assert "(missing)" in set(explore.category_counts(values)["Value"])


def test_histogram_one_bar_per_value_for_small_integers(table):
    bins = explore.histogram(table["age"])
    assert bins["Customers"].sum() == 5
    assert (bins["right"] - bins["left"] == 1).all()


def test_histogram_folds_a_long_tail_into_the_last_bar():
    rng = np.random.default_rng(0)
    values = pd.Series(np.r_[rng.normal(100, 10, 10_000), [1e6]])
    bins = explore.histogram(values)
    assert bins["Customers"].sum() == len(values)
    assert bins.attrs["clipped"] is not None
    assert bins["right"].max() < 1e6


@pytest.mark.parametrize("column", ["age", "income", "region", "joined"])
def test_distribution_chart_every_kind_of_column(table, column):
    fig = explore.distribution_chart(table[column])
    assert isinstance(fig, go.Figure) and isinstance(fig.data[0], go.Bar)
    titles = (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text)
    assert "Customers" in titles


def test_distribution_chart_is_bars_not_points_on_a_million_rows():
    rng = np.random.default_rng(1)
    big = pd.DataFrame(
        {
            "spend": rng.lognormal(5, 1, 1_000_000),
            "age": rng.integers(18, 80, 1_000_000),
            "visits": rng.poisson(4, 1_000_000).astype(float),
        }
    )
    start = time.perf_counter()
    fig = explore.distribution_chart(big["spend"])
    corr = explore.correlation_matrix(big)
    explore.summary_statistics(big)
    elapsed = time.perf_counter() - start
    assert len(fig.data[0].x) <= explore.BINS + 1
    assert corr.shape == (3, 3)
    assert elapsed < 10, f"{elapsed:.1f} s on a million rows"


def test_correlation_uses_numeric_columns_only(table):
    corr = explore.correlation_matrix(table)
    assert list(corr.columns) == ["age", "income"]
    fig = explore.correlation_heatmap(corr)
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1
    assert explore.correlation_matrix(table[["region", "age"]]).empty


# -- finding rows ----------------------------------------------------------------------


def test_filter_rows_text_is_case_insensitive(table):
    found = explore.filter_rows(table, "north")
    assert len(found.rows) == 3 and found.n_matched == 3 and found.complete
    assert explore.describe_filter(found, len(table)) == "3 matching rows."


def test_filter_rows_in_one_column_and_numbers(table):
    assert explore.filter_rows(table, "a2", column="id").n_matched == 1
    assert explore.filter_rows(table, "a2", column="region").n_matched == 0
    assert explore.filter_rows(table, "2500").n_matched == 1


def test_filter_rows_caps_and_stops_early(monkeypatch):
    monkeypatch.setattr(explore, "SEARCH_CHUNK", 100)
    df = pd.DataFrame({"name": ["match"] * 1000})
    found = explore.filter_rows(df, "match", limit=50)
    assert len(found.rows) == 50 and not found.complete
    assert "more than 50" in explore.describe_filter(found, len(df), limit=50)
    everything = explore.filter_rows(df, "", limit=50)
    assert explore.describe_filter(everything, len(df), limit=50).startswith(
        "Showing the first 50 of 1,000"
    )


# -- column roles ----------------------------------------------------------------------


def test_roles_table_and_changed_roles(customers):
    schema = infer_schema(customers[0])
    table = explore.roles_table(schema)
    assert list(table.columns) == ["column", "role", "reason", "purpose", "purpose_reason"]
    assert table.set_index("column").loc["CustomerID", "role"] == "id"
    edited = table.copy()
    edited.loc[edited["column"] == "Age", "role"] = "ignored"
    assert explore.changed_roles(edited, schema) == {"Age": "ignored"}
    assert explore.changed_roles(table, schema) == {}
    overridden = explore.roles_table(schema, {"Age": "ignored"})
    assert overridden.set_index("column").loc["Age", "role"] == "ignored"


# -- the k sweep -----------------------------------------------------------------------


def test_sweep_chart_marks_the_recommended_k(fitted):
    sweep = fitted.sweep_
    fig = explore.sweep_chart(sweep)
    marks = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert len(marks) == 4 and all(s.x0 == sweep.recommended_k for s in marks)
    bar = [s for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1]
    assert [s.y0 for s in bar] == [0.8]  # the prediction-strength bar a k must pass
    titles = [a.text for a in fig.layout.annotations]
    assert any("Silhouette" in t for t in titles) and any("Davies-Bouldin" in t for t in titles)
    assert any("Stability" in t for t in titles)
    assert all(fig.layout[f"yaxis{i}"].rangemode == "tozero" for i in ("", 2, 3, 4))
    # Every axis is drawn from 0 (the silhouette's started at 0.28 in the page).
    assert all(fig.layout[f"yaxis{i}"].range[0] == 0 for i in ("", 2, 3, 4))
    top = max(m["silhouette"] for m in sweep.to_dict()["metrics"])
    assert fig.layout.yaxis2.range[1] > top
    assert fig.layout.xaxis.title.text == "Number of segments (k)"
    # The metadata form of a sweep draws the same chart.
    again = explore.sweep_chart(sweep.to_dict())
    assert list(again.data[0].x) == list(fig.data[0].x)
    assert sweep.rule == RULE


# -- one customer ----------------------------------------------------------------------


def test_feature_stats_ranges_and_categories(fitted, customers, stats):
    df = customers[0]
    age = stats.numeric.loc["Age"]
    assert age["min"] == df["Age"].min() and age["max"] == df["Age"].max()
    assert age["median"] == df["Age"].median() and bool(age["integer"])
    assert set(stats.categories["Region"]) == set(df["Region"].dropna())
    assert set(stats.typical_distance) == set(range(fitted.k_))
    assert stats.segment_means.shape == (fitted.k_, len(fitted.schema_.numeric))


def test_form_fields_start_at_the_median_with_a_step_that_fits(fitted, stats):
    fields = {f.name: f for f in explore.form_fields(stats)}
    assert list(fields) == fitted.schema_.features
    age = fields["Age"]
    # No floor: a negative age reaches predict_one, which refuses it with a message.
    assert age.kind == "integer" and age.min_value is None and age.default >= 0
    assert age.max_value is None, "a customer may be older than every training customer"
    assert fields["PurchaseFrequency"].kind == "integer"
    assert fields["Region"].kind == "category" and fields["Region"].options
    spend = fields["TotalSpend"]
    assert spend.kind == "number" and spend.min_value is None and spend.default >= 0
    assert spend.step <= spend.default / 10, "one click moves the value by a small amount"
    record = {f.name: f.default for f in fields.values()}
    assert fitted.predict_one(record)["warnings"] == []


def test_feature_stats_without_training_data_uses_the_profiles(fitted):
    stats = explore.feature_stats(fitted, None)
    assert np.isfinite(stats.numeric["median"]).all() and np.isfinite(stats.numeric["std"]).all()
    fields = explore.form_fields(stats)
    assert len(fields) == len(fitted.schema_.features)
    assert "Region" in stats.categories and "(missing)" not in stats.categories["Region"]


def test_customer_vs_segment_on_one_scale(fitted, stats):
    record = {f.name: f.default for f in explore.form_fields(stats)}
    record["Income"] = stats.numeric.loc["Income", "mean"] + 2 * stats.numeric.loc["Income", "std"]
    result = fitted.predict_one(record)
    comparison = explore.customer_comparison(fitted, stats, record, result["cluster"])
    income = comparison.set_index("Feature").loc["Income"]
    assert income["customer_z"] == pytest.approx(2.0)
    assert income["segment"] == pytest.approx(stats.segment_means.loc[result["cluster"], "Income"])
    fig = explore.customer_vs_segment_chart(comparison, result["segment"])
    assert [t.name for t in fig.data] == [f"{result['segment']} (average)", "This customer"]
    assert "standard deviations" in fig.layout.xaxis.title.text
    shown = explore.comparison_display(comparison)
    assert list(shown.columns) == ["Feature", "This customer", "Segment average", "All customers"]


# -- a file of customers ---------------------------------------------------------------


def test_column_check_found_renamed_missing_and_by_hand(fitted, customers):
    df = customers[0].head(30).rename(columns={"Age": "years", "Income": "income"})
    table, missing = explore.column_check(fitted, df)
    status = table.set_index("Model column")["Status"]
    assert missing == ["Age"]
    assert status["Age"] == "Missing" and status["Income"] == "Found under another name"
    assert status["Region"] == "Found"
    table, missing = explore.column_check(fitted, df, {"Age": "years"})
    assert missing == [] and table.set_index("Model column").loc["Age", "Status"] == (
        "Matched by hand"
    )


def test_column_check_reports_values_that_are_not_numbers(fitted, customers):
    df = customers[0].head(30).astype({"Income": object})
    df.loc[[2, 7], "Income"] = "n/k"
    labeled = explore.label_upload(fitted, df.to_csv(index=False).encode())
    report = labeled.result.report
    table, _ = explore.column_check(fitted, df, report=report)
    income = table.set_index("Model column").loc["Income"]
    assert income["Not numbers"] == "2"
    assert income["First rows with values that are not numbers"] == "3, 8"
    assert labeled.result.n_rows == 30
    assert any("rows 3, 8" in w for w in explore.file_warnings(report))
    labeled.discard()


def test_file_warnings_leave_out_matched_columns(fitted, customers):
    df = customers[0].head(10).rename(columns={"Age": "years"})
    labeled = explore.label_upload(fitted, df, mapping={"Age": "years"})
    report = labeled.result.report
    assert report.renamed and explore.file_warnings(report) == []
    labeled.discard()


@pytest.mark.parametrize("as_bytes", [True, False], ids=["upload-bytes", "derived-table"])
def test_label_upload_adds_the_cli_columns_and_mix_counts_every_segment(
    fitted, customers, as_bytes
):
    """The Predict page labels through the CLI's entry point: the fast path for a clean
    upload, the general path for a table derived in the app; the file is the CLI's."""
    df = customers[0].head(200)
    source = df.to_csv(index=False).encode() if as_bytes else df
    reports = []
    labeled = explore.label_upload(
        fitted, source, progress=lambda fraction, message: reports.append((fraction, message))
    )
    assert labeled.result.fast is as_bytes
    assert reports and reports[-1][0] == 1.0
    assert reports[-1][1] == f"Labeled {len(df):,} of {len(df):,} customers"
    assert list(labeled.preview.columns) == [*OUTPUT_COLUMNS, *df.columns]
    assert len(labeled.preview) == 20
    written = labeled.read_bytes().decode()
    assert written.splitlines()[0].split(",")[-3:] == [f'"{c}"' for c in OUTPUT_COLUMNS]
    mix = explore.segment_mix(labeled.result.segment_counts, fitted.segment_names)
    assert list(mix["Segment"]) == [fitted.segment_names[c] for c in range(fitted.k_)]
    assert mix["Customers"].sum() == 200 and mix["Share"].sum() == pytest.approx(1.0)
    one = explore.segment_mix({fitted.segment_names[0]: 1}, fitted.segment_names)
    assert (one["Customers"] == 0).sum() == fitted.k_ - 1
    assert explore.format_mix(mix)["Share"].str.endswith("%").all()
    fig = explore.segment_mix_chart(mix)
    assert fig.layout.xaxis.title.text == "Customers"
    labeled.discard()
    assert not labeled.path.exists()


def test_label_upload_names_missing_columns_and_leaves_no_file(fitted, customers, tmp_path):
    with pytest.raises(SchemaError, match="Age"):
        explore.label_upload(fitted, customers[0].head(5).drop(columns=["Age"]))


# -- models side by side ---------------------------------------------------------------


def test_comparison_table_three_decimals_and_no_active_model(fitted):
    new = explore.model_metadata(fitted, "new.csv")
    table = explore.comparison_table(None, new).set_index("Measure")
    assert table.loc["Silhouette", "New model"] == f"{fitted.metrics_.silhouette:.3f}"
    assert table.loc["Silhouette", "Active model"] == "-"
    assert table.loc["Customers", "New model"] == "1,000"
    assert table.loc["Davies-Bouldin", "Which is better"] == ""  # nothing to compare with
    assert table.loc["Trained (UTC)", "New model"] == "not saved yet"


def test_comparison_table_names_the_better_model_per_measure(fitted, customers):
    """Each quality measure says which model wins, in its own direction."""
    from segmentation.store import frame_fingerprint

    data = customers[0]
    stamp = frame_fingerprint(data)
    assert frame_fingerprint(data.copy()) == stamp  # the same table, the same fingerprint
    active = explore.model_metadata(fitted, "a.csv", stamp)
    new = {
        **active,
        "silhouette": active["silhouette"] + 0.1,
        "davies_bouldin": active["davies_bouldin"] + 0.2,
        "calinski_harabasz": active["calinski_harabasz"],
    }
    assert explore.not_comparable(active, new) is None
    table = explore.comparison_table(active, new).set_index("Measure")["Which is better"]
    assert table["Silhouette"] == "New model"  # higher is better
    assert table["Davies-Bouldin"] == "Active model"  # lower is better
    assert table["Calinski-Harabasz"] == "equal"
    assert table["Customers"] == ""


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"n_rows": 800}, "different data (1,000 and 800 customers)"),
        ({"features": ["Age"]}, "different columns"),
        ({"data_fingerprint": "0" * 16}, "other values"),
        ({"params": {"scaler": "robust"}}, "scaled differently"),
    ],
    ids=["rows", "columns", "contents", "scaling"],
)
def test_comparison_table_refuses_to_pick_a_winner_across_data(fitted, change, reason):
    """Metrics of models trained on other data are called not comparable."""
    active = explore.model_metadata(fitted, "a.csv", "f" * 16)
    new = {**active, **change, "silhouette": active["silhouette"] + 0.1}
    assert reason in explore.not_comparable(active, new)
    table = explore.comparison_table(active, new).set_index("Measure")["Which is better"]
    assert table["Silhouette"] == table["Davies-Bouldin"] == "not comparable"


def test_segments_and_history_tables(fitted):
    meta = {**explore.model_metadata(fitted, "a.csv"), "created_at": "2025-01-02T03:04:05+00:00"}
    segments = explore.segments_table(meta)
    assert len(segments) == fitted.k_ and segments["Share"].str.endswith("%").all()
    infos = [
        SimpleNamespace(version="v2", active=True, metadata={**meta, "version": "v2"}),
        SimpleNamespace(version="v1", active=False, metadata={"k": 3, "silhouette": None}),
    ]
    history = explore.history_table(infos)
    assert list(history["Version"]) == ["v2", "v1"]
    assert history.loc[0, "Trained (UTC)"] == "2025-01-02 03:04"
    assert history.loc[1, "Silhouette"] == "-"
    assert explore.version_label(infos[0]).startswith("v2: 5 segments, a.csv, 2025-01-02")


def test_model_metadata_of_an_automatic_model_keeps_the_sweep(customers):
    model = SegmentationModel(k_range=(2, 4), random_state=0).fit(customers[0].head(300))
    meta = explore.model_metadata(model, "x.csv")
    assert meta["sweep"]["recommended_k"] == model.k_
    assert meta["data_name"] == "x.csv"
