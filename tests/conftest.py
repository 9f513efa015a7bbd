"""Shared fixtures: real SQLite files and the real local PostgreSQL server, never mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from attrs import frozen
from sqlalchemy import Engine, text

from crm import Metric, ScorerSpec, Segment, SegmentationSpec, hookimpl
from crm.core.database import ensure_schema, make_engine

POSTGRESQL_URL_ENV = "CRM_TEST_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgresql_url() -> str:
    return os.environ.get(POSTGRESQL_URL_ENV, DEFAULT_POSTGRESQL_URL)


def _postgresql_engine() -> Iterator[Engine]:
    """A fresh schema per test on the local server, so concurrent runs never see each other."""
    base = make_engine(postgresql_url())
    try:
        with base.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        base.dispose()
        reason = f"PostgreSQL at {postgresql_url()} is not reachable ({exc.__class__.__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with base.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(postgresql_url(), connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with base.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        base.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """An empty crm database with the schema created: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        ensure_schema(eng)
        yield eng
        eng.dispose()
    else:
        for eng in _postgresql_engine():
            ensure_schema(eng)
            yield eng


def insert_customers_and_purchases(
    engine: Engine,
    purchases: list[tuple[str, str, str | None]],
    customers: dict[str, dict] | None = None,
) -> None:
    """Write customers and purchases directly (no importer): (external id, ISO time, amount)."""
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy import insert, select

    from crm.core.schema import CustomerRow, InteractionRow

    customers = dict(customers or {})
    for external_id, _, _ in purchases:
        customers.setdefault(external_id, {})
    columns = {key for values in customers.values() for key in values}
    customers = {cid: {c: values.get(c) for c in columns} for cid, values in customers.items()}
    with engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"external_id": cid, "created_at": datetime(2024, 1, 1), **attrs}
                for cid, attrs in customers.items()
            ],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        conn.execute(
            insert(InteractionRow),
            [
                {
                    "customer_id": ids[cid],
                    "kind": "purchase",
                    "occurred_at": datetime.fromisoformat(when),
                    "amount_minor": None if amount is None else int(Decimal(amount) * 100),
                    "source_key": f"test:{n}",
                }
                for n, (cid, when, amount) in enumerate(purchases)
            ],
        )


@pytest.fixture
def seed():  # type: ignore[no-untyped-def]
    """`seed(engine, purchases, customers)` writes rows straight into the schema."""
    return insert_customers_and_purchases


# Two small plugins used by the hook and CLI tests: a money scorer and a segmentation over it.
@frozen
class TotalSpend:
    def score(self, context: Any) -> dict[str, np.ndarray]:
        return {"total": context.facts.revenue_minor.astype(float)}


class SpendPlugin:
    @hookimpl
    def register_scorers(self, register: Any) -> None:
        register(
            ScorerSpec(
                name="spend",
                factory=lambda _options: TotalSpend(),
                metrics=(Metric("total", "money", "total spend"),),
            )
        )


@frozen
class BigSpenders:
    segments = (Segment("Big", "spent 100 or more"), Segment("Small"))
    inputs = ("spend.total",)

    def assign(self, columns: Any) -> np.ndarray:
        return np.where(columns["spend.total"] >= 10_000, 0, 1)


class BigSpendersPlugin:
    @hookimpl
    def register_segmentations(self, register: Any) -> None:
        register(SegmentationSpec(name="size", factory=lambda _options: BigSpenders()))
