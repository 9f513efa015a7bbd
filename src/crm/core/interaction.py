"""The interaction entity: anything a customer did or had done to them, at one moment in UTC."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen

#: Kinds the core and the bundled models know; any other lower-case word is accepted too.
KNOWN_KINDS: tuple[str, ...] = (
    "purchase",
    "visit",
    "email_open",
    "campaign_touch",
    "ticket",
    "complaint",
    "feedback",
    "stage_change",
)


def _to_utc(value: datetime) -> datetime:
    # Naive times are read as UTC; aware ones are converted, so every stored time is comparable.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@frozen(kw_only=True)
class Interaction:
    """One event in a customer's history. `amount` is exact money (a Decimal), never a float."""

    customer_external_id: str
    kind: str
    occurred_at: datetime = field(converter=_to_utc)
    amount: Decimal | None = None
    channel: str | None = None
    campaign: str | None = None
    stage: str | None = None
    order_id: str | None = None
    external_id: str | None = None
    attributes: Mapping[str, Any] = field(factory=dict)
    id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], customer_external_id: str) -> Interaction:
        """From an `interaction` table row; money comes back from integer cents exactly."""
        cents = row["amount_minor"]
        return cls(
            id=row["id"],
            customer_external_id=customer_external_id,
            kind=row["kind"],
            occurred_at=row["occurred_at"],
            amount=None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01")),
            channel=row["channel"],
            campaign=row["campaign"],
            stage=row["stage"],
            order_id=row["order_id"],
            attributes=row["attributes"] or {},
        )
