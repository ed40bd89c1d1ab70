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
