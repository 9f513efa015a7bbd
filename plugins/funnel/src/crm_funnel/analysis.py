"""The step table, breakdowns, cohorts and drop-off lists, from a `Reach` on numpy columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import Table
from crm_funnel.options import FunnelDefinition
from crm_funnel.reach import DAY, Reach, _seconds

if TYPE_CHECKING:
    from numpy.typing import NDArray

STEP_COLUMNS = (
    "step",
    "customers",
    "conversion",
    "from_top",
    "dropped",
    "dropped_share",
    "median_days",
    "p90_days",
    "stuck",
)


@frozen
class StepStats:
    """One row of the step table. Shares are of customers; days are from the previous step."""

    step: str
    customers: int
    conversion: float | None
    from_top: float | None
    dropped: int | None
    dropped_share: float | None
    median_days: float | None
    p90_days: float | None
    stuck: int | None

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in STEP_COLUMNS)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _days(seconds: NDArray[np.int64], q: float) -> float | None:
    # numpy's default (linear) interpolation between order statistics, in days.
    return round(float(np.percentile(seconds, q)) / DAY, 2) if seconds.size else None


def step_stats(reach: Reach, definition: FunnelDefinition, as_of: date) -> list[StepStats]:
    """Per step: reached, conversions, drop-off, time from the previous step, stuck customers."""
    entered = len(reach)
    furthest = reach.furthest()
    now = _seconds(as_of)
    stuck_limit = round(definition.stuck_after_days * DAY)
    last = len(definition.steps) - 1
    rows = []
    for k, name in enumerate(definition.step_names):
        here = reach.reached[:, k]
        count = int(here.sum())
        previous = int(reach.reached[:, k - 1].sum()) if k else entered
        if definition.order == "any":
            waited = (reach.time[:, k] - reach.entered_at)[here]
        else:
            waited = (reach.time[:, k] - reach.time[:, k - 1])[here] if k else np.zeros(0, np.int64)
        dropped = stuck = None
        if k < last:
            dropped = int((here & ~reach.reached[:, k + 1]).sum())
            stuck = int(((furthest == k) & (now - reach.time[:, k] > stuck_limit)).sum())
        rows.append(
            StepStats(
                step=name,
                customers=count,
                conversion=_share(count, previous),
                from_top=_share(count, entered),
                dropped=dropped,
                dropped_share=None if dropped is None else _share(dropped, count),
                median_days=_days(waited, 50) if k or definition.order == "any" else None,
                p90_days=_days(waited, 90) if k or definition.order == "any" else None,
                stuck=stuck,
            )
        )
    return rows


def steps_table(reach: Reach, definition: FunnelDefinition, as_of: date, title: str) -> Table:
    rows = tuple(s.row() for s in step_stats(reach, definition, as_of))
    return Table(columns=STEP_COLUMNS, rows=rows, title=title)


def breakdown_table(
    reach: Reach,
    definition: FunnelDefinition,
    as_of: date,
    values: NDArray[np.object_],
    by: str,
    title: str,
) -> Table:
    """The step table per value of `values` (one per customer of `reach`), largest group first."""
    labels = np.array(["(none)" if v is None else str(v) for v in values], dtype=object)
    groups, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    rows: list[tuple[object, ...]] = []
    for g in sorted(range(groups.size), key=lambda g: (-sizes[g], groups[g])):
        part = reach.take(inverse == g)
        rows += [(groups[g], *s.row()) for s in step_stats(part, definition, as_of)]
    return Table(columns=(by, *STEP_COLUMNS), rows=tuple(rows), title=title)


def cohort_labels(entered_at: NDArray[np.int64], period: str) -> NDArray[np.object_]:
    """Week (its Monday, ISO date) or month (YYYY-MM) in which each attempt started (UTC)."""
    days = entered_at.astype("datetime64[s]").astype("datetime64[D]")
    if period == "week":
        # 1970-01-01 was a Thursday: shift so that weeks start on Mondays.
        monday = days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
        weeks: NDArray[np.object_] = monday.astype(str).astype(object)
        return weeks
    if period == "month":
        months: NDArray[np.object_] = days.astype("datetime64[M]").astype(str).astype(object)
        return months
    raise ValueError(f"cohort period must be 'week' or 'month', got {period!r}")


def cohort_table(reach: Reach, definition: FunnelDefinition, period: str, title: str) -> Table:
    """Per cohort of entry: customers who entered and the share who reached each step."""
    labels = cohort_labels(reach.entered_at, period)
    cohorts, inverse = np.unique(labels, return_inverse=True)
    entered = np.bincount(inverse, minlength=cohorts.size)
    reached = np.stack(
        [np.bincount(inverse, weights=reach.reached[:, k], minlength=cohorts.size)
         for k in range(reach.steps)],
        axis=1,
    ) if cohorts.size else np.zeros((0, reach.steps))  # fmt: skip
    rows = tuple(
        (
            str(cohorts[c]),
            int(entered[c]),
            *(round(float(reached[c, k]) / int(entered[c]), 4) for k in range(reach.steps)),
            int(reached[c, -1]),
        )
        for c in range(cohorts.size)
    )
    return Table(
        columns=("cohort", "entered", *definition.step_names, "converted"), rows=rows, title=title
    )


DROPPED_COLUMNS = ("customer_id", "reached_at", "days_since", "window_open")


def dropped_rows(
    reach: Reach,
    definition: FunnelDefinition,
    step: int,
    as_of: date,
    external_ids: NDArray[np.object_],
) -> list[tuple[object, ...]]:
    """Customers who reached `step` but not the next one, oldest first.

    `window_open` is true when the funnel's rules still let them reach the next step after
    `as_of` (the conversion window, and the next step's window if it has one, not yet over).
    """
    if not 0 <= step < reach.steps - 1:
        raise ValueError("the step must have a next step")
    who = np.flatnonzero(reach.reached[:, step] & ~reach.reached[:, step + 1])
    now = _seconds(as_of)
    at = reach.time[who, step]
    window_open = now - reach.entered_at[who] <= round(definition.window_days * DAY)
    next_window = definition.steps[step + 1].window_days
    if next_window is not None and definition.order != "any":
        window_open &= now - at <= round(next_window * DAY)
    order = np.lexsort((external_ids[who].astype(str), at))
    stamps = at.astype("datetime64[s]").astype(str)
    return [
        (
            external_ids[who[i]],
            f"{stamps[i]}Z",
            round((now - int(at[i])) / DAY, 2),
            bool(window_open[i]),
        )
        for i in order
    ]


def age_bands(age_years: NDArray[np.float64]) -> NDArray[np.object_]:
    """Age bands on the analysis date: under 25, 25-34, ..., 65 and over; None when unknown."""
    edges = np.array([25, 35, 45, 55, 65])
    names = np.array(["under 25", "25-34", "35-44", "45-54", "55-64", "65 and over"], dtype=object)
    band: NDArray[np.object_] = names[
        np.searchsorted(edges, np.nan_to_num(age_years), side="right")
    ]
    band[np.isnan(age_years)] = None
    return band


def step_index(definition: FunnelDefinition, name: str) -> int:
    names: Sequence[str] = definition.step_names
    if name in names:
        return list(names).index(name)
    from crm import ConfigError

    raise ConfigError(f"--after: no step is called {name!r} (steps: {', '.join(names)})")
