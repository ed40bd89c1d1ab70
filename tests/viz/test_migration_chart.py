"""The migration Sankey: one flow per non-empty cell, nodes coloured by segment id."""

from __future__ import annotations

import numpy as np

from segmentation.viz.charts import migration_sankey
from segmentation.viz.style import PALETTE


def test_one_flow_per_nonempty_cell_coloured_by_id():
    counts = np.array([[90, 10, 0], [0, 5, 95]])
    fig = migration_sankey(counts, ["A", "B<script>"], ["A", "B", "New"], sides=("v1", "v2"))
    (sankey,) = fig.data
    assert list(sankey.node.label) == [
        "v1: 0 A",
        "v1: 1 B&lt;script&gt;",
        "v2: 0 A",
        "v2: 1 B",
        "v2: 2 New",
    ]
    assert list(sankey.link.source) == [0, 0, 1, 1]
    assert list(sankey.link.target) == [2, 3, 3, 4]
    assert list(sankey.link.value) == [90, 10, 5, 95]
    assert sankey.node.color[0] == sankey.node.color[2] == PALETTE[0]


def test_empty_migration_draws_nodes_only():
    fig = migration_sankey(np.zeros((2, 2), dtype=int), ["A", "B"], ["A", "B"])
    assert len(fig.data[0].link.source) == 0 and len(fig.data[0].node.label) == 4
