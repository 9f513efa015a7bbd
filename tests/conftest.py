"""Shared fixtures: real SQLite files and the real local PostgreSQL server, never mocks."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from attrs import frozen
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

from crm import Metric, ScorerSpec, Segment, SegmentationSpec, hookimpl
from crm.testing import engine, isolated_cache_dir  # noqa: F401  (SQLite + PostgreSQL; caches)

# Property tests: a few seconds of examples per property in CI ("ci", the default), thousands
# locally with CRM_HYPOTHESIS_PROFILE=long (or HYPOTHESIS_PROFILE). Examples reuse one database per test and clean it up,
# hence the function-scoped fixture is fine; no deadline, the machine is shared.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("CRM_HYPOTHESIS_PROFILE") or os.environ.get("HYPOTHESIS_PROFILE", "ci")
)


def insert_customers_and_purchases(
    database: Engine,
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
    with database.begin() as conn:
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
        # Segmentations read money in currency units (the scorer returns cents).
        return np.where(columns["spend.total"] >= 100, 0, 1)


class BigSpendersPlugin:
    @hookimpl
    def register_segmentations(self, register: Any) -> None:
        register(SegmentationSpec(name="size", factory=lambda _options: BigSpenders()))


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`crm demo DIR --customers 400`, made once per test session: a project with the bundled
    plugins, generated sample data imported and run 1 stored. Tests must not change it."""
    from click.testing import CliRunner

    from crm.cli import cli

    directory = tmp_path_factory.mktemp("demo")
    made = CliRunner().invoke(cli, ["demo", str(directory), "--customers", "400", "-f", "csv"])
    assert made.exit_code == 0, made.output
    return directory
