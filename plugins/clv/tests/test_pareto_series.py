"""Pareto/NBD's series by blocks of powers equals the term-by-term sum.

The power sums are checked against `sum_by_terms`, which adds (e)_n/(c)_n z^n one term at a
time (itself checked against scipy's hyp2f1 in test_simulated), on both layouts (one matrix
product per x, or coefficients gathered per row), over z from 0 to the rows so close to 1
that they fall back to the loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from crm_clv.pareto_hypergeometric import (
    POWER_TERMS_LIMIT,
    SeriesRows,
    series,
    sum_by_terms,
    terms_needed,
)
from crm_clv.pareto_nbd import moment_start
from crm_clv.summary import CustomerSummary


def _expected(e: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    sums = sum_by_terms(e, c, z)
    total = sums[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        by_z = np.where(z > 0, sums[3] / (z * total), e / c)
    return np.stack([np.log(total), sums[1] / total, -sums[2] / total, by_z])


@pytest.mark.parametrize("distinct_x, per_x", [(3, 700), (40, 6)])
def test_power_sums_equal_the_term_by_term_sum(distinct_x: int, per_x: int) -> None:
    rng = np.random.default_rng(distinct_x)
    x = np.repeat(np.arange(distinct_x, dtype=float) * 7, per_x)
    y = rng.uniform(0, 50, len(x))
    rows = SeriesRows.of(x, y)
    assert (rows.starts is not None) == (per_x > 100)  # both layouts are exercised
    # e < c as in the likelihood (e = c - b1), heavy buyers' c far above e included
    e = rng.uniform(0.3, 3.0, len(rows.xs)) + rows.xs * rng.uniform(0, 1, len(rows.xs))
    c = e + rng.uniform(0.2, 2.0, len(rows.xs)) + rows.xs * rng.uniform(0, 1, len(rows.xs))
    z = rng.choice([0.0, 1e-9, 0.01, 0.3, 0.6, 0.85, 0.97, 0.993], len(rows.x))
    z = z * rng.uniform(0.995, 1.0, len(z))
    assert np.any(terms_needed(z) > POWER_TERMS_LIMIT)  # some rows take the loop
    got = np.stack(series(e, c, z, rows))
    want = _expected(e[rows.group], c[rows.group], z)
    # sequential and blocked sums of up to 4,000 terms round differently by ~1e-13; ln G of a
    # G next to 1 is exact only to G's own rounding (absolute 1e-16)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_moment_start_falls_back_without_variance() -> None:
    nobody = CustomerSummary(np.zeros(50), np.zeros(50), np.full(50, 30.0)).weighted()
    assert moment_start(nobody).tolist() == [1.0, 1.0, 1.0, 1.0]
