"""SQLite and PostgreSQL give identical funnel and deal tables on the same random log."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crm_funnel import api, pipeline

from crm.core.database import ensure_schema, make_engine
from crm.testing import postgresql_engine

KINDS = ("visit", "email_open", "stage_change", "purchase", "feedback", "ticket")
CHANNELS = (None, "web", "email", "store")


def random_log(seed: int, customers: int = 600) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    events: list[dict[str, Any]] = []
    for c in range(customers):
        for _ in range(int(rng.integers(0, 12))):
            kind = KINDS[int(rng.integers(len(KINDS)))]
            event = {"customer": f"C{c:04d}", "kind": kind, "channel": CHANNELS[int(rng.integers(4))],
                     "day": float(np.round(rng.uniform(0, 120), 3))}  # fmt: skip
            if kind == "stage_change":
                event["stage"] = ("lead", "qualified", "proposal", "won", "lost")[
                    int(rng.integers(5))
                ]
                event["order_id"] = f"D{c:04d}"
                event["amount"] = int(rng.integers(100, 10_000))
            events.append(event)
    return events


@pytest.mark.postgresql
def test_identical_tables(tmp_path: Path, logs: Any) -> None:
    log = random_log(3)
    sqlite = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(sqlite)
    answers = []
    # chain keeps the PostgreSQL generator open (its schema alive) while the loop body runs
    for engine in itertools.chain([sqlite], postgresql_engine()):
        ensure_schema(engine)
        logs.write_log(engine, log)
        project = logs.project(
            engine, {"window_days": 20, "deals": {"stages": ["qualified", "proposal"]}}
        )
        day = date(2024, 5, 1)
        answers.append([
            api.funnel_steps(project, as_of=day),
            api.funnel_breakdown(project, "channel", attribution="last", as_of=day),
            api.funnel_cohorts(project, "week", as_of=day),
            api.funnel_dropped(project, "awareness", as_of=day),
            pipeline.deal_report(project, as_of=day).forecast,
            pipeline.calibrate(project, date(2024, 3, 1), as_of=day).reliability,
        ])  # fmt: skip
        project.close()
    sqlite_tables, postgresql_tables = answers
    assert all(t.rows for t in sqlite_tables), [t.title for t in sqlite_tables if not t.rows]
    for ours, theirs in zip(sqlite_tables, postgresql_tables, strict=True):
        assert ours.rows == theirs.rows, ours.title
