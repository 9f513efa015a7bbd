"""The journey, the 4C view and campaign results from Python: every table the CLI prints.

    from crm import Project
    from crm_aidas import api

    project = Project.open("demo/crm.toml")
    print(api.journey_stages(project).rows)
    print(api.journey_stages(project, by="channel", touch="last").rows)
    print(api.four_c(project).rows)
    print(api.campaign_results(project, attribution="linear").rows)

Each call opens one read-only connection (one consistent snapshot). The analysis date defaults
to `as_of` in crm.toml, else the day after the last interaction, as for `crm segment`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from crm import ConfigError, Table
from crm_aidas.campaign_roi import campaign_rows, campaign_table, read_campaign_events
from crm_aidas.four_c import four_c_rows, four_c_table
from crm_aidas.holdout import holdout_rows, holdout_table
from crm_aidas.journey import (
    DAY,
    Journeys,
    action_index,
    compute_journeys,
    journey_sequences,
    path_counts,
)
from crm_aidas.journey_sql import aggregatable, aggregate_journeys
from crm_aidas.options import AidasOptions, StageSet
from crm_aidas.stage_table import breakdown_table, stage_table

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from crm import Project

PLUGIN = "aidas"
BREAKDOWNS = ("channel", "campaign")


def aidas_options(project: Project) -> AidasOptions:
    options = project.options.get(PLUGIN)
    if not isinstance(options, AidasOptions):
        raise ConfigError("plugins.enabled: the journey commands need the 'aidas' plugin enabled")
    return options


@contextmanager
def _snapshot(project: Project, as_of: date | None) -> Iterator[tuple[Connection, date]]:
    from crm.core.pipeline import default_as_of

    with project.read_only() as connection:
        day = as_of or project.config.as_of or default_as_of(connection, project.tables)
        yield connection, day


def journeys(
    project: Project,
    *,
    stages: str | None = None,
    as_of: date | None = None,
    attributed: bool = True,
) -> tuple[str, StageSet, Journeys, date]:
    """Every customer's journey through stage set `stages` (default: `[aidas] stages`);
    `attributed=False` skips the first- and last-touch channel and campaign and the touches to
    action, and for a set without `repeat` stages reads one aggregate row per customer."""
    name, stage_set = aidas_options(project).stage_set(stages)
    with _snapshot(project, as_of) as (connection, day):
        if not attributed and aggregatable(stage_set):
            found = aggregate_journeys(connection, project.tables, stage_set, as_of=day)
        else:
            found = compute_journeys(
                connection, project.tables, stage_set, as_of=day, attributed=attributed
            )
    return name, stage_set, found, day


def journey_stages(
    project: Project,
    *,
    stages: str | None = None,
    as_of: date | None = None,
    by: str | None = None,
    touch: str = "first",
) -> Table:
    """The stage table, or with `by` (channel, campaign) one per first- or last-touch value."""
    if by is not None and by not in BREAKDOWNS:
        raise ConfigError(f"--by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    name, stage_set, found, day = journeys(
        project, stages=stages, as_of=as_of, attributed=by is not None
    )
    title = f"Journey {name} as of {day}"
    if by is None:
        return stage_table(found, stage_set.names, title)
    return breakdown_table(found, stage_set.names, by, touch, f"{title}, by {touch}-touch {by}")


def journey_paths(
    project: Project, *, stages: str | None = None, as_of: date | None = None, top: int = 10
) -> tuple[Table, Table]:
    """The most common paths to action, and the flows between stages along them (a Sankey)."""
    name, stage_set = aidas_options(project).stage_set(stages)
    with _snapshot(project, as_of) as (connection, day):
        plan, sequences = journey_sequences(stage_set, as_of=day, attributed=False)
        chunks = sequences.chunks(connection, project.tables)
        counts = path_counts(chunks, stage_set, plan, sequences)
    names = stage_set.names
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    paths = Table(
        columns=("path", "customers", "share"),
        rows=tuple(
            (" > ".join(names[k] for k in path), n, round(n / total, 4)) for path, n in ranked[:top]
        ),
        title=f"Journey {name}: paths to {names[action_index(stage_set)]} as of {day}",
    )
    flows: dict[tuple[str, str], int] = {}
    for path, n in counts.items():
        for a, b in itertools.pairwise(path):
            flows[(names[a], names[b])] = flows.get((names[a], names[b]), 0) + n
    flow_table = Table(
        columns=("source", "target", "customers"),
        rows=tuple((a, b, n) for (a, b), n in sorted(flows.items(), key=lambda kv: -kv[1])),
        title=f"Journey {name}: flows between stages on the way to action",
    )
    return paths, flow_table


def campaign_results(
    project: Project,
    *,
    as_of: date | None = None,
    attribution: str | None = None,
    window_days: float | None = None,
) -> Table:
    options = aidas_options(project)
    model = attribution or options.attribution
    window = window_days if window_days is not None else options.attribution_days
    with _snapshot(project, as_of) as (connection, day):
        rows = campaign_rows(connection, project.tables, day, window_days=window, model=model)
    title = f"Campaigns as of {day}: {model}-touch attribution, {window:g}-day window"
    return campaign_table(rows, title)


def campaign_holdout(
    project: Project,
    *,
    as_of: date | None = None,
    by: str = "rfm",
    window_days: float | None = None,
) -> Table:
    """Touched against comparable untouched customers, per campaign (see `crm_aidas.holdout`)."""
    options = aidas_options(project)
    window = window_days if window_days is not None else options.attribution_days
    with _snapshot(project, as_of) as (_, day):
        pass
    rows = holdout_rows(project, day, window, by)
    title = f"Campaign holdout as of {day}: touched vs untouched in the same {by} segment"
    return holdout_table(rows, title)


def four_c(project: Project, *, by: str = "rfm", as_of: date | None = None) -> Table:
    """The 4C view per segment of segmentation `by` (computed now, not stored)."""
    options = aidas_options(project)
    result = project.segment(as_of=as_of, store=False)
    outcome = next((o for o in result.outcomes if o.name == by), None)
    if outcome is None:
        known = ", ".join(o.name for o in result.outcomes) or "none"
        raise ConfigError(f"--by {by!r}: no such segmentation or stage model (known: {known})")
    labels = outcome.segment_names()
    _, stage_set = options.stage_set()
    action = action_index(stage_set)
    day = result.as_of
    with project.read_only() as connection:
        events = read_campaign_events(connection, project.tables, day)
        found = compute_journeys(connection, project.tables, stage_set, as_of=day, attributed=False)

        def journey_days() -> tuple[Any, Any, Any]:
            acted = found.observed[:, action]
            days = np.full(len(found), np.nan)
            days[acted] = (found.entry[acted, action] - found.entry[acted, 0]) / DAY
            return found.customer_id, found.touches_to_action.astype(float), days

        rows = four_c_rows(
            connection,
            project.tables,
            day,
            result.facts,
            labels,
            [s.name for s in outcome.segments],
            events,
            journey_days,
            category=options.category_attribute,
            topic=options.topic_attribute,
            discount=options.discount_attribute,
            email_open_kind=options.email_open_kind,
        )
    return four_c_table(rows, f"4C view by {by} as of {day}")
