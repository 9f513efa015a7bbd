"""Fixtures for the crm-aidas tests: crm's real-database fixture (SQLite, then PostgreSQL) and a
writer of small hand-made logs (`logs.write_log`, `logs.project`, `logs.at`)."""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import crm_aidas
import pytest
from sqlalchemy import Engine, insert, select

from crm.core.config import parse_config
from crm.core.project import Project
from crm.core.schema import CampaignRow, CustomerRow, InteractionRow
from crm.testing import engine  # noqa: F401

START = datetime(2024, 1, 1)


def at(days: float) -> datetime:
    return START + timedelta(days=days)


def day(days: int) -> date:
    return (START + timedelta(days=days)).date()


def write_log(
    database: Engine,
    events: Sequence[Mapping[str, Any]],
    customers: Sequence[str] = (),
    campaigns: Sequence[Mapping[str, Any]] = (),
) -> None:
    """`events`: dicts with customer, kind, day (days after START) and any interaction field."""
    people = list(dict.fromkeys([*customers, *(e["customer"] for e in events)]))
    with database.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [{"external_id": cid, "created_at": START} for cid in people],
        )
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        if campaigns:
            fields = ("channel", "ends_on", "cost_minor", "budget_minor", "target_segment")
            conn.execute(insert(CampaignRow), [{**dict.fromkeys(fields), **c} for c in campaigns])
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
                        "attributes": e.get("attributes"),
                        "source_key": f"t:{n}",
                    }
                    for n, e in enumerate(events)
                ],
            )


def project(database: Engine, aidas: Mapping[str, Any] | None = None, **tables: Any) -> Project:
    config = parse_config({"aidas": dict(aidas or {}), **tables})
    return Project(config, extra_plugins=(("aidas", crm_aidas),), engine=database)


@pytest.fixture
def logs() -> types.SimpleNamespace:
    return types.SimpleNamespace(write_log=write_log, project=project, at=at, day=day)
