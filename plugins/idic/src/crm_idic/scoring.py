"""The `idic` scorer: possible duplicates, value tiers, potential, engagement, ABCD cell.

Value is the clv plugin's metric when it runs before this one (`[plugins] enabled` order) and
`[idic.value] measure` allows it; otherwise historical revenue before the analysis date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import ScoringContext
from crm_idic.options import IdicOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray


def value_column(context: ScoringContext, options: IdicOptions) -> NDArray[np.float64]:
    """The value measure per customer, in currency units."""
    metric = options.value.clv_metric
    if options.value.measure != "revenue" and metric in context.scores:
        column: NDArray[np.float64] = np.asarray(context.scores[metric], dtype=np.float64)
        return column
    revenue: NDArray[np.float64] = context.facts.revenue_minor / 100.0
    return revenue


def _duplicate_weight(context: ScoringContext, options: IdicOptions) -> NDArray[np.float64]:
    """Each customer's strongest link to a possible duplicate (NaN: none), from the cache of
    `crm_idic.identify.cache` while the customers are unchanged."""
    from crm_idic.identify.cache import duplicate_links

    facts = context.facts
    out = np.full(len(facts), np.nan)
    if not options.identify_in_runs or len(facts) < 2:
        return out
    keys, weights = duplicate_links(context.connection, context.tables, options.identify)
    if keys.size == 0:
        return out
    # Customers left out of the facts (no consent to profiling) are dropped, not misplaced.
    positions = np.minimum(facts.index_of(keys), len(facts) - 1)
    known = facts.customer_id[positions] == keys
    out[positions[known]] = weights[known]
    return out


@frozen
class IdicScorer:
    options: IdicOptions

    def score(self, context: ScoringContext) -> Mapping[str, NDArray[np.float64]]:
        from crm_idic.differentiate import abc_classes, abcd, key_accounts, potential
        from crm_idic.engagement import engagement, spend_growth

        options = self.options
        value = value_column(context, options)
        classes = abc_classes(value, options.value.abc)
        engaged = engagement(context.connection, context.tables, context.facts, options.engagement)
        signals = {
            "growth": spend_growth(
                context.connection, context.tables, context.facts, options.potential.window_days
            ),
            "engagement": engaged,
        }
        transactions = options.potential.transactions_metric
        if transactions in context.scores:
            signals["transactions"] = np.asarray(context.scores[transactions], dtype=np.float64)
        score = potential(signals, options.potential.weights)
        keys = key_accounts(
            value, options.value.key_accounts_top, options.value.key_account_threshold
        )
        return {
            "duplicate_weight": _duplicate_weight(context, options),
            "value": value,
            "abc": classes.astype(np.float64),
            "key_account": keys.astype(np.float64),
            "potential": score,
            "engagement": engaged,
            "abcd": abcd(classes, score, options.potential.high).astype(np.float64),
        }
