"""The entities plugins and Python users see: frozen values, UTC times, exact money."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from crm import Customer, Interaction
from crm.core.customer import Consent


def test_customer_is_a_frozen_value() -> None:
    customer = Customer(external_id="C1", country="DE")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        customer.country = "FR"  # type: ignore[misc]
    assert attrs.evolve(customer, country="FR").country == "FR"
    assert customer == Customer(external_id="C1", country="DE")


def test_age_counts_birthdays_not_days() -> None:
    customer = Customer(external_id="C1", birth_date=date(1990, 6, 15))
    assert customer.age_on(date(2024, 6, 14)) == 33
    assert customer.age_on(date(2024, 6, 15)) == 34
    assert Customer(external_id="C2").age_on(date(2024, 1, 1)) is None


def test_consent_not_asked_is_not_a_yes() -> None:
    assert Consent().email is None


def test_interaction_times_are_utc_whatever_they_came_in() -> None:
    naive = Interaction(
        customer_external_id="C1", kind="visit", occurred_at=datetime(2024, 3, 31, 12)
    )
    plus_two = timezone(timedelta(hours=2))
    aware = Interaction(
        customer_external_id="C1",
        kind="visit",
        occurred_at=datetime(2024, 3, 31, 14, tzinfo=plus_two),
    )
    assert naive.occurred_at == datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert aware.occurred_at == naive.occurred_at
    assert aware.occurred_at.tzinfo is UTC


def test_interaction_from_row_turns_cents_back_into_exact_money() -> None:
    row = {
        "id": 7, "kind": "purchase", "occurred_at": datetime(2024, 1, 2), "amount_minor": 1999,
        "channel": "web", "campaign": None, "stage": None, "order_id": "O1", "attributes": None,
    }  # fmt: skip
    interaction = Interaction.from_row(row, "C1")
    assert interaction.amount == Decimal("19.99")
    assert interaction.customer_external_id == "C1"
    assert interaction.attributes == {}
