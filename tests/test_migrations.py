"""Schema migrations: a version-1 database, built here as crm 0.1 wrote it, is upgraded on open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
)

from crm.core.database import ensure_schema, make_engine
from crm.core.errors import CrmError
from crm.core.run_reading import load_run
from crm.core.schema import (
    SCHEMA_VERSION,
    Base,
    CustomerRow,
    ImportRow,
    InteractionRow,
    MetaRow,
    RunRow,
)
from crm.testing import postgresql_engine
from tests.conftest import insert_customers_and_purchases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database without any crm table."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'v1.db'}")
        yield engine
        engine.dispose()
        return
    yield from postgresql_engine()


def build_version_1(engine: Engine) -> None:
    """The tables of schema version 1: today's unchanged ones, and the two run tables it had."""
    kept = [t.__table__ for t in (MetaRow, CustomerRow, InteractionRow, RunRow, ImportRow)]
    Base.metadata.create_all(engine, tables=kept)  # type: ignore[arg-type]
    v1 = MetaData()
    with engine.connect() as conn:
        Table("customer", v1, autoload_with=conn)
        Table("segmentation_run", v1, autoload_with=conn)
    Table(
        "segment_assignment",
        v1,
        Column("run_id", Integer, ForeignKey("segmentation_run.id"), primary_key=True),
        Column("segmentation", String(64), primary_key=True),
        Column("customer_id", Integer, ForeignKey("customer.id"), primary_key=True),
        Column("segment", String(100), nullable=False),
        Index("ix_segment_assignment_customer", "customer_id", "run_id"),
    )
    Table(
        "customer_score",
        v1,
        Column("run_id", Integer, ForeignKey("segmentation_run.id"), primary_key=True),
        Column("customer_id", Integer, ForeignKey("customer.id"), primary_key=True),
        Column("scores", JSON, nullable=False),
    )
    v1.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(MetaRow).values(key="schema_version", value="1"))


def run_v1(conn: Any, as_of: date, assignments: dict[str, str], scores: dict[str, Any]) -> int:
    ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
    run_id = int(
        conn.execute(
            insert(RunRow).returning(RunRow.id),
            {
                "created_at": datetime(2025, 1, 2),
                "as_of": as_of,
                "config_hash": "abc",
                "config": {"plugins": {"enabled": ["rfm"]}},
                "plugins": {"crm": "0.1.0", "rfm": "0.1.0"},
                "customers": 3,
            },
        ).scalar_one()
    )
    v1 = MetaData()
    assignment = Table("segment_assignment", v1, autoload_with=conn)
    score = Table("customer_score", v1, autoload_with=conn)
    conn.execute(
        insert(assignment),
        [
            {"run_id": run_id, "segmentation": "rfm", "customer_id": ids[c], "segment": s}
            for c, s in assignments.items()
        ],
    )
    conn.execute(
        insert(score),
        [{"run_id": run_id, "customer_id": ids[c], "scores": v} for c, v in scores.items()],
    )
    return run_id


def test_a_version_1_database_is_upgraded_on_open_and_keeps_its_runs(
    bare_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    build_version_1(bare_engine)
    insert_customers_and_purchases(
        bare_engine,
        [
            ("a", "2024-01-10T10:00:00", "10.00"),
            ("a", "2024-06-10T10:00:00", "5.50"),  # after the first run's analysis date
            ("b", "2024-02-01T10:00:00", "99.99"),
            ("c", "2024-05-01T10:00:00", "1.00"),
        ],
    )
    with bare_engine.begin() as conn:
        first = run_v1(
            conn,
            date(2024, 3, 1),
            {"a": "Lost", "b": "Champions"},  # c had not purchased yet: no segment
            {
                "a": {"rfm.r": 1.0, "rfm.m": 1000.0},
                "b": {"rfm.r": 5.0, "rfm.m": 9999.0},
                "c": {"rfm.r": None, "rfm.m": None},
            },
        )
        second = run_v1(
            conn,
            date(2024, 7, 1),
            {"a": "Champions", "b": "At Risk", "c": "Lost"},
            {
                "a": {"rfm.r": 5.0, "rfm.m": 1550.0},
                "b": {"rfm.r": 2.0, "rfm.m": 9999.0},
                "c": {"rfm.r": 1.0, "rfm.m": 100.0},
            },
        )

    ensure_schema(bare_engine)

    assert "upgraded the database schema from version 1 to 2" in capsys.readouterr().err
    with bare_engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        version = conn.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version"))
        old = load_run(conn, first)
        new = load_run(conn, second)
    assert "segment_assignment" not in tables and "customer_score" not in tables
    assert version == str(SCHEMA_VERSION) == "2"
    assert old.facts.external_id.tolist() == ["a", "b", "c"]
    # Segments are ordered by name (version 1 did not keep their order).
    assert [s.name for s in old.outcomes[0].segments] == ["Champions", "Lost"]
    assert old.outcomes[0].segment_names().tolist() == ["Lost", "Champions", None]
    assert new.outcomes[0].segment_names().tolist() == ["Champions", "At Risk", "Lost"]
    assert old.scores["rfm.m"].tolist()[:2] == [1000.0, 9999.0]
    assert str(old.scores["rfm.r"][2]) == "nan"
    # Revenue recomputed from the interactions before each run's analysis date.
    assert old.facts.revenue_minor.tolist() == [1000, 9999, 0]
    assert new.facts.revenue_minor.tolist() == [1550, 9999, 100]
    assert new.facts.purchases.tolist() == [2, 1, 1]
    assert new.plugins == {"crm": "0.1.0", "rfm": "0.1.0"}

    ensure_schema(bare_engine)  # a second open changes nothing and says nothing
    assert capsys.readouterr().err == ""


def test_a_database_of_a_newer_schema_is_refused(bare_engine: Engine) -> None:
    Base.metadata.create_all(bare_engine)
    with bare_engine.begin() as conn:
        conn.execute(insert(MetaRow).values(key="schema_version", value="99"))
    with pytest.raises(CrmError, match="schema version 99, this crm expects 2; upgrade crm"):
        ensure_schema(bare_engine)
