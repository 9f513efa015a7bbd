"""The per-customer summary the buy-till-you-die models are fitted on, and its weighted form.

A customer is described by the number of repeat transactions `x`, the time of the last one
`t_x` (from the first transaction) and the age `T` (from the first transaction to the end of
the calibration period), in one time unit (days or weeks). Customers with identical
`(x, t_x, T)` contribute identical likelihood terms, so the fit works on the distinct rows with
a weight each (`WeightedSummary`): on day-granular data this shrinks a million customers to a
few hundred thousand rows or fewer.
"""

from __future__ import annotations

import functools

import numpy as np
from attrs import field, frozen
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _as_float(values: object) -> FloatArray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _as_float_or_none(values: object) -> FloatArray | None:
    # a list of spends works like a list of x: the models compare and index it as an array
    return None if values is None else _as_float(values)


@frozen
class CustomerSummary:
    """Aligned columns, one entry per customer: `x`, `t_x`, `T` and (optional) mean repeat spend.

    `mean_spend` is the mean value of the repeat transactions (NaN where `x == 0`); the
    Gamma-Gamma spend model uses it. The constructor checks the invariants the likelihoods
    rely on (0 <= t_x <= T, x a non-negative whole number, t_x == 0 where x == 0).
    """

    x: FloatArray = field(converter=_as_float)
    t_x: FloatArray = field(converter=_as_float)
    T: FloatArray = field(converter=_as_float)
    mean_spend: FloatArray | None = field(default=None, converter=_as_float_or_none)

    def __attrs_post_init__(self) -> None:
        n = len(self.x)
        if len(self.t_x) != n or len(self.T) != n:
            raise ValueError("x, t_x and T must have one entry per customer")
        if self.mean_spend is not None and len(self.mean_spend) != n:
            raise ValueError("mean_spend must have one entry per customer")
        if n == 0:
            return
        if not (np.all(np.isfinite(self.x)) and np.all(self.x >= 0)):
            raise ValueError("x must be finite and non-negative")
        if np.any(self.x != np.round(self.x)):
            raise ValueError("x must be whole numbers of repeat transactions")
        if np.any(self.t_x < 0) or np.any(self.t_x > self.T * (1 + 1e-12)):
            raise ValueError("t_x must lie in [0, T]")
        if np.any((self.x == 0) & (self.t_x != 0)):
            raise ValueError("t_x must be 0 for customers without repeat transactions")

    def __len__(self) -> int:
        return len(self.x)

    def weighted(self) -> WeightedSummary:
        """The distinct (x, t_x, T) rows with how many customers share each."""
        return WeightedSummary.from_rows(self.x, self.t_x, self.T)

    @functools.cached_property
    def x_and_age_groups(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(first row of each distinct (x, T) pair, pair of every row): predictions that do
        not depend on t_x are computed once per pair."""
        order, starts, inverse = distinct_rows(self.x, self.T)
        return order[starts], inverse

    def repeat_buyers(self) -> int:
        return int(np.count_nonzero(self.x > 0))


def distinct_rows(
    *columns: FloatArray,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Group equal rows of aligned columns: (sort order, start of each group in that order,
    group of every row).

    One argsort of a combined float key, then a comparison pass on the real columns: equal
    rows have equal keys, so they end up adjacent; rows that merely share a key (rounding)
    are split by the comparison, which costs compression, never correctness. Several times
    faster than `np.unique(axis=0)`, which sorts rows as opaque byte strings. When no two
    keys are equal (continuous times: nothing compresses), no two rows are, and a sort of
    the keys alone (SIMD, ~10x faster than the argsort) proves it: every row is its own group.
    """
    key = np.zeros(len(columns[0]))
    for column in columns:
        key = key * 1048573.0 + column
    ordered_keys = np.sort(key)
    if not np.any(ordered_keys[1:] == ordered_keys[:-1]):
        identity = np.arange(len(key), dtype=np.intp)
        return identity, identity, identity
    # any order of equal keys will do: each group is a run of identical rows whichever it is
    order = np.argsort(key)
    changed = np.zeros(len(order), dtype=bool)
    if len(order):
        changed[0] = True
    for column in columns:
        ordered = column[order]
        changed[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(changed)
    group = np.cumsum(changed) - 1
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = group
    return order, starts, inverse


@frozen
class WeightedSummary:
    """Distinct (x, t_x, T) rows and their weights; `inverse` maps customers back to rows."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray
    inverse: NDArray[np.intp]

    @classmethod
    def from_rows(cls, x: FloatArray, t_x: FloatArray, T: FloatArray) -> WeightedSummary:
        if len(x) == 0:
            empty = np.zeros(0)
            return cls(empty, empty, empty, empty, np.zeros(0, dtype=np.intp))
        order, starts, inverse = distinct_rows(x, t_x, T)
        first = order[starts]
        counts = np.diff(np.append(starts, len(x)))
        return cls(
            x=np.ascontiguousarray(x[first]),
            t_x=np.ascontiguousarray(t_x[first]),
            T=np.ascontiguousarray(T[first]),
            weight=counts.astype(np.float64),
            inverse=inverse,
        )

    def take(self, rows: NDArray[np.intp]) -> WeightedSummary:
        """A subset of the rows (for a warm start); `inverse` is not meaningful on it."""
        return WeightedSummary(
            self.x[rows],
            self.t_x[rows],
            self.T[rows],
            self.weight[rows],
            np.zeros(0, dtype=np.intp),
        )

    @property
    def customers(self) -> int:
        return int(self.weight.sum())

    def __len__(self) -> int:
        return len(self.x)
