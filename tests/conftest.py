"""Shared fixtures: small seeded data and an isolated model store for every test."""

from __future__ import annotations

import pytest

from segmentation.data.synthetic import generate_customers


@pytest.fixture(autouse=True)
def isolated_models_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own model store, never the repository's models/."""
    path = tmp_path_factory.mktemp("models")
    monkeypatch.setenv("SEGMENTATION_MODELS_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def customers():
    """The default synthetic customers (1,000 rows) with their latent personas."""
    return generate_customers(1000, seed=42, return_personas=True)


@pytest.fixture(scope="session")
def fitted(customers):
    """A model fitted on the default customers with the automatic k."""
    from segmentation.modeling.estimator import SegmentationModel

    return SegmentationModel(random_state=42).fit(customers[0])


@pytest.fixture(scope="session")
def spark():
    """A Spark session on ``local[2]`` for the Spark engine's tests, stopped at the end.

    Outside CI the tests skip when pyspark or Java is missing; in CI (CI=true) they fail,
    so a missing JVM can never pass as green.
    """
    import os

    from segmentation.engines.spark import session, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    spark = session("local[2]")
    yield spark
    spark.stop()
