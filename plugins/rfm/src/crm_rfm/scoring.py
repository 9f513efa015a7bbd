"""Recency, frequency and monetary values and their 1..N scores, as numpy columns.

Only customers with at least one purchase before the analysis date are scored; every other
customer gets NaN in every column (and so no RFM segment).

Quantile scores (the default), for n scored customers and N bins::

    score = 1 + floor(N * w / n)

where w is the number of scored customers with a strictly *worse* value (a larger recency, a
smaller frequency or monetary value). Equal values have the same w, so they always get the same
score, and a better value never gets a lower score. Without ties this is NTILE when n is a
multiple of N. The worst value always scores 1; the best scores N only if at least (N-1)/N of the
customers are strictly worse. With heavy ties some scores stay empty: if 60% of customers bought
once, they all get F = 1 (w = 0) and two-time buyers get F = 1 + floor(5 * 0.6) = 4.

Threshold scores (`[rfm.thresholds]`), with cut points t1 < ... < t(N-1):
frequency and monetary score 1 + #{k : value >= tk}; recency scores N - #{k : recency > tk},
so recency <= t1 days scores N and recency > t(N-1) scores 1.

FM = floor((F + M) / 2): the mean of F and M rounded down, so (5, 4) -> 4 and (1, 2) -> 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm_rfm.options import RfmOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.components import ScoringContext
    from crm.core.facts import Facts


def raw_values(
    facts: Facts, monetary: str = "total"
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(recency days, frequency, monetary minor units) per customer; NaN without purchases.

    Recency counts whole days from the UTC date of the last purchase to the analysis date;
    frequency counts purchases (distinct order ids where present); monetary is total spend, or
    total spend divided by frequency for "average".
    """
    scored = facts.has_purchased
    recency = np.where(scored, facts.recency_days(), np.nan)
    frequency = np.where(scored, facts.purchases.astype(np.float64), np.nan)
    total = np.where(scored, facts.revenue_minor.astype(np.float64), np.nan)
    if monetary == "average":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / frequency
    return recency, frequency, total


def quantile_scores(
    values: NDArray[np.float64], bins: int, *, higher_is_better: bool = True
) -> NDArray[np.float64]:
    """Scores 1..bins by the share of customers with a strictly worse value; NaN stays NaN."""
    out = np.full(values.shape, np.nan)
    known = ~np.isnan(values)
    goodness = values[known] if higher_is_better else -values[known]
    n = goodness.shape[0]
    if n == 0:
        return out
    out[known] = 1 + (bins * strictly_below(goodness)) // n
    return out


def strictly_below(values: NDArray[np.float64]) -> NDArray[np.int64]:
    """For each value, how many values are strictly smaller (its tie group's first rank - 1)."""
    n = values.shape[0]
    # One argsort and a running maximum; searchsorted of a million unsorted queries into the
    # sorted array is about ten times slower because every lookup misses the cache.
    order = np.argsort(values)
    ordered = values[order]
    starts = np.empty(n, dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = np.maximum.accumulate(np.where(starts, np.arange(n, dtype=np.int64), 0))
    below = np.empty(n, dtype=np.int64)
    below[order] = first
    return below


def threshold_scores(
    values: NDArray[np.float64], cuts: Sequence[float], *, higher_is_better: bool = True
) -> NDArray[np.float64]:
    """Scores 1..len(cuts)+1 from ascending cut points; NaN stays NaN.

    Higher is better: 1 + the number of cuts <= value. Lower is better (recency):
    len(cuts) + 1 - the number of cuts < value.
    """
    edges = np.asarray(cuts, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    known = ~np.isnan(values)
    if higher_is_better:
        out[known] = 1 + np.searchsorted(edges, values[known], side="right")
    else:
        out[known] = edges.shape[0] + 1 - np.searchsorted(edges, values[known], side="left")
    return out


def fm_scores(f: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    """floor((F + M) / 2); NaN where either is NaN."""
    return np.floor((f + m) / 2)


def score_all(facts: Facts, options: RfmOptions) -> dict[str, NDArray[np.float64]]:
    """Every RFM metric, keyed by metric name (`recency` ... `fm`)."""
    recency, frequency, monetary = raw_values(facts, options.monetary)
    cuts = options.thresholds
    # Monetary cut points are currency units in the config; values are minor units (cents).
    monetary_cuts = None if cuts.monetary is None else [round(c * 100) for c in cuts.monetary]
    specs: Mapping[str, tuple[NDArray[np.float64], Sequence[float] | None, bool]] = {
        "r": (recency, cuts.recency, False),
        "f": (frequency, cuts.frequency, True),
        "m": (monetary, monetary_cuts, True),
    }
    scores = {
        name: (
            quantile_scores(values, options.bins, higher_is_better=better)
            if explicit is None
            else threshold_scores(values, explicit, higher_is_better=better)
        )
        for name, (values, explicit, better) in specs.items()
    }
    return {
        "recency": recency,
        "frequency": frequency,
        "monetary": monetary,
        **scores,
        "fm": fm_scores(scores["f"], scores["m"]),
    }


@frozen
class RfmScorer:
    """The `rfm` scorer: a `Scorer` built from `RfmOptions`."""

    options: RfmOptions

    def score(self, context: ScoringContext) -> dict[str, NDArray[np.float64]]:
        return score_all(context.facts, self.options)
