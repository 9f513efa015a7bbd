"""A database password is never printed, logged or stored (issue 5, item 8), and a missing driver
names what to install (item 9)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from crm.cli import cli
from crm.cli.app import App
from crm.core.config import parse_config
from crm.core.database import make_engine
from crm.core.errors import ConfigError
from crm.core.project import Project
from crm.core.redaction import redact_url
from crm.core.schema import RunRow
from tests.conftest import SpendPlugin

SECRET = "s3cret-pw"
URL = f"postgresql://crm:{SECRET}@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "postgresql://crm:***@127.0.0.1:5432/test"),
        (
            "postgresql+psycopg://crm:pw@db/crm?sslmode=require",
            "postgresql+psycopg://crm:***@db/crm?sslmode=require",
        ),
        (
            "postgresql://db/crm?user=crm&password=pw&sslmode=require",
            "postgresql://db/crm?user=crm&password=***&sslmode=require",
        ),
        ("postgresql://crm@db/crm", "postgresql://crm@db/crm"),
        ("sqlite:////var/lib/crm/crm.db", "sqlite:////var/lib/crm/crm.db"),
    ],
)
def test_redact_url_hides_the_password_and_nothing_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner(env=env).invoke(cli, list(args), obj=App(config_path=config))


@pytest.fixture
def config_with_password(tmp_path: Path) -> Path:
    config = tmp_path / "crm.toml"
    config.write_text(f'[database]\nurl = "{URL}"\n[plugins]\nenabled = ["rfm"]\n')
    return config


def test_config_check_hides_the_password_and_advises_against_keeping_it(
    config_with_password: Path,
) -> None:
    result = run(config_with_password, "config", "check")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "  database: postgresql://crm:***@127.0.0.1:5432/test" in result.stderr
    assert "database.url holds a password" in result.stderr
    assert "CRM_DATABASE_URL" in result.stderr


def test_config_show_hides_the_password(config_with_password: Path) -> None:
    result = run(config_with_password, "config", "show")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert 'url = "postgresql://crm:***@127.0.0.1:5432/test"' in result.stdout


def test_the_environment_url_is_hidden_too(tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    config.write_text("[plugins]\nenabled = []\n")
    result = run(config, "config", "check", env={"CRM_DATABASE_URL": URL})
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "  database: postgresql://crm:***@127.0.0.1:5432/test" in result.stderr


def test_a_database_that_cannot_be_opened_is_named_without_the_password(tmp_path: Path) -> None:
    config = tmp_path / "crm.toml"
    # Port 9 (discard) refuses at once: the error path, not a server, is what is tested.
    config.write_text(f'[database]\nurl = "postgresql://crm:{SECRET}@127.0.0.1:9/test"\n')
    result = run(config, "segment")
    assert result.exit_code == 1
    assert "cannot open the database 'postgresql+psycopg://crm:***@127.0.0.1:9/test'" in (
        result.stderr
    )
    assert SECRET not in result.output


@pytest.mark.parametrize(
    "url",
    [
        "nonsense://crm:s3cr@t:pw@host/db",
        "postgresql://crm:s3cr@t:pw@127.0.0.1:5432/test",  # an unencoded @ in the password
    ],
)
def test_a_url_that_cannot_be_parsed_is_named_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(url)
    assert "s3cr" not in str(caught.value)
    assert "crm:***@" in str(caught.value)
    assert "write @ as %40" in str(caught.value)


def test_a_stored_run_does_not_hold_the_password(engine: Engine, seed: Any) -> None:
    config = parse_config({"database": {"url": URL}})
    project = Project(config, extra_plugins=(("spend", SpendPlugin()),), engine=engine)
    seed(engine, [("a", "2024-03-01T10:00:00", "150.00")])
    project.segment()
    with engine.connect() as connection:
        stored = connection.scalar(select(RunRow.config))
    assert SECRET not in json.dumps(stored)
    assert stored["database"]["url"] == "postgresql://crm:***@127.0.0.1:5432/test"


def test_the_config_hash_does_not_change_with_the_password() -> None:
    first = parse_config({"database": {"url": URL}})
    second = parse_config({"database": {"url": URL.replace(SECRET, "other")}})
    assert first.hash() == second.hash()


def test_a_missing_driver_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` sees uninstalled
    with pytest.raises(ConfigError) as caught:
        make_engine(URL)
    message = str(caught.value)
    assert "the database driver is not installed" in message
    assert "pip install 'crm[postgresql]'" in message
    assert SECRET not in message


def test_the_set_up_installs_the_postgresql_driver() -> None:
    """scripts/bootstrap.sh (run by demo.sh and test.sh) installs crm with its postgresql extra,
    and that extra is the driver crm's PostgreSQL URLs use."""
    import tomllib

    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert '-e ".[postgresql]"' in script
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras["optional-dependencies"]["postgresql"] == ["psycopg[binary]>=3.1"]
