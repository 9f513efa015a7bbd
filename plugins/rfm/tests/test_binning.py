"""Quantile and threshold scores on literal arrays, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from crm_rfm.scoring import fm_scores, quantile_scores, threshold_scores

nan = np.nan


def scores(values: list[float], bins: int = 5, *, higher_is_better: bool = True) -> list[float]:
    out = quantile_scores(
        np.array(values, dtype=np.float64), bins, higher_is_better=higher_is_better
    )
    result: list[float] = out.tolist()
    return result


def same(a: list[float], b: list[float]) -> bool:
    return bool(np.array_equal(np.array(a), np.array(b), equal_nan=True))


def test_distinct_values_in_a_multiple_of_n_fill_every_score_equally() -> None:
    # w = 0..9 customers strictly worse; score = 1 + floor(5 * w / 10).
    assert scores([100, 90, 80, 70, 60, 50, 40, 30, 20, 10]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_seven_distinct_values() -> None:
    # 1 + floor(5w/7) for w = 0..6: 0, 0.71, 1.43, 2.14, 2.86, 3.57, 4.29 -> 1 1 2 3 3 4 5.
    assert scores([1, 2, 3, 4, 5, 6, 7]) == [1, 1, 2, 3, 3, 4, 5]


def test_ties_share_a_score_and_heavy_ties_leave_scores_empty() -> None:
    # Six one-time buyers: nobody is worse, all F=1. Two-time buyers: w=6 -> 1 + floor(30/10) = 4.
    # Three: w=8 -> 5. Five: w=9 -> 1 + floor(45/10) = 5. Scores 2 and 3 stay empty.
    assert scores([1, 1, 1, 1, 1, 1, 2, 2, 3, 5]) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


def test_a_large_tie_at_the_top_never_reaches_the_top_score() -> None:
    # Four of ten share the best value: w=6 -> 1 + floor(30/10) = 4; nobody gets 5.
    assert scores([9, 9, 9, 9, 1, 2, 3, 4, 5, 6]) == [4, 4, 4, 4, 1, 1, 2, 2, 3, 3]


def test_recency_lower_is_better_and_unscored_stay_nan() -> None:
    # Six scored; w counts strictly larger recencies: 1 -> 5, 5 -> 3, 30 -> 2, 90 -> 1, 365 -> 0.
    # 1 + floor(5w/6): 5 -> 5, 3 -> 3, 2 -> 2, 1 -> 1, 0 -> 1.
    got = scores([1, 5, 5, 30, 90, 365, nan], higher_is_better=False)
    assert same(got, [5, 3, 3, 2, 1, 1, nan])


def test_all_equal_values_score_one() -> None:
    assert scores([3, 3, 3]) == [1, 1, 1]


def test_nobody_scored() -> None:
    assert same(scores([nan, nan]), [nan, nan])
    assert scores([]) == []


def test_three_bins() -> None:
    # n=6, N=3: 1 + floor(3w/6) for w = 0..5 -> 1 1 2 2 3 3.
    assert scores([10, 20, 30, 40, 50, 60], bins=3) == [1, 1, 2, 2, 3, 3]


def test_equal_values_always_get_equal_scores_and_better_never_scores_lower() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 12, size=5000).astype(np.float64)
    out = quantile_scores(values, 5)
    for value in np.unique(values):
        assert len(set(out[values == value].tolist())) == 1
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)
    assert out.min() == 1


def test_threshold_scores_higher_is_better() -> None:
    # 1 + number of cuts <= value, cuts 2 3 5 10.
    got = threshold_scores(np.array([1, 2, 4, 10, 11, nan]), [2, 3, 5, 10])
    assert same(got.tolist(), [1, 2, 3, 5, 5, nan])


def test_threshold_scores_recency() -> None:
    # 5 - number of cuts < recency, cuts 30 90 180 365: a cut value itself is the better side.
    got = threshold_scores(
        np.array([1, 30, 31, 365, 366]), [30, 90, 180, 365], higher_is_better=False
    )
    assert got.tolist() == [5, 5, 4, 2, 1]


@pytest.mark.parametrize(
    ("f", "m", "fm"),
    [(5, 5, 5), (5, 4, 4), (4, 5, 4), (1, 2, 1), (3, 3, 3), (1, 5, 3), (2, 5, 3), (nan, 3, nan)],
)
def test_fm_is_the_mean_rounded_down(f: float, m: float, fm: float) -> None:
    got = fm_scores(np.array([f]), np.array([m]))[0]
    assert (np.isnan(got) and np.isnan(fm)) or got == fm
