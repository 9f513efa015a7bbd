"""crm forget: the person's values are gone from every table (and the SQLite file), totals stay,
a tombstone refuses a later import of the same id, and the audit entry names nobody."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crm.core.errors import ImportDataError, NotFoundError
from crm.core.importing import ImportOptions
from crm.core.reports import segment_summary
from tests.privacy_helpers import (
    ERASED,
    assert_not_in_sqlite_file,
    every_value,
    load_people,
    make_project,
)


def _revenue(project) -> Decimal:  # type: ignore[no-untyped-def]
    rows = segment_summary(project.segment(store=False)).rows
    return sum((row[4] for row in rows if row[0] == "mail"), Decimal(0))


def test_forget_removes_every_value_of_the_person(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    project.segment()  # a stored run that scores the person
    values = every_value(engine)
    assert any(ERASED["email"] in v for v in values)  # the search finds them before

    report = project.forget(ERASED["id"])

    assert report.interactions_anonymised == 3
    assert report.run_rows_removed == 1  # one stored run held them (its chunk is rewritten)
    found = [(name, v) for v in every_value(engine) for name, p in ERASED.items() if p in v]
    assert found == []
    assert_not_in_sqlite_file(engine)


def test_forget_keeps_anonymous_totals(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    # Revenue of customers who allow profiling: 35.50 (ZQ) + 100.00 (AB-1) + 7.25 (AB-2).
    assert _revenue(project) == Decimal("142.75")
    project.forget(ERASED["id"])
    # The anonymous shell keeps its amounts and is still counted.
    assert _revenue(project) == Decimal("142.75")
    with engine.connect() as conn:
        total = conn.execute(text("SELECT sum(amount_minor) FROM interaction")).scalar_one()
        orders = conn.execute(
            text("SELECT count(DISTINCT order_id) FROM interaction WHERE order_id LIKE 'erased-%'")
        ).scalar_one()
    assert total == 3550 + 10000 + 725 + 100
    assert orders == 1  # two lines of one order stay one order


def test_a_later_import_of_an_erased_id_is_refused(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    project.forget(ERASED["id"])
    again = tmp_path / "again.csv"
    again.write_text(f"customer_id,name\nNEW-1,Neo\n{ERASED['id']},Zelda\n", encoding="utf-8")
    with pytest.raises(ImportDataError) as caught:
        project.import_customers(again, ImportOptions())
    assert "again.csv:3: customer_id" in str(caught.value)
    assert "erased" in str(caught.value)
    purchases = tmp_path / "purchases.csv"
    purchases.write_text(
        f"customer_id,occurred_at\n{ERASED['id']},2024-05-01\nNEW-2,2024-05-01\n"
        f"{ERASED['id']},2024-05-02\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportDataError) as caught:
        project.import_interactions(purchases, ImportOptions())
    assert caught.value.total == 2
    assert [p.split(": ")[0] for p in caught.value.problems] == [
        f"{purchases}:2",
        f"{purchases}:4",
    ]
    report = project.import_customers(again, ImportOptions(recreate_erased=True))
    assert report.rows_added == 2
    actions = [e.action for e in project.audit_log()]
    assert actions[-1] == "import customers" and "re-create erased customers" in actions


def test_the_audit_entry_of_an_erasure_names_nobody(engine: Engine, tmp_path: Path) -> None:
    project = make_project(engine, tmp_path)
    load_people(project, tmp_path)
    project.forget(ERASED["id"])
    (entry,) = project.audit_log(action="erase customer")
    assert entry.counts == {"interactions": 3, "run_rows": 0}
    assert ERASED["id"] not in repr(entry)
    with pytest.raises(NotFoundError, match="was already erased"):
        project.forget(ERASED["id"])
    with pytest.raises(NotFoundError, match=r"customer 'ZQ-7781' was erased \(crm forget\)"):
        project.customer_profile(ERASED["id"])
    with pytest.raises(NotFoundError, match="no customer with id 'NOPE'"):
        project.forget("NOPE")


def test_the_cli_refuses_an_erased_id_and_clears_fields_when_asked(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crm.cli import cli
    from crm.cli.app import App

    config = tmp_path / "crm.toml"
    config.write_text('[database]\nurl = "sqlite:///crm.db"\n', encoding="utf-8")
    load_people(App(config_path=config).project, tmp_path)
    runner = CliRunner()

    def crm(*args: str) -> Any:
        return runner.invoke(cli, list(args), obj=App(config_path=config), prog_name="crm")

    assert crm("forget", ERASED["id"], "--yes").exit_code == 0
    again = tmp_path / "again.csv"
    again.write_text(f"customer_id,email\n{ERASED['id']},z@example.org\nAB-1,\n", encoding="utf-8")
    refused = crm("import", "customers", str(again))
    assert refused.exit_code == 4
    assert "again.csv:2: customer_id" in refused.stderr
    cleared = crm("import", "customers", str(again), "--recreate-erased", "--clear-empty")
    assert cleared.exit_code == 0, cleared.output
    project = App(config_path=config).project
    assert project.customer_profile("AB-1", unmask=True).customer.email is None
    assert project.customer_profile(ERASED["id"], unmask=True).customer.email == "z@example.org"
