"""The customer entity as plugins and the Python API see it (never an ORM row)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from attrs import field, frozen


@frozen
class Consent:
    """What the customer agreed to; a missing flag means "not asked", which is not a yes."""

    email: bool | None = None
    sms: bool | None = None
    phone: bool | None = None
    profiling: bool | None = None


@frozen(kw_only=True)
class Customer:
    """One customer. `id` is the database's integer key; `external_id` is the key in your systems."""

    external_id: str
    id: int | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    city: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    attributes: Mapping[str, Any] = field(factory=dict)
    consent: Consent = field(factory=Consent)
    created_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Customer:
        """From a `customer` table row (mapping access), the storage shape kept out of __init__."""
        return cls(
            id=row["id"],
            external_id=row["external_id"],
            name=row["name"],
            email=row["email"],
            phone=row["phone"],
            country=row["country"],
            city=row["city"],
            birth_date=row["birth_date"],
            gender=row["gender"],
            attributes=row["attributes"] or {},
            consent=Consent(
                email=row["consent_email"],
                sms=row["consent_sms"],
                phone=row["consent_phone"],
                profiling=row["consent_profiling"],
            ),
            created_at=row["created_at"],
        )

    def age_on(self, day: date) -> int | None:
        """Age in whole years on `day`, or None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday
