"""crm-rfm: recency, frequency and monetary scores, and the 11-segment recency x FM map.

A crm plugin registered through the `crm` entry-point group, exactly like an in-house plugin.
Its options are the `[rfm]` table of crm.toml (`crm_rfm.options.RfmOptions`); the scoring and
rounding rules are in `crm_rfm.scoring` and the README.

This module stays light (no numpy at import) because crm loads enabled plugins for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm import Metric, ReportSpec, ScorerSpec, SegmentationSpec, hookimpl
from crm_rfm.options import RfmOptions, RfmThresholds, default_segment_map

if TYPE_CHECKING:
    from crm.core.segment_map import SegmentMap
    from crm_rfm.report import RfmExplainReport, RfmReport
    from crm_rfm.scoring import RfmScorer

__version__ = "0.1.0"
__all__ = [
    "SCORER",
    "SEGMENTATION",
    "RfmOptions",
    "RfmThresholds",
    "default_segment_map",
    "make_scorer",
    "make_segment_map",
]


def make_scorer(options: RfmOptions) -> RfmScorer:
    """The `rfm` scorer for these options."""
    from crm_rfm.scoring import RfmScorer

    return RfmScorer(options)


def make_segment_map(options: RfmOptions) -> SegmentMap:
    """The `rfm` segmentation: the options' segment map (the default grid unless replaced)."""
    return options.build_segment_map()


SCORER = ScorerSpec(
    name="rfm",
    factory=make_scorer,
    options=RfmOptions,
    metrics=(
        Metric("recency", "days", "whole days from the last purchase to the analysis date"),
        Metric("frequency", "count", "purchases (distinct orders where an order id exists)"),
        Metric("monetary", "money", "total spend, or average spend per purchase"),
        Metric("r", "score", "recency score 1..bins (higher = more recent)"),
        Metric("f", "score", "frequency score 1..bins (higher = more purchases)"),
        Metric("m", "score", "monetary score 1..bins (higher = more spend)"),
        Metric("fm", "score", "floor((f + m) / 2)"),
    ),
    description="Recency, frequency and monetary value, scored 1..bins by quantiles or thresholds",
)

SEGMENTATION = SegmentationSpec(
    name="rfm",
    factory=make_segment_map,
    options=RfmOptions,
    description="RFM segments from a grid of scores (default: 11 segments over R x FM)",
    headline=True,
)


def make_report(options: RfmOptions) -> RfmReport:
    from crm_rfm.report import RfmReport

    return RfmReport(options)


def make_explain_report(options: RfmOptions) -> RfmExplainReport:
    from crm_rfm.report import RfmExplainReport

    return RfmExplainReport(options)


REPORTS = (
    ReportSpec(
        name="rfm",
        factory=make_report,
        options=RfmOptions,
        description="R x FM grid as a heat map, score distributions and this run's cut points",
    ),
    ReportSpec(
        name="rfm-explain",
        factory=make_explain_report,
        options=RfmOptions,
        description="the segment map and this run's cut points: why a customer is where they are",
        in_document=False,
        explains="rfm",
    ),
)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    for spec in REPORTS:
        register(spec)


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(SCORER)


@hookimpl
def register_segmentations(register: Callable[[SegmentationSpec], None]) -> None:
    register(SEGMENTATION)
