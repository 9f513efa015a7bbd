"""A single customer's profile: attributes, recent interactions, current segments and scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from crm.core.runs import customer_results
from crm.core.schema import Tables


def customer_profile(
    connection: Connection, tables: Tables, external_id: str, *, last: int = 10
) -> dict[str, Any] | None:
    c = tables.customer
    row = connection.execute(select(c).where(c.c.external_id == external_id)).mappings().first()
    if row is None:
        return None
    i = tables.interaction
    interactions = (
        connection.execute(
            select(
                i.c.occurred_at,
                i.c.kind,
                i.c.amount_minor,
                i.c.channel,
                i.c.campaign,
                i.c.stage,
                i.c.order_id,
            )
            .where(i.c.customer_id == row["id"])
            .order_by(i.c.occurred_at.desc(), i.c.id.desc())
            .limit(last)
        )
        .mappings()
        .all()
    )
    run, segments, scores = customer_results(connection, row["id"])
    hidden = ("id", "external_id", "attributes")
    attributes = {k: v for k, v in row.items() if k not in hidden and v is not None}
    attributes.update(row["attributes"] or {})
    return {
        "customer_id": row["external_id"],
        "attributes": attributes,
        "last_interactions": [
            {
                **{k: v for k, v in item.items() if k != "amount_minor" and v is not None},
                **(
                    {"amount": (Decimal(item["amount_minor"]) / 100).quantize(Decimal("0.01"))}
                    if item["amount_minor"] is not None
                    else {}
                ),
            }
            for item in interactions
        ],
        "run": None if run is None else {"id": run.id, "as_of": run.as_of},
        "segments": dict(segments),
        "scores": dict(scores),
    }
