"""A small fitted model for the report tests, with a column and a segment name that are HTML."""

from __future__ import annotations

from dataclasses import replace

import pytest

from segmentation.data.synthetic import generate_customers

#: What an attacker (or an unlucky export) could put in a column or segment name.
PAYLOAD = '<script>alert("pwned")</script>'
COLUMN = f"Income{PAYLOAD}"
NAME = f"VIP {PAYLOAD} & friends"


@pytest.fixture(scope="module")
def report_model():
    """A 4-segment model on 400 synthetic customers; its Income column and its first
    segment carry a ``<script>`` payload."""
    from segmentation.modeling.estimator import SegmentationModel

    data = generate_customers(400, seed=3).rename(columns={"Income": COLUMN})
    model = SegmentationModel(k=4, random_state=0).fit(data)
    model.profiles_ = [replace(model.profiles_[0], name=NAME), *model.profiles_[1:]]
    return model, data


@pytest.fixture(scope="module")
def report_points(report_model):
    from segmentation.report.html import customer_points

    model, data = report_model
    return customer_points(model, data)


METADATA = {"version": "v7", "created_at": "2026-05-01T10:00:31+00:00", "data_name": "crm.csv"}
