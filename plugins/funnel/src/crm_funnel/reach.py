"""Who reached which step, and when: one vectorised pass per step over each chunk of events.

The events come from `crm.EventSequences` with `match="all"`: each event's code is a bitmask of
the steps it belongs to, so one interaction kind may serve two steps (an e-mail opened before the
purchase is research, one opened after it is relationship maintenance). Within a customer, events
are in sequence order: time, then code, then the database's id.

Ordered and strict modes: the attempt starts at the customer's first step-1 event; step k is the
first step-k event after (in sequence order) the event that reached step k-1; in strict mode it
must be the very next event that is not a repeat of step k-1. Any mode: the attempt starts at the
customer's first tracked event and each step is its first event inside the window. The exact rules,
windows included, are in the README.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm import EventChunk, EventSequences
from crm.core.events import DEFAULT_CHUNK_ROWS
from crm_funnel.options import FunnelDefinition

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm import Tables

DAY = 86_400
#: Properties that vary between events and can be attributed to a customer's attempt.
ATTRIBUTED = ("channel", "campaign")


@frozen
class Reach:
    """Per customer who entered the funnel: which steps they reached and when.

    `reached[c, k]` says whether customer `customer_id[c]` reached step k; `time[c, k]` is when
    (UTC seconds since 1970; 0 where not reached); `entered_at[c]` starts their attempt.
    `attribution[p]` holds the first-touch and last-touch value of property p (channel,
    campaign) among the attempt's events, from entry to the furthest step (None: none known).
    """

    customer_id: NDArray[np.int64]
    reached: NDArray[np.bool_]
    time: NDArray[np.int64]
    entered_at: NDArray[np.int64]
    attribution: Mapping[str, tuple[NDArray[np.object_], NDArray[np.object_]]]

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    @property
    def steps(self) -> int:
        return int(self.reached.shape[1])

    def furthest(self) -> NDArray[np.int64]:
        """Index of the furthest step each customer reached (-1: none)."""
        any_reached = self.reached.any(axis=1)
        last = self.steps - 1 - np.argmax(self.reached[:, ::-1], axis=1)
        return np.where(any_reached, last, -1).astype(np.int64)

    def take(self, index: Any) -> Reach:
        return Reach(
            customer_id=self.customer_id[index],
            reached=self.reached[index],
            time=self.time[index],
            entered_at=self.entered_at[index],
            attribution={p: (f[index], la[index]) for p, (f, la) in self.attribution.items()},
        )

    def entered_between(self, start: date | None, end: date | None) -> Reach:
        """The customers whose attempt started in [start, end) (dates are UTC midnights)."""
        keep = np.ones(len(self), dtype=bool)
        if start is not None:
            keep &= self.entered_at >= _seconds(start)
        if end is not None:
            keep &= self.entered_at < _seconds(end)
        return self.take(keep)

    @classmethod
    def concatenate(cls, parts: Sequence[Reach], steps: int, attributed: Sequence[str]) -> Reach:
        if not parts:
            empty = np.zeros(0, dtype=object)
            return cls(
                customer_id=np.zeros(0, dtype=np.int64),
                reached=np.zeros((0, steps), dtype=bool),
                time=np.zeros((0, steps), dtype=np.int64),
                entered_at=np.zeros(0, dtype=np.int64),
                attribution={p: (empty, empty) for p in attributed},
            )
        return cls(
            customer_id=np.concatenate([p.customer_id for p in parts]),
            reached=np.concatenate([p.reached for p in parts]),
            time=np.concatenate([p.time for p in parts]),
            entered_at=np.concatenate([p.entered_at for p in parts]),
            attribution={
                name: (
                    np.concatenate([p.attribution[name][0] for p in parts]),
                    np.concatenate([p.attribution[name][1] for p in parts]),
                )
                for name in attributed
            },
        )


def _seconds(day: date | datetime) -> int:
    moment = np.datetime64(day, "s") if isinstance(day, datetime) else np.datetime64(day, "D")
    return int(moment.astype("datetime64[s]").astype(np.int64))


def _first_at_or_after(
    candidates: NDArray[np.intp], start: NDArray[np.int64], end: NDArray[np.intp]
) -> NDArray[np.int64]:
    """Per customer, the first candidate position in [start, end), or -1."""
    if candidates.size == 0:
        return np.full(start.shape, -1, dtype=np.int64)
    i = np.searchsorted(candidates, start)
    q = candidates[np.minimum(i, candidates.size - 1)]
    return np.where((i < candidates.size) & (q < end) & (start >= 0), q, -1).astype(np.int64)


def reach_in_chunk(
    chunk: EventChunk, definition: FunnelDefinition, attributed: Sequence[str] = ()
) -> Reach:
    """The `Reach` of the customers of one chunk (events of whole customers, in order)."""
    n, k_steps = len(chunk), len(definition.steps)
    starts = chunk.customer_starts().astype(np.int64)
    ends = np.append(starts[1:], n).astype(np.intp)
    t = chunk.time.astype(np.int64)
    bits = chunk.code
    window = round(definition.window_days * DAY)

    def has(step: int) -> NDArray[np.bool_]:
        mask: NDArray[np.bool_] = (bits & (1 << step)) != 0
        return mask

    pos = np.full((starts.size, k_steps), -1, dtype=np.int64)
    if definition.order == "any":
        entry = starts
        for step in range(k_steps):
            q = _first_at_or_after(np.flatnonzero(has(step)), entry, ends)
            inside = (q >= 0) & (t[np.maximum(q, 0)] - t[entry] <= window)
            pos[:, step] = np.where(inside, q, -1)
    else:
        entry = _first_at_or_after(np.flatnonzero(has(0)), starts, ends)
        pos[:, 0] = entry
        for step in range(1, k_steps):
            prev = pos[:, step - 1]
            if definition.order == "ordered":
                after = np.where(prev >= 0, prev + 1, -1)  # -1: never reached the previous step
                q = _first_at_or_after(np.flatnonzero(has(step)), after, ends)
            else:  # strict: the next event that is not a repeat of the previous step
                repeat = has(step - 1) & ~has(step)
                nxt = np.where(repeat, n, np.arange(n))
                nxt = np.append(np.minimum.accumulate(nxt[::-1])[::-1], n)
                after = nxt[np.where(prev >= 0, prev + 1, n)]
                q = np.where((prev >= 0) & (after < ends), after, -1)
                q = np.where((q >= 0) & has(step)[np.maximum(q, 0)], q, -1)
            here = t[np.maximum(q, 0)]
            ok = (q >= 0) & (here - t[np.maximum(entry, 0)] <= window)
            step_window = definition.steps[step].window_days
            if step_window is not None:
                ok &= here - t[np.maximum(prev, 0)] <= round(step_window * DAY)
            pos[:, step] = np.where(ok, q, -1)
    entered = entry >= 0
    reached = pos >= 0
    time = np.where(reached, t[np.maximum(pos, 0)], 0)
    attribution = {
        name: _attribute(getattr(chunk, name), entry, pos.max(axis=1)) for name in attributed
    }
    return Reach(
        customer_id=chunk.customer_id[starts[entered]],
        reached=reached[entered],
        time=time[entered],
        entered_at=t[entry[entered]],
        attribution={p: (f[entered], la[entered]) for p, (f, la) in attribution.items()},
    )


def _attribute(
    values: NDArray[np.object_] | None, lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """First and last known value in positions [lo, hi] per customer."""
    assert values is not None, "the property was not read"
    known = np.flatnonzero(values.astype(bool))  # None and "" are unknown
    none = np.full(lo.shape, None, dtype=object)
    if known.size == 0:
        return none, none.copy()
    i = np.searchsorted(known, lo)
    first_pos = known[np.minimum(i, known.size - 1)]
    first_ok = (lo >= 0) & (i < known.size) & (first_pos <= hi)
    j = np.searchsorted(known, hi, side="right") - 1
    last_pos = known[np.maximum(j, 0)]
    last_ok = (lo >= 0) & (j >= 0) & (last_pos >= lo)
    first, last = none, none.copy()
    first[first_ok] = values[first_pos[first_ok]]
    last[last_ok] = values[last_pos[last_ok]]
    return first, last


def compute_reach(
    connection: Connection,
    tables: Tables,
    definition: FunnelDefinition,
    *,
    as_of: date,
    attributed: Sequence[str] = (),
    chunk_rows: int | None = None,
) -> Reach:
    """Read the funnel's events before `as_of` and compute every customer's reach."""
    extras: Any = tuple(a for a in attributed if a in ATTRIBUTED)
    # Nothing outside a customer's window can count, so only the window crosses the wire:
    # from the first step-1 event (any mode: the first tracked event) to window_days after it.
    sequences = EventSequences(
        rules=definition.rules(),
        end=as_of,
        extras=extras,
        match="all",
        anchor=None if definition.order == "any" else 0,
        span=timedelta(seconds=round(definition.window_days * DAY)),
        chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
    )
    parts = [
        reach_in_chunk(chunk, definition, extras) for chunk in sequences.chunks(connection, tables)
    ]
    return Reach.concatenate(parts, len(definition.steps), extras)
