"""The core's own reports, registered through `register_reports` like any plugin's.

`crm report segments` is the summary `crm segment` prints, with a bar chart of each
segmentation's segment sizes and revenue; `crm report customers` the per-customer table of
`crm segment --customers` (a list, so not part of the whole HTML report).
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from crm.core.components import ReportContext, ReportSpec, Table
from crm.core.hooks import hookimpl
from crm.core.report_model import Section


@frozen
class SegmentSummaryReport:
    def build(self, context: ReportContext) -> Section:
        from crm.core.reports import segment_figures, segment_summary

        summary = segment_summary(context.run)
        return Section(title="Segments", blocks=(summary, *segment_figures(context.run)))


@frozen
class CustomerReport:
    def build(self, context: ReportContext) -> Table:
        from crm.core.reports import customer_rows

        return customer_rows(context.run)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(
        ReportSpec(
            name="segments",
            factory=lambda _options: SegmentSummaryReport(),
            description="customers, share, revenue and means per segment, with bar charts",
        )
    )
    register(
        ReportSpec(
            name="customers",
            factory=lambda _options: CustomerReport(),
            description="one row per customer: segments and scores",
            in_document=False,
        )
    )
