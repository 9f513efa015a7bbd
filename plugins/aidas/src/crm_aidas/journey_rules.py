"""Which rule bit means what in a stage set's event reader, and how the events are read.

A stage set's stages become `EventRule`s (`RulePlan`): each stage's own rule, then the `against`
and `resolved_by` rules of stages that have them. `journey_sequences` builds the reader;
`bit_codes` turns what it reads into one bitmask per event (bit r: it matches rule r), whether
the rules were disjoint enough to read as plain rule indexes or not. `action_index` says which
stage is the purchase.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm import EventChunk, EventRule, EventSequences
from crm_aidas.options import StageSet

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: The event properties read for first- and last-touch attribution.
TOUCH_PROPERTIES = ("channel", "campaign")


def action_index(stage_set: StageSet) -> int:
    """The stage that is the action (a purchase): named "action", else the first whose kinds
    include purchase, else the last stage."""
    names = stage_set.names
    if "action" in names:
        return names.index("action")
    for k, stage in enumerate(stage_set.stages):
        if "purchase" in stage.kinds:
            return k
    return len(names) - 1


@frozen
class RulePlan:
    """Which rule bit means what."""

    rules: tuple[EventRule, ...]
    #: Bitmask of the rules of each stage's own events.
    own: tuple[int, ...]
    #: Per stage: (against bit, resolved bit), or None.
    service: tuple[tuple[int, int] | None, ...]

    @classmethod
    def of(cls, stage_set: StageSet) -> RulePlan:
        rules: list[EventRule] = []
        own: list[int] = []
        for stage in stage_set.stages:
            rule = stage.rule()
            if rule is None:
                own.append(0)
            else:
                own.append(1 << len(rules))
                rules.append(rule)
        service: list[tuple[int, int] | None] = []
        for stage in stage_set.stages:
            if not stage.against:
                service.append(None)
                continue
            against = 1 << len(rules)
            rules.append(EventRule(kinds=stage.against))
            resolved = 0
            if stage.resolved_by:
                resolved = 1 << len(rules)
                rules.append(EventRule(kinds=stage.resolved_by))
            service.append((against, resolved))
        return cls(tuple(rules), tuple(own), tuple(service))


def _values_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if any(v.endswith("*") for v in (*a, *b)):
        return bool(a and b)  # a prefix may match anything of the other: assume overlap
    return bool(set(a) & set(b))


def disjoint(rules: tuple[EventRule, ...]) -> bool:
    """Whether no interaction can match two of the rules (judged on kinds and stages alone,
    so channel and campaign filters only make it more cautious)."""
    for n, a in enumerate(rules):
        for b in rules[n + 1 :]:
            if not (a.kinds or a.stages) or not (b.kinds or b.stages):
                return False  # a rule without kinds or stages matches every kind
            if _values_overlap(a.kinds, b.kinds) or _values_overlap(a.stages, b.stages):
                return False
            if (a.stages and "stage_change" in b.kinds) or (b.stages and "stage_change" in a.kinds):
                return False
    return True


def journey_sequences(
    stage_set: StageSet, *, as_of: date, start: date | None = None, attributed: bool = True
) -> tuple[RulePlan, EventSequences]:
    """The reader of the set's events. When no interaction can match two rules, codes are rule
    indexes (`match="first"`: one CASE in SQL instead of a sum of CASEs for a bitmask) and
    `bit_codes` turns them into the same bitmasks."""
    plan = RulePlan.of(stage_set)
    extras: Any = TOUCH_PROPERTIES if attributed else ()
    match: Any = "first" if disjoint(plan.rules) else "all"
    sequences = EventSequences(rules=plan.rules, start=start, end=as_of, extras=extras, match=match)
    return plan, sequences


def bit_codes(chunk: EventChunk, sequences: EventSequences) -> NDArray[np.int64]:
    """The chunk's codes as rule bitmasks, whichever way they were read."""
    if sequences.match == "all":
        return chunk.code
    return np.left_shift(np.int64(1), chunk.code)
