"""Where the database is, and refusing a database of another schema version."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from crm.core.database import (
    DATABASE_URL_ENV,
    ensure_schema,
    make_engine,
    resolve_database_url,
)
from crm.core.errors import ConfigError, CrmError
from crm.core.schema import MetaRow


def test_default_is_crm_db_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert resolve_database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'crm.db'}"


def test_relative_sqlite_path_is_relative_to_the_config_not_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.chdir("/")
    assert resolve_database_url("sqlite:///data/shop.db", tmp_path) == (
        f"sqlite:///{tmp_path / 'data' / 'shop.db'}"
    )


def test_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "sqlite:////srv/crm/prod.db")
    assert resolve_database_url("sqlite:///crm.db", tmp_path) == "sqlite:////srv/crm/prod.db"


def test_bare_postgresql_scheme_uses_psycopg3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_unusable_url_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"database\.url"):
        resolve_database_url("not a url", tmp_path)
    with pytest.raises(ConfigError, match="nosuchdb"):
        make_engine("nosuchdb://x")


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    ensure_schema(engine)  # idempotent
    with engine.begin() as conn:
        conn.execute(update(MetaRow).values(value="999"))
    with pytest.raises(CrmError, match="schema version 999"):
        ensure_schema(engine)
    engine.dispose()
