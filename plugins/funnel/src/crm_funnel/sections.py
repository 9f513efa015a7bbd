"""The data of the funnel's report sections, as `crm.Table`s, until crm has a report model.

    sections = report_sections(project)   # {"funnel": Table, "time_to_convert": Table, ...}

- `funnel`: the step table (funnel bars: customers, conversion, drop-off per step);
- `time_to_convert`: per step, customers by days from the previous step, in DAY_BINS;
- `cohorts`: the share reaching each step per month of entry (a heat map);
- `breakdown`: the step table per first-touch channel (breakdown bars);
- `forecast`: open deals, P(win | stage) and the weighted forecast;
- `reliability`: predicted against observed win rate per bin (a reliability diagram), with the
  holdout starting `holdout_days` before the analysis date.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np

from crm import Project, Table
from crm_funnel import api, pipeline
from crm_funnel.options import FunnelDefinition
from crm_funnel.reach import DAY, Reach, compute_reach

#: Edges in days of the time-to-convert histogram: [0, 1), [1, 2), [2, 4), ... [30, inf).
DAY_BINS = (0, 1, 2, 4, 7, 14, 30)


def time_to_convert(reach: Reach, definition: FunnelDefinition, title: str) -> Table:
    """Per step after the first: how many customers took how long from the previous step."""
    labels = [f"{a}-{b}" for a, b in itertools.pairwise(DAY_BINS)]
    labels.append(f"{DAY_BINS[-1]}+")
    rows = []
    for k in range(1, reach.steps):
        here = reach.reached[:, k]
        start = reach.entered_at if definition.order == "any" else reach.time[:, k - 1]
        days = (reach.time[here, k] - start[here]) / DAY
        counts = np.bincount(
            np.searchsorted(DAY_BINS, days, side="right") - 1, minlength=len(labels)
        )
        rows.append((definition.step_names[k], *(int(c) for c in counts)))
    return Table(
        columns=("step", *(f"days_{label}" for label in labels)), rows=tuple(rows), title=title
    )


def report_sections(
    project: Project, *, as_of: date | None = None, holdout_days: int = 182
) -> dict[str, Table]:
    steps = api.funnel_steps(project, as_of=as_of)
    day = as_of or _as_of(project)
    name, definition = api.funnel_options(project).funnel(None)
    with project.read_only() as connection:
        reach = compute_reach(connection, project.tables, definition, as_of=day)
    deals = pipeline.deal_report(project, as_of=day)
    check = pipeline.calibrate(project, day - timedelta(days=holdout_days), as_of=day)
    return {
        "funnel": steps,
        "time_to_convert": time_to_convert(reach, definition, f"Funnel {name}: days to convert"),
        "cohorts": api.funnel_cohorts(project, "month", as_of=day),
        "breakdown": api.funnel_breakdown(project, "channel", as_of=day),
        "forecast": deals.forecast,
        "reliability": check.reliability,
    }


def _as_of(project: Project) -> date:
    from crm.core.pipeline import default_as_of

    with project.read_only() as connection:
        return project.config.as_of or default_as_of(connection, project.tables)
