"""Stored runs: what is written, and that a run is reproducible from what it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.schema import AssignmentRow, RunRow, ScoreRow
from tests.conftest import BigSpendersPlugin, SpendPlugin

PURCHASES = [
    ("a", "2024-03-01T10:00:00", "150.00"),
    ("b", "2024-03-02T10:00:00", "20.00"),
]


def project_on(engine: Engine) -> Project:
    plugins = (("spend", SpendPlugin()), ("size", BigSpendersPlugin()))
    return Project(parse_config({}), extra_plugins=plugins, engine=engine)


def test_a_stored_run_records_as_of_config_hash_plugins_and_every_assignment(
    engine: Engine, seed: Any
) -> None:
    project = project_on(engine)
    seed(engine, PURCHASES)
    result = project.segment()
    with engine.connect() as conn:
        run = conn.execute(select(RunRow.__table__)).one()
        assignments = conn.execute(
            select(AssignmentRow.segmentation, AssignmentRow.segment).order_by(
                AssignmentRow.customer_id
            )
        ).all()
        scores = (
            conn.execute(select(ScoreRow.scores).order_by(ScoreRow.customer_id)).scalars().all()
        )
    assert run.id == result.run_id
    assert str(run.as_of) == "2024-03-03"
    assert run.config_hash == project.config.hash()
    assert run.plugins["spend"] == "unpackaged"
    assert "crm" in run.plugins
    assert run.customers == 2
    assert [tuple(a) for a in assignments] == [("size", "Big"), ("size", "Small")]
    assert scores == [{"spend.total": 15000.0}, {"spend.total": 2000.0}]


def test_each_run_is_kept_separately(engine: Engine, seed: Any) -> None:
    project = project_on(engine)
    seed(engine, PURCHASES)
    first = project.segment()
    second = project.segment()
    assert (first.run_id, second.run_id) == (1, 2)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AssignmentRow)) == 4
