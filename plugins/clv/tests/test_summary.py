"""The weighted summary: identical (x, t_x, T) rows become one row with a weight."""

from __future__ import annotations

import numpy as np
from crm_clv.summary import CustomerSummary


def _maps_back(summary: CustomerSummary) -> None:
    rows = summary.weighted()
    for column, rows_column in ((summary.x, rows.x), (summary.t_x, rows.t_x), (summary.T, rows.T)):
        np.testing.assert_array_equal(rows_column[rows.inverse], column)
    assert rows.weight.sum() == len(summary)


def test_identical_rows_share_one_weighted_row() -> None:
    summary = CustomerSummary(
        [0, 2, 2, 0, 1, 2], [0, 3.0, 3.0, 0, 1.0, 3.0], [10, 10, 10, 10, 12, 11.0]
    )
    rows = summary.weighted()
    assert len(rows) == 4
    assert sorted(rows.weight.tolist()) == [1.0, 1.0, 2.0, 2.0]
    _maps_back(summary)


def test_distinct_rows_stay_one_each() -> None:
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 40, 1000)
    x = rng.integers(0, 5, 1000).astype(float)
    summary = CustomerSummary(x, np.where(x > 0, T * rng.random(1000), 0.0), T)
    rows = summary.weighted()
    assert len(rows) == 1000 and np.all(rows.weight == 1.0)
    _maps_back(summary)
