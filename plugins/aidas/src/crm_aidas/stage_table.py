"""The per-stage tables: reached, conversion to the next stage, drop-off, days to the next stage.

For stage k of a set with stages 0..S-1, over a group of customers:
- `reached`: customers whose furthest stage is k or later; `observed`: those with an event of
  stage k itself (fewer when some skip it); `current`: customers whose current stage is k;
- `convert`: reached[k+1] / reached[k] (none for the last stage, or when nobody reached k);
- `dropped`: reached[k] - reached[k+1], the customers whose journey stops at k so far (as a share
  of reached[k] it is 1 - conversion);
- `days_next`: median of entry[k+1] - entry[k] in days over the customers who reached
  k+1 (none when nobody did).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from crm import Table
from crm_aidas.journey import DAY, TOUCHES, Journeys

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: Short names, so the table fits 80 columns (the drop-off share is 1 - conversion).
STAGE_COLUMNS = ("stage", "reached", "observed", "current", "convert", "dropped", "days_next")
#: The breakdown leaves out observed and current to make room for the channel or campaign.
BREAKDOWN_COLUMNS = ("stage", "reached", "convert", "dropped", "days_next")


def _ratio(top: int, bottom: int) -> float | None:
    return round(top / bottom, 4) if bottom else None


def stage_rows(journeys: Journeys, names: Sequence[str]) -> list[tuple[Any, ...]]:
    reached = journeys.reached()
    counts = reached.sum(axis=0)
    observed = journeys.observed.sum(axis=0)
    current = np.bincount(journeys.current[journeys.current >= 0], minlength=len(names))
    rows: list[tuple[Any, ...]] = []
    for k, name in enumerate(names):
        here = int(counts[k])
        if k + 1 < len(names):
            after = int(counts[k + 1])
            both = reached[:, k + 1]
            days = (journeys.entry[both, k + 1] - journeys.entry[both, k]) / DAY
            median: float | None = round(float(np.median(days)), 2) if days.size else None
            conversion, dropped = _ratio(after, here), here - after
        else:
            median = conversion = None
            dropped = None
        rows.append((name, here, int(observed[k]), int(current[k]), conversion, dropped, median))
    return rows


def stage_table(journeys: Journeys, names: Sequence[str], title: str) -> Table:
    return Table(columns=STAGE_COLUMNS, rows=tuple(stage_rows(journeys, names)), title=title)


def group_labels(values: NDArray[np.object_]) -> NDArray[np.object_]:
    """Group values with None shown as "(none)", so an unknown channel is a row of its own."""
    labels = values.copy()
    labels[~values.astype(bool)] = "(none)"
    return labels


def breakdown_table(
    journeys: Journeys, names: Sequence[str], prop: str, touch: str, title: str
) -> Table:
    """The stage table per first- or last-touch value of `prop` (channel or campaign)."""
    if touch not in TOUCHES:
        raise ValueError(f"touch must be one of {TOUCHES}, got {touch!r}")
    labels = group_labels(journeys.touch[(touch, prop)])
    rows: list[tuple[Any, ...]] = []
    keep = [STAGE_COLUMNS.index(column) for column in BREAKDOWN_COLUMNS]
    for value in sorted(set(labels.tolist())):
        part = journeys.take(labels == value)
        rows += [(value, *(row[i] for i in keep)) for row in stage_rows(part, names)]
    return Table(columns=(prop, *BREAKDOWN_COLUMNS), rows=tuple(rows), title=title)
