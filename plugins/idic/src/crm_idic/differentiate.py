"""Differentiate: value tiers (ABC by cumulative share), the Pareto line, key accounts,
potential from signals, and the value x potential (ABCD) matrix. Pure numpy on columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]

#: ABCD segments: (value class A or B) x (potential >= high).
ABCD = (
    ("A", "high value, high potential: invest (account manager, early access)"),
    ("B", "high value, low potential: retain (service, loyalty)"),
    ("C", "low value, high potential: develop (cross-sell, upgrade offers)"),
    ("D", "low value, low potential: serve at low cost (automated channels)"),
)


def abc_classes(value: Floats, shares: tuple[float, float, float]) -> NDArray[np.int64]:
    """1 (A), 2 (B) or 3 (C) per customer by cumulative share of the total value.

    Customers are ranked by value, highest first (ties by position); a customer is in A while
    the value of everyone ranked before them is below the A share, so the customer who crosses
    the line is still A. Customers without value (0, NaN) are C.
    """
    clean = np.where(np.isfinite(value) & (value > 0), value, 0.0)
    total = clean.sum()
    classes = np.full(value.size, 3, dtype=np.int64)
    if total <= 0:
        return classes
    order = np.argsort(-clean, kind="stable")
    before = (np.cumsum(clean[order]) - clean[order]) / total
    # A hair below each line, so that a share landing exactly on it (0.8 + 0.15 in floats is
    # 0.9500000000000001) counts as reached.
    a_line, b_line = shares[0] - 1e-12, shares[0] + shares[1] - 1e-12
    ranked = np.where(before < a_line, 1, np.where(before < b_line, 2, 3))
    ranked[clean[order] <= 0] = 3
    classes[order] = ranked
    return classes


def pareto_share(value: Floats, top: float) -> float:
    """The share of the total value brought by the top `top` share of customers."""
    clean = np.sort(np.where(np.isfinite(value) & (value > 0), value, 0.0))[::-1]
    total = clean.sum()
    if total <= 0 or clean.size == 0:
        return 0.0
    count = int(np.ceil(top * clean.size))
    return float(clean[:count].sum() / total)


def key_accounts(value: Floats, top: int, threshold: float | None) -> NDArray[np.bool_]:
    clean = np.where(np.isfinite(value), value, -np.inf)
    out = np.zeros(value.size, dtype=bool)
    order = np.argsort(-clean, kind="stable")[:top]
    out[order[clean[order] > 0]] = True
    if threshold is not None:
        out |= clean >= threshold
    return out


def percentile_rank(values: Floats) -> Floats:
    """Share of customers with a strictly lower value, plus half the ties (0..1); NaN stays."""
    out = np.full(values.size, np.nan)
    known = np.isfinite(values)
    if known.sum() == 0:
        return out
    sorted_values = np.sort(values[known])
    below = np.searchsorted(sorted_values, values[known], side="left")
    equal = np.searchsorted(sorted_values, values[known], side="right") - below
    out[known] = (below + 0.5 * equal) / known.sum()
    return out


def potential(signals: Mapping[str, Floats], weights: Mapping[str, float]) -> Floats:
    """The weighted mean of the signals' percentile ranks (signals missing for a customer are
    left out of that customer's mean); NaN where no signal is known."""
    size = next(iter(signals.values())).size if signals else 0
    total = np.zeros(size)
    weight = np.zeros(size)
    for name, column in signals.items():
        w = weights.get(name, 0.0)
        if w == 0:
            continue
        ranks = percentile_rank(column)
        known = np.isfinite(ranks)
        total[known] += w * ranks[known]
        weight[known] += w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def abcd(classes: NDArray[np.int64], potential_score: Floats, high: float) -> NDArray[np.int64]:
    """1..4 for A..D: value class A or B is high value; potential >= `high` is high potential
    (unknown potential counts as low)."""
    high_value = classes <= 2
    high_potential = np.nan_to_num(potential_score, nan=-1.0) >= high
    return np.where(
        high_value, np.where(high_potential, 1, 2), np.where(high_potential, 3, 4)
    ).astype(np.int64)
