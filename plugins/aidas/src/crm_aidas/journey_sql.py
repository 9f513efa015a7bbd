"""The stage table's journeys from aggregates in SQL, when the stage set allows it.

Everything the stage table reads is an aggregate per customer: the first and last time of each
stage's events (MIN / MAX of a CASE), the last time of each `against` and `resolved_by` kind,
and for a `repeat` stage the time of the `nth` distinct moment of the stage it counts (a
DENSE_RANK over that stage's events, grouped again per customer). One statement returns one row
per customer instead of one per event, which on a million interactions is what keeps
`crm journey` near the single statement a person would write (docs/performance.md). The rules
are the conditions `crm.EventSequences` uses (`crm.core.events.rule_condition`), the same
customers are left out (profiling opt-outs), times are the same whole seconds, and
`_journeys` applies the rules of `crm_aidas.journey.stage_members` to the aggregates; the tests
compare both paths on every shipped set. First and last touches and touches to action need the
events, so breakdowns, paths and scores read those.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import case, func, or_, select

from crm.core.events import epoch_seconds, rule_condition
from crm_aidas.journey import (
    DAY,
    NEVER,
    NOT_YET,
    Blockers,
    Journeys,
    Members,
    RulePlan,
    finish_journeys,
)
from crm_aidas.options import StageSet

#: What the statement returns for "no such event" instead of NULL: no epoch second is this far
#: from 1970.
MISSING = -(2**62)

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import ColumnElement, Connection, Subquery

    from crm import EventRule, Tables


def aggregatable(stage_set: StageSet) -> bool:
    """Whether `aggregate_journeys` can compute this set: a `repeat` stage must count the events
    of a stage reached by its own rule alone (a repeat of a repeat is left to the event path)."""
    by_name = {stage.name: stage for stage in stage_set.stages}
    return all(
        stage.repeat is None or by_name[stage.repeat.of].repeat is None
        for stage in stage_set.stages
    )


def aggregate_journeys(
    connection: Connection,
    tables: Tables,
    stage_set: StageSet,
    *,
    as_of: date,
    start: date | None = None,
) -> Journeys:
    """One row per customer: the first and last time of each rule's events (MIN / MAX of a
    CASE per rule), and the `nth` moments that `repeat` stages count. Grouping by (customer,
    rule) after one CASE per row was measured no faster on SQLite (0.69-0.98 s against
    0.55-0.68 s on 200k interactions), so this is the one form."""
    if not aggregatable(stage_set):
        raise ValueError("a repeat of a repeat stage needs the event path (compute_journeys)")
    i, c = tables.interaction, tables.customer
    dialect = connection.dialect.name
    plan = RulePlan.of(stage_set)
    conditions = [rule_condition(tables, rule) for rule in plan.rules]
    # A date is midnight UTC at its start, as for EventSequences.
    where = [i.c.occurred_at < datetime.combine(as_of, time.min)]
    if start is not None:
        where.append(i.c.occurred_at >= datetime.combine(start, time.min))
    wants_first, wants_last = _read_times(plan, stage_set)
    columns: list[tuple[str, int]] = []
    nth_columns: list[tuple[int, int]] = []
    aggregates: list[Any] = []
    for r, condition in enumerate(conditions):
        at = case((condition, i.c.occurred_at))
        if r in wants_first:
            columns.append(("first", r))
            aggregates.append(epoch_seconds(func.min(at), dialect).label(f"first_{r}"))
        if r in wants_last:
            columns.append(("last", r))
            aggregates.append(epoch_seconds(func.max(at), dialect).label(f"last_{r}"))
    # The `OR` of the rules in WHERE only when they read the kind alone: SQLite then reads the
    # covering index on (kind, customer, time). A rule on stages also reads the stage column,
    # and the OR becomes one row lookup per matching row and a sort (measured 2.3 s against
    # 1.0 s for the shipped AIDAS set on 200k interactions); without it, customers with no event
    # of any rule (every column NULL) are dropped below instead.
    tracked = [] if any(_reads_more_than_kind(rule) for rule in plan.rules) else [or_(*conditions)]
    grouped = (
        select(i.c.customer_id, *aggregates)
        .where(*where, *tracked)
        .group_by(i.c.customer_id)
        .subquery("stage_times")
    )
    moments = _nth_moments(plan, stage_set, conditions, where, dialect, tables)
    selected: list[Any] = list(grouped.c)
    source: Any = grouped
    for r, (subquery, nths) in moments.items():
        source = source.outerjoin(subquery, subquery.c.customer_id == grouped.c.customer_id)
        selected += [subquery.c[f"nth_{r}_{n}"] for n in nths]
        nth_columns += [(r, n) for n in nths]
    # NULL (no such event) comes back as MISSING: a row of plain ints goes to numpy by fromiter,
    # twice as fast as numpy's conversion of rows holding None (0.2 s against 0.5 s for 100k).
    # Not ordered in SQL: PostgreSQL then hashes the join and the groups instead of sorting for
    # a merge; one argsort of the customer ids below puts the rows in order.
    query = select(
        selected[0], *(func.coalesce(column, MISSING) for column in selected[1:])
    ).select_from(source)
    result = connection.execute(query)
    try:
        # The driver's own rows (plain ints): SQLAlchemy's Row per customer cost 0.15 s of
        # 100k rows on either database, more than the numpy work below.
        rows = result.cursor.fetchall()
    finally:
        result.close()
    # Customers who said no to profiling (a short list) are dropped here rather than by a
    # NOT IN in the statement: every aggregate is per customer, so dropping their rows is the
    # same, and on PostgreSQL the NOT IN halved the row estimate into a sort spilling to disk
    # instead of the index scan in customer order (measured 6.3 s against 3.4 s on 1M rows).
    opted_out = [
        row[0] for row in connection.execute(select(c.c.id).where(c.c.consent_profiling.is_(False)))
    ]
    width = 1 + len(columns) + len(nth_columns)
    flat = np.fromiter(itertools.chain.from_iterable(rows), np.int64, count=len(rows) * width)
    whole = flat.reshape(len(rows), width)
    missing = whole == MISSING
    # Every rule has a column (own rules their first time, the others their last), so a row
    # with all of them missing is a customer with no event of any rule.
    tracked_rows = ~missing[:, 1 : 1 + len(columns)].all(axis=1)
    keep = tracked_rows & ~np.isin(whole[:, 0], np.array(opted_out, np.int64))
    order = np.flatnonzero(keep)[np.argsort(whole[keep, 0], kind="stable")]
    whole, missing = whole[order], missing[order]
    ids = whole[:, 0]
    rules = len(conditions)
    first = np.full((ids.size, rules), NEVER, dtype=np.int64)
    last = np.full((ids.size, rules), NOT_YET, dtype=np.int64)
    for position, (which, r) in enumerate(columns, start=1):
        known = ~missing[:, position]
        (first if which == "first" else last)[known, r] = whole[known, position]
    nth = {
        key: np.where(missing[:, position], NEVER, whole[:, position])
        for position, key in enumerate(nth_columns, start=1 + len(columns))
    }
    return _journeys(ids, first, last, nth, plan, stage_set)


def _reads_more_than_kind(rule: EventRule) -> bool:
    return bool(rule.stages or rule.channels or rule.campaigns)


def _rule_of(bit: int) -> int:
    return bit.bit_length() - 1


def _read_times(plan: RulePlan, stage_set: StageSet) -> tuple[set[int], set[int]]:
    """The rules whose first and whose last times are read: the first time of each stage's own
    rule; the last time only of what a stage with `against` kinds compares (its own events, those
    of the stage its `repeat` counts, and the `against` and `resolved_by` kinds). Measured:
    dropping the unread MAX columns takes the SQLite statement from 3.5-4.9 s to 2.7 s on 1M
    interactions."""
    names = stage_set.names
    wants_first = {_rule_of(bit) for bit in plan.own if bit}
    wants_last: set[int] = set()
    for k, bits in enumerate(plan.service):
        if bits is None:
            continue
        wants_last |= {_rule_of(bit) for bit in (*bits, plan.own[k]) if bit}
        repeat = stage_set.stages[k].repeat
        if repeat is not None:
            wants_last.add(_rule_of(plan.own[names.index(repeat.of)]))
    return wants_first, wants_last


def _nth_moments(
    plan: RulePlan,
    stage_set: StageSet,
    conditions: list[ColumnElement[bool]],
    where: list[ColumnElement[bool]],
    dialect: str,
    tables: Tables,
) -> dict[int, tuple[Subquery, list[int]]]:
    """Per rule that a `repeat` stage counts: a subquery of each customer's `nth` distinct
    moment of its events (whole seconds, as the event path compares them), one column per nth."""
    i = tables.interaction
    wanted: dict[int, set[int]] = {}
    for stage in stage_set.stages:
        if stage.repeat is not None:
            r = _rule_of(plan.own[stage_set.names.index(stage.repeat.of)])
            wanted.setdefault(r, set()).add(stage.repeat.nth)
    found: dict[int, tuple[Subquery, list[int]]] = {}
    for r, nth_set in sorted(wanted.items()):
        nths = sorted(nth_set)
        moment = epoch_seconds(i.c.occurred_at, dialect)
        ranked = (
            select(
                i.c.customer_id,
                moment.label("moment"),
                func.dense_rank()
                .over(partition_by=i.c.customer_id, order_by=moment)
                .label("distinct_rank"),
            )
            .where(*where, conditions[r])
            .subquery(f"ranked_{r}")
        )
        at = ranked.c.distinct_rank
        per_customer = (
            select(
                ranked.c.customer_id,
                *(func.min(case((at == n, ranked.c.moment))).label(f"nth_{r}_{n}") for n in nths),
            )
            .where(at.in_(nths))
            .group_by(ranked.c.customer_id)
            .subquery(f"moments_{r}")
        )
        found[r] = (per_customer, nths)
    return found


def _journeys(
    ids: NDArray[np.int64],
    first: NDArray[np.int64],
    last: NDArray[np.int64],
    nth: dict[tuple[int, int], NDArray[np.int64]],
    plan: RulePlan,
    stage_set: StageSet,
) -> Journeys:
    """From per-rule times to per-stage times (the rules of `stage_members`: a repeat stage is
    reached at its `nth` moment when that is within `within_days` of the counted stage's first
    event, and every later event of that stage shows it again), blockers, and the journeys."""
    n, stages = ids.size, len(stage_set.stages)
    names = stage_set.names
    stage_first = np.full((n, stages), NEVER, dtype=np.int64)
    stage_last = np.full((n, stages), NOT_YET, dtype=np.int64)
    for k, stage in enumerate(stage_set.stages):
        if plan.own[k]:
            stage_first[:, k] = first[:, _rule_of(plan.own[k])]
            stage_last[:, k] = last[:, _rule_of(plan.own[k])]
        if stage.repeat is not None:
            of = _rule_of(plan.own[names.index(stage.repeat.of)])
            moment = nth[(of, stage.repeat.nth)]
            qualified = (moment != NEVER) & (
                moment - first[:, of] <= stage.repeat.within_days * DAY
            )
            stage_first[:, k] = np.where(
                qualified, np.minimum(stage_first[:, k], moment), stage_first[:, k]
            )
            stage_last[:, k] = np.where(
                qualified, np.maximum(stage_last[:, k], last[:, of]), stage_last[:, k]
            )
    blockers: Blockers = {}
    for k, bits in enumerate(plan.service):
        if bits is not None:
            against, resolved = bits
            cleared = last[:, _rule_of(resolved)] if resolved else np.full(n, NOT_YET, np.int64)
            blockers[k] = (last[:, _rule_of(against)], cleared)
    members = Members(
        member=np.zeros((0, stages), dtype=bool),
        first=stage_first,
        last=stage_last,
        who=np.zeros(0, dtype=np.intp),
        time=np.zeros(0, dtype=np.int64),
        customers=n,
    )
    return finish_journeys(ids, members, plan, blockers, stage_set)
