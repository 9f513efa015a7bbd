"""The stage table's journeys from one GROUP BY, when the stage set allows it.

For a set without `repeat` stages, everything the stage table reads is an aggregate per
customer: the first and last time of each stage's events (MIN / MAX of a CASE), and the last
time of each `against` and `resolved_by` kind. One statement returns one row per customer
instead of one per event, which on a million interactions is what keeps `crm journey` near the
single statement a person would write (docs/performance.md). The rules are the same conditions
`crm.EventSequences` uses (`crm.core.events.rule_condition`), the same customers are left out
(profiling opt-outs), and `journeys_of_chunk` turns the times into the same `Journeys`; the
tests compare both paths. First and last touches and touches to action need the events, so
breakdowns, paths and scores read those.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import case, func, or_, select

from crm.core.events import epoch_seconds, rule_condition
from crm_aidas.journey import (
    NEVER,
    NOT_YET,
    Blockers,
    Journeys,
    Members,
    RulePlan,
    finish_journeys,
)
from crm_aidas.options import StageSet

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm import Tables


def aggregatable(stage_set: StageSet) -> bool:
    """Whether `aggregate_journeys` can compute this set (no `repeat` stage)."""
    return all(stage.repeat is None for stage in stage_set.stages)


def aggregate_journeys(
    connection: Connection,
    tables: Tables,
    stage_set: StageSet,
    *,
    as_of: date,
    start: date | None = None,
) -> Journeys:
    """One row per customer: the first and last time of each rule's events (MIN / MAX of a
    CASE per rule). Grouping by (customer, rule) after one CASE per row was measured no faster
    on SQLite (0.69-0.98 s against 0.55-0.68 s on 200k interactions), so this is the one form."""
    if not aggregatable(stage_set):
        raise ValueError("a set with repeat stages needs the event path (compute_journeys)")
    i, c = tables.interaction, tables.customer
    dialect = connection.dialect.name
    plan = RulePlan.of(stage_set)
    conditions = [rule_condition(tables, rule) for rule in plan.rules]
    # A date is midnight UTC at its start, as for EventSequences.
    where = [i.c.occurred_at < datetime.combine(as_of, time.min)]
    if start is not None:
        where.append(i.c.occurred_at >= datetime.combine(start, time.min))
    opted_out = select(c.c.id).where(c.c.consent_profiling.is_(False)).scalar_subquery()
    where.append(i.c.customer_id.not_in(opted_out))
    rules = len(conditions)
    # Only what is read: the first time of each stage's own rule; the last time only of a stage
    # with `against` kinds and of those rules (measured: dropping the unread MAX columns takes
    # the SQLite statement from 3.5-4.9 s to 2.7 s on 1M interactions).
    wants_last = {r for bits in plan.service if bits for r in _rules_of(bits)}
    wants_last |= {_rule_of(plan.own[k]) for k, bits in enumerate(plan.service) if bits is not None}
    wants_first = {_rule_of(bit) for bit in plan.own}
    columns: list[tuple[str, int]] = []
    aggregates: list[Any] = []
    for r, condition in enumerate(conditions):
        at = case((condition, i.c.occurred_at))
        if r in wants_first:
            columns.append(("first", r))
            aggregates.append(epoch_seconds(func.min(at), dialect))
        if r in wants_last:
            columns.append(("last", r))
            aggregates.append(epoch_seconds(func.max(at), dialect))
    query = (
        select(i.c.customer_id, *aggregates)
        .where(*where, or_(*conditions))
        .group_by(i.c.customer_id)
        .order_by(i.c.customer_id)
    )
    rows = list(map(tuple, connection.execute(query)))
    # Through float64 (None -> NaN, one C-level conversion): epoch seconds are exact in it.
    as_float = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + len(columns))
    missing = np.isnan(as_float)
    whole = np.where(missing, 0.0, as_float).astype(np.int64)
    ids = whole[:, 0]
    first = np.full((ids.size, rules), NEVER, dtype=np.int64)
    last = np.full((ids.size, rules), NOT_YET, dtype=np.int64)
    for position, (which, r) in enumerate(columns, start=1):
        known = ~missing[:, position]
        (first if which == "first" else last)[known, r] = whole[known, position]
    return _journeys(ids, first, last, plan, stage_set)


def _rule_of(bit: int) -> int:
    return bit.bit_length() - 1


def _rules_of(bits: tuple[int, int]) -> list[int]:
    return [_rule_of(bit) for bit in bits if bit]


def _journeys(
    ids: NDArray[np.int64],
    first: NDArray[np.int64],
    last: NDArray[np.int64],
    plan: RulePlan,
    stage_set: StageSet,
) -> Journeys:
    """From per-rule times to per-stage times, blockers, and the journeys."""
    n, stages = ids.size, len(stage_set.stages)
    bit_index = {1 << r: r for r in range(first.shape[1])}
    own = [bit_index[plan.own[k]] for k in range(stages)]
    blockers: Blockers = {}
    for k, bits in enumerate(plan.service):
        if bits is not None:
            against, resolved = bits
            cleared = last[:, bit_index[resolved]] if resolved else np.full(n, NOT_YET, np.int64)
            blockers[k] = (last[:, bit_index[against]], cleared)
    members = Members(
        member=np.zeros((0, stages), dtype=bool),
        first=first[:, own],
        last=last[:, own],
        who=np.zeros(0, dtype=np.intp),
        time=np.zeros(0, dtype=np.int64),
        customers=n,
    )
    return finish_journeys(ids, members, plan, blockers, stage_set)
