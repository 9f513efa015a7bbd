"""Loading many rows at once: the import's transaction, and rebuilding indexes after a big load.

Both databases build an index from all its rows (one sort) several times faster than they
maintain it row by row in random order, and check a foreign key for a whole table with one join
faster than with one lookup (PostgreSQL: one trigger call) per row. PostgreSQL's manual
recommends exactly this for bulk loads ("Populating a Database": remove indexes, remove foreign
key constraints). Measured here, importing 1M interactions into an empty table: 17 s with the
indexes maintained against 8.4 s with the two non-unique ones rebuilt on SQLite, 18 s against
8.6 s on PostgreSQL (where the foreign-key triggers alone took 3.4 s).

Everything happens inside the import's single transaction, so a failed import leaves the
indexes and constraints as they were. The price is a lock: on PostgreSQL, dropping an index
locks the interaction table until the import commits, so this is done only when the file has
more rows than the table (and at least `BULK_MIN_ROWS`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, text

from crm.core.database import IMPORT_LOCK, begin_immediate, take_turn

#: Imports of fewer rows keep the indexes: rebuilding them would cost more than it saves.
BULK_MIN_ROWS = 50_000


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole import, holding the database's write turn from the start.

    PostgreSQL: the import advisory lock, so imports into one schema run one after another
    (a waiting import says so on stderr) and always take their row and table locks alone.

    pysqlite opens a transaction only at the first INSERT, so the staging table would be created
    outside it (and survive a rollback), and a concurrent writer would be noticed only at the end
    of a long import; BEGIN IMMEDIATE waits for the lock up front instead. SQLite's per-row
    foreign-key checks are switched off for the import (a PRAGMA that only takes effect outside
    a transaction): every interaction is inserted from a join with its customer, so the key holds
    by construction.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                # One import at a time per schema: concurrent imports sharing new customers
                # or rebuilding the same indexes would otherwise deadlock or collide.
                take_turn(conn, IMPORT_LOCK, "importing")
                yield conn
            return
        raw: Any = conn.connection.driver_connection
        checked = raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        threads = raw.execute("PRAGMA threads").fetchone()[0]
        raw.execute("PRAGMA foreign_keys = OFF")
        # Helper threads for SQLite's sorter: the window over the fingerprints, the GROUP BY of
        # customers and the index builds are sorts (measured: 6.0 s -> 4.8 s of SQL on 1M rows).
        raw.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
        try:
            with conn.begin():
                begin_immediate(conn)
                yield conn
        finally:
            raw.execute(f"PRAGMA threads = {int(threads)}")
            if checked:
                raw.execute("PRAGMA foreign_keys = ON")


def is_bulk(conn: Connection, table: Table, rows: int) -> bool:
    """Whether `rows` new rows are enough to rebuild `table`'s indexes rather than maintain them."""
    if rows < BULK_MIN_ROWS:
        return False
    # max(id) reads one index entry; a count would read the whole table. Strictly more rows
    # than the table holds, so that re-importing the file that filled it adds no rebuild.
    existing = conn.scalar(select(func.max(table.c.id))) or 0
    return rows > existing


@contextmanager
def rebuilt_indexes(conn: Connection, table: Table, *, unique_too: bool = False) -> Iterator[None]:
    """Drop `table`'s non-unique indexes (and on PostgreSQL its foreign keys) for the duration,
    then build them again.

    Unique indexes stay unless `unique_too`: a load into a non-empty table relies on them to skip
    known rows. Into an empty table nothing is known, and rebuilding the unique index too took
    the insert of 1M rows on SQLite from 2.34 s to 1.69 s. Rebuilding it fails loudly (and the
    import rolls back) should the load have produced a duplicate.
    """
    indexes = [index for index in table.indexes if unique_too or not index.unique]
    foreign_keys = _postgresql_foreign_keys(conn, table)
    quoted = conn.dialect.identifier_preparer.format_table(table)
    quote = conn.dialect.identifier_preparer.quote
    for index in indexes:
        index.drop(conn)
    for name, _definition in foreign_keys:
        conn.execute(text(f"ALTER TABLE {quoted} DROP CONSTRAINT {quote(name)}"))
    yield
    for index in indexes:
        index.create(conn)
    for name, definition in foreign_keys:
        conn.execute(text(f"ALTER TABLE {quoted} ADD CONSTRAINT {quote(name)} {definition}"))


def _postgresql_foreign_keys(conn: Connection, table: Table) -> list[tuple[str, str]]:
    """(name, definition) of each foreign key of `table`, as the database has it.

    Read from the catalog rather than rebuilt from the metadata: SQLAlchemy's AddConstraint
    marks the metadata's constraint as "not inline", which would change every later CREATE TABLE.
    """
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f' ORDER BY conname"
        ),
        {"table": conn.dialect.identifier_preparer.format_table(table)},
    )
    return [(name, definition) for name, definition in rows]
