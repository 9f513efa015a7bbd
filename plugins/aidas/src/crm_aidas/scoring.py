"""The journey in `crm segment`: the `aidas` stage column and the `aidas.*` scores.

Both read the configured stage set (`[aidas] stages`, AIDAS by default) before the analysis
date. Customers who opted out of profiling are not in the facts, so they get nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import ScoringContext
from crm_aidas.journey import DAY, Journeys, action_index, compute_journeys
from crm_aidas.options import AidasOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm import Facts


def _positions(facts: Facts, journeys: Journeys) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Where each journey's customer is in the facts, and whether they are there at all."""
    if not len(facts):
        return np.zeros(len(journeys), dtype=np.intp), np.zeros(len(journeys), dtype=bool)
    at = np.minimum(facts.index_of(journeys.customer_id), len(facts) - 1)
    return at, facts.customer_id[at] == journeys.customer_id


@frozen
class JourneyStage:
    """Stage = the current stage (-1: no stage event before the analysis date)."""

    options: AidasOptions

    @property
    def stages(self) -> tuple[str, ...]:
        return self.options.stage_set()[1].names

    def assign(self, context: ScoringContext) -> NDArray[np.int64]:
        _, stage_set = self.options.stage_set()
        journeys = compute_journeys(
            context.connection, context.tables, stage_set, as_of=context.as_of, attributed=False
        )
        codes = np.full(len(context.facts), -1, dtype=np.int64)
        at, known = _positions(context.facts, journeys)
        codes[at[known]] = journeys.current[known]
        return codes


@frozen
class JourneyScorer:
    options: AidasOptions

    def score(self, context: ScoringContext) -> dict[str, NDArray[np.float64]]:
        _, stage_set = self.options.stage_set()
        journeys = compute_journeys(
            context.connection, context.tables, stage_set, as_of=context.as_of, attributed=False
        )
        n = len(context.facts)
        out = {name: np.full(n, np.nan) for name in
               ("stage", "current_stage", "days_to_action", "touches_to_action", "days_in_stage")}  # fmt: skip
        at, known = _positions(context.facts, journeys)
        part = journeys.take(known)
        rows = at[known]
        some = part.furthest >= 0
        out["stage"][rows[some]] = part.furthest[some] + 1
        now = part.current >= 0
        out["current_stage"][rows[now]] = part.current[now] + 1
        action = action_index(stage_set)
        # Only a recorded action has a time to it (feedback alone implies one, at no time).
        acted = part.observed[:, action]
        days = (part.entry[acted, action] - part.entry[acted, 0]) / DAY
        out["days_to_action"][rows[acted]] = days
        out["touches_to_action"][rows[acted]] = part.touches_to_action[acted]
        as_of = np.datetime64(context.as_of, "s").astype(np.int64)
        entered = part.entry[np.flatnonzero(now), part.current[now]]
        out["days_in_stage"][rows[now]] = (as_of - entered) / DAY
        return out
