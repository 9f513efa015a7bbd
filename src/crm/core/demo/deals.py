"""Sales deals in the sample data: `stage_change` rows that carry a deal id and the deal's value.

- every customer who becomes a prospect opens a deal ("qualified"), which moves to "proposal"
  when they become an opportunity and, for some, to "negotiation"; it is "won" at the first
  purchase, and "lost" some weeks after a non-buyer stalls (unless the window ends first: open);
- some buyers later get an upsell deal that advances stage by stage with the probabilities in
  UPSELL_STEP and is otherwise lost, so win rates differ by stage and some deals stay open.

Drawn after every other event, from the same generator, so the rest of the data is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crm.core.demo.process import STAGES, Population, channel_codes

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.demo.events import EventLog

DEAL_STAGES = ("qualified", "proposal", "negotiation", "won", "lost")
#: Codes of the deal stages among the stage labels (after the customer funnel's STAGES).
QUALIFIED, PROPOSAL, NEGOTIATION, WON, LOST = range(len(STAGES), len(STAGES) + 5)
#: Deal values: lognormal around 400.00 (first deals) and 250.00 (upsells), in cents.
FIRST_DEAL_MEDIAN, UPSELL_MEDIAN, VALUE_SIGMA = 40_000, 25_000, 0.6
NEGOTIATION_SHARE = 0.5  # of first deals that reach proposal
LOST_AFTER_DAYS = (10.0, 40.0)
UPSELL_SHARE = 0.3
UPSELL_STEP = (0.55, 0.6, 0.55)  # qualified -> proposal -> negotiation -> won
UPSELL_GAP_MEAN_DAYS = 8.0
DEAL_CHANNELS = ("phone", "email", "store")


def _value(rng: np.random.Generator, median: int, n: int) -> NDArray[np.int64]:
    return np.maximum(np.round(median * rng.lognormal(0.0, VALUE_SIGMA, n)), 100).astype(np.int64)


def draw_deals(rng: np.random.Generator, log: EventLog, pop: Population, first_deal: int) -> int:
    """Add deal rows to `log`; deal numbers start at `first_deal`. Returns the next free one."""
    channels = channel_codes(DEAL_CHANNELS)
    who = np.flatnonzero(~np.isnan(pop.prospect))
    number = first_deal + np.arange(who.size)
    value = _value(rng, FIRST_DEAL_MEDIAN, who.size)
    channel = channels[rng.integers(0, len(channels), who.size)]

    def add(
        mask: NDArray[np.bool_], time: NDArray[np.float64], stage: int, **extra: object
    ) -> None:
        log.add("stage_change", who[mask], time[mask], stage=stage, order=number[mask],
                channel=channel[mask], **extra)  # fmt: skip

    everyone = np.ones(who.size, dtype=bool)
    add(everyone, pop.prospect[who], QUALIFIED, amount_minor=value)
    proposal = ~np.isnan(pop.opportunity[who])
    add(proposal, pop.opportunity[who], PROPOSAL)
    end_of_stage = np.where(proposal, pop.opportunity[who], pop.prospect[who])
    buys = ~np.isnan(pop.first_purchase[who])
    negotiates = proposal & (rng.random(who.size) < NEGOTIATION_SHARE)
    later = np.where(buys, pop.first_purchase[who], end_of_stage + LOST_AFTER_DAYS[0])
    negotiation_at = end_of_stage + rng.random(who.size) * (later - end_of_stage)
    add(negotiates, negotiation_at, NEGOTIATION)
    add(buys, pop.first_purchase[who], WON)
    lost_at = np.maximum(end_of_stage, np.where(negotiates, negotiation_at, 0.0)) + rng.uniform(
        *LOST_AFTER_DAYS, who.size
    )
    add(~buys & (lost_at < pop.days), lost_at, LOST)
    return _upsells(rng, log, pop, int(number[-1]) + 1 if who.size else first_deal, channels)


def _upsells(
    rng: np.random.Generator,
    log: EventLog,
    pop: Population,
    first: int,
    channels: NDArray[np.int64],
) -> int:
    buyers = np.flatnonzero(~np.isnan(pop.first_purchase))
    who = buyers[rng.random(buyers.size) < UPSELL_SHARE]
    start = pop.first_purchase[who] + rng.random(who.size) * (pop.days - pop.first_purchase[who])
    number = first + np.arange(who.size)
    value = _value(rng, UPSELL_MEDIAN, who.size)
    channel = channels[rng.integers(0, len(channels), who.size)]
    time = start.copy()
    alive = time < pop.days
    log.add("stage_change", who[alive], time[alive], stage=QUALIFIED, order=number[alive],
            amount_minor=value[alive], channel=channel[alive])  # fmt: skip
    for step, p in enumerate(UPSELL_STEP):
        time = time + rng.exponential(UPSELL_GAP_MEAN_DAYS, who.size)
        advances = rng.random(who.size) < p
        stage = (PROPOSAL, NEGOTIATION, WON)[step]
        closing = alive & (time < pop.days)
        for mask, code in ((closing & advances, stage), (closing & ~advances, LOST)):
            log.add("stage_change", who[mask], time[mask], stage=code, order=number[mask],
                    channel=channel[mask])  # fmt: skip
        alive = closing & advances
    return first + who.size
