"""The tables `crm segment` prints: a summary per segment and one row per customer."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

from crm.core.components import Metric, Table
from crm.core.pipeline import SegmentationResult

#: Metric kinds whose per-segment mean is shown in the summary (raw quantities, not scores).
SUMMARY_MEAN_KINDS = ("days", "count", "money")
UNSEGMENTED = "(none)"


def metric_value(metric: Metric, value: float) -> Any:
    """A metric value as it should appear in output: None, int, exact money or a rounded float."""
    if math.isnan(value):
        return None
    if metric.kind == "money":
        return (Decimal(round(value)) / 100).quantize(Decimal("0.01"))
    if metric.kind in ("score", "count", "days"):
        return round(value)
    return round(value, 6)


def _mean(metric: Metric, values: np.ndarray) -> Any:
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None
    mean = float(finite.mean())
    if metric.kind == "money":
        return (Decimal(round(mean)) / 100).quantize(Decimal("0.01"))
    return round(mean, 2)


def segment_summary(result: SegmentationResult) -> Table:
    """One row per (segmentation, segment): customers, share of all customers, revenue and its
    share, the segment's mean of each raw metric, and the segment's description and action.

    Customers a segmentation leaves out (RFM: those who never purchased) form a last row
    named "(none)" when there are any.
    """
    mean_metrics = [(n, m) for n, m in result.metrics.items() if m.kind in SUMMARY_MEAN_KINDS]
    columns = (
        "segmentation",
        "segment",
        "customers",
        "share",
        "revenue",
        "revenue_share",
        *(f"mean_{name}" for name, _ in mean_metrics),
        "description",
        "action",
    )
    total = len(result.facts)
    revenue = result.facts.revenue_minor
    total_revenue = int(revenue.sum())
    rows = []
    for outcome in result.outcomes:
        codes = outcome.codes
        for index, segment in [*enumerate(outcome.segments), (-1, None)]:
            members = codes == index
            count = int(members.sum())
            if segment is None and count == 0:
                continue
            seg_revenue = int(revenue[members].sum())
            rows.append(
                (
                    outcome.name,
                    segment.name if segment else UNSEGMENTED,
                    count,
                    round(count / total, 4) if total else 0.0,
                    (Decimal(seg_revenue) / 100).quantize(Decimal("0.01")),
                    round(seg_revenue / total_revenue, 4) if total_revenue else 0.0,
                    *(_mean(m, result.scores[n][members]) for n, m in mean_metrics),
                    segment.description if segment else "",
                    segment.action if segment else "",
                )
            )
    return Table(columns=columns, rows=tuple(rows), title=f"Segments as of {result.as_of}")


def customer_rows(result: SegmentationResult) -> Table:
    """One row per customer: `customer_id`, a column per segmentation, a column per metric."""
    metric_names = list(result.metrics)
    columns = ("customer_id", *(o.name for o in result.outcomes), *metric_names)
    segment_columns = [o.segment_names() for o in result.outcomes]
    metric_columns = [
        [metric_value(result.metrics[n], v) for v in result.scores[n].tolist()]
        for n in metric_names
    ]
    rows = tuple(
        zip(result.facts.external_id.tolist(), *segment_columns, *metric_columns, strict=True)
    )
    return Table(columns=columns, rows=rows, title=f"Customers as of {result.as_of}")
