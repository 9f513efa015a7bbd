"""The `idic` scorer: each customer's strongest link to a possible duplicate, for rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import ScoringContext
from crm_idic.options import IdicOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray


@frozen
class DuplicateScorer:
    options: IdicOptions

    def score(self, context: ScoringContext) -> Mapping[str, NDArray[np.float64]]:
        from crm_idic.identify import identify

        facts = context.facts
        out = np.full(len(facts), np.nan)
        if not self.options.identify_in_runs or len(facts) < 2:
            return {"duplicate_weight": out}
        found = identify(context.connection, context.tables, self.options.identify)
        c = found.clusters
        shown = c.pair >= 0
        weight = found.weight[c.pair[shown]]
        for ends in (c.member[shown], c.survivor[shown]):
            positions = facts.index_of(found.records.customer_id[ends])
            np.fmax.at(out, positions, weight)
        return {"duplicate_weight": out}
