"""The fast labeler and the general path give the same segments and distances, on any input.

The fast path is compiled from the fitted pipeline and saved with the version; the general
path reads the file with ``read_table`` and runs the estimator's own pipeline. Every case
below is labeled both ways, through the saved labeler exactly as the command line loads it,
for every algorithm of the registry (K-Means with both scalers, with and without a date;
the others with two of those combinations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from segmentation.data.read import read_table
from segmentation.data.rules import ARROW_NULL_VALUES, PROBABILITY_COLUMN, match_columns
from segmentation.data.synthetic import generate_customers
from segmentation.modeling import labeling
from segmentation.modeling.estimator import SegmentationModel
from segmentation.modeling.labeling import CompiledLabeler, label_file
from segmentation.store import ModelStore

NA_SPELLINGS = ["NA", "nULL", " n/A ", "-", "?", ""]
CASES = (
    [("na-category", s) for s in NA_SPELLINGS]
    + [("na-number", s) for s in NA_SPELLINGS]
    + [(kind, None) for kind in ("unseen-category", "text-in-number", "renamed-headers", "clean")]
)
CASE_IDS = [kind if value is None else f"{kind}[{value!r}]" for kind, value in CASES]


def _base(with_date: bool, n: int = 600, seed: int = 3) -> pd.DataFrame:
    df = generate_customers(n, seed=seed)
    if with_date:
        rng = np.random.default_rng(seed)
        days = rng.integers(0, 900, size=n)
        df["SignupDate"] = (pd.Timestamp("2024-06-30") - pd.to_timedelta(days, "D")).strftime(
            "%Y-%m-%d"
        )
    return df


MODELS = [("kmeans", s, d) for s in ("standard", "robust") for d in (False, True)] + [
    (a, s, d)
    for a in ("ward", "gmm", "kprototypes")
    for s, d in (("standard", True), ("robust", False))
]


@pytest.fixture(
    scope="module",
    params=MODELS,
    ids=lambda p: f"{p[0]}-{p[1]}-{'date' if p[2] else 'nodate'}",
)
def stored(request, tmp_path_factory):
    """A model of one algorithm trained with one scaler, with or without a date column,
    saved and reloaded the way the command line loads it (the labeler from disk, the model
    on demand)."""
    algorithm, scaler, with_date = request.param
    train = _base(with_date)
    root = tmp_path_factory.mktemp("store")
    path = root / "train.csv"
    train.to_csv(path, index=False)
    # Gender and Region describe by default; here they segment, so the categorical
    # labeling rules (and their block weights) are exercised on both paths.
    model = SegmentationModel(
        k=5,
        algorithm=algorithm,
        scaler=scaler,
        random_state=0,
        purposes={"Gender": "segment", "Region": "segment"},
    ).fit(read_table(path))
    store = ModelStore(root / "models")
    store.save(model, data=train, data_name="train.csv")
    labeler, _ = store.load_labeler()
    assert isinstance(labeler, CompiledLabeler)
    return model, labeler, with_date


def _new_file(case: tuple, with_date: bool, tmp_path):
    """A fresh export (other customers) with one kind of mess, written as CSV."""
    kind, value = case
    df = _base(with_date, n=300, seed=11).astype({"Gender": object, "Income": object})
    if kind == "na-category":
        df.loc[[2, 5, 9], "Gender"] = value
    elif kind == "na-number":
        df.loc[[2, 5, 9], "Income"] = value
    elif kind == "unseen-category":
        df.loc[[1, 4], "Region"] = "Atlantis"
    elif kind == "text-in-number":
        df.loc[[3, 8], "Income"] = "unknown"
    elif kind == "renamed-headers":
        df = df.rename(columns={"SpendingScore": "spending_score", "Region": "REGION"})
    path = tmp_path / "new.csv"
    path.write_text(df.to_csv(index=False))
    return path


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fast_and_general_paths_agree(stored, case, tmp_path):
    model, labeler, with_date = stored
    path = _new_file(case, with_date, tmp_path)

    out = tmp_path / "labeled.csv"
    report = label_file(labeler, path, out)
    fast = pd.read_csv(out, keep_default_na=False, dtype={"segment": str})

    table = read_table(path)
    general_prediction = model.label(table)
    general = general_prediction.labels
    # Both paths count the same empty cells for the validation report.
    assert report.report.missing_values == general_prediction.report.missing_values
    np.testing.assert_array_equal(fast["cluster"].to_numpy(), general["cluster"].to_numpy())
    assert (fast["segment"].to_numpy() == general["segment"].to_numpy()).all()
    np.testing.assert_allclose(fast["cluster_distance"], general["cluster_distance"], atol=1e-6)
    assert report.n_rows == len(table) == 300
    # ... and the same drift report: bins, out-of-range shares, PSI, segment mix.
    assert report.drift is not None
    assert report.drift.to_dict() == general_prediction.drift.to_dict()
    # segment_probability is written by both paths exactly when the algorithm gives it.
    soft = model.algorithm_.gives_probabilities
    assert (PROBABILITY_COLUMN in fast.columns) == (PROBABILITY_COLUMN in general.columns) == soft
    if soft:
        np.testing.assert_allclose(
            fast[PROBABILITY_COLUMN], general[PROBABILITY_COLUMN], rtol=0, atol=1e-6
        )
        assert general[PROBABILITY_COLUMN].between(0, 1).all()

    # Where the fast path takes the file, its unrounded distances equal the general
    # path's to 1e-9 (the file keeps 6 decimals).
    if case[0] in ("na-category", "unseen-category", "renamed-headers", "clean"):
        assert report.fast, "this file should take the fast path"
        names, first_line, _, _ = labeling._header(path)
        found, _ = match_columns(names, labeler.features, renames=labeler.renames)
        types = {found[f]: pa.float64() for f in labeler.numeric if f not in labeler.dates}
        types |= {found[f]: pa.string() for f, _, _ in labeler.categorical}
        convert = pa_csv.ConvertOptions(
            null_values=ARROW_NULL_VALUES, strings_can_be_null=True, column_types=types
        )
        chunks = labeling._chunks(path, len(first_line) + 1)
        batches = [labeling._parse(chunk, names, convert) for chunk in chunks]
        assigned = [labeler.assign_all({f: b.column(c) for f, c in found.items()}) for b in batches]
        clusters = np.concatenate([a[0] for a in assigned])
        distances = np.concatenate([a[1] for a in assigned])
        features, _ = model.prepare(table)
        X = model.preprocess(features)
        expected = model._assign(X)
        np.testing.assert_array_equal(clusters, expected[0])
        np.testing.assert_allclose(distances, expected[1], rtol=0, atol=1e-9)
        if soft:
            probability = np.concatenate([a[2] for a in assigned])
            np.testing.assert_allclose(
                probability, model._segment_probability(X, expected[0]), rtol=0, atol=1e-9
            )


def test_missing_category_spellings_are_missing_not_unseen(stored, tmp_path):
    """The bug this pins: 'nULL' or ' NA ' in a category was an unseen category on the fast
    path and a missing (imputed) one in the app; 894 of 3,000 rows got another segment."""
    model, labeler, with_date = stored
    df = _base(with_date, n=200, seed=5)
    clean = model.label(df).labels["cluster"].to_numpy()
    if not labeler.categorical:
        # This algorithm segments on numbers only (Gender describes): a messy spelling in
        # a describing column must then change no label on the fast path.
        for spelling in ("nULL", " NA ", "n/A", "?"):
            messy = df.astype({"Gender": object}).assign(Gender=spelling)
            path = tmp_path / "messy.csv"
            messy.to_csv(path, index=False)
            out = tmp_path / "out.csv"
            assert label_file(labeler, path, out).fast
            np.testing.assert_array_equal(pd.read_csv(out)["cluster"].to_numpy(), clean)
        return
    imputed_gender = next(c for c in labeler.categorical if c[0] == "Gender")[2]
    for spelling in ("nULL", " NA ", "n/A", "?"):
        messy = df.astype({"Gender": object}).copy()
        messy["Gender"] = spelling
        path = tmp_path / "messy.csv"
        messy.to_csv(path, index=False)
        out = tmp_path / "out.csv"
        assert label_file(labeler, path, out).fast
        as_imputed = df.assign(Gender=imputed_gender)
        expected = model.label(as_imputed).labels["cluster"].to_numpy()
        np.testing.assert_array_equal(pd.read_csv(out)["cluster"].to_numpy(), expected)
    assert len(clean) == 200


def test_saved_labeler_is_the_compiled_pipeline(stored):
    model, labeler, _ = stored
    fresh = CompiledLabeler.from_model(model)
    np.testing.assert_array_equal(fresh.centers, labeler.centers)
    np.testing.assert_array_equal(fresh.center, labeler.center)
    np.testing.assert_array_equal(fresh.scale, labeler.scale)
    assert fresh.categorical == labeler.categorical and fresh.names == labeler.names
    assert fresh.drift == labeler.drift == model.drift_reference_
    assert fresh.assign_by == labeler.assign_by == model.algorithm_.assigns_new_by
    assert fresh.gamma == labeler.gamma
    np.testing.assert_array_equal(fresh.weights, labeler.weights)
    np.testing.assert_array_equal(fresh.precisions_chol, labeler.precisions_chol)
    np.testing.assert_array_equal(fresh.means, labeler.means)
    np.testing.assert_array_equal(fresh.mixture_columns, labeler.mixture_columns)


def test_dates_written_as_text_in_a_table_are_read_as_the_reader_reads_them(tmp_path):
    """A table built in memory (an API caller, the one-customer form) holds ISO dates as
    text: they mean what they mean in a file. pandas' dayfirst=True used to read
    2023-12-02 as the 12th of February and 2023-07-30 as missing."""
    _base(True).to_csv(tmp_path / "train.csv", index=False)
    model = SegmentationModel(k=4, random_state=0).fit(read_table(tmp_path / "train.csv"))
    assert "SignupDate" in model.schema_.names("date")
    fresh = _base(True, n=200, seed=5)
    path = tmp_path / "fresh.csv"
    fresh.to_csv(path, index=False)
    in_memory, _ = model.prepare(fresh)
    from_file, _ = model.prepare(read_table(path))
    np.testing.assert_array_equal(in_memory["SignupDate"], from_file["SignupDate"])
    assert in_memory["SignupDate"].notna().all()


EXPLAIN_CASES = [c for c in CASES if c[0] in ("clean", "unseen-category", "na-number")]


@pytest.mark.parametrize(
    "case", EXPLAIN_CASES, ids=[CASE_IDS[CASES.index(c)] for c in EXPLAIN_CASES]
)
def test_explain_columns_agree_on_both_paths(stored, case, tmp_path):
    """``--explain``: the fast labeler and the general path name the same runner-up and the
    same margin, for every algorithm (distance or probability margins)."""
    model, labeler, with_date = stored
    path = _new_file(case, with_date, tmp_path)
    out = tmp_path / "labeled.csv"
    report = label_file(labeler, path, out, explain=True)
    fast = pd.read_csv(out, keep_default_na=False, dtype={"segment": str, "runner_up_segment": str})
    general = model.label(read_table(path), explain=True).labels
    assert list(fast.columns[-2:]) == ["runner_up_segment", "margin"]
    assert (fast["runner_up_segment"].to_numpy() == general["runner_up_segment"].to_numpy()).all()
    assert (fast["runner_up_segment"] != fast["segment"]).all()
    np.testing.assert_allclose(fast["margin"], general["margin"], rtol=0, atol=1e-6)
    assert (general["margin"] >= 0).all()
    if case[0] != "na-number":
        assert report.fast, "this file should take the fast path"
    # Unrounded, the compiled labeler's scores of every segment are the model's to 1e-9.
    from segmentation.insight.explain import runner_up

    table = read_table(path)
    features, _ = model.prepare(table)
    X = model.preprocess(features)
    clusters = model._assign(X)[0]
    expected = runner_up(model, X, clusters)
    if case[0] == "clean":
        names, first_line, _, _ = labeling._header(path)
        found, _ = match_columns(names, labeler.features, renames=labeler.renames)
        types = {found[f]: pa.float64() for f in labeler.numeric if f not in labeler.dates}
        types |= {found[f]: pa.string() for f, _, _ in labeler.categorical}
        parsed = pa_csv.read_csv(
            path,
            convert_options=pa_csv.ConvertOptions(
                null_values=ARROW_NULL_VALUES, strings_can_be_null=True, column_types=types
            ),
        )
        columns = {f: parsed.column(c) for f, c in found.items()}
        from segmentation.insight.explain import runner_up_from_scores

        got = runner_up_from_scores(labeler.segment_scores(columns), clusters, labeler.assign_by)
        np.testing.assert_array_equal(got.runner_up, expected.runner_up)
        np.testing.assert_allclose(got.margin, expected.margin, rtol=0, atol=1e-9)


def test_without_explain_a_file_keeps_its_own_margin_column(stored, tmp_path):
    """Without --explain nothing changes: no new columns, and a file's own ``margin``
    column (a business column) passes through on both paths."""
    model, labeler, with_date = stored
    df = _base(with_date, n=50, seed=7).assign(margin=1.5)
    path = tmp_path / "own.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert label_file(labeler, path, out).fast
    fast = pd.read_csv(out)
    assert "runner_up_segment" not in fast.columns
    assert (fast["margin"] == 1.5).all()
    general = model.label(df).join(df)
    assert "runner_up_segment" not in general.columns and (general["margin"] == 1.5).all()
    # With --explain the file's column is replaced by the model's margin, once.
    label_file(labeler, path, out, explain=True)
    explained = pd.read_csv(out)
    assert list(explained.columns).count("margin") == 1
    assert (explained["margin"] != 1.5).any()
