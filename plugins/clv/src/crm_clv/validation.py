"""Model checking on a calibration/holdout split, as in the papers' holdout tables.

Fit on the calibration period, then compare with what customers did in the holdout: the
conditional expectation E[Y(h) | x, t_x, T] of each customer's repeat transactions against the
actual count, in total, per calibration frequency (0, 1, ..., 7+), per customer (mean absolute
error, correlation), and cumulated week by week through the holdout. `cumulative_*` is the
papers' aggregate check: sum of E[X(T + h)] (unconditional, from each customer's first
purchase) against the actual repeat transactions of calibration and holdout together.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from crm_clv.summary import CustomerSummary
from crm_clv.valuation import TransactionModel

FloatArray = NDArray[np.float64]
TOP_BUCKET = 7


@frozen
class FrequencyBucket:
    label: str
    customers: int
    actual: float
    predicted: float


def _finite(value: float) -> float | None:
    """JSON has no NaN (a run artifact must be JSON): an undefined number is null."""
    return value if np.isfinite(value) else None


@frozen
class TrackingPoint:
    period: int  # weeks since the calibration end
    actual: float  # cumulative actual repeat transactions in the holdout
    predicted: float


@frozen
class Validation:
    """The holdout comparison; every total is a number of repeat transactions."""

    model: str
    holdout_length: float
    customers: int
    actual: float
    predicted: float
    mean_absolute_error: float
    correlation: float
    buckets: tuple[FrequencyBucket, ...]
    tracking: tuple[TrackingPoint, ...]
    cumulative_actual: float
    cumulative_predicted: float

    @property
    def error(self) -> float:
        """Relative error of the holdout total: (predicted - actual) / actual."""
        return (self.predicted - self.actual) / self.actual if self.actual else float("nan")

    @property
    def cumulative_error(self) -> float:
        if not self.cumulative_actual:
            return float("nan")
        return (self.cumulative_predicted - self.cumulative_actual) / self.cumulative_actual

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "holdout_length": self.holdout_length,
            "customers": self.customers,
            "actual": self.actual,
            "predicted": self.predicted,
            "error": _finite(self.error),
            "mean_absolute_error": self.mean_absolute_error,
            "correlation": _finite(self.correlation),
            "cumulative_actual": self.cumulative_actual,
            "cumulative_predicted": self.cumulative_predicted,
            "cumulative_error": _finite(self.cumulative_error),
            "buckets": [
                {
                    "frequency": b.label,
                    "customers": b.customers,
                    "actual": b.actual,
                    "predicted": b.predicted,
                }
                for b in self.buckets
            ],
            "tracking": [
                {"period": p.period, "actual": p.actual, "predicted": p.predicted}
                for p in self.tracking
            ],
        }


def validate(
    model: TransactionModel,
    calibration: CustomerSummary,
    holdout_counts: FloatArray,
    holdout_length: float,
    holdout_times: FloatArray | None = None,
    week: float = 1.0,
) -> Validation:
    """Compare `model` (fitted on `calibration`) with the holdout.

    `holdout_counts[i]` is customer i's repeat transactions in the holdout;
    `holdout_times` (optional) the time of every holdout transaction after the calibration
    end, in the model's unit, for the week-by-week tracking; `week` is a week in the model's
    unit (1 for weeks, 7 for days). A last partial week ends at the end of the holdout.
    """
    predicted = model.expected_transactions(calibration, holdout_length)
    actual = np.asarray(holdout_counts, dtype=np.float64)
    buckets = []
    for level in range(TOP_BUCKET + 1):
        chosen = calibration.x >= level if level == TOP_BUCKET else calibration.x == level
        label = f"{level}+" if level == TOP_BUCKET else str(level)
        buckets.append(
            FrequencyBucket(
                label=label,
                customers=int(chosen.sum()),
                actual=float(actual[chosen].sum()),
                predicted=float(predicted[chosen].sum()),
            )
        )
    tracking = []
    if holdout_times is not None:
        periods = int(np.ceil(holdout_length / week - 1e-9))
        times = np.sort(np.asarray(holdout_times, dtype=np.float64))
        for period in range(1, periods + 1):
            t = min(period * week, holdout_length)
            tracking.append(
                TrackingPoint(
                    period=period,
                    actual=float(np.searchsorted(times, t, side="right")),
                    predicted=float(model.expected_transactions(calibration, t).sum()),
                )
            )
    with np.errstate(invalid="ignore"):
        correlation = float(np.corrcoef(predicted, actual)[0, 1]) if len(actual) > 1 else 0.0
    cumulative = model.expected_transactions_new(calibration.T + holdout_length)
    return Validation(
        model=model.model,
        holdout_length=holdout_length,
        customers=len(calibration),
        actual=float(actual.sum()),
        predicted=float(predicted.sum()),
        mean_absolute_error=float(np.mean(np.abs(predicted - actual))),
        correlation=correlation,
        buckets=tuple(buckets),
        tracking=tuple(tracking),
        cumulative_actual=float(calibration.x.sum() + actual.sum()),
        cumulative_predicted=float(cumulative.sum()),
    )
