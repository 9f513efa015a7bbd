"""Shared by the interaction-import tests: writing a small file, and reading back what was stored
(interactions with their customer's external id, and row counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from crm.core.schema import ImportRow, Tables

T = Tables.default()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def interactions(engine: Engine) -> list[dict[str, Any]]:
    """Every interaction with its customer's external id, by time, customer and key (rows are
    inserted in fingerprint order, not in file order)."""
    i, c = T.interaction, T.customer
    query = (
        select(
            c.c.external_id,
            i.c.kind,
            i.c.occurred_at,
            i.c.amount_minor,
            i.c.channel,
            i.c.campaign,
            i.c.stage,
            i.c.order_id,
            i.c.source_key,
        )
        .join(c, c.c.id == i.c.customer_id)
        .order_by(i.c.occurred_at, c.c.external_id, i.c.source_key)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def counts(engine: Engine) -> tuple[int, int, int]:
    """(customers, interactions, import_log rows)."""
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(T.customer)) or 0,
            conn.scalar(select(func.count()).select_from(T.interaction)) or 0,
            conn.scalar(select(func.count()).select_from(ImportRow.__table__)) or 0,
        )
