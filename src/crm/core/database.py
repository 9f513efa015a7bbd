"""Engines, schema creation and writers taking turns: SQLite beside crm.toml by default, any
SQLAlchemy URL otherwise.

Two crm processes may write to one database at once (a cron import and a person running
`crm segment`). They take turns instead of failing: on SQLite the writer waits for the database's
write lock (`CRM_BUSY_TIMEOUT` seconds, with a message on stderr while it waits); on PostgreSQL
schema creation and imports are serialised with transaction-level advisory locks. A database
error reaches the user as one line that never holds the SQL, its parameters or a password.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from crm.core.errors import ConfigError, CrmError
from crm.core.migrations import upgrade_schema
from crm.core.redaction import redact_url
from crm.core.schema import SCHEMA_VERSION, Base, MetaRow

DATABASE_URL_ENV = "CRM_DATABASE_URL"
DEFAULT_SQLITE_FILE = "crm.db"
#: Seconds a writer waits for another process's write lock on SQLite before giving up.
BUSY_TIMEOUT_ENV = "CRM_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 300.0

#: First key of crm's PostgreSQL advisory locks ("crm" in ASCII), the second is the schema's hash.
_LOCK_SPACE = 0x63726D00
SCHEMA_LOCK = _LOCK_SPACE + 1
IMPORT_LOCK = _LOCK_SPACE + 2

_log = logging.getLogger("crm.database")


class DatabaseBusyError(CrmError):
    """Another process held the database's write lock for longer than the busy timeout."""


def _unreadable_url(url: str) -> str:
    return (
        f"database.url: cannot read {redact_url(url)!r} as a database URL; expected a URL such "
        "as sqlite:///crm.db or postgresql://user@host/dbname (in a password, write @ as %40, "
        ": as %3A and / as %2F)"
    )


def resolve_database_url(configured: str | None, project_dir: Path) -> str:
    """The URL to use: CRM_DATABASE_URL, else the config's, else crm.db beside crm.toml.

    A relative SQLite path in the config is taken relative to the config file, not to the shell's
    current directory, so a cron job finds the same database as the person who set it up.
    """
    url = os.environ.get(DATABASE_URL_ENV) or configured
    if not url:
        return f"sqlite:///{(project_dir / DEFAULT_SQLITE_FILE).resolve()}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        raise ConfigError(_unreadable_url(url)) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            return parsed.set(database=str((project_dir / path).resolve())).render_as_string(
                hide_password=False
            )
    return url


#: The extra of the `crm` distribution that installs the driver of each backend crm supports.
DRIVER_EXTRAS = {"postgresql": "postgresql"}


def _missing_driver(url: str, exc: ImportError) -> str:
    backend = url.split(":", 1)[0].split("+", 1)[0]
    extra = DRIVER_EXTRAS.get(backend)
    install = (
        f"install it with: pip install 'crm[{extra}]' (scripts/bootstrap.sh does this)"
        if extra
        else "install the driver package the URL names"
    )
    return (
        f"database.url {redact_url(url)!r}: the database driver is not installed "
        f"({exc.name or exc}); {install}"
    )


def shown_url(url: URL) -> str:
    """An engine's URL as messages show it: `redact_url`'s rule (user-part and query-string
    passwords hidden), the same one `crm config check` and stored runs use."""
    return redact_url(url.render_as_string(hide_password=False))


def busy_timeout() -> float:
    """CRM_BUSY_TIMEOUT in seconds (default 300): how long a SQLite writer waits for its turn."""
    configured = os.environ.get(BUSY_TIMEOUT_ENV)
    if configured is None:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(configured)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86_400:
        raise ConfigError(
            f"{BUSY_TIMEOUT_ENV}: expected a number of seconds from 0 to 86399, got {configured!r}"
        )
    return seconds


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def make_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, write-ahead logging and the busy timeout."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we install and test; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    arguments = dict(connect_args or {})
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # SQLAlchemy's message repeats the URL, password and all.
        raise ConfigError(_unreadable_url(url)) from None
    if parsed.get_backend_name() == "sqlite":
        arguments.setdefault("timeout", busy_timeout())
    try:
        engine = create_engine(parsed, connect_args=arguments)
    except ImportError as exc:
        raise ConfigError(_missing_driver(url, exc)) from None
    except (ArgumentError, ValueError):
        raise ConfigError(_unreadable_url(url)) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def _busy_error(where: str, seconds: float) -> DatabaseBusyError:
    return DatabaseBusyError(
        f"another crm process is writing to DB {where} and did not finish "
        f"within {seconds:g} s; try again when it is done (or set {BUSY_TIMEOUT_ENV} to wait "
        "longer)"
    )


def begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock now: at once if it is free, else after a message, waiting up
    to the busy timeout. (Deferred transactions would find out at their first write.)"""
    raw: Any = conn.connection.driver_connection
    if raw.in_transaction:
        return
    seconds = busy_timeout()
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        raw.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc):
            raise
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    _log.warning(
        "another crm process is writing to DB %s; waiting up to %g s for it to finish",
        conn.engine.url.database,
        seconds,
    )
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _busy_error(str(conn.engine.url.database), seconds) from None
        raise


def take_turn(conn: Connection, lock: int, what: str) -> None:
    """PostgreSQL: wait for the transaction-level advisory lock `lock` of this schema, saying so
    on stderr if another crm process holds it. Released at commit or rollback."""
    if conn.dialect.name != "postgresql":
        return
    key = {"space": lock}
    got = conn.scalar(
        text("SELECT pg_try_advisory_xact_lock(:space, hashtext(current_schema()))"), key
    )
    if not got:
        _log.warning(
            "another crm process is %s in DB %s; waiting for it", what, shown_url(conn.engine.url)
        )
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(current_schema()))"), key)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds SQLite's write lock from its start (see `begin_immediate`);
    on other databases an ordinary transaction."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":
            begin_immediate(conn)
        yield conn


def _schema_is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        if not set(Base.metadata.tables) <= set(inspect(conn).get_table_names()):
            return False
        found = conn.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version"))
        return found == str(SCHEMA_VERSION)


def ensure_schema(engine: Engine) -> None:
    """Create the tables on first use; refuse a database written by another schema version.

    Creation runs under SQLite's write lock or PostgreSQL's schema advisory lock, so two
    processes opening an empty database at once do not both create the tables. An older
    version is upgraded in place under the same lock (crm.core.migrations, one line on stderr);
    a newer or unknown one is an error rather than a silent guess.
    """
    try:
        if _schema_is_current(engine):
            return
        with write_transaction(engine) as conn:
            take_turn(conn, SCHEMA_LOCK, "creating the tables")
            Base.metadata.create_all(conn)
            found = conn.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version"))
            if found is None:
                conn.execute(
                    insert(MetaRow).values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif found != str(SCHEMA_VERSION):
                upgrade_schema(conn, found)  # crm.core.migrations; refuses unknown versions
    except OperationalError as exc:
        raise CrmError(
            f"cannot open the database {shown_url(engine.url)!r}: {_first_line(exc.orig)}"
        ) from exc


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def describe_database_error(exc: SQLAlchemyError, url: str | None = None) -> CrmError:
    """A database error as one line for the user: what the database said, never the statement,
    its parameters (which may hold the configuration) or the URL's password."""
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if _is_busy(orig):
        return _busy_error(url or "(the project's database)", busy_timeout())
    return CrmError(f"database error ({type(orig).__name__}): {_first_line(orig)}")


@contextmanager
def read_only_connection(engine: Engine) -> Iterator[Connection]:
    """A connection on which writes fail: what scorers get, so "read-only" is enforced, not hoped.

    SQLite: PRAGMA query_only for the duration (reset before the connection returns to the pool);
    PostgreSQL: a READ ONLY transaction. Both also give scorers one consistent snapshot.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # On the DBAPI connection: through SQLAlchemy the PRAGMA would open a transaction.
            raw: Any = connection.connection.driver_connection
            raw.execute("PRAGMA query_only = ON")
            try:
                with connection.begin():
                    yield connection
            finally:
                raw.execute("PRAGMA query_only = OFF")
        elif connection.dialect.name == "postgresql":
            with connection.begin():
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield connection
        else:
            yield connection
