"""The canonical fields of each import target, and the parser each field's column gets.

A file's columns reach the database only through these fields: `ImportOptions.mapping` says
which column holds a field (a field not mapped is read from a column of its own name), and every
other column is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from attrs import frozen
from sqlalchemy import Column, String

from crm.core.importing.money import Money, Number
from crm.core.importing.options import DEFAULT_KIND, ImportOptions
from crm.core.importing.parsers import (
    Date,
    DateTime,
    Email,
    Flag,
    Kind,
    Parser,
    Text,
)
from crm.core.schema import Tables

Target = Literal["customers", "interactions", "campaigns"]


@frozen
class Field:
    """A canonical field: its name in mappings, a one-line description, whether it must be there."""

    name: str
    description: str
    required: bool = False


CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field("customer_id", "your id of the customer; existing ids are updated", required=True),
    Field("name", "full name"),
    Field("email", "email address"),
    Field("phone", "phone number"),
    Field("country", "country name or code"),
    Field("city", "city"),
    Field("birth_date", "date of birth"),
    Field("gender", "gender, as your systems write it"),
    Field("created_at", "when the customer was created (default: the time of the import)"),
    Field("consent_email", "agreed to email: true/false, yes/no, 1/0, or empty for not asked"),
    Field("consent_sms", "agreed to text messages (as consent_email)"),
    Field("consent_phone", "agreed to phone calls (as consent_email)"),
    Field("consent_profiling", "agreed to profiling (as consent_email)"),
)

INTERACTION_FIELDS: tuple[Field, ...] = (
    Field(
        "customer_id",
        "your id of the customer; an unknown id creates a customer with that id only",
        required=True,
    ),
    Field("occurred_at", "when it happened; a time without a UTC offset is UTC", required=True),
    Field("kind", f"purchase, visit, email_open ... (default {DEFAULT_KIND}, or the kind given)"),
    Field("amount", "money as an exact decimal (12.30), stored in cents, rounded half-even"),
    Field("quantity", "units bought; without an amount column, amount = quantity x unit_price"),
    Field("unit_price", "price of one unit (see quantity)"),
    Field("channel", "where it happened: web, store, email ..."),
    Field("campaign", "the campaign it belongs to"),
    Field("stage", "funnel stage reached (for stage_change rows)"),
    Field("order_id", "order or invoice number; frequency counts distinct orders"),
    Field(
        "interaction_id",
        "your id of the row; re-imports match on it instead of the content fingerprint",
    ),
)

CAMPAIGN_FIELDS: tuple[Field, ...] = (
    Field(
        "campaign_id",
        "your id of the campaign, as the interactions' campaign column writes it; "
        "existing ids are updated",
        required=True,
    ),
    Field("name", "what people call it (default: the id)"),
    Field("channel", "where it ran: email, sms, web ..."),
    Field("start", "first day it ran (a date)", required=True),
    Field("end", "last day it ran (a date; empty while it runs)"),
    Field("cost", "what it cost, as an exact decimal (stored in cents); empty if not known"),
    Field("budget", "what it was allowed to cost (as cost)"),
    Field("target_segment", "the segment it targets, as segmentation=segment (rfm=At Risk)"),
)

FIELDS: Mapping[Target, tuple[Field, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "interactions": INTERACTION_FIELDS,
    "campaigns": CAMPAIGN_FIELDS,
}


_TABLES = Tables.default()


def _length(column: Column[Any]) -> int:
    """The width of a String column of the schema, so no value can overflow it on PostgreSQL."""
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


def customer_parsers(options: ImportOptions) -> dict[str, Parser]:
    table = _TABLES.customer.c
    return {
        "customer_id": Text(_length(table.external_id), required=True),
        "name": Text(_length(table.name)),
        "email": Email(_length(table.email)),
        "phone": Text(_length(table.phone)),
        "country": Text(_length(table.country)),
        "city": Text(_length(table.city)),
        "birth_date": Date(options.date_format),
        "gender": Text(_length(table.gender)),
        "created_at": DateTime(options.date_format),
        "consent_email": Flag(),
        "consent_sms": Flag(),
        "consent_phone": Flag(),
        "consent_profiling": Flag(),
    }


#: "x:" + the interaction id must fit `interaction.source_key`.
INTERACTION_ID_LENGTH = _length(_TABLES.interaction.c.source_key) - 2


def interaction_parsers(options: ImportOptions) -> dict[str, Parser]:
    table = _TABLES.interaction.c
    return {
        "customer_id": Text(_length(_TABLES.customer.c.external_id), required=True),
        "occurred_at": DateTime(options.date_format, required=True),
        "kind": Kind(options.kind or DEFAULT_KIND),
        "amount": Money(),
        "quantity": Number(),
        "unit_price": Number(),
        "channel": Text(_length(table.channel)),
        "campaign": Text(_length(table.campaign)),
        "stage": Text(_length(table.stage)),
        "order_id": Text(_length(table.order_id)),
        "interaction_id": Text(INTERACTION_ID_LENGTH),
    }
