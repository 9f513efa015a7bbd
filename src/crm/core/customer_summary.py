"""What `crm customers show` adds to a profile: purchase totals, segment meanings, staleness.

Purchase totals come from one SQL aggregate over the customer's purchases (counted as the
segmentation counts them: distinct order ids, plus one per purchase without an order id).
A customer is "newer than the run" when they were added, or bought, after the run they are
shown from: their segments then describe an older picture, or none at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, and_, case, func, literal, select

from crm.core.facts import PURCHASE
from crm.core.schema import Tables
from crm.core.segment import Run, Segment


@frozen(kw_only=True)
class PurchaseTotals:
    count: int
    revenue: Decimal
    first: datetime | None
    last: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "revenue": self.revenue,
            "first": self.first,
            "last": self.last,
        }


def purchase_totals(connection: Connection, tables: Tables, external_id: str) -> PurchaseTotals:
    i, c = tables.interaction, tables.customer
    row = connection.execute(
        select(
            (
                func.count(i.c.order_id.distinct())
                + func.coalesce(func.sum(case((i.c.order_id.is_(None), 1), else_=0)), 0)
            ).label("count"),
            func.coalesce(func.sum(i.c.amount_minor), 0).label("revenue_minor"),
            func.min(i.c.occurred_at).label("first"),
            func.max(i.c.occurred_at).label("last"),
        )
        .select_from(i.join(c, c.c.id == i.c.customer_id))
        .where(and_(c.c.external_id == external_id, i.c.kind == literal(PURCHASE)))
    ).one()
    count, revenue_minor, first, last = row
    return PurchaseTotals(
        count=int(count or 0),
        revenue=(Decimal(int(revenue_minor)) / 100).quantize(Decimal("0.01")),
        first=first,
        last=last,
    )


@frozen(kw_only=True)
class SegmentMeaning:
    segmentation: str
    segment: str
    description: str
    action: str


def segment_meanings(
    segments: Mapping[str, str], known: Mapping[str, Sequence[Segment]]
) -> tuple[SegmentMeaning, ...]:
    """Each (segmentation, segment name) with the description and action the current
    configuration gives it (empty when the segment no longer exists)."""
    meanings = []
    for segmentation, name in segments.items():
        found = next((s for s in known.get(segmentation, ()) if s.name == name), None)
        meanings.append(
            SegmentMeaning(
                segmentation=segmentation,
                segment=name,
                description=found.description if found else "",
                action=found.action if found else "",
            )
        )
    return tuple(meanings)


def newer_than_run(
    run: Run | None, created_at: datetime | None, totals: PurchaseTotals
) -> str | None:
    """Why this customer's shown segments are out of date, or None when they are not."""
    if run is None:
        return "no segmentation run is stored yet"
    if created_at is not None and created_at > run.created_at:
        return f"the customer was added after run {run.id} was computed"
    if totals.last is not None and totals.last.date() >= run.as_of:
        return f"the customer bought on or after run {run.id}'s analysis date ({run.as_of})"
    return None
