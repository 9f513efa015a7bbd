"""Test fixtures for crm and for plugin authors: real databases, never mocks.

Use them from a conftest.py with ``from crm.testing import engine  # noqa: F401``.

- `isolated_cache_dir` (autouse once imported): caches written during the test session, such as
  crm-idic's duplicate search, go to a temporary directory (`CRM_CACHE_DIR`), not the user's.
- `engine`: an empty crm database with the schema created, parametrized over a SQLite file and a
  fresh schema on the PostgreSQL server at CRM_TEST_POSTGRESQL_URL (default: the local server,
  database "test"). Where that server cannot be reached the PostgreSQL case is skipped with the
  reason shown, except when CI is set: then it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from crm.core.database import ensure_schema, make_engine

POSTGRESQL_URL_ENV = "CRM_TEST_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgresql_url() -> str:
    return os.environ.get(POSTGRESQL_URL_ENV, DEFAULT_POSTGRESQL_URL)


def postgresql_engine() -> Iterator[Engine]:
    """A fresh schema per test on the server, so concurrent runs never see each other's rows."""
    base = make_engine(postgresql_url())
    try:
        with base.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        base.dispose()
        reason = f"PostgreSQL at {postgresql_url()} is not reachable ({exc.__class__.__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with base.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(postgresql_url(), connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with base.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        base.dispose()


@pytest.fixture(autouse=True, scope="session")
def isolated_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`CRM_CACHE_DIR` set to a directory of this session (subprocesses inherit it)."""
    directory = tmp_path_factory.mktemp("crm-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CRM_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty crm database with the schema created: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        ensure_schema(eng)
        yield eng
        eng.dispose()
        return
    for eng in postgresql_engine():
        ensure_schema(eng)
        yield eng
