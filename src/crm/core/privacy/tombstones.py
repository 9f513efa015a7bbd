"""The per-database secret and tombstones: erased customer ids kept only as keyed hashes.

A plain hash of an id or an email can be reversed by hashing every likely value; an HMAC with a
secret that lives only in this database cannot, short of reading the secret too. The secret is
made on first use (32 random bytes, hex, in `crm_meta`) and travels with backups.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from crm.core.schema import MetaRow, TombstoneRow

SECRET_KEY = "privacy_secret"


def database_secret(connection: Connection) -> bytes:
    """The database's secret, created (once, even with concurrent callers) on first use."""
    found = connection.scalar(select(MetaRow.value).where(MetaRow.key == SECRET_KEY))
    if found is None:
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(MetaRow).values(key=SECRET_KEY, value=secrets.token_hex(32))
                )
        except IntegrityError:  # another process made it first: use theirs
            pass
        found = connection.scalar(select(MetaRow.value).where(MetaRow.key == SECRET_KEY))
    assert found is not None
    return bytes.fromhex(found)


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of `value`, hex: what a tombstone stores instead of the id."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def has_tombstones(connection: Connection) -> bool:
    return connection.scalar(select(TombstoneRow.id_hash).limit(1)) is not None


def add_tombstone(connection: Connection, id_hash: str, erased_at: datetime) -> None:
    """Record (or move forward the time of) an erasure."""
    changed = connection.execute(
        update(TombstoneRow).where(TombstoneRow.id_hash == id_hash).values(erased_at=erased_at)
    ).rowcount
    if not changed:
        connection.execute(insert(TombstoneRow).values(id_hash=id_hash, erased_at=erased_at))


def tombstones(connection: Connection) -> dict[str, datetime]:
    """Every tombstone: keyed hash -> time of the (latest) erasure."""
    return dict(connection.execute(select(TombstoneRow.id_hash, TombstoneRow.erased_at)).all())


def erased_ids(connection: Connection, ids: Iterable[str]) -> set[str]:
    """The ids among `ids` that belong to erased customers (one HMAC per id: call it with the
    ids an import would create, and only when `has_tombstones`)."""
    known = set(tombstones(connection))
    if not known:
        return set()
    secret = database_secret(connection)
    return {value for value in ids if keyed_hash(secret, value) in known}
