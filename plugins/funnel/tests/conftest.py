"""Fixtures for the crm-funnel tests: crm's real-database fixture (SQLite, then PostgreSQL) and a
writer of small hand-made logs (`logs.write_log`, `logs.project`, `logs.at`)."""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import crm_funnel
import pytest
from sqlalchemy import Engine, insert, select

from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.schema import CustomerRow, InteractionRow
from crm.testing import engine  # noqa: F401

START = datetime(2024, 1, 1)  # a Monday


def at(days: float) -> datetime:
    return START + timedelta(days=days)


def write_log(
    database: Engine,
    events: Sequence[Mapping[str, Any]],
    customers: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """`events`: dicts with customer, kind, day (days after START) and any interaction field."""
    people = dict(customers or {})
    for event in events:
        people.setdefault(event["customer"], {})
    with database.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"external_id": cid, "created_at": START, "country": None, "gender": None,
                 "birth_date": None, **fields}
                for cid, fields in people.items()
            ],
        )  # fmt: skip
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        if events:
            conn.execute(
                insert(InteractionRow),
                [
                    {
                        "customer_id": ids[e["customer"]],
                        "kind": e["kind"],
                        "occurred_at": at(e["day"]),
                        "amount_minor": e.get("amount"),
                        "channel": e.get("channel"),
                        "campaign": e.get("campaign"),
                        "stage": e.get("stage"),
                        "order_id": e.get("order_id"),
                        "source_key": f"t:{n}",
                    }
                    for n, e in enumerate(events)
                ],
            )


def project(database: Engine, funnel: Mapping[str, Any], **tables: Any) -> Project:
    config = parse_config({"funnel": dict(funnel), **tables})
    return Project(config, extra_plugins=(("funnel", crm_funnel),), engine=database)


@pytest.fixture
def logs() -> types.SimpleNamespace:
    return types.SimpleNamespace(write_log=write_log, project=project, at=at, START=START)
