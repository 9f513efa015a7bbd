"""Consent applied to campaign lists: who may be contacted on a channel, and how.

A campaign list (`crm segment --customers --channel email --with-contact`) is the customer table
of a run, minus the customers without consent for the channel, plus their contact details:
- `--channel C` keeps only customers whose `consent_C` is yes; a missing consent (never asked)
  is not a yes, so they are left out too (and counted);
- `--with-contact` adds `name`, `email` (only where email consent is yes) and `phone` (only where
  phone or sms consent is yes), masked unless unmasked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen
from sqlalchemy import Connection, select

from crm.core.components import Table
from crm.core.privacy import CHANNELS
from crm.core.schema import Tables

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.facts import Facts
    from crm.core.privacy.masking import Masker

CONTACT_COLUMNS = ("name", "email", "phone")


@frozen
class CampaignList:
    """The rows to hand to a campaign tool, and how many customers consent left out."""

    table: Table
    left_out: int
    channel: str | None


def contact_details(
    connection: Connection, tables: Tables, customer_ids: NDArray[np.int64]
) -> dict[str, NDArray[Any]]:
    """Name, email and phone aligned with `customer_ids` (sorted ascending, as in `Facts`).

    One row per customer, read in key order and matched by position: no IN list of a million ids.
    """
    c = tables.customer
    rows = connection.execute(select(c.c.id, c.c.name, c.c.email, c.c.phone).order_by(c.c.id)).all()
    keys = np.array([row[0] for row in rows], dtype=np.int64)
    positions = np.searchsorted(keys, customer_ids)
    details = {}
    for index, name in enumerate(CONTACT_COLUMNS, start=1):
        column = np.array([row[index] for row in rows] + [None], dtype=object)
        details[name] = column[positions]
    return details


def _consents(facts: Facts, purpose: str) -> NDArray[np.bool_]:
    column = facts.consent.get(purpose)
    if column is None:
        return np.zeros(len(facts), dtype=bool)
    return np.asarray(column == 1.0, dtype=bool)


def campaign_list(
    customers: Table,
    facts: Facts,
    *,
    channel: str | None = None,
    contacts: Mapping[str, NDArray[Any]] | None = None,
    masker: Masker | None = None,
) -> CampaignList:
    """`customers` (the table of `crm.core.reports.customer_rows`, first column `customer_id`)
    with consent applied for `channel` and, given `contacts`, the contact columns added."""
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    position = {external: i for i, external in enumerate(facts.external_id.tolist())}
    allowed = _consents(facts, channel) if channel else np.ones(len(facts), dtype=bool)
    email_ok = _consents(facts, "email")
    phone_ok = _consents(facts, "phone") | _consents(facts, "sms")

    def shown(field: str, value: Any) -> Any:
        return masker.mask(field, value) if masker is not None else value

    rows = []
    for row in customers.rows:
        at = position[row[0]]
        if not allowed[at]:
            continue
        if contacts is None:
            rows.append(row)
            continue
        email = contacts["email"][at] if email_ok[at] else None
        phone = contacts["phone"][at] if phone_ok[at] else None
        rows.append(
            (
                *row,
                shown("name", contacts["name"][at]),
                shown("email", email),
                shown("phone", phone),
            )
        )
    columns = (*customers.columns, *CONTACT_COLUMNS) if contacts is not None else customers.columns
    table = Table(columns=columns, rows=tuple(rows), title=customers.title)
    return CampaignList(table=table, left_out=len(customers.rows) - len(rows), channel=channel)
