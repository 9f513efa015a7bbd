"""crm-churn-risk: an in-house crm plugin, registered as `churn` in the `crm` entry-point group.

It contributes
- the scorer `churn`, publishing `churn.overdue` and `churn.complaints` for every customer, and
- the segmentation `churn`, putting every customer who purchased in "Churn risk" or "Stable",
- the report `churn`, a chart and a table of how overdue customers are (`crm report churn`).

Both read their options from the `[churn]` table of crm.toml (see `ChurnOptions`).
"""

from __future__ import annotations

from collections.abc import Callable

from crm import ReportSpec, ScorerSpec, SegmentationSpec, hookimpl

from crm_churn_risk.options import ChurnOptions
from crm_churn_risk.report import ChurnReport
from crm_churn_risk.scoring import METRICS, ChurnScorer
from crm_churn_risk.segmentation import churn_segmenter

__all__ = ["ChurnOptions", "ChurnReport", "ChurnScorer", "churn_segmenter"]


def _scorer(_options: ChurnOptions) -> ChurnScorer:
    return ChurnScorer()


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(
        ScorerSpec(
            name="churn",
            factory=_scorer,
            metrics=METRICS,
            options=ChurnOptions,
            description="How overdue each customer's next purchase is, and their complaints.",
        )
    )


@hookimpl
def register_segmentations(register: Callable[[SegmentationSpec], None]) -> None:
    register(
        SegmentationSpec(
            name="churn",
            factory=churn_segmenter,
            options=ChurnOptions,
            description="Churn risk or Stable, for every customer who purchased.",
        )
    )


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(
        ReportSpec(
            name="churn",
            factory=ChurnReport,
            options=ChurnOptions,
            description="How overdue customers are, and how many are at risk.",
        )
    )
