"""The 4C view per segment: customer needs, cost, convenience, communication.

Every figure is over the segment's customers and their interactions before the analysis date;
the columns each reads are in the README ("The 4C view"). A figure the data cannot support is
`None` with the reason in `note` (no category attribute, no e-mail touches), never 0.
Per-customer aggregates are SQL GROUP BYs; segments are combined on numpy columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, func, select

from crm import Table
from crm_aidas.campaign_roi import CampaignEvents

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm import Facts, Tables

DAY = 86_400
TOP = 3
FOUR_C_COLUMNS = ("segment", "c", "measure", "value", "note")
SERVICE_KINDS = ("ticket", "complaint", "feedback")


def _moment(as_of: date) -> Any:
    from datetime import datetime, time

    return datetime.combine(as_of, time.min)


class SegmentIndex:
    """Maps database customer ids to their segment label (None: not in the segmentation)."""

    def __init__(self, facts: Facts, labels: NDArray[np.object_]) -> None:
        self.ids = facts.customer_id
        self.labels = labels

    def of(self, customer_ids: Sequence[int] | NDArray[np.int64]) -> NDArray[np.object_]:
        ids = np.asarray(customer_ids, dtype=np.int64)
        out = np.full(ids.size, None, dtype=object)
        if not self.ids.size or not ids.size:
            return out
        at = np.minimum(np.searchsorted(self.ids, ids), self.ids.size - 1)
        known = self.ids[at] == ids
        out[known] = self.labels[at[known]]
        return out


def _grouped(
    connection: Connection, query: Any, index: SegmentIndex
) -> tuple[NDArray[np.object_], list[Any], NDArray[np.float64]]:
    """Rows (customer_id, key, n) of `query` as (segment, key, n) columns."""
    rows = connection.execute(query).all()
    segments = index.of([r[0] for r in rows])
    return segments, [r[1] for r in rows], np.array([r[2] for r in rows], dtype=np.float64)


def _top(
    segments: NDArray[np.object_], keys: list[Any], counts: NDArray[np.float64], segment: str
) -> str | None:
    mine = segments == segment
    totals: dict[str, float] = {}
    for key, n in zip(
        np.array(keys, dtype=object)[mine].tolist(), counts[mine].tolist(), strict=True
    ):
        totals[str(key)] = totals.get(str(key), 0.0) + n
    whole = sum(totals.values())
    if not whole:
        return None
    best = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return ", ".join(f"{key} {value / whole:.0%}" for key, value in best)


def _discounted(text: str | None) -> bool:
    if text is None:
        return False
    try:
        return Decimal(text.strip().rstrip("%")) > 0
    except InvalidOperation:
        return text.strip().lower() in ("yes", "true")


def four_c_rows(
    connection: Connection,
    tables: Tables,
    as_of: date,
    facts: Facts,
    labels: NDArray[np.object_],
    segments: Sequence[str],
    campaign_events: CampaignEvents,
    journey_days: Callable[[], tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]],
    *,
    category: str,
    topic: str,
    discount: str,
    email_open_kind: str,
) -> list[tuple[Any, ...]]:
    i = tables.interaction
    before = i.c.occurred_at < _moment(as_of)
    index = SegmentIndex(facts, labels)
    purchase = (i.c.kind == "purchase") & before
    cat = i.c.attributes[category].as_string()
    cats = _grouped(connection, select(i.c.customer_id, cat, func.count()).where(purchase, cat.is_not(None)).group_by(i.c.customer_id, cat), index)  # fmt: skip
    top_ = i.c.attributes[topic].as_string()
    service = i.c.kind.in_(SERVICE_KINDS) & before
    topics = _grouped(connection, select(i.c.customer_id, top_, func.count()).where(service, top_.is_not(None)).group_by(i.c.customer_id, top_), index)  # fmt: skip
    disc = i.c.attributes[discount].as_string()
    discounts = _grouped(connection, select(i.c.customer_id, disc, func.count()).where(purchase).group_by(i.c.customer_id, disc), index)  # fmt: skip
    has_discount = any(key is not None for key in discounts[1])
    lines = _grouped(connection, select(i.c.customer_id, func.count(), func.sum(i.c.amount_minor)).where(purchase, i.c.amount_minor.is_not(None)).group_by(i.c.customer_id), index)  # fmt: skip
    # (customer, line count, amount sum): the key column holds the count here.
    line_count = np.array(lines[1], dtype=np.float64)
    chan = _grouped(connection, select(i.c.customer_id, i.c.channel, func.count()).where(before, i.c.channel.is_not(None)).group_by(i.c.customer_id, i.c.channel), index)  # fmt: skip
    kinds = _grouped(connection, select(i.c.customer_id, i.c.kind, func.count()).where(before).group_by(i.c.customer_id, i.c.kind), index)  # fmt: skip
    contact = before & (i.c.kind != "purchase")
    last = connection.execute(select(i.c.customer_id, func.max(i.c.occurred_at)).where(contact).group_by(i.c.customer_id)).all()  # fmt: skip
    last_segment = index.of([r[0] for r in last])
    as_of_s = np.datetime64(as_of, "s").astype(np.int64)
    last_days = np.array(
        [(as_of_s - np.datetime64(r[1], "s").astype(np.int64)) / DAY for r in last], dtype=float
    )
    touched_segment = index.of(campaign_events.touch_customer)
    journey_ids, journey_touches, journey_days_ = journey_days()
    journey_segment = index.of(journey_ids)
    kind_keys = np.array(kinds[1], dtype=object)
    email_touches = (campaign_events.touch_channel == "email") & ~campaign_events.touch_is_response
    rows: list[tuple[Any, ...]] = []
    for segment in segments:
        in_segment = labels == segment
        people = int(in_segment.sum())

        def add(c: str, measure: str, value: Any, note: str = "", seg: str = segment) -> None:
            rows.append((seg, c, measure, value, note))

        if not people:
            add("needs", "customers", 0, "nobody in this segment")
            continue
        add("needs", "customers", people)
        top_cats = _top(*cats, segment)
        add("needs", "top_categories", top_cats,
            "" if top_cats else f"unavailable: no purchase carries a {category!r} attribute")  # fmt: skip
        top_topics = _top(*topics, segment)
        add("needs", "top_topics", top_topics,
            "" if top_topics else f"unavailable: no ticket, complaint or feedback carries a {topic!r} attribute")  # fmt: skip
        mine = lines[0] == segment
        n_lines, amount = float(line_count[mine].sum()), float(lines[2][mine].sum())
        purchases = float(facts.purchases[in_segment].sum())
        revenue = float(facts.revenue_minor[in_segment].sum())
        add("cost", "average_price", round(amount / n_lines / 100, 2) if n_lines else None,
            "" if n_lines else "unavailable: no purchase with an amount")  # fmt: skip
        add("cost", "spend_per_purchase", round(revenue / purchases / 100, 2) if purchases else None,
            "" if purchases else "unavailable: no purchases")  # fmt: skip
        if not has_discount:
            add(
                "cost",
                "discount_share",
                None,
                f"unavailable: no purchase carries a {discount!r} attribute",
            )
        elif not n_lines:
            add("cost", "discount_share", None, "unavailable: no purchases")
        else:
            d = discounts[0] == segment
            flagged = sum(n for key, n in zip(np.array(discounts[1], dtype=object)[d], discounts[2][d], strict=True) if _discounted(key))  # fmt: skip
            total = float(discounts[2][d].sum())
            add("cost", "discount_share", round(flagged / total, 4) if total else None)
        top_channels = _top(*chan, segment)
        add("convenience", "channels", top_channels,
            "" if top_channels else "unavailable: no interaction records a channel")  # fmt: skip
        j = (journey_segment == segment) & ~np.isnan(journey_days_)
        add("convenience", "median_touches_to_purchase", float(np.median(journey_touches[j])) if j.any() else None,
            "" if j.any() else "unavailable: nobody reached the action stage")  # fmt: skip
        add("convenience", "median_days_first_touch_to_purchase", round(float(np.median(journey_days_[j])), 2) if j.any() else None,
            "" if j.any() else "unavailable: nobody reached the action stage")  # fmt: skip
        touched = np.unique(campaign_events.touch_customer[touched_segment == segment])
        responded = np.unique(
            campaign_events.touch_customer[
                (touched_segment == segment) & campaign_events.touch_is_response
            ]
        )
        add("communication", "campaign_response_rate", round(responded.size / touched.size, 4) if touched.size else None,
            "" if touched.size else "unavailable: no campaign touched this segment")  # fmt: skip
        ks = kinds[0] == segment
        opens = float(kinds[2][ks & (kind_keys == email_open_kind)].sum())
        touched_email = int((email_touches & (touched_segment == segment)).sum())
        add("communication", "email_open_rate", round(opens / touched_email, 4) if touched_email else None,
            "" if touched_email else "unavailable: no e-mail campaign touches (channel 'email')")  # fmt: skip
        for kind in ("complaint", "feedback"):
            with_kind = int(((kinds[0] == segment) & (kind_keys == kind)).sum())
            add("communication", f"{kind}_rate", round(with_kind / people, 4))
        contacted = last_segment == segment
        add("communication", "median_days_since_last_contact",
            round(float(np.median(last_days[contacted])), 1) if contacted.any() else None,
            "" if contacted.any() else "unavailable: no contact recorded")  # fmt: skip
    return rows


def four_c_table(rows: list[tuple[Any, ...]], title: str) -> Table:
    return Table(columns=FOUR_C_COLUMNS, rows=tuple(rows), title=title)
