"""Erasure (`crm forget`): one transaction that removes a person's personal data everywhere.

What happens to customer `X` (integer key `k`):
- the customer row stays as an anonymous shell, so revenue totals and counts stay right: its id
  becomes `erased-<random>`, name, email, phone, city, birth date, gender and attributes are
  emptied, every contact consent becomes no; country and created_at are kept. The shell is
  still scored (it names nobody), so segment summaries keep their customer and revenue totals;
- interactions keep kind, time, amount, channel, campaign and stage; their attributes are
  emptied, order ids are replaced by random tokens (one per order, so purchase counts stay
  right) and their import identities (`source_key`, which hashes the customer id) by `e:<row>`;
- stored runs lose the customer's segments and scores (`erase_customer_from_runs`);
- every enabled plugin's `customer_erased(connection, customer_key)` runs in the transaction;
- customers merged with X (either way) are the same person and are erased the same way; the
  merge records (the survivor's earlier row, the aliases) are deleted, so those merges can no
  longer be undone;
- a tombstone keeps HMAC(secret, X), never X, so importing X again is refused;
- the audit log gets an entry with counts only.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from attrs import frozen
from sqlalchemy import Connection, String, cast, literal, select, update

from crm.core.audit import record
from crm.core.errors import NotFoundError
from crm.core.merge_service import forget_merges
from crm.core.privacy.tombstones import add_tombstone, database_secret, keyed_hash, tombstones
from crm.core.runs import erase_customer_from_runs
from crm.core.schema import Tables

#: Called with (connection, customer_key) inside the transaction: the plugins' hook.
ErasureListener = Callable[[Connection, int], None]

_EMPTIED = ("name", "email", "phone", "city", "birth_date", "gender", "attributes")
_CONSENTS = ("consent_email", "consent_sms", "consent_phone")


@frozen
class ErasureReport:
    customer_key: int
    interactions_anonymised: int
    run_rows_removed: int


def anonymise_customer(
    connection: Connection, tables: Tables, customer_key: int, listener: ErasureListener
) -> ErasureReport:
    """Everything but the tombstone and the audit entry: turn customer `customer_key` into an
    anonymous shell (see the module docstring)."""
    c, i = tables.customer, tables.interaction
    connection.execute(
        update(c)
        .where(c.c.id == customer_key)
        .values(
            external_id=f"erased-{secrets.token_hex(8)}",
            **dict.fromkeys(_EMPTIED),
            **dict.fromkeys(_CONSENTS, False),
            consent_profiling=None,
        )
    )
    orders = connection.scalars(
        select(i.c.order_id)
        .where(i.c.customer_id == customer_key, i.c.order_id.is_not(None))
        .distinct()
    ).all()
    for order in orders:  # one customer's orders: a handful of statements
        connection.execute(
            update(i)
            .where(i.c.customer_id == customer_key, i.c.order_id == order)
            .values(order_id=f"erased-{secrets.token_hex(6)}")
        )
    changed = connection.execute(
        update(i)
        .where(i.c.customer_id == customer_key)
        .values(attributes=None, source_key=literal("e:") + cast(i.c.id, String)),
        execution_options={"preserve_rowcount": True},
    ).rowcount
    removed = erase_customer_from_runs(connection, customer_key)
    listener(connection, customer_key)
    # Customers merged with this one are the same person (crm.core.merging): erased too.
    for other in forget_merges(connection, tables, customer_key):
        more = anonymise_customer(connection, tables, other, listener)
        changed, removed = changed + more.interactions_anonymised, removed + more.run_rows_removed
    return ErasureReport(customer_key, int(changed), removed)


def erase_customer(
    connection: Connection, tables: Tables, external_id: str, listener: ErasureListener
) -> ErasureReport:
    """Erase customer `external_id`; the caller owns the transaction (all or nothing)."""
    c = tables.customer
    key = connection.scalar(select(c.c.id).where(c.c.external_id == external_id))
    secret = database_secret(connection)
    id_hash = keyed_hash(secret, external_id)
    if key is None:
        if id_hash in tombstones(connection):
            raise NotFoundError(f"customer {external_id!r} was already erased")
        raise NotFoundError(f"no customer with id {external_id!r}")
    report = anonymise_customer(connection, tables, key, listener)
    add_tombstone(connection, id_hash, datetime.now(UTC).replace(tzinfo=None))
    record(
        connection,
        "erase customer",
        interactions=report.interactions_anonymised,
        run_rows=report.run_rows_removed,
    )
    return report


def reapply_erasures(
    connection: Connection,
    tables: Tables,
    erased_after: datetime | None,
    listener: ErasureListener,
) -> int:
    """Erase again every customer whose tombstone is newer than `erased_after` (all when None):
    after restoring a backup taken before those erasures. Returns how many were erased.

    One HMAC per customer id: a restore is rare, and the ids cannot be matched in SQL.
    """
    wanted = {
        id_hash
        for id_hash, when in tombstones(connection).items()
        if erased_after is None or when > erased_after
    }
    if not wanted:
        return 0
    secret = database_secret(connection)
    c = tables.customer
    found = [
        key
        for key, external_id in connection.execute(select(c.c.id, c.c.external_id))
        if keyed_hash(secret, external_id) in wanted
    ]
    for key in found:
        anonymise_customer(connection, tables, key, listener)
    if found:
        record(connection, "erase customer again after restore", customers=len(found))
    return len(found)


def scrub_sqlite_file(connection: Connection) -> None:
    """SQLite keeps deleted and overwritten values in free pages and in the write-ahead log until
    they are reused: rebuild the file (VACUUM) and empty the log, so the erased values are not in
    the database file any more. Run after the erasure commits; PostgreSQL: docs/privacy.md."""
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("VACUUM")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
