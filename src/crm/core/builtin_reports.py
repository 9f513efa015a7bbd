"""The core's own reports, registered through `register_reports` like any plugin's.

`crm report segments` is the summary `crm segment` prints; `crm report customers` the per-customer
table of `crm segment --customers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen

from crm.core.components import ReportSpec, Table
from crm.core.hooks import hookimpl


@frozen
class SegmentSummaryReport:
    def build(self, result: Any) -> Table:
        from crm.core.reports import segment_summary

        return segment_summary(result)


@frozen
class CustomerReport:
    def build(self, result: Any) -> Table:
        from crm.core.reports import customer_rows

        return customer_rows(result)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(
        ReportSpec(
            name="segments",
            factory=lambda _options: SegmentSummaryReport(),
            description="customers, share, revenue and means per segment",
        )
    )
    register(
        ReportSpec(
            name="customers",
            factory=lambda _options: CustomerReport(),
            description="one row per customer: segments and scores",
        )
    )
