"""Campaign results: reach, responses, attributed conversions and revenue, ROI, and a holdout.

Definitions (README, "Campaigns"), all before the analysis date:
- a campaign's *touches* are the interactions that carry its id in `campaign` and are not
  purchases; `reach` = customers touched; `responses` = touched customers with a touch of a kind
  outside `touch_kinds` (an open, a click) or a purchase carrying the campaign id;
- a *conversion* is a purchase (the lines of one customer at one moment are one purchase) at most
  `attribution_days` after a touch, the touch at or before it. With several touches in the window
  (of any campaigns) the model decides who gets it: `last` (the latest touch, the default),
  `first` (the earliest in the window) or `linear` (each touch an equal share);
- `revenue` = the attributed purchases' amounts times their share; `roi` = (revenue - cost) /
  cost, unavailable (not infinite) without a known cost; `cost_per_conversion` likewise.
Attribution is bookkeeping, not causation: a customer who would have bought anyway is counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, select

from crm import EventRule, EventSequences, Table

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm import Tables

DAY = 86_400
#: Kinds that only show the campaign to the customer; any other kind carrying it is a response.
TOUCH_KINDS = ("campaign_touch", "email_sent", "ad_impression", "impression", "sms_sent")
CAMPAIGN_COLUMNS = (
    "campaign", "channel", "start", "reach", "responses", "response_rate",
    "conversions", "revenue", "cost", "roi", "cost_per_conversion", "note",
)  # fmt: skip


@frozen
class CampaignEvents:
    """Campaign touches and purchases, as aligned columns sorted by customer then time."""

    touch_customer: NDArray[np.int64]
    touch_time: NDArray[np.int64]
    touch_campaign: NDArray[np.object_]
    touch_channel: NDArray[np.object_]
    touch_is_response: NDArray[np.bool_]
    purchase_customer: NDArray[np.int64]
    purchase_time: NDArray[np.int64]
    purchase_amount: NDArray[np.int64]
    purchase_campaign: NDArray[np.object_]


def read_campaign_events(
    connection: Connection,
    tables: Tables,
    as_of: date,
    touch_kinds: tuple[str, ...] = TOUCH_KINDS,
) -> CampaignEvents:
    rules = (
        EventRule(kinds=("purchase",)),
        EventRule(kinds=touch_kinds, campaigns=("*",)),
        EventRule(campaigns=("*",)),
    )
    sequences = EventSequences(rules=rules, end=as_of, extras=("campaign", "channel", "amount"))
    chunk = sequences.read(connection, tables)
    t = chunk.time.astype(np.int64)
    assert chunk.campaign is not None and chunk.channel is not None
    assert chunk.amount_minor is not None
    touch, buy = chunk.code != 0, chunk.code == 0
    # One purchase per customer and moment (an order of two lines), amounts summed.
    cust, when = chunk.customer_id[buy], t[buy]
    new = np.ones(cust.size, dtype=bool)
    new[1:] = (cust[1:] != cust[:-1]) | (when[1:] != when[:-1])
    group = np.cumsum(new) - 1
    amount = np.bincount(group, weights=chunk.amount_minor[buy], minlength=int(new.sum()))
    campaigns = chunk.campaign[buy]
    return CampaignEvents(
        touch_customer=chunk.customer_id[touch],
        touch_time=t[touch],
        touch_campaign=chunk.campaign[touch],
        touch_channel=chunk.channel[touch],
        touch_is_response=chunk.code[touch] == 2,
        purchase_customer=cust[new],
        purchase_time=when[new],
        purchase_amount=np.rint(amount).astype(np.int64),
        purchase_campaign=campaigns[new],
    )


@frozen
class Attribution:
    """Per campaign id: attributed conversions (fractional with `linear`) and revenue (minor)."""

    conversions: Mapping[str, float]
    revenue_minor: Mapping[str, float]


def attribute(events: CampaignEvents, window_days: float, model: str) -> Attribution:
    """Give each purchase to the touches at most `window_days` before it (see module doc)."""
    window = round(window_days * DAY)
    # Keys that sort like (customer, time): the touches are already in that order.
    base = min(int(events.touch_time.min(initial=0)), int(events.purchase_time.min(initial=0)))
    span = 1 << 34  # seconds: more than five centuries
    touch_key = events.touch_customer * span + (events.touch_time - base)
    buy_key = events.purchase_customer * span + (events.purchase_time - base)
    lo = np.searchsorted(touch_key, buy_key - window, side="left")
    hi = np.searchsorted(touch_key, buy_key, side="right")
    # Keys of one customer only: a window never reaches another customer's touches, because
    # the time part stays inside [0, span).
    hit = hi > lo
    n_touch = touch_key.size
    credit = np.zeros(n_touch)
    money = np.zeros(n_touch)
    amount = events.purchase_amount.astype(np.float64)
    if model == "last":
        np.add.at(credit, hi[hit] - 1, 1.0)
        np.add.at(money, hi[hit] - 1, amount[hit])
    elif model == "first":
        np.add.at(credit, lo[hit], 1.0)
        np.add.at(money, lo[hit], amount[hit])
    elif model == "linear":
        share = 1.0 / (hi[hit] - lo[hit])
        # Each touch in [lo, hi) gets `share`: a difference array, then a running sum.
        for weights, out in ((share, credit), (share * amount[hit], money)):
            diff = np.zeros(n_touch + 1)
            np.add.at(diff, lo[hit], weights)
            np.add.at(diff, hi[hit], -weights)
            out += np.cumsum(diff)[:-1]
    else:
        raise ValueError(f"attribution model must be last, first or linear, got {model!r}")
    names, inverse = np.unique(events.touch_campaign.astype(str), return_inverse=True)
    conversions = np.bincount(inverse, weights=credit, minlength=names.size)
    revenue = np.bincount(inverse, weights=money, minlength=names.size)
    return Attribution(
        conversions={str(n): float(c) for n, c in zip(names, conversions, strict=True)},
        revenue_minor={str(n): float(r) for n, r in zip(names, revenue, strict=True)},
    )


def reach_and_responses(events: CampaignEvents) -> dict[str, tuple[int, int]]:
    """Per campaign: (customers touched, touched customers who responded)."""
    campaign = events.touch_campaign.astype(str)
    # Campaign ids are non-empty text, so truthiness tells an id from None.
    bought = events.purchase_campaign.astype(bool)
    out: dict[str, tuple[int, int]] = {}
    for name in np.unique(campaign):
        mine = campaign == name
        touched = np.unique(events.touch_customer[mine])
        answers = np.concatenate(
            [
                events.touch_customer[mine & events.touch_is_response],
                events.purchase_customer[bought & (events.purchase_campaign == name)],
            ]
        )
        answered = np.intersect1d(answers, touched)
        out[str(name)] = (int(touched.size), int(answered.size))
    return out


def _money(minor: float | int | None) -> float | None:
    return None if minor is None else round(minor / 100.0, 2)


def campaign_rows(
    connection: Connection,
    tables: Tables,
    as_of: date,
    *,
    window_days: float,
    model: str,
) -> list[tuple[Any, ...]]:
    """One row per campaign (the campaigns table, then ids only interactions know)."""
    events = read_campaign_events(connection, tables, as_of)
    attribution = attribute(events, window_days, model)
    reached = reach_and_responses(events)
    c = tables.campaign.c
    known = connection.execute(
        select(c.id, c.channel, c.starts_on, c.cost_minor).order_by(c.starts_on, c.id)
    ).all()
    listed = {row.id for row in known}
    rows: list[tuple[Any, ...]] = []
    for row in known:
        rows.append(
            _row(row.id, row.channel, row.starts_on, row.cost_minor, "", reached, attribution)
        )
    for name in sorted(set(reached) - listed):
        rows.append(_row(name, None, None, None, "not imported", reached, attribution))
    return rows


def _row(
    campaign: str,
    channel: str | None,
    start: date | None,
    cost_minor: int | None,
    note: str,
    reached: Mapping[str, tuple[int, int]],
    attribution: Attribution,
) -> tuple[Any, ...]:
    reach, responses = reached.get(campaign, (0, 0))
    conversions = attribution.conversions.get(campaign, 0.0)
    revenue = attribution.revenue_minor.get(campaign, 0.0)
    notes = [note] if note else []
    roi = per_conversion = None
    if cost_minor is None:
        notes.append("no cost")
    elif cost_minor == 0:
        notes.append("cost 0")
    else:
        roi = round((revenue - cost_minor) / cost_minor, 2)
    if cost_minor is not None and conversions > 0:
        per_conversion = _money(cost_minor / conversions)
    return (
        campaign, channel, None if start is None else start.isoformat(), reach, responses,
        round(responses / reach, 4) if reach else None, round(conversions, 2), _money(revenue),
        _money(cost_minor), roi, per_conversion, "; ".join(notes),
    )  # fmt: skip


def campaign_table(rows: list[tuple[Any, ...]], title: str) -> Table:
    return Table(columns=CAMPAIGN_COLUMNS, rows=tuple(rows), title=title)
