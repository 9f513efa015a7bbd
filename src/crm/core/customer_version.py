"""Which database, and which version of its customers: what a plugin keys a cache on.

A result computed from every customer's fields (crm-idic's duplicate search takes minutes at a
million customers) can be reused while the customers are unchanged. Reading them all to find
out would cost most of what the cache saves, so the version is read from a few indexed values
instead:

- the number of customers and the largest key (any insert or delete, through crm or not);
- the number of merged customers (`customer_alias`: merges and undos);
- the latest audit entry of an action that may write customers, its id and time: every crm
  command that changes a customer (imports, merges and their undo, erasure, restores) records
  one in the same transaction (`crm.core.audit`). Only the actions listed in `READ_ONLY_ACTIONS`
  are left out, so an action added later counts as a change until it is listed.

What the version cannot see: a customer's fields updated with SQL outside crm, which records
no audit entry. A cache keyed on it serves the old result until the next change through crm.
"""

from __future__ import annotations

import hashlib
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, func, select, text

from crm.core.redaction import redact_url
from crm.core.schema import AuditRow, Tables

#: Audit actions that never change a customer row.
READ_ONLY_ACTIONS = ("backup", "config changed", "delete runs", "unmasked export")


@frozen
class CustomersVersion:
    """`database` names the database (and PostgreSQL schema) without its password; `version`
    changes whenever crm changes a customer. Both are short hex digests, safe in file names."""

    database: str
    version: str


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def database_identity(connection: Connection) -> str | None:
    """A digest naming the database, or None for one that lives only in this process (SQLite in
    memory), whose version would say nothing to the next process."""
    url = connection.engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
            return None
        from pathlib import Path

        return _digest("sqlite", str(Path(url.database or "").resolve()))
    schema = connection.scalar(text("SELECT current_schema()"))
    return _digest(redact_url(url.render_as_string(hide_password=True)), schema)


def customers_version(connection: Connection, tables: Tables) -> CustomersVersion | None:
    """The database and the version of its customers (None: a database only in memory)."""
    database = database_identity(connection)
    if database is None:
        return None
    c, alias = tables.customer, tables.customer_alias
    count, largest = connection.execute(select(func.count(), func.max(c.c.id))).one()
    merged = connection.scalar(select(func.count()).select_from(alias))
    audit = AuditRow.__table__
    latest = connection.execute(
        select(audit.c.id, audit.c.occurred_at)
        .where(audit.c.action.not_in(READ_ONLY_ACTIONS))
        .order_by(audit.c.id.desc())
        .limit(1)
    ).first()
    written = (latest[0], str(latest[1])) if latest is not None else None
    return CustomersVersion(database, _digest(count, largest, merged, written))
