"""Each customer's journey through a stage set: one vectorised pass over each chunk of events.

Events come from `crm.EventSequences`; `bit_codes` gives each a bitmask: bit r says it
matches rule r (the rule plan and the reader are in `crm_aidas.journey_rules`). Rules are, in
order: each stage's own rule (stages reached only by `repeat` have none), then per stage with
`against` one rule for those kinds and one for its `resolved_by`.

Per customer (the exact rules, with examples, are in the README):
- `first[k]`: the first event of stage k (own rule, or the `nth` event of stage `of` within
  `within_days` of that stage's first event); stage k is *observed* when there is one;
- `furthest`: the highest observed stage (-1: none). Every stage up to it counts as reached: a
  purchase without a recorded visit still passed through interest (impressions are rarely
  tracked for everyone), so skipped stages are reached at the time of the next observed one;
- `entry[k]` = min(first[j] for j >= k): when the customer was first at stage k or beyond; it
  never decreases with k, so events out of order still give non-negative days between stages;
- `current`: the furthest stage, or the one before it when the furthest stage has `against`
  kinds and the last such event is later than both the last event of the stage and the last
  `resolved_by` event (a complaint after the last feedback: not satisfied now);
- first touch: the customer's stage events from the first; last touch: their stage events up to
  the last one before the first action event (the action event itself when nothing came before;
  the last stage event when they never acted). Each gives the first (or last) channel and
  campaign recorded among them (None when none is).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from attrs import frozen

from crm import EventChunk, EventSequences

# Re-exported: report, api, scoring and journey_sql import these from here.
from crm_aidas.journey_rules import TOUCH_PROPERTIES
from crm_aidas.journey_rules import RulePlan as RulePlan
from crm_aidas.journey_rules import action_index as action_index
from crm_aidas.journey_rules import bit_codes as bit_codes
from crm_aidas.journey_rules import disjoint as disjoint
from crm_aidas.journey_rules import journey_sequences as journey_sequences
from crm_aidas.options import StageSet

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm import Tables

DAY = 86_400
NEVER = np.iinfo(np.int64).max
NOT_YET = np.iinfo(np.int64).min
TOUCHES = ("first", "last")


@frozen(kw_only=True)
class Journeys:
    """Per customer who has any stage event: columns aligned with `customer_id` (ascending).

    Times are UTC seconds since 1970; `entry[c, k]` is NEVER where stage k was not reached.
    """

    customer_id: NDArray[np.int64]
    observed: NDArray[np.bool_]
    entry: NDArray[np.int64]
    furthest: NDArray[np.int64]
    current: NDArray[np.int64]
    #: Stage events before the first action event (all stage events when there is none).
    touches_to_action: NDArray[np.int64]
    #: `touch[("first"|"last", "channel"|"campaign")]`: object arrays (str or None).
    touch: dict[tuple[str, str], NDArray[np.object_]]

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    @property
    def stages(self) -> int:
        return int(self.entry.shape[1])

    def reached(self) -> NDArray[np.bool_]:
        """`reached[c, k]`: the customer got to stage k or beyond."""
        return np.arange(self.stages)[None, :] <= self.furthest[:, None]

    def take(self, index: Any) -> Journeys:
        return Journeys(
            customer_id=self.customer_id[index],
            observed=self.observed[index],
            entry=self.entry[index],
            furthest=self.furthest[index],
            current=self.current[index],
            touches_to_action=self.touches_to_action[index],
            touch={key: column[index] for key, column in self.touch.items()},
        )

    @classmethod
    def concatenate(cls, parts: list[Journeys], stages: int) -> Journeys:
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return cls(
                customer_id=empty,
                observed=np.zeros((0, stages), dtype=bool),
                entry=np.zeros((0, stages), dtype=np.int64),
                furthest=empty,
                current=empty,
                touches_to_action=empty,
                touch={
                    (t, p): np.zeros(0, dtype=object) for t in TOUCHES for p in TOUCH_PROPERTIES
                },
            )
        return cls(
            customer_id=np.concatenate([p.customer_id for p in parts]),
            observed=np.concatenate([p.observed for p in parts]),
            entry=np.concatenate([p.entry for p in parts]),
            furthest=np.concatenate([p.furthest for p in parts]),
            current=np.concatenate([p.current for p in parts]),
            touches_to_action=np.concatenate([p.touches_to_action for p in parts]),
            touch={k: np.concatenate([p.touch[k] for p in parts]) for k in parts[0].touch},
        )


def compute_journeys(
    connection: Connection,
    tables: Tables,
    stage_set: StageSet,
    *,
    as_of: date,
    start: date | None = None,
    attributed: bool = True,
) -> Journeys:
    """Every customer's journey before `as_of` (events from `start` on, when given)."""
    plan, sequences = journey_sequences(stage_set, as_of=as_of, start=start, attributed=attributed)
    parts = [
        journeys_of_chunk(chunk, stage_set, plan, bit_codes(chunk, sequences))
        for chunk in sequences.chunks(connection, tables)
    ]
    return Journeys.concatenate(parts, len(stage_set.stages))


def _firsts(
    mask: NDArray[np.bool_], who: NDArray[np.intp], t: NDArray[np.int64], n: int, last: bool
) -> NDArray[np.int64]:
    """Per customer the time of the first (or last) masked event; NEVER / NOT_YET if none."""
    out = np.full(n, NOT_YET if last else NEVER, dtype=np.int64)
    index = np.flatnonzero(mask)
    if index.size:
        cust = who[index]
        edge = np.empty(index.size, dtype=bool)
        if last:
            edge[:-1] = cust[1:] != cust[:-1]
            edge[-1] = True
        else:
            edge[0] = True
            edge[1:] = cust[1:] != cust[:-1]
        out[cust[edge]] = t[index[edge]]
    return out


@frozen
class Members:
    """Stage membership of a chunk's events: `member[e, k]`, and per customer the first and last
    time of each stage (NEVER / NOT_YET where none); `who[e]` is the event's customer index."""

    member: NDArray[np.bool_]
    first: NDArray[np.int64]
    last: NDArray[np.int64]
    who: NDArray[np.intp]
    time: NDArray[np.int64]
    customers: int


def stage_members(
    chunk: EventChunk, stage_set: StageSet, plan: RulePlan, code: NDArray[np.int64]
) -> Members:
    """`code`: the chunk's rule bitmasks (`bit_codes`)."""
    starts = chunk.customer_starts()
    n, m, stages = int(starts.size), len(chunk), len(stage_set.stages)
    sizes = np.diff(np.append(starts, m))
    who = np.repeat(np.arange(n, dtype=np.intp), sizes)
    t = chunk.time.astype(np.int64)
    first = np.full((n, stages), NEVER, dtype=np.int64)
    last = np.full((n, stages), NOT_YET, dtype=np.int64)
    member = np.zeros((m, stages), dtype=bool)
    names = stage_set.names
    for k, stage in enumerate(stage_set.stages):
        own = (code & plan.own[k]) != 0 if plan.own[k] else np.zeros(m, dtype=bool)
        positive = own
        if stage.repeat is not None:
            j = names.index(stage.repeat.of)
            index = np.flatnonzero(member[:, j])
            cust = who[index]
            # Events of one customer at one moment count once (an order of two lines).
            distinct = np.ones(index.size, dtype=bool)
            distinct[1:] = (cust[1:] != cust[:-1]) | (t[index[1:]] != t[index[:-1]])
            index, cust = index[distinct], cust[distinct]
            # Rank of each stage-j event within its customer: position minus the first position.
            first_pos = np.full(n, -1, dtype=np.int64)
            new = np.ones(index.size, dtype=bool)
            new[1:] = cust[1:] != cust[:-1]
            first_pos[cust[new]] = np.flatnonzero(new)
            rank = np.arange(index.size) - first_pos[cust]
            since = t[index] - first[cust, j]
            qualifies = (rank == stage.repeat.nth - 1) & (since <= stage.repeat.within_days * DAY)
            repeat_time = np.full(n, NEVER, dtype=np.int64)
            repeat_time[cust[qualifies]] = t[index[qualifies]]
            # Every later stage-j event of a qualified customer shows the stage again.
            later = np.zeros(m, dtype=bool)
            later[index] = t[index] >= repeat_time[cust]
            positive = own | later
        member[:, k] = positive
        first[:, k] = _firsts(positive, who, t, n, last=False)
        last[:, k] = _firsts(positive, who, t, n, last=True)
    return Members(member, first, last, who, t, n)


Blockers = dict[int, tuple["NDArray[np.int64]", "NDArray[np.int64]"]]


def finish_journeys(
    customer_id: NDArray[np.int64],
    found: Members,
    plan: RulePlan,
    blockers: Blockers,
    stage_set: StageSet,
) -> Journeys:
    """Furthest, entry and current stage from the first and last times of each stage, and per
    stage with `against` kinds the last such event and the last `resolved_by` event. Touches are
    left unknown (-1, None) for the caller that has the events."""
    first, last, n = found.first, found.last, found.customers
    stages = len(stage_set.stages)
    observed = first != NEVER
    any_stage = observed.any(axis=1)
    furthest = np.where(any_stage, stages - 1 - np.argmax(observed[:, ::-1], axis=1), -1)
    entry = np.minimum.accumulate(first[:, ::-1], axis=1)[:, ::-1]
    entry = np.where(np.arange(stages)[None, :] <= furthest[:, None], entry, NEVER)
    current = furthest.copy()
    for k, (blocker, cleared) in blockers.items():
        blocked = (furthest == k) & (blocker > np.maximum(cleared, last[:, k]))
        current[blocked] = k - 1
    return Journeys(
        customer_id=customer_id,
        observed=observed,
        entry=entry,
        furthest=furthest.astype(np.int64),
        current=current.astype(np.int64),
        touches_to_action=np.full(n, -1, dtype=np.int64),
        touch={(t, p): np.full(n, None, dtype=object) for t in TOUCHES for p in TOUCH_PROPERTIES},
    )


def journeys_of_chunk(
    chunk: EventChunk, stage_set: StageSet, plan: RulePlan, code: NDArray[np.int64]
) -> Journeys:
    found = stage_members(chunk, stage_set, plan, code)
    who, t, n = found.who, found.time, found.customers
    blockers: Blockers = {}
    for k, bits in enumerate(plan.service):
        if bits is None:
            continue
        against, resolved = bits
        blocker = _firsts((code & against) != 0, who, t, n, last=True)
        cleared = (
            _firsts((code & resolved) != 0, who, t, n, last=True)
            if resolved
            else np.full(n, NOT_YET, dtype=np.int64)
        )
        blockers[k] = (blocker, cleared)
    journeys = finish_journeys(chunk.customers(), found, plan, blockers, stage_set)
    touches, touch = _touches(chunk, found.member, who, n, action_index(stage_set))
    return attrs.evolve(journeys, touches_to_action=touches, touch=touch)


def _touches(
    chunk: EventChunk, member: NDArray[np.bool_], who: NDArray[np.intp], n: int, action: int
) -> tuple[NDArray[np.int64], dict[tuple[str, str], NDArray[np.object_]]]:
    """Touchpoints before the first action, and the first- and last-touch channel/campaign."""
    stage_event = member.any(axis=1)
    index = np.flatnonzero(stage_event)
    cust = who[index]
    is_action = member[index, action]
    # Position (among the customer's stage events) of the first action event, or their count.
    counts = np.bincount(cust, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(index.size) - starts[cust]
    first_action = np.full(n, -1, dtype=np.int64)
    acted = np.flatnonzero(is_action)
    if acted.size:
        new = np.ones(acted.size, dtype=bool)
        new[1:] = cust[acted[1:]] != cust[acted[:-1]]
        first_action[cust[acted[new]]] = rank[acted[new]]
    touches = np.where(first_action >= 0, first_action, counts).astype(np.int64)
    # Last touch before the action: rank first_action - 1, or the action itself (rank 0) when
    # nothing came before, or the last stage event when they never acted. Each property takes
    # the first known value from the start, and the last known value up to that rank.
    last_rank = np.where(
        first_action > 0, first_action - 1, np.where(first_action == 0, 0, counts - 1)
    )
    touch: dict[tuple[str, str], NDArray[np.object_]] = {}
    for prop in TOUCH_PROPERTIES:
        values = getattr(chunk, prop)
        first_value = np.full(n, None, dtype=object)
        last_value = np.full(n, None, dtype=object)
        if values is not None and index.size:
            mine = values[index]
            known = mine.astype(bool)  # labels are non-empty text, None when not recorded
            pick = np.flatnonzero(known)
            if pick.size:
                who_k = cust[pick]
                new = np.ones(pick.size, dtype=bool)
                new[1:] = who_k[1:] != who_k[:-1]
                first_value[who_k[new]] = mine[pick[new]]
                upto = pick[rank[pick] <= last_rank[who_k]]
                who_u = cust[upto]
                end = np.ones(upto.size, dtype=bool)
                end[:-1] = who_u[1:] != who_u[:-1]
                last_value[who_u[end]] = mine[upto[end]]
        touch[("first", prop)] = first_value
        touch[("last", prop)] = last_value
    return touches, touch


def path_counts(
    chunks: Iterator[EventChunk], stage_set: StageSet, plan: RulePlan, sequences: EventSequences
) -> dict[tuple[int, ...], int]:
    """How many customers took each path to their first action: the stages they were observed
    in up to it, in the order they first reached them (so a skipped stage is missing)."""
    action = action_index(stage_set)
    stages = len(stage_set.stages)
    counts: dict[tuple[int, ...], int] = {}
    for chunk in chunks:
        first = stage_members(chunk, stage_set, plan, bit_codes(chunk, sequences)).first
        acted = first[:, action] != NEVER
        first = first[acted]
        # Stages after the action in time, or never observed, are left out of the path; the
        # action goes last even when another stage shares its moment.
        shown = first <= first[:, [action]]
        shown[:, action] = False
        when = np.where(shown, first, NEVER)
        order = np.argsort(when, axis=1, kind="stable")
        length = shown.sum(axis=1)
        # Encode each path as digits of base stages + 1 (0 = no more stages), then count.
        digits = np.where(np.arange(stages)[None, :] < length[:, None], order + 1, 0)
        digits = np.concatenate([digits, np.zeros((len(digits), 1), dtype=np.int64)], axis=1)
        digits[np.arange(len(digits)), length] = action + 1
        codes, n = np.unique(digits, axis=0, return_counts=True)
        for code, count in zip(codes.tolist(), n.tolist(), strict=True):
            key = tuple(d - 1 for d in code if d)
            counts[key] = counts.get(key, 0) + count
    return counts
