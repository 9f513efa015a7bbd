"""The staging table: parsed rows go here first, in bulk, inside the import's transaction.

Validation happens in Python, one batch at a time; everything that needs the whole file
(occurrence numbers of fingerprints, duplicate ids, the customers to create, the rows already
present) is then one SQL statement over this table. The bulk path is the fastest each database
offers, on the same connection and transaction as the rest of the import:

* SQLite: `executemany` on the raw `sqlite3` connection (SQLAlchemy's executemany costs 3.8x
  as much; multi-row VALUES 30x), into a TEMP table whose `line` is the rowid;
* PostgreSQL: `COPY ... FROM STDIN` through psycopg 3 (19x faster than executemany) into a
  TEMP table dropped at commit, then ANALYZE so the planner knows its size;
* any other database: SQLAlchemy Core executemany.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Executable,
    Integer,
    MetaData,
    Select,
    Table,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

STAGE_TABLE = "crm_import_stage"


def rows_changed(conn: Connection, statement: Executable) -> int:
    """Run an INSERT ... SELECT, UPDATE or DELETE and return how many rows it wrote."""
    # SQLAlchemy 2 keeps the DBAPI rowcount only for UPDATE and DELETE unless asked.
    result = conn.execute(statement, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)


def insert_missing(
    conn: Connection, table: Table, names: Sequence[str], query: Select[Any]
) -> Executable:
    """INSERT INTO `table` (`names`) `query`, skipping rows whose unique key another writer has
    just inserted (ON CONFLICT DO NOTHING): `query` leaves out the rows this transaction can
    see, a concurrent import's new rows it cannot."""
    statement: Any
    if conn.dialect.name == "postgresql":
        statement = postgresql.insert(table)
    elif conn.dialect.name == "sqlite":
        statement = sqlite.insert(table)
    else:
        return insert(table).from_select(names, query)
    upsert: Executable = statement.from_select(names, query).on_conflict_do_nothing()
    return upsert


class Stage:
    """A staging table with `line` (the row's line in the file) and the given columns."""

    def __init__(self, conn: Connection, columns: Sequence[Column[Any]]) -> None:
        self.conn = conn
        self.names = ["line", *(column.name for column in columns)]
        self.table = self._create(conn, columns)

    #: Dialect options of the staging table (PostgreSQL drops it at commit).
    table_options: dict[str, Any] = {}  # noqa: RUF012 - read-only per class

    def _create(self, conn: Connection, columns: Sequence[Column[Any]]) -> Table:
        table = Table(
            STAGE_TABLE,
            MetaData(),
            Column("line", Integer, nullable=False),
            *columns,
            prefixes=["TEMPORARY"],
            **self.table_options,
        )
        table.create(conn)
        return table

    def append(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add rows of values in the order of `names`."""
        self.conn.execute(
            insert(self.table), [dict(zip(self.names, row, strict=True)) for row in rows]
        )

    def finish(self) -> None:
        """Called once after the last `append`."""

    def drop(self) -> None:
        self.table.drop(self.conn)


class SqliteStage(Stage):
    def _create(self, conn: Connection, columns: Sequence[Column[Any]]) -> Table:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE_TABLE}")
        table = Table(
            STAGE_TABLE,
            MetaData(),
            # INTEGER PRIMARY KEY is the rowid itself: ordered by line at no extra cost.
            Column("line", Integer, primary_key=True, autoincrement=False),
            *columns,
            schema="temp",
            prefixes=["TEMPORARY"],
        )
        table.create(conn)
        self._raw: Any = conn.connection.driver_connection
        marks = ", ".join("?" * len(self.names))
        self._insert = f"INSERT INTO temp.{STAGE_TABLE} ({', '.join(self.names)}) VALUES ({marks})"
        return table

    def append(self, rows: Iterable[Sequence[Any]]) -> None:
        self._raw.executemany(self._insert, rows)


class PostgresStage(Stage):
    table_options = {"postgresql_on_commit": "DROP"}  # noqa: RUF012 - read-only per class

    def _create(self, conn: Connection, columns: Sequence[Column[Any]]) -> Table:
        table = super()._create(conn, columns)
        self._raw: Any = conn.connection.driver_connection
        self._copy = f"COPY {STAGE_TABLE} ({', '.join(self.names)}) FROM STDIN"
        return table

    def append(self, rows: Iterable[Sequence[Any]]) -> None:
        with self._raw.cursor() as cursor, cursor.copy(self._copy) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def finish(self) -> None:
        # Temporary tables are never auto-analyzed; without statistics the planner guesses
        # a few hundred rows and picks nested loops for a million.
        self.conn.execute(text(f"ANALYZE {STAGE_TABLE}"))


def open_stage(conn: Connection, columns: Sequence[Column[Any]]) -> Stage:
    """The staging table for this connection's database, created empty."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return SqliteStage(conn, columns)
    if dialect == "postgresql" and conn.dialect.driver == "psycopg":
        return PostgresStage(conn, columns)
    return Stage(conn, columns)
