"""Engines and schema creation: SQLite beside crm.toml by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from crm.core.errors import ConfigError, CrmError
from crm.core.redaction import redact_url
from crm.core.schema import SCHEMA_VERSION, Base, MetaRow

DATABASE_URL_ENV = "CRM_DATABASE_URL"
DEFAULT_SQLITE_FILE = "crm.db"


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def make_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and write-ahead logging."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we install and test; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, connect_args=connect_args or {})
    except ImportError as exc:
        raise ConfigError(_missing_driver(url, exc)) from None
    except (ArgumentError, ValueError):
        raise ConfigError(_unreadable_url(url)) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def ensure_schema(engine: Engine) -> None:
    """Create the tables on first use; refuse a database written by another schema version.

    Schema changes will ship as Alembic migrations keyed on `crm_meta.schema_version`; until the
    first one exists, a version mismatch is an error rather than a silent guess.
    """
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            found = conn.scalar(select(MetaRow.value).where(MetaRow.key == "schema_version"))
            if found is None:
                conn.execute(
                    insert(MetaRow).values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif found != str(SCHEMA_VERSION):
                raise CrmError(
                    f"the database has schema version {found}, this crm expects {SCHEMA_VERSION}; "
                    "upgrade crm or migrate the database"
                )
    except OperationalError as exc:
        raise CrmError(
            f"cannot open the database {redact_url(engine.url.render_as_string())!r}: {exc.orig}"
        ) from exc


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
