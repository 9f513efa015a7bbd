"""The tables `crm segment` prints: a summary per segment and one row per customer."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from crm.core.components import Metric, Table
from crm.core.errors import ConfigError
from crm.core.pipeline import SegmentationResult
from crm.core.report_model import Figure, Series

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
    return Table(
        columns=columns,
        rows=tuple(rows),
        title=f"Segments as of {result.as_of}",
        name="segments",
        customers_column="customers",
    )


def segment_figures(result: SegmentationResult) -> tuple[Figure, ...]:
    """Per segmentation, a bar chart of each segment's share of customers and of revenue."""
    total = len(result.facts)
    revenue = result.facts.revenue_minor
    total_revenue = int(revenue.sum())
    figures = []
    for outcome in result.outcomes:
        names, counts, shares, revenue_shares = [], [], [], []
        for index, segment in [*enumerate(outcome.segments), (-1, None)]:
            members = outcome.codes == index
            count = int(members.sum())
            if segment is None and count == 0:
                continue
            names.append(segment.name if segment else UNSEGMENTED)
            counts.append(count)
            shares.append(round(100 * count / total, 2) if total else 0.0)
            seg_revenue = int(revenue[members].sum())
            revenue_shares.append(
                round(100 * seg_revenue / total_revenue, 2) if total_revenue else 0.0
            )
        figures.append(
            Figure(
                kind="bar",
                title=f"{outcome.name}: segment sizes and revenue",
                categories=tuple(names),
                series=(
                    Series(name="share of customers", values=shares, customers=counts),
                    Series(name="share of revenue", values=revenue_shares, customers=counts),
                ),
                x_label="segment",
                y_label="share",
                unit="%",
                caption=f"Each segment of {outcome.name} as a share of all {total} customers "
                "and of all revenue.",
            )
        )
    return tuple(figures)


def customer_rows(
    result: SegmentationResult, only: Mapping[str, Collection[str]] | None = None
) -> Table:
    """One row per customer: `customer_id`, a column per segmentation, a column per metric.

    `only` keeps the customers whose segment of each named segmentation is one of the given
    names (`{"rfm": ["At Risk", "Cannot Lose Them"]}`); an unknown name is a ConfigError.
    """
    keep = np.ones(len(result.facts), dtype=bool)
    outcomes = {o.name: o for o in result.outcomes}
    for segmentation, wanted in (only or {}).items():
        outcome = outcomes.get(segmentation)
        known = [s.name for s in outcome.segments] if outcome else []
        unknown = [w for w in wanted if w not in known]
        if outcome is None or unknown:
            what = f"segment {unknown[0]!r} of " if outcome else ""
            raise ConfigError(
                f"no {what}segmentation {segmentation!r}; known: "
                + (", ".join(known) if outcome else ", ".join(outcomes) or "none")
            )
        keep &= np.isin(outcome.segment_names(), list(wanted))
    metric_names = list(result.metrics)
    columns = ("customer_id", *(o.name for o in result.outcomes), *metric_names)
    segment_columns = [o.segment_names()[keep] for o in result.outcomes]
    metric_columns = [
        [metric_value(result.metrics[n], v) for v in result.scores[n][keep].tolist()]
        for n in metric_names
    ]
    rows = tuple(
        zip(result.facts.external_id[keep].tolist(), *segment_columns, *metric_columns, strict=True)
    )
    return Table(columns=columns, rows=rows, title=f"Customers as of {result.as_of}")
