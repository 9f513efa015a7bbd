"""Deals: `stage_change` interactions that carry an order id (the deal) and an amount (its value).

Per deal, from its events in time order: it opened at its first event; its value is the last
amount given; it closed at its first won or lost event (events after that are ignored); an open
deal's current stage is the stage of its last event. P(win | stage) is estimated from the deals
that reached the stage before closing: the share of them that were won, each closed deal weighted
against censoring (`crm_funnel.censoring`: the deals still open at the end of the history count
through the closed deals that took at least as long), with a Wilson score interval on the
effective number of deals.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import EventChunk, EventRule, EventSequences
from crm_funnel.censoring import censoring_weights, effective_size
from crm_funnel.options import DealOptions

if TYPE_CHECKING:
    from datetime import date

    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm import Tables


def read_deal_events(
    connection: Connection, tables: Tables, options: DealOptions, as_of: date
) -> EventChunk:
    """Deal stage events before `as_of`; codes index `options.stages + won + lost`."""
    stages = (*options.stages, *options.terminal())
    sequences = EventSequences(
        rules=tuple(EventRule(stages=(s,)) for s in stages),
        end=as_of,
        extras=("amount", "order_id"),
    )
    events = sequences.read(connection, tables)
    assert events.order_id is not None
    return events.take(events.order_id.astype(bool))  # stage changes of no deal are not deals


@frozen
class Deals:
    """One entry per deal, aligned. Times are UTC seconds; `closed_at` is -1 for open deals, which
    were still open at `until`, the end of the history they were built from."""

    deal_id: NDArray[np.object_]
    opened_at: NDArray[np.int64]
    closed_at: NDArray[np.int64]
    won: NDArray[np.bool_]
    stage: NDArray[np.int64]  # open deals: index of the current open stage; closed: -1
    reached: NDArray[np.bool_]  # [deal, open stage]: reached before closing
    entered_at: NDArray[np.int64]  # [deal, open stage]: first reached (-1: never)
    value_minor: NDArray[np.int64]
    until: int

    @property
    def closed(self) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = self.closed_at >= 0
        return result

    def __len__(self) -> int:
        return int(self.deal_id.shape[0])


def build_deals(events: EventChunk, options: DealOptions, until: int) -> Deals:
    """Deals as they stood at `until` (UTC seconds), from their events before it."""
    assert events.order_id is not None and events.amount_minor is not None
    assert events.amount_known is not None
    t = events.time.astype(np.int64)
    keep = t < until
    ids, deal = np.unique(events.order_id[keep].astype(str), return_inverse=True)
    t, code = t[keep], events.code[keep]
    amount, known = events.amount_minor[keep], events.amount_known[keep]
    order = np.lexsort((t, deal))
    deal, t, code, amount, known = deal[order], t[order], code[order], amount[order], known[order]
    n_open, n_won = len(options.stages), len(options.won)
    n = ids.size
    terminal = code >= n_open
    close_event = np.full(n, -1, dtype=np.int64)
    term_idx = np.flatnonzero(terminal)
    first_term = np.unique(deal[term_idx], return_index=True)
    close_event[first_term[0]] = term_idx[first_term[1]]
    closed = close_event >= 0
    # An event counts for its deal only up to the deal's close.
    limit = np.where(closed, close_event, len(deal))[deal]
    live = np.arange(len(deal)) <= limit
    reached = np.zeros((n, n_open), dtype=bool)
    open_events = live & ~terminal
    reached[deal[open_events], code[open_events]] = True
    never = np.iinfo(np.int64).max
    entered = np.full((n, n_open), never, dtype=np.int64)
    np.minimum.at(entered, (deal[open_events], code[open_events]), t[open_events])
    entered[entered == never] = -1
    last_open = np.full(n, -1, dtype=np.int64)
    last_open[deal[open_events]] = code[open_events]  # in time order: the last one stays
    value = np.zeros(n, dtype=np.int64)
    valued = live & known
    value[deal[valued]] = amount[valued]
    opened = np.full(n, 0, dtype=np.int64)
    first = np.unique(deal, return_index=True)
    opened[first[0]] = t[first[1]]
    closed_at = np.where(closed, t[np.maximum(close_event, 0)], -1)
    won = closed & (code[np.maximum(close_event, 0)] < n_open + n_won)
    return Deals(
        deal_id=ids.astype(object),
        opened_at=opened,
        closed_at=closed_at,
        won=won,
        stage=np.where(closed, -1, last_open),
        reached=reached,
        entered_at=entered,
        value_minor=value,
        until=until,
    )


def stage_at(events: EventChunk, options: DealOptions, moment: int) -> dict[str, int]:
    """Each deal's open stage at `moment`: its last open-stage event before it, else its first."""
    assert events.order_id is not None
    t = events.time.astype(np.int64)
    is_open = events.code < len(options.stages)
    ids, deal = np.unique(events.order_id[is_open].astype(str), return_inverse=True)
    t, code = t[is_open], events.code[is_open]
    order = np.lexsort((t, deal))
    deal, t, code = deal[order], t[order], code[order]
    stage = np.full(ids.size, -1, dtype=np.int64)
    first = np.unique(deal, return_index=True)
    stage[first[0]] = code[first[1]]
    before = t < moment
    stage[deal[before]] = code[before]  # in time order: the last one before the moment stays
    return dict(zip(ids.tolist(), stage.tolist(), strict=True))


@frozen
class WinEstimate:
    stage: str
    deals: int
    won: int
    p: float | None
    low: float | None
    high: float | None


def wilson(
    won: float, n: float, confidence: float
) -> tuple[float | None, float | None, float | None]:
    """The share won and its Wilson score interval (Wilson 1927); None without deals."""
    if n == 0:
        return None, None, None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = won / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, max(0.0, centre - half), min(1.0, centre + half)


def estimate_win_probability(deals: Deals, options: DealOptions) -> list[WinEstimate]:
    """P(win | reached the stage): among the deals that reached it, the share won, corrected for
    the ones still open (`censoring_weights`, time counted from entering the stage). `deals` and
    `won` count the closed deals; the interval is Wilson's on the effective number of deals."""
    closed = deals.closed
    estimates = []
    for k, stage in enumerate(options.stages):
        base = deals.reached[:, k]
        ended = np.where(closed, deals.closed_at, deals.until)[base]
        weights = censoring_weights(ended - deals.entered_at[base, k], closed[base])
        n, won = int(closed[base].sum()), int(deals.won[base].sum())
        p, low, high = weighted_share(weights, deals.won[base], options.confidence)
        estimates.append(WinEstimate(stage, n, won, p, low, high))
    return estimates


def weighted_share(
    weights: NDArray[np.float64], won: NDArray[np.bool_], confidence: float
) -> tuple[float | None, float | None, float | None]:
    """The weighted share won, with Wilson's interval on Kish's effective sample size."""
    total = float(weights.sum())
    if total <= 0:
        return None, None, None
    share = float(weights[won].sum()) / total
    n = effective_size(weights)
    _, low, high = wilson(share * n, n, confidence)
    return share, low, high
