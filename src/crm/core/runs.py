"""Storing segmentation runs and reading them back (one transaction per run)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert, select

from crm.core.config import CrmConfig
from crm.core.pipeline import SegmentationResult
from crm.core.schema import AssignmentRow, RunRow, ScoreRow
from crm.core.segment import Run

BATCH = 20_000


def _score_json(names: list[str], values: np.ndarray) -> list[dict[str, float | None]]:
    rows: list[dict[str, float | None]] = []
    for row in values.tolist():
        rows.append({n: (None if math.isnan(v) else v) for n, v in zip(names, row, strict=True)})
    return rows


def store_run(connection: Connection, result: SegmentationResult, config: CrmConfig) -> int:
    """Write the run, every assignment and every customer's scores; returns the run id.

    The caller owns the transaction (`with engine.begin() as connection:`), so a run is stored
    whole or not at all.
    """
    run_id = connection.execute(
        insert(RunRow).returning(RunRow.id),
        {
            "created_at": datetime.now(UTC).replace(tzinfo=None),
            "as_of": result.as_of,
            "config_hash": result.config_hash,
            "config": json.loads(json.dumps(config.to_dict(), default=str)),
            "plugins": dict(result.plugins),
            "customers": len(result.facts),
        },
    ).scalar_one()
    ids = result.facts.customer_id.tolist()
    for outcome in result.outcomes:
        names = outcome.segment_names().tolist()
        rows = [
            {"run_id": run_id, "segmentation": outcome.name, "customer_id": cid, "segment": name}
            for cid, name in zip(ids, names, strict=True)
            if name is not None
        ]
        for start in range(0, len(rows), BATCH):
            connection.execute(insert(AssignmentRow), rows[start : start + BATCH])
    if result.scores:
        metric_names = list(result.scores)
        matrix = np.column_stack([result.scores[n] for n in metric_names])
        for start in range(0, len(ids), BATCH):
            chunk = _score_json(metric_names, matrix[start : start + BATCH])
            connection.execute(
                insert(ScoreRow),
                [
                    {"run_id": run_id, "customer_id": cid, "scores": scores}
                    for cid, scores in zip(ids[start : start + BATCH], chunk, strict=True)
                ],
            )
    return int(run_id)


def latest_run(connection: Connection) -> Run | None:
    table = RunRow.__table__
    row = connection.execute(select(table).order_by(table.c.id.desc()).limit(1)).first()
    return None if row is None else _run_from_row(row)


def _run_from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        created_at=row.created_at,
        as_of=row.as_of,
        config_hash=row.config_hash,
        plugins=row.plugins,
        customers=row.customers,
    )


def customer_results(
    connection: Connection, customer_id: int
) -> tuple[Run | None, Mapping[str, str], Mapping[str, float | None]]:
    """The latest run that covered `customer_id`: its segments and scores."""
    run = latest_run(connection)
    if run is None:
        return None, {}, {}
    segments = dict(
        connection.execute(
            select(AssignmentRow.segmentation, AssignmentRow.segment).where(
                AssignmentRow.run_id == run.id, AssignmentRow.customer_id == customer_id
            )
        ).all()
    )
    scores = connection.scalar(
        select(ScoreRow.scores).where(
            ScoreRow.run_id == run.id, ScoreRow.customer_id == customer_id
        )
    )
    return run, segments, scores or {}
