"""The funnel as a stage model of `crm segment`: each customer's furthest step, one per funnel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import ScoringContext
from crm_funnel.options import FunnelDefinition
from crm_funnel.reach import compute_reach

if TYPE_CHECKING:
    from numpy.typing import NDArray


@frozen
class FurthestStep:
    """Stage = the furthest step reached before the analysis date (-1: never entered)."""

    definition: FunnelDefinition

    @property
    def stages(self) -> tuple[str, ...]:
        return self.definition.step_names

    def assign(self, context: ScoringContext) -> NDArray[np.int64]:
        reach = compute_reach(
            context.connection, context.tables, self.definition, as_of=context.as_of
        )
        codes = np.full(len(context.facts), -1, dtype=np.int64)
        codes[context.facts.index_of(reach.customer_id)] = reach.furthest()
        return codes
