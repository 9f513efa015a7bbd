"""The `churn` scorer: how overdue each customer's next purchase is, and how often they complained.

Everything is computed on whole columns of `context.facts`; no per-customer Python loop, no SQL of
our own (crm has already aggregated the facts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from attrs import frozen
from crm import Metric, ScoringContext
from numpy.typing import NDArray

COMPLAINT = "complaint"

METRICS = (
    Metric(
        "overdue",
        "value",
        "days since the last purchase divided by the customer's mean gap between purchases "
        "(empty for customers with fewer than two purchases on different days)",
    ),
    Metric("complaints", "count", "complaint interactions before the analysis date"),
)


def mean_gap_days(
    first_purchase: NDArray[np.datetime64],
    last_purchase: NDArray[np.datetime64],
    purchases: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Mean whole UTC calendar days between purchases; NaN with fewer than two purchases or
    when every purchase fell on one day (there is no rhythm to be late against)."""
    last_day = last_purchase.astype("datetime64[D]")
    first_day = first_purchase.astype("datetime64[D]")
    # Customers with purchases have both dates; NaT never reaches the subtraction below.
    repeat = purchases >= 2
    span_days = (last_day[repeat] - first_day[repeat]).astype(np.int64).astype(np.float64)
    gaps = span_days / (purchases[repeat] - 1)
    gaps[span_days == 0] = np.nan
    out = np.full(purchases.shape, np.nan)
    out[repeat] = gaps
    return out


@frozen
class ChurnScorer:
    def score(self, context: ScoringContext) -> Mapping[str, NDArray[np.float64]]:
        facts = context.facts
        gap = mean_gap_days(facts.first_purchase, facts.last_purchase, facts.purchases)
        # recency_days() is crm's documented recency: whole days from the UTC date of the last
        # purchase to the analysis date, NaN for customers who never purchased.
        overdue = facts.recency_days() / gap
        complaints = facts.kind_counts().get(COMPLAINT, np.zeros(len(facts), dtype=np.int64))
        return {"overdue": overdue, "complaints": complaints.astype(np.float64)}
