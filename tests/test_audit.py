"""The audit log: who did what and how much, for imports, config changes and unmasked views."""

from __future__ import annotations

import getpass
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from crm.cli import cli
from crm.cli.app import App
from crm.core.audit import record
from tests.privacy_helpers import load_people, make_project


def test_imports_are_recorded_with_their_counts(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    customers, interactions = project.audit_log()
    assert customers.action == "import customers"
    assert customers.counts == {
        "rows_read": 4,
        "rows_added": 4,
        "rows_updated": 0,
        "rows_rejected": 0,
        "customers_created": 4,
    }
    assert interactions.counts["rows_added"] == 6
    assert customers.os_user == getpass.getuser()
    assert customers.command.startswith("python ")  # called from Python, not the CLI


def test_a_changed_configuration_is_recorded_by_hash(engine: Engine, tmp_path: Path) -> None:
    first = make_project(engine, tmp_path)
    load_people(first, tmp_path)
    first.segment()
    first.segment()  # same configuration: nothing to record
    assert first.audit_log(action="config changed") == []
    changed = make_project(engine, tmp_path, privacy={"mask": "drop"})
    changed.segment()
    (entry,) = changed.audit_log(action="config changed")
    assert entry.counts == {
        "before": first.config.hash()[:12],
        "after": changed.config.hash()[:12],
    }


def test_other_parts_record_through_one_function(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    with project.engine.begin() as conn:
        record(conn, "delete runs", runs=3)
    (entry,) = project.audit_log()
    assert (entry.action, entry.counts) == ("delete runs", {"runs": 3})


def test_an_unmasked_profile_is_recorded_with_the_cli_command(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text('[database]\nurl = "sqlite:///crm.db"\n', encoding="utf-8")
    app = App(config_path=tmp_path / "crm.toml")
    load_people(app.project, tmp_path)
    runner = CliRunner()
    shown = runner.invoke(cli, ["customers", "show", "AB-1", "--unmask"], obj=app, prog_name="crm")
    assert shown.exit_code == 0, shown.output
    assert "ann@example.com" in shown.stdout
    log = runner.invoke(
        cli,
        ["audit", "--action", "unmasked export", "-f", "csv"],
        obj=App(config_path=app.config_path),
    )
    lines = log.stdout.splitlines()
    assert lines[0] == "id,occurred_at,os_user,command,action,counts"
    assert lines[1].endswith(",crm customers show,unmasked export,customers=1")
    assert len(lines) == 2
