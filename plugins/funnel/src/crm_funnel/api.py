"""The funnel from Python: every table `crm funnel` prints, as a call on a `crm.Project`.

    from crm import Project
    from crm_funnel.api import funnel_steps

    project = Project.open("demo/crm.toml")
    print(funnel_steps(project).rows)

Each call opens one read-only connection (one consistent snapshot) and reads the funnel's events
once, as numpy columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import select

from crm import ConfigError, Table
from crm_funnel.analysis import (
    DROPPED_COLUMNS,
    age_bands,
    breakdown_table,
    cohort_table,
    dropped_rows,
    step_index,
    steps_table,
)
from crm_funnel.options import FunnelDefinition, FunnelOptions
from crm_funnel.reach import ATTRIBUTED, Reach, compute_reach

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sqlalchemy import Connection

    from crm import Project, Tables

PLUGIN = "funnel"
CUSTOMER_PROPERTIES = ("country", "gender", "age_band")


def funnel_options(project: Project) -> FunnelOptions:
    options = project.options.get(PLUGIN)
    if not isinstance(options, FunnelOptions):
        raise ConfigError("plugins.enabled: the funnel commands need the 'funnel' plugin enabled")
    return options


@frozen
class FunnelScope:
    """Which funnel, the analysis date, and the entry period [start, end) (None: unbounded)."""

    name: str
    definition: FunnelDefinition
    as_of: date
    start: date | None
    end: date | None

    def title(self, what: str) -> str:
        period = ""
        if self.start or self.end:
            period = f", entered {self.start or '...'} to {self.end or '...'}"
        return f"Funnel {self.name} ({self.definition.order}, {self.definition.window_days:g}-day window) {what}, as of {self.as_of}{period}"


@contextmanager
def _scope(
    project: Project,
    funnel: str | None,
    as_of: date | None,
    start: date | None,
    end: date | None,
) -> Iterator[tuple[FunnelScope, Connection]]:
    from crm.core.pipeline import default_as_of

    name, definition = funnel_options(project).funnel(funnel)
    with project.read_only() as connection:
        day = as_of or project.config.as_of or default_as_of(connection, project.tables)
        yield FunnelScope(name, definition, day, start, end), connection


def _reach(
    scope: FunnelScope, connection: Connection, tables: Tables, attributed: Any = ()
) -> Reach:
    reach = compute_reach(
        connection, tables, scope.definition, as_of=scope.as_of, attributed=attributed
    )
    return reach.entered_between(scope.start, scope.end)


def funnel_steps(
    project: Project,
    *,
    funnel: str | None = None,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Table:
    """The step table: reached, conversion, drop-off, time to convert and stuck, per step."""
    with _scope(project, funnel, as_of, start, end) as (scope, connection):
        reach = _reach(scope, connection, project.tables)
    return steps_table(reach, scope.definition, scope.as_of, scope.title("steps"))


def funnel_breakdown(
    project: Project,
    by: str,
    *,
    attribution: str = "first",
    funnel: str | None = None,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Table:
    """The step table per value of `by`: a customer property, a segmentation, or an event
    property (`channel`, `campaign`) attributed to the first or last touch of the attempt."""
    if attribution not in ("first", "last"):
        raise ConfigError(f"--attribution: expected 'first' or 'last', got {attribution!r}")
    with _scope(project, funnel, as_of, start, end) as (scope, connection):
        attributed = (by,) if by in ATTRIBUTED else ()
        reach = _reach(scope, connection, project.tables, attributed)
        if by in ATTRIBUTED:
            first, last = reach.attribution[by]
            values = first if attribution == "first" else last
        elif by in CUSTOMER_PROPERTIES:
            values = _customer_property(connection, project.tables, reach, by, scope.as_of)
    if by not in ATTRIBUTED and by not in CUSTOMER_PROPERTIES:
        values = _segment_of(project, reach, by, scope.as_of)
    label = f"{attribution}-touch {by}" if by in ATTRIBUTED else by
    return breakdown_table(
        reach, scope.definition, scope.as_of, values, by, scope.title(f"by {label}")
    )


def funnel_cohorts(
    project: Project,
    period: str = "month",
    *,
    funnel: str | None = None,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Table:
    """Per cohort of entry (week or month), the share of its customers who reached each step."""
    with _scope(project, funnel, as_of, start, end) as (scope, connection):
        reach = _reach(scope, connection, project.tables)
    return cohort_table(reach, scope.definition, period, scope.title(f"cohorts by {period}"))


def funnel_dropped(
    project: Project,
    after: str,
    *,
    channel: str | None = None,
    funnel: str | None = None,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Table:
    """The customers who reached step `after` but not the next one (a re-engagement list).

    With `channel` (email, sms, phone) only those whose consent for it is yes, as for every
    campaign list (docs/privacy.md); the title says how many consent left out.
    """
    with _scope(project, funnel, as_of, start, end) as (scope, connection):
        step = step_index(scope.definition, after)
        if step == len(scope.definition.steps) - 1:
            raise ConfigError(f"--after: {after!r} is the last step; nobody drops after it")
        reach = _reach(scope, connection, project.tables)
        ids = _external_ids(connection, project.tables, reach.customer_id)
        left_out = 0
        if channel is not None:
            allowed = _consent(connection, project.tables, reach.customer_id, channel)
            dropped = reach.reached[:, step] & ~reach.reached[:, step + 1]
            left_out = int((dropped & ~allowed).sum())
            reach = reach.take(allowed)
            ids = ids[allowed]
    rows = dropped_rows(reach, scope.definition, step, scope.as_of, ids)
    what = f"dropped after {after}"
    if channel is not None:
        what += f" with {channel} consent ({left_out} without it left out)"
    return Table(columns=DROPPED_COLUMNS, rows=tuple(rows), title=scope.title(what))


def _consent(
    connection: Connection, tables: Tables, customer_ids: NDArray[np.int64], channel: str
) -> NDArray[np.bool_]:
    """Whether each customer's consent for `channel` is yes (never asked is not a yes)."""
    from crm.core.privacy import CHANNELS

    if channel not in CHANNELS:
        raise ConfigError(f"--channel: expected one of {', '.join(CHANNELS)}, got {channel!r}")
    c = tables.customer
    column = c.c[f"consent_{channel}"]
    rows = connection.execute(select(c.c.id, column).order_by(c.c.id)).all()
    keys = np.array([r[0] for r in rows], dtype=np.int64)
    yes = np.array([r[1] is True for r in rows], dtype=bool)
    allowed: NDArray[np.bool_] = yes[np.searchsorted(keys, customer_ids)]
    return allowed


def _external_ids(
    connection: Connection, tables: Tables, customer_ids: NDArray[np.int64]
) -> NDArray[np.object_]:
    c = tables.customer
    rows = connection.execute(select(c.c.id, c.c.external_id).order_by(c.c.id)).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    names = np.array([r[1] for r in rows], dtype=object)
    found: NDArray[np.object_] = names[np.searchsorted(ids, customer_ids)]
    return found


def _customer_property(
    connection: Connection, tables: Tables, reach: Reach, by: str, as_of: date
) -> NDArray[np.object_]:
    from crm.core.facts import Facts

    facts = Facts.load(connection, tables, as_of)
    where = facts.index_of(reach.customer_id)
    if by == "age_band":
        result: NDArray[np.object_] = age_bands(facts.age_years())[where]
        return result
    column: NDArray[np.object_] = getattr(facts, by)[where]
    return column


def _segment_of(project: Project, reach: Reach, by: str, as_of: date) -> NDArray[np.object_]:
    result = project.segment(as_of=as_of, store=False)
    outcome = next((o for o in result.outcomes if o.name == by), None)
    if outcome is None:
        known = [*CUSTOMER_PROPERTIES, *ATTRIBUTED, *(o.name for o in result.outcomes)]
        raise ConfigError(f"--by: expected one of {', '.join(known)}, got {by!r}")
    names: NDArray[np.object_] = outcome.segment_names()[result.facts.index_of(reach.customer_id)]
    return names
