"""The customer journeys behind the sample data: a sales funnel, then a Pareto/NBD buying process.

Every customer enters as a lead and moves along lead -> prospect -> opportunity -> customer; the
gaps between stages are exponential (clipped to [1 hour, 30 days]). A share of them never buys and
stalls at an earlier stage. The others make their first purchase on reaching "customer" and then
buy as in the Pareto/NBD model (Schmittlein, Morrison and Colombo 1987):

- purchase rate lambda ~ Gamma(shape r, rate alpha): while alive, repeat purchases form a Poisson
  process with rate lambda;
- dropout rate mu ~ Gamma(shape s, rate beta): the lifetime after the first purchase is
  exponential with rate mu, unobserved, and may outlast the window;
- spend per purchase from the Gamma-Gamma model (Fader, Hardie and Lee 2005): nu ~ Gamma(shape
  q, rate gamma) per customer, each purchase spends z ~ Gamma(shape p, rate nu), so the customer's
  mean spend p / nu varies between customers and does not depend on how often they buy.

Times here are floats in days since the window's first midnight; `TRUE_PARAMETERS` states rates
per week, the unit of the CLV literature (CDNOW), so a fit on weekly data recovers them directly.
A fit on this data must use the buyers only (customers with at least one purchase), count
distinct orders (some orders have two lines) and treat the first purchase as the start of the
customer's observation period, as the model does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

if TYPE_CHECKING:
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.int64]


@frozen
class RepeatBuyingParameters:
    """True parameters of the simulated buying process; rates are per week, money in currency."""

    r: float  # purchase rate lambda ~ Gamma(r, rate=alpha): mean r / alpha per week
    alpha: float
    s: float  # dropout rate mu ~ Gamma(s, rate=beta)
    beta: float
    p: float  # spend per purchase z ~ Gamma(p, rate=nu)
    q: float  # nu ~ Gamma(q, rate=gamma): mean spend per purchase p * gamma / (q - 1)
    gamma: float


#: Chosen so that over the default two years about 35% of buyers buy once (33-38% over 40 seeds
#: at 2,000 customers), the top 20% of buyers bring about two thirds of the revenue (65-71%), and
#: the mean purchase is 60.00 (p * gamma / (q - 1) = 6 * 30 / 3). Mean purchase rate r / alpha
#: = 0.11 a week; with s < 1 lifetimes have no finite mean: about 60% of buyers lapse inside
#: the window, while a few stay for good.
TRUE_PARAMETERS = RepeatBuyingParameters(
    r=0.8, alpha=7.0, s=0.5, beta=12.0, p=6.0, q=4.0, gamma=30.0
)
DAYS_PER_WEEK = 7.0

#: Share of customers who never buy (leads that did not convert).
NON_BUYER_SHARE = 0.15
#: Where non-buyers stall: at lead, prospect or opportunity.
STALL_SHARES = (0.45, 0.35, 0.20)
STAGES = ("lead", "prospect", "opportunity", "customer")
#: Mean days from lead to prospect, prospect to opportunity, opportunity to first purchase.
FUNNEL_GAP_MEAN_DAYS = (4.0, 7.0, 5.0)
FUNNEL_GAP_MIN_DAYS = 1.0 / 24.0
FUNNEL_GAP_MAX_DAYS = 30.0
#: Buyers are acquired (first purchase) within this leading fraction of the window; late
#: acquisitions keep new, recent customers in the data (the "Recent Customers" RFM cell).
ACQUISITION_END = 0.95

CHANNELS = ("web", "store", "app", "email", "phone", "sms")
PURCHASE_CHANNELS = ("web", "store", "app", "phone")
PURCHASE_CHANNEL_WEIGHTS = (0.45, 0.35, 0.15, 0.05)
#: Share of purchases made through the customer's preferred channel.
PREFERRED_CHANNEL_SHARE = 0.75
#: The smallest amount a purchase records (the Gamma-Gamma spend is practically never lower).
MIN_AMOUNT_MINOR = 100


@frozen
class Population:
    """Per-customer latent state; index i is customer number i + 1, in order of becoming a lead.

    Stage times are NaN where the stage was never reached; `active_end` is the end of the buyer's
    lifetime, cut at the window's end (NaN for non-buyers).
    """

    days: int
    buyer: NDArray[np.bool_]
    lead: FloatArray
    prospect: FloatArray
    opportunity: FloatArray
    first_purchase: FloatArray
    death: FloatArray
    active_end: FloatArray
    purchase_rate: FloatArray  # lambda, per day
    preferred_channel: IntArray

    @property
    def size(self) -> int:
        return int(self.buyer.size)


@frozen
class Orders:
    """One entry per order, in time order; the order id is the index + 1."""

    customer: IntArray
    time: FloatArray
    amount_minor: IntArray
    channel: IntArray


def channel_codes(names: tuple[str, ...]) -> IntArray:
    """Indexes into CHANNELS, the codes event columns hold."""
    return np.array([CHANNELS.index(name) for name in names], dtype=np.int64)


def poisson_events(
    rng: np.random.Generator, start: FloatArray, end: FloatArray, rate: FloatArray
) -> tuple[IntArray, FloatArray]:
    """A Poisson process per customer on [start, end) with a constant rate, as (customer, time).

    NaN bounds or an empty interval give no events. Drawing the count and then uniform times is
    the same process as drawing exponential gaps, and vectorises.
    """
    length = np.nan_to_num(np.maximum(end - start, 0.0))
    counts = rng.poisson(np.nan_to_num(rate) * length)
    customer = np.repeat(np.arange(start.size, dtype=np.int64), counts)
    time = start[customer] + rng.random(customer.size) * length[customer]
    return customer, time


def draw_population(rng: np.random.Generator, n: int, days: int) -> Population:
    """Draw `n` customer journeys in a window of `days` days (at least 365)."""
    buyer = rng.random(n) >= NON_BUYER_SHARE
    funnel_room = 3 * FUNNEL_GAP_MAX_DAYS
    latest_lead = np.where(buyer, ACQUISITION_END * days, days) - funnel_room
    lead = rng.random(n) * latest_lead
    by_lead = np.argsort(lead, kind="stable")
    buyer, lead = buyer[by_lead], lead[by_lead]

    gaps = np.clip(
        rng.exponential(FUNNEL_GAP_MEAN_DAYS, size=(n, 3)), FUNNEL_GAP_MIN_DAYS, FUNNEL_GAP_MAX_DAYS
    )
    reached = np.where(buyer, 3, rng.choice(3, size=n, p=STALL_SHARES))
    prospect = np.where(reached >= 1, lead + gaps[:, 0], np.nan)
    opportunity = np.where(reached >= 2, prospect + gaps[:, 1], np.nan)
    first = np.where(buyer, opportunity + gaps[:, 2], np.nan)

    t = TRUE_PARAMETERS
    purchase_rate = rng.gamma(t.r, 1.0 / t.alpha, n) / DAYS_PER_WEEK
    dropout_rate = rng.gamma(t.s, 1.0 / t.beta, n) / DAYS_PER_WEEK
    death = first + rng.standard_exponential(n) / dropout_rate
    preferred = channel_codes(PURCHASE_CHANNELS)[
        rng.choice(len(PURCHASE_CHANNELS), size=n, p=PURCHASE_CHANNEL_WEIGHTS)
    ]
    return Population(
        days=days,
        buyer=buyer,
        lead=lead,
        prospect=prospect,
        opportunity=opportunity,
        first_purchase=first,
        death=death,
        active_end=np.where(buyer, np.minimum(death, days), np.nan),
        purchase_rate=np.where(buyer, purchase_rate, 0.0),
        preferred_channel=preferred,
    )


def draw_orders(rng: np.random.Generator, pop: Population) -> Orders:
    """Every buyer's first purchase, then Pareto/NBD repeat purchases with Gamma-Gamma spend."""
    t = TRUE_PARAMETERS
    spend_rate = rng.gamma(t.q, 1.0 / t.gamma, pop.size)
    buyers = np.flatnonzero(pop.buyer)
    repeat_customer, repeat_time = poisson_events(
        rng, pop.first_purchase, pop.active_end, pop.purchase_rate
    )
    customer: Any = np.concatenate([buyers, repeat_customer])
    time: Any = np.concatenate([pop.first_purchase[buyers], repeat_time])
    spend = rng.gamma(t.p, 1.0 / spend_rate[customer])
    amount = np.maximum(np.rint(spend * 100.0), MIN_AMOUNT_MINOR).astype(np.int64)
    own = rng.random(customer.size) < PREFERRED_CHANNEL_SHARE
    other = channel_codes(PURCHASE_CHANNELS)[
        rng.choice(len(PURCHASE_CHANNELS), size=customer.size, p=PURCHASE_CHANNEL_WEIGHTS)
    ]
    channel = np.where(own, pop.preferred_channel[customer], other).astype(np.int64)
    by_time = np.argsort(time, kind="stable")
    return Orders(
        customer=customer[by_time],
        time=time[by_time],
        amount_minor=amount[by_time],
        channel=channel[by_time],
    )
