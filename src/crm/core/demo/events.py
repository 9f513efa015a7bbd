"""Everything the sample customers do besides buying, tied to their (hidden) value and lifetime.

- visits: before the first purchase, while alive (more for frequent buyers) and rarely after
  lapsing; non-buyers browse a little;
- campaigns: a few named campaigns a year; each reaches the customers who existed then and gave
  the matching consent (campaign_touch); e-mail ones are opened more by active, frequent buyers
  (email_open); a purchase within a week of a touch is attributed to the last such campaign;
- service: a ticket or a piece of feedback follows some orders; complaints are rare and mostly
  come from buyers shortly before they lapse;
- stage_change rows for every funnel stage reached, "customer" at the first purchase.

The campaigns are labels only: they do not change the buying process, so a CLV fit still meets
the true parameters. All events stay inside the window and never precede the customer's lead time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import define, field, frozen

from crm.core.demo.deals import draw_deals
from crm.core.demo.process import CHANNELS, Orders, Population, channel_codes, poisson_events
from crm.core.interaction import KNOWN_KINDS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.demo.people import People

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.int64]

#: (name, month, day, channel): each runs every year on that day, named "<name>-<year>".
CAMPAIGNS = (
    ("new-year-sale", 1, 8, "email"),
    ("spring-collection", 3, 20, "email"),
    ("summer-sale", 6, 20, "sms"),
    ("back-to-school", 9, 1, "web"),
    ("black-friday", 11, 27, "email"),
)
#: Share of customers with profiling consent that a web (display) campaign reaches.
WEB_REACH = 0.5
ATTRIBUTION_DAYS = 7.0
ATTRIBUTION_SHARE = 0.7
#: Opening an e-mail: lapsed buyers, not-yet buyers, and active buyers by purchase rate (per week).
OPEN_LAPSED, OPEN_NOT_YET = 0.08, 0.15
OPEN_ACTIVE_BASE, OPEN_ACTIVE_GAIN, OPEN_HALF_RATE = 0.25, 0.45, 0.1
OPEN_DELAY_DAYS = 0.5
#: Visits per day: before the first purchase, per purchase and as a floor while active, lapsed.
VISIT_RATE_BEFORE = 0.15
VISITS_PER_PURCHASE, VISIT_RATE_ACTIVE = 2.0, 0.01
VISIT_RATE_LAPSED, VISIT_RATE_NON_BUYER = 0.004, 0.02
VISIT_CHANNELS, VISIT_WEIGHTS = ("web", "app", "store"), (0.6, 0.25, 0.15)
#: Per order: chance of a ticket / feedback, and the mean delay in days.
TICKET_SHARE, TICKET_DELAY = 0.06, 2.0
FEEDBACK_SHARE, FEEDBACK_DELAY = 0.08, 4.0
TICKET_CHANNELS, TICKET_WEIGHTS = ("phone", "email", "web"), (0.4, 0.4, 0.2)
FEEDBACK_CHANNELS, FEEDBACK_WEIGHTS = ("web", "email", "app"), (0.4, 0.4, 0.2)
#: Per customer: chance of a complaint if the buyer lapses in the window, if not, if never buying.
COMPLAINT_LAPSED, COMPLAINT_ACTIVE, COMPLAINT_NON_BUYER = 0.18, 0.03, 0.01
COMPLAINT_LEAD_DAYS = 10.0  # mean time from the complaint to the end of the lifetime
COMPLAINT_CHANNELS, COMPLAINT_WEIGHTS = ("phone", "email", "store"), (0.45, 0.4, 0.15)
#: Share of orders recorded as two lines (two products) under one order id.
TWO_LINE_SHARE = 0.04
#: Relative activity per hour of the day (UTC): event times are moved within their day to
#: follow it, by a monotone map, so the order of events and the day of each stay as drawn.
HOUR_WEIGHTS = (0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3,
                1.4, 1.3, 1.2, 1.2, 1.3, 1.4, 1.6, 1.8, 1.8, 1.5, 1.0, 0.6)  # fmt: skip

KIND = {kind: code for code, kind in enumerate(KNOWN_KINDS)}
NONE = -1


def campaigns_in(start: date, end: date) -> list[tuple[str, date, int]]:
    """The campaigns inside [start, end] as (name, day, channel code), in date order."""
    found = []
    for year in range(start.year, end.year + 1):
        for name, month, day, channel in CAMPAIGNS:
            when = date(year, month, day)
            if start <= when <= end:
                found.append((f"{name}-{year}", when, CHANNELS.index(channel)))
    return sorted(found, key=lambda c: (c[1], c[0]))


def to_seconds(time: FloatArray, days: int) -> IntArray:
    """Days since the window start -> whole seconds, with times of day moved to HOUR_WEIGHTS."""
    day = np.floor(time)
    cdf = np.concatenate([[0.0], np.cumsum(HOUR_WEIGHTS)]) / sum(HOUR_WEIGHTS)
    warped = day + np.interp(time - day, cdf, np.linspace(0.0, 1.0, 25))
    return np.minimum(np.floor(warped * 86_400.0), days * 86_400 - 1).astype(np.int64)


@frozen
class Events:
    """Interaction columns in file order; codes index KNOWN_KINDS, CHANNELS, STAGES, `campaigns`.

    NONE (-1) marks an empty field; `order` is the order number (1-based) or NONE.
    """

    second: IntArray  # since the window's first midnight, UTC
    customer: IntArray
    kind: IntArray
    amount_minor: IntArray
    channel: IntArray
    campaign: IntArray
    stage: IntArray
    order: IntArray
    campaigns: tuple[str, ...]


_COLUMNS = ("amount_minor", "channel", "campaign", "stage", "order")


@define
class EventLog:
    """Collects columns part by part, then sorts them once."""

    days: int
    parts: list[dict[str, Any]] = field(factory=list)

    def add(self, kind: str, customer: IntArray, time: FloatArray, **columns: Any) -> None:
        n = customer.size
        part = {"time": time, "customer": customer, "kind": np.full(n, KIND[kind])}
        for name in _COLUMNS:
            part[name] = np.broadcast_to(np.asarray(columns.pop(name, NONE), np.int64), (n,))
        if columns:
            raise TypeError(f"unknown event columns {sorted(columns)}")
        self.parts.append(part)

    def finish(self, campaigns: tuple[str, ...]) -> Events:
        def column(name: str) -> Any:
            return np.concatenate([part[name] for part in self.parts])

        second = to_seconds(column("time"), self.days)
        # Stable, so events in the same second keep the order they were added in (e.g. the
        # "customer" stage before the first purchase, an order's first line before its second).
        order = np.argsort(second, kind="stable")

        def sorted_column(name: str) -> Any:
            return column(name)[order].astype(np.int64)

        return Events(
            second=second[order],
            customer=sorted_column("customer"),
            kind=sorted_column("kind"),
            amount_minor=sorted_column("amount_minor"),
            channel=sorted_column("channel"),
            campaign=sorted_column("campaign"),
            stage=sorted_column("stage"),
            order=sorted_column("order"),
            campaigns=campaigns,
        )


def _pick(
    rng: np.random.Generator, channels: tuple[str, ...], weights: tuple[float, ...], n: int
) -> Any:
    return channel_codes(channels)[rng.choice(len(channels), size=n, p=weights)]


def _follow_up(
    rng: np.random.Generator, orders: Orders, share: float, delay: float, days: int
) -> tuple[IntArray, FloatArray]:
    chosen = np.flatnonzero(rng.random(orders.time.size) < share)
    time = orders.time[chosen] + rng.exponential(delay, chosen.size)
    kept = time < days
    return orders.customer[chosen][kept], time[kept]


def _stages(log: EventLog, pop: Population) -> None:
    for code, times in enumerate((pop.lead, pop.prospect, pop.opportunity, pop.first_purchase)):
        reached = np.flatnonzero(~np.isnan(times))
        log.add("stage_change", reached, times[reached], stage=code)


def _purchases(rng: np.random.Generator, log: EventLog, orders: Orders, campaign: IntArray) -> None:
    number = np.arange(1, orders.time.size + 1)
    two = np.flatnonzero(rng.random(number.size) < TWO_LINE_SHARE)
    first_line = orders.amount_minor.copy()
    split = np.floor(first_line[two] * rng.uniform(0.25, 0.75, two.size)).astype(np.int64)
    first_line[two] = np.clip(split, 1, orders.amount_minor[two] - 1)
    log.add("purchase", orders.customer, orders.time, amount_minor=first_line,
            channel=orders.channel, campaign=campaign, order=number)  # fmt: skip
    log.add("purchase", orders.customer[two], orders.time[two],
            amount_minor=orders.amount_minor[two] - first_line[two],
            channel=orders.channel[two], campaign=campaign[two], order=number[two])  # fmt: skip


def _visits(rng: np.random.Generator, log: EventLog, pop: Population) -> None:
    window_end = np.full(pop.size, float(pop.days))
    buyer_lead = np.where(pop.buyer, pop.lead, np.nan)
    non_buyer_lead = np.where(pop.buyer, np.nan, pop.lead)
    active_rate = VISITS_PER_PURCHASE * pop.purchase_rate + VISIT_RATE_ACTIVE
    for start, end, rate in (
        (buyer_lead, pop.first_purchase, VISIT_RATE_BEFORE),
        (pop.first_purchase, pop.active_end, active_rate),
        (pop.active_end, window_end, VISIT_RATE_LAPSED),
        (non_buyer_lead, window_end, VISIT_RATE_NON_BUYER),
    ):
        customer, time = poisson_events(rng, start, end, np.broadcast_to(rate, (pop.size,)))
        log.add(
            "visit",
            customer,
            time,
            channel=_pick(rng, VISIT_CHANNELS, VISIT_WEIGHTS, customer.size),
        )


def _campaigns(
    rng: np.random.Generator, log: EventLog, pop: Population, people: People, orders: Orders,
    campaigns: list[tuple[str, int, int]],
) -> IntArray:  # fmt: skip
    """Touches and opens per campaign; returns each order's attributed campaign code or NONE."""
    attributed = np.full(orders.time.size, NONE, dtype=np.int64)
    email, sms = CHANNELS.index("email"), CHANNELS.index("sms")
    consent = {email: people.consent_email == 1, sms: people.consent_sms == 1}
    weekly_rate = pop.purchase_rate * 7.0
    open_active = OPEN_ACTIVE_BASE + OPEN_ACTIVE_GAIN * weekly_rate / (weekly_rate + OPEN_HALF_RATE)
    for code, (_, day, channel) in enumerate(campaigns):
        audience = consent.get(channel)
        if audience is None:  # web: retargeting needs profiling consent and reaches half of them
            audience = (people.consent_profiling == 1) & (rng.random(pop.size) < WEB_REACH)
        reached = np.flatnonzero(audience & (pop.lead < day))
        touched = day + rng.random(reached.size)
        log.add("campaign_touch", reached, touched, channel=channel, campaign=code)
        if channel == email:
            lapsed = pop.death[reached] <= touched
            active = pop.first_purchase[reached] <= touched
            p_open = np.where(lapsed, OPEN_LAPSED,
                              np.where(active, open_active[reached], OPEN_NOT_YET))  # fmt: skip
            opens = np.flatnonzero(rng.random(reached.size) < p_open)
            opened = touched[opens] + rng.exponential(OPEN_DELAY_DAYS, opens.size)
            kept = opened < pop.days
            log.add(
                "email_open", reached[opens][kept], opened[kept], channel=channel, campaign=code
            )
        touch_of = np.full(pop.size, np.nan)
        touch_of[reached] = touched
        since = orders.time - touch_of[orders.customer]
        won = (since >= 0) & (since < ATTRIBUTION_DAYS)  # NaN compares False: not touched
        attributed[won & (rng.random(orders.time.size) < ATTRIBUTION_SHARE)] = code
    return attributed


def _service(rng: np.random.Generator, log: EventLog, pop: Population, orders: Orders) -> None:
    for kind, share, delay, channels, weights in (
        ("ticket", TICKET_SHARE, TICKET_DELAY, TICKET_CHANNELS, TICKET_WEIGHTS),
        ("feedback", FEEDBACK_SHARE, FEEDBACK_DELAY, FEEDBACK_CHANNELS, FEEDBACK_WEIGHTS),
    ):
        customer, time = _follow_up(rng, orders, share, delay, pop.days)
        log.add(kind, customer, time, channel=_pick(rng, channels, weights, customer.size))
    lapses = pop.buyer & (pop.death < pop.days)
    chance = np.where(
        lapses, COMPLAINT_LAPSED, np.where(pop.buyer, COMPLAINT_ACTIVE, COMPLAINT_NON_BUYER)
    )
    who = np.flatnonzero(rng.random(pop.size) < chance)
    since = np.where(pop.buyer, pop.first_purchase, pop.lead)[who]
    anytime = since + rng.random(who.size) * (pop.days - since)
    before_lapse = np.maximum(
        pop.death[who] - rng.exponential(COMPLAINT_LEAD_DAYS, who.size), since
    )
    time = np.where(lapses[who], before_lapse, anytime)
    log.add(
        "complaint", who, time, channel=_pick(rng, COMPLAINT_CHANNELS, COMPLAINT_WEIGHTS, who.size)
    )


def draw_events(
    rng: np.random.Generator, pop: Population, people: People, orders: Orders, start: date
) -> Events:
    """Every interaction of every customer, sorted by time."""
    end = start + timedelta(days=pop.days - 1)
    campaigns = [
        (name, (day - start).days, channel) for name, day, channel in campaigns_in(start, end)
    ]
    log = EventLog(pop.days)
    _stages(log, pop)
    attributed = _campaigns(rng, log, pop, people, orders, campaigns)
    _purchases(rng, log, orders, attributed)
    _visits(rng, log, pop)
    _service(rng, log, pop, orders)
    draw_deals(rng, log, pop, first_deal=int(orders.time.size) + 1)
    return log.finish(tuple(name for name, _, _ in campaigns))
