"""crm backup / crm restore: a round trip gives the same segments, and erasures survive."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, text

from crm.cli import cli
from crm.cli.app import App
from crm.core.importing import ImportOptions
from crm.core.reports import segment_summary
from tests.privacy_helpers import (
    ERASED,
    assert_not_in_sqlite_file,
    every_value,
    load_people,
    make_project,
)


def _segments(project) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return [row[:6] for row in segment_summary(project.segment(store=False)).rows]


def test_a_restored_database_gives_the_same_segments(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    project.segment()
    before = _segments(project)
    assert before[0][:3] == ("mail", "Mailable", 2)
    saved = tmp_path / "backup.crm"
    report = project.backup(saved)
    assert report.rows > 0
    late = tmp_path / "late.csv"
    late.write_text("customer_id,occurred_at,amount\nLATE-1,2024-03-09,9.00\n", encoding="utf-8")
    project.import_interactions(late, ImportOptions())
    assert _segments(project) != before

    restored = project.restore(saved)

    assert restored.customers_erased_again == 0
    assert _segments(project) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM segmentation_run")).scalar_one() == 1
        ids = conn.execute(text("SELECT external_id FROM customer")).scalars().all()
    assert "LATE-1" not in ids
    # The audit log of the replaced database is kept: the late import is still on record.
    actions = [e.action for e in project.audit_log()]
    assert actions[-3:] == ["backup", "import interactions", "restore"]
    project.segment()  # keys continue after the restored ones (PostgreSQL sequences)


def test_an_erasure_survives_the_restore_of_an_older_backup(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    saved = tmp_path / "before-erasure.crm"
    project.backup(saved)
    project.forget(ERASED["id"])
    after_erasure = _segments(project)

    restored = project.restore(saved)

    assert restored.customers_erased_again == 1
    assert [v for v in every_value(engine) for p in ERASED.values() if p in v] == []
    assert_not_in_sqlite_file(engine)
    assert _segments(project) == after_erasure
    assert project.audit_log(action="erase customer again after restore")[0].counts == {
        "customers": 1
    }
    # ... and the tombstone still refuses the id.
    again = tmp_path / "again.csv"
    again.write_text(f"customer_id\n{ERASED['id']}\n", encoding="utf-8")
    report = project.import_customers(again, ImportOptions(skip_bad_rows=True))
    assert (report.rows_added, report.rows_rejected) == (0, 1)


def test_backup_never_overwrites_and_the_cli_round_trips(tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text('[database]\nurl = "sqlite:///crm.db"\n', encoding="utf-8")
    app = App(config_path=tmp_path / "crm.toml")
    load_people(app.project, tmp_path)
    target = tmp_path / "b.db"
    runner = CliRunner()
    first = runner.invoke(cli, ["backup", str(target)], obj=app)
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["backup", str(target)], obj=App(config_path=app.config_path))
    assert second.exit_code == 1
    assert "exists; choose a new file name" in second.stderr
    forget = runner.invoke(
        cli,
        ["forget", ERASED["id"], "--yes"],
        obj=App(config_path=app.config_path),
        prog_name="crm",
    )
    assert forget.exit_code == 0, forget.output
    back = runner.invoke(
        cli, ["restore", str(target), "--yes"], obj=App(config_path=app.config_path)
    )
    assert back.exit_code == 0, back.output
    assert "1 customer(s) erased again" in back.stderr
    log = runner.invoke(cli, ["audit", "-f", "json"], obj=App(config_path=app.config_path))
    entries = json.loads(log.stdout)
    assert [e["action"] for e in entries][-4:] == [
        "backup",
        "erase customer",
        "erase customer again after restore",
        "restore",
    ]
    assert entries[-3]["command"] == "crm forget"
    assert all(ERASED["id"] not in json.dumps(e) for e in entries)
