"""`crm backup` / `crm restore`: a consistent snapshot of the whole database, and back.

- SQLite: the backup file is a SQLite database made with SQLite's online backup API (a
  consistent copy even while others read); restore copies it back the same way.
- PostgreSQL: a portable archive (zip) of every table of the schema as JSON Lines, with a
  manifest (format, schema version, time, columns, each table's CREATE TABLE), read in one
  REPEATABLE READ transaction; `pg_dump` would tie the backup to the server's version.

A restore keeps what must outlive the data it replaces: the database's secret, its tombstones
and its audit log (entries after the backup's last one are kept). Then every erasure done after
the backup was taken is applied again (`reapply_erasures`), so an erased person does not come
back with an old backup.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import frozen
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.schema import CreateTable

from crm.core.audit import record
from crm.core.database import begin_immediate, write_transaction
from crm.core.errors import CrmError, NotFoundError
from crm.core.privacy.erasure import ErasureListener, reapply_erasures
from crm.core.privacy.tombstones import SECRET_KEY, add_tombstone, tombstones
from crm.core.schema import SCHEMA_VERSION, AuditRow, MetaRow, Tables

ARCHIVE_FORMAT = "crm-backup"
TAKEN_AT_KEY = "backup_taken_at"
_AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]


@frozen
class BackupReport:
    path: Path
    tables: int
    rows: int


@frozen
class RestoreReport:
    path: Path
    tables: int
    rows: int
    taken_at: datetime | None
    customers_erased_again: int


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _user_tables(connection: Connection) -> list[Table]:
    """Every table of the database (crm's and plugins'), parents before children."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return list(metadata.sorted_tables)


def backup(engine: Engine, path: Path) -> BackupReport:
    """Write a consistent snapshot of the database to `path` (which must not exist)."""
    if path.exists():
        raise CrmError(f"{path} exists; choose a new file name (a backup never overwrites)")
    # The audit entry and the file land together: the write lock is taken first (a writer that
    # holds it makes us wait before any file exists), the snapshot is read on a connection of
    # its own, and a failure on either side removes the file and rolls the entry back.
    try:
        with write_transaction(engine) as audit_connection:
            with engine.connect() as connection:
                if connection.dialect.name == "sqlite":
                    report = _backup_sqlite(connection, path)
                else:
                    report = _backup_archive(connection, path)
            record(audit_connection, "backup", tables=report.tables, rows=report.rows)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return report


def _count_rows(connection: Connection, tables: list[Table]) -> int:
    return sum(connection.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def _backup_sqlite(connection: Connection, path: Path) -> BackupReport:
    raw: Any = connection.connection.driver_connection
    target = sqlite3.connect(path)
    try:
        raw.backup(target)
        # One self-contained file: the copy inherits write-ahead logging, which would leave
        # -wal and -shm files beside it whenever it is opened.
        target.execute("PRAGMA journal_mode = DELETE")
        target.execute(
            "INSERT OR REPLACE INTO crm_meta (key, value) VALUES (?, ?)",
            (TAKEN_AT_KEY, _now().isoformat()),
        )
        target.commit()
    finally:
        target.close()
    tables = _user_tables(connection)
    return BackupReport(path, len(tables), _count_rows(connection, tables))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _backup_archive(connection: Connection, path: Path) -> BackupReport:
    with connection.begin():
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        tables = _user_tables(connection)
        manifest: dict[str, Any] = {
            "format": ARCHIVE_FORMAT,
            "version": 1,
            "schema_version": SCHEMA_VERSION,
            "taken_at": _now().isoformat(),
            "tables": [],
        }
        rows = 0
        with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            for table in tables:
                names = [column.name for column in table.columns]
                with archive.open(f"tables/{table.name}.jsonl", "w") as stream:
                    result = connection.execute(
                        select(table), execution_options={"stream_results": True}
                    )
                    for row in result:
                        line = json.dumps([_encode(v) for v in row], ensure_ascii=False)
                        stream.write(line.encode("utf-8") + b"\n")
                        rows += 1
                ddl = str(CreateTable(table).compile(dialect=connection.dialect))
                manifest["tables"].append({"name": table.name, "columns": names, "ddl": ddl})
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return BackupReport(path, len(tables), rows)


@frozen
class _Kept:
    """What a restore carries over from the database it overwrites."""

    secret: str | None
    tombstones: dict[str, datetime]
    audit: list[dict[str, Any]]


def _kept(connection: Connection) -> _Kept:
    secret = connection.scalar(select(MetaRow.value).where(MetaRow.key == SECRET_KEY))
    audit = [dict(row) for row in connection.execute(select(_AUDIT)).mappings()]
    return _Kept(secret, tombstones(connection), audit)


@frozen
class _BackupMeta:
    meta: dict[str, str]
    taken_at: datetime | None


def _check_meta(path: Path, meta: dict[str, str], kept: _Kept) -> _BackupMeta:
    version = meta.get("schema_version")
    if version is None:
        raise CrmError(f"{path}: not a crm backup (no schema_version in crm_meta)")
    if version != str(SCHEMA_VERSION):
        raise CrmError(
            f"{path}: a backup of schema version {version}; this crm restores version "
            f"{SCHEMA_VERSION}"
        )
    theirs = meta.get(SECRET_KEY)
    if kept.tombstones and theirs is not None and kept.secret not in (None, theirs):
        raise CrmError(
            f"{path}: a backup of another database (its privacy secret differs) and this one "
            "has erasures that could not be applied to it; restore it into an empty database"
        )
    taken = meta.get(TAKEN_AT_KEY)
    return _BackupMeta(meta, datetime.fromisoformat(taken) if taken else None)


def restore(engine: Engine, path: Path, listener: ErasureListener) -> RestoreReport:
    """Replace the whole database with the backup at `path`, then keep the secret, tombstones
    and newer audit entries of the database it replaces and apply later erasures again."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such backup file")
    with engine.connect() as connection:
        with connection.begin():
            kept = _kept(connection)
        if connection.dialect.name == "sqlite":
            info, tables, rows = _restore_sqlite(connection, path, kept)
        else:
            info, tables, rows = _restore_archive(connection, path, kept)
    from crm.core.schema import Base

    Base.metadata.create_all(engine)  # tables newer than the backup
    with write_transaction(engine) as connection:
        again = _merge(connection, kept, info, listener)
        record(connection, "restore", tables=tables, rows=rows, customers_erased_again=again)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, _user_tables(connection))
    return RestoreReport(path, tables, rows, info.taken_at, again)


def _merge(
    connection: Connection, kept: _Kept, info: _BackupMeta, listener: ErasureListener
) -> int:
    connection.execute(delete(MetaRow).where(MetaRow.key == TAKEN_AT_KEY))
    if kept.secret is not None:
        connection.execute(delete(MetaRow).where(MetaRow.key == SECRET_KEY))
        connection.execute(insert(MetaRow).values(key=SECRET_KEY, value=kept.secret))
    restored = tombstones(connection)
    for id_hash, when in kept.tombstones.items():
        if id_hash not in restored or restored[id_hash] < when:
            add_tombstone(connection, id_hash, when)
    last = connection.scalar(select(func.max(_AUDIT.c.id))) or 0
    newer = [entry for entry in kept.audit if entry["id"] > last]
    if newer:
        connection.execute(insert(_AUDIT), newer)
    return reapply_erasures(connection, Tables.default(), info.taken_at, listener)


def _restore_sqlite(
    connection: Connection, path: Path, kept: _Kept
) -> tuple[_BackupMeta, int, int]:
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        meta = dict(source.execute("SELECT key, value FROM crm_meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise CrmError(f"{path}: not a SQLite crm backup ({exc})") from None
    try:
        info = _check_meta(path, meta, kept)
        raw: Any = connection.connection.driver_connection
        connection.rollback()
        # The backup API cannot start inside a transaction, and on a locked database it retries
        # without end: wait for the write lock (with the message, or fail with one line) first.
        with connection.begin():
            begin_immediate(connection)
        source.backup(raw)
    finally:
        source.close()
    tables = _user_tables(connection)
    rows = _count_rows(connection, tables)
    connection.rollback()
    return info, len(tables), rows


def _decode(table: Table, names: list[str]) -> list[Any]:
    decoders: list[Any] = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, DateTime):
            decoders.append(datetime.fromisoformat)
        elif isinstance(kind, Date):
            decoders.append(date.fromisoformat)
        elif isinstance(kind, LargeBinary):
            decoders.append(base64.b64decode)
        elif isinstance(kind, JSON):
            decoders.append(json.dumps)
        elif isinstance(kind, Numeric) and kind.asdecimal:
            decoders.append(Decimal)
        else:
            decoders.append(None)
    return decoders


def _archive_rows(archive: zipfile.ZipFile, name: str) -> Iterator[list[Any]]:
    with archive.open(f"tables/{name}.jsonl") as stream:
        for line in stream:
            yield json.loads(line)


def _restore_archive(
    connection: Connection, path: Path, kept: _Kept
) -> tuple[_BackupMeta, int, int]:
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        manifest = {}
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise CrmError(f"{path}: not a crm backup archive (made by `crm backup` on PostgreSQL)")
    with archive:
        meta = {row[0]: row[1] for row in _archive_rows(archive, "crm_meta")}
        meta.setdefault(TAKEN_AT_KEY, manifest["taken_at"])
        info = _check_meta(path, meta, kept)
        rows = 0
        with connection.begin():
            present = {table.name for table in _user_tables(connection)}
            for entry in manifest["tables"]:
                if entry["name"] not in present:
                    connection.exec_driver_sql(entry["ddl"])
            targets = {table.name: table for table in _user_tables(connection)}
            quoted = ", ".join(f'"{name}"' for name in targets)
            connection.exec_driver_sql(f"TRUNCATE {quoted} CASCADE")
            raw: Any = connection.connection.driver_connection
            for entry in manifest["tables"]:
                table, names = targets[entry["name"]], entry["columns"]
                decoders = _decode(table, names)
                columns = ", ".join(f'"{name}"' for name in names)
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
                ):
                    for values in _archive_rows(archive, table.name):
                        copy.write_row(
                            [
                                v if v is None or decode is None else decode(v)
                                for v, decode in zip(values, decoders, strict=True)
                            ]
                        )
                        rows += 1
    return info, len(manifest["tables"]), rows


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """After rows came in with their keys, serial sequences continue after the largest key."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f'coalesce(max("{column.name}"), 0) + 1, false) FROM "{table.name}"'
                ),
                {"table": table.name, "column": column.name},
            )
