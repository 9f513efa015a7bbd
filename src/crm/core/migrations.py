"""Schema migrations, run by `ensure_schema` when a database has an older schema version.

Automatic on first open (every command opens the database the same way, so a cron job upgrades
as well as a person does), in the same transaction as the version check, with one line on stderr
saying what changed. A database newer than this crm, or of an unknown version, is refused.

- 1 -> 2: runs were one `segment_assignment` row and one JSON `customer_score` object per customer
  (about 23 MB per 100,000 customers); they become compressed column chunks (crm.core.runs) and
  the old tables are dropped. Version 1 did not record metric kinds or descriptions (migrated
  metrics have kind "value"), segment descriptions (segments are ordered by name), nor the revenue
  and purchases a run saw: these are recomputed from the interactions before the run's analysis
  date, which gives the same numbers unless interactions were deleted since.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    update,
)

from crm.core.errors import CrmError
from crm.core.schema import SCHEMA_VERSION, MetaRow, RunRow, Tables

_V1 = MetaData()
V1_ASSIGNMENT = Table(
    "segment_assignment",
    _V1,
    Column("run_id", Integer),
    Column("segmentation", String(64)),
    Column("customer_id", Integer),
    Column("segment", String(100)),
)
V1_SCORE = Table(
    "customer_score",
    _V1,
    Column("run_id", Integer),
    Column("customer_id", Integer),
    Column("scores", JSON),
)


def _note(message: str) -> None:
    sys.stderr.write(f"crm: {message}\n")


def upgrade_schema(connection: Connection, found: str, note: Callable[[str], None] = _note) -> None:
    """Bring a database of schema version `found` to SCHEMA_VERSION, or refuse it."""
    steps = {"1": migrate_1_to_2}
    if found not in steps:
        raise CrmError(
            f"the database has schema version {found}, this crm expects {SCHEMA_VERSION}; "
            + (
                "upgrade crm"
                if found.isdigit() and int(found) > SCHEMA_VERSION
                else "it was not written by crm, or by a version that cannot be upgraded"
            )
        )
    version = found
    while version != str(SCHEMA_VERSION):
        detail = steps[version](connection)
        version = str(int(version) + 1)
        connection.execute(
            update(MetaRow).where(MetaRow.key == "schema_version").values(value=version)
        )
        note(f"upgraded the database schema from version {int(version) - 1} to {version}: {detail}")


def _run_v1(connection: Connection, run: Any) -> Any:
    """A SegmentationResult built from one version-1 run's rows."""
    import numpy as np

    from crm.core.components import Metric
    from crm.core.facts import Facts
    from crm.core.pipeline import SegmentationOutcome, SegmentationResult
    from crm.core.run_reading import external_ids, stored_facts
    from crm.core.segment import Segment

    assignments = connection.execute(
        select(V1_ASSIGNMENT.c.segmentation, V1_ASSIGNMENT.c.customer_id, V1_ASSIGNMENT.c.segment)
        .where(V1_ASSIGNMENT.c.run_id == run.id)
        .order_by(V1_ASSIGNMENT.c.customer_id)
    ).all()
    scored = connection.execute(
        select(V1_SCORE.c.customer_id, V1_SCORE.c.scores)
        .where(V1_SCORE.c.run_id == run.id)
        .order_by(V1_SCORE.c.customer_id)
    ).all()
    keys = np.union1d(
        np.array([a[1] for a in assignments], dtype=np.int64),
        np.array([s[0] for s in scored], dtype=np.int64),
    )
    outcomes = []
    for name in sorted({a[0] for a in assignments}):
        mine = [a for a in assignments if a[0] == name]
        segments = sorted({a[2] for a in mine})
        codes = np.full(len(keys), -1, dtype=np.int64)
        at = np.searchsorted(keys, np.array([a[1] for a in mine], dtype=np.int64))
        codes[at] = [segments.index(a[2]) for a in mine]
        outcomes.append(SegmentationOutcome(name, tuple(Segment(s) for s in segments), codes))
    metric_names: dict[str, None] = {}
    for _, values in scored:
        metric_names.update(dict.fromkeys(values or {}))
    scores = {name: np.full(len(keys), np.nan) for name in metric_names}
    at = np.searchsorted(keys, np.array([s[0] for s in scored], dtype=np.int64))
    for position, (_, values) in zip(at.tolist(), scored, strict=True):
        for name, value in (values or {}).items():
            scores[name][position] = np.nan if value is None else float(value)
    # Version 1 kept no revenue: recompute what the run saw (interactions before its as_of).
    now = Facts.load(connection, Tables.default(), run.as_of)
    where = np.minimum(np.searchsorted(now.customer_id, keys), max(len(now) - 1, 0))
    present = now.customer_id[where] == keys if len(now) else np.zeros(len(keys), dtype=bool)
    columns = {}
    for fact in ("revenue_minor", "purchases"):
        column = np.zeros(len(keys), dtype=np.int64)
        column[present] = getattr(now, fact)[where[present]]
        columns[f"fact:{fact}"] = column
    return SegmentationResult(
        as_of=run.as_of,
        facts=stored_facts(run.as_of, keys, external_ids(connection, keys), columns),
        metrics={
            name: Metric(name.split(".", 1)[-1], "value", "migrated from schema version 1")
            for name in metric_names
        },
        scores=scores,
        outcomes=tuple(outcomes),
        config_hash=run.config_hash,
        plugins=dict(run.plugins),
        run_id=run.id,
    )


def migrate_1_to_2(connection: Connection) -> str:
    """Convert every version-1 run to column chunks, then drop the version-1 tables."""
    from crm.core.runs import write_run_contents

    existing = set(inspect(connection).get_table_names())
    if not {V1_ASSIGNMENT.name, V1_SCORE.name} <= existing:
        return "no runs to convert"
    runs = connection.execute(select(RunRow.__table__).order_by(RunRow.id)).all()
    for run in runs:
        write_run_contents(connection, run.id, _run_v1(connection, run))
    V1_SCORE.drop(connection)
    V1_ASSIGNMENT.drop(connection)
    return f"{len(runs)} stored run(s) converted to the compact format"
