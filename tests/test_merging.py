"""Merging customers and undoing it: crm.core.merging, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from crm.core.config import parse_config
from crm.core.errors import NotFoundError
from crm.core.importing import ImportOptions
from crm.core.merging import MergeError, filled_fields
from crm.core.project import Project
from crm.core.schema import Base, CustomerRow, InteractionRow, Tables
from tests.conftest import SpendPlugin

TABLES = Tables.default()
#: The merge log keeps every merge, undone or not; every other table must be restored exactly.
HISTORY_TABLES = {"customer_merge", "audit_log"}


def _customers() -> list[dict[str, Any]]:
    blank: dict[str, Any] = {c.name: None for c in TABLES.customer.columns if c.name != "id"}
    return [
        blank
        | {
            "external_id": "A",
            "name": "Anna Weber",
            "email": "anna@example.com",
            "created_at": datetime(2024, 3, 1),
            "consent_email": None,
            "consent_sms": True,
            "attributes": {"tier": "gold"},
        },
        blank
        | {
            "external_id": "B",
            "name": "A. Weber",
            "phone": "+49 555 1234567",
            "city": "Berlin",
            "birth_date": date(1980, 5, 17),
            "created_at": datetime(2023, 1, 15, 9, 30),
            "consent_email": True,
            "attributes": {"tier": "silver", "shoe": 38},
        },
        blank
        | {
            "external_id": "C",
            "city": "Hamburg",
            "country": "Germany",
            "created_at": datetime(2025, 1, 1),
            "consent_email": False,
        },
        blank | {"external_id": "D", "name": "Dora", "created_at": datetime(2024, 1, 1)},
    ]


def _project(engine: Engine, tmp_path: Path, *plugins: tuple[str, object]) -> Project:
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path / 'unused.db'}"}})
    return Project(config, extra_plugins=plugins, engine=engine)


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(CustomerRow), _customers())
        ids = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.id)).all())
        conn.execute(
            insert(InteractionRow),
            [
                {
                    "customer_id": ids[who],
                    "kind": "purchase",
                    "occurred_at": datetime(2025, 6, day),
                    "amount_minor": 1000 * day,
                    "source_key": f"test:{n}",
                }
                for n, (who, day) in enumerate([("A", 1), ("B", 2), ("B", 3), ("C", 4), ("D", 5)])
            ],
        )


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, for an exact before/after comparison."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(select(table))), key=str
            )
            for table in Base.metadata.sorted_tables
        }


def _owner_of_interactions(engine: Engine) -> dict[int, str]:
    c, i = TABLES.customer, TABLES.interaction
    with engine.connect() as conn:
        rows = conn.execute(
            select(i.c.amount_minor, c.c.external_id).join(c, c.c.id == i.c.customer_id)
        ).all()
    return {amount // 1000: who for amount, who in rows}


def test_gap_rule_keeps_survivor_fields_and_lets_a_refusal_win() -> None:
    a, b, c, _ = ({"id": n, **row} for n, row in enumerate(_customers(), start=1))
    changes = filled_fields(a, [b, c])
    assert changes == {
        "phone": "+49 555 1234567",  # A had none; B is first
        "city": "Berlin",  # B before C, in the order given
        "country": "Germany",  # only C has one
        "birth_date": date(1980, 5, 17),
        "created_at": datetime(2023, 1, 15, 9, 30),  # the earliest of the three
        "consent_email": False,  # B said yes, C said no: the no wins
        "attributes": {"tier": "gold", "shoe": 38},  # survivor's keys first
    }  # name and email: A has them; consent_sms: A said yes


def test_merge_moves_history_and_unmerge_restores_every_table(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    project = _project(engine, tmp_path, ("spend", SpendPlugin()))
    with engine.begin() as conn:  # a stored run naming B: history that must survive the merge
        from crm.core.runs import store_run

        store_run(conn, project.segment(store=False), project.config)
    before = snapshot(engine)

    merge = project.merge_customers("A", ["B", "C"])
    assert (merge.survivor, merge.merged, merge.interactions_moved) == ("A", ("B", "C"), 3)
    assert _owner_of_interactions(engine) == {1: "A", 2: "A", 3: "A", 4: "A", 5: "D"}
    facts = project.segment(store=False).facts
    assert facts.external_id.tolist() == ["A", "D"]  # B and C live on in A
    assert facts.revenue_minor.tolist() == [10_000, 5_000]
    assert project.merged_into("B") == "A" and project.merged_into("A") is None
    from crm.core.merge_service import merged_customers_in_runs

    with engine.connect() as conn:
        assert merged_customers_in_runs(conn, TABLES) == 2  # B and C: kept as history

    project.unmerge("B")
    after = snapshot(engine)
    for name in before:
        if name not in HISTORY_TABLES:
            assert after[name] == before[name], f"table {name} differs after unmerge"
    (logged,) = project.merges(include_undone=True)
    assert logged.id == merge.id and logged.undone
    assert project.merges() == []
    from crm.core.audit import entries

    with engine.connect() as conn:
        logged_actions = [(e.action, e.counts) for e in entries(conn)]
    assert logged_actions[-2:] == [
        ("merge customers", {"merge": merge.id, "customers": 3, "interactions": 3}),
        ("undo merge", {"merge": merge.id, "interactions": 3}),
    ]


def test_import_of_a_merged_id_lands_on_the_survivor(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    project.merge_customers("A", ["B"])
    interactions = tmp_path / "later.csv"
    interactions.write_text("customer_id,occurred_at,amount\nB,2025-06-09T10:00:00,90.00\n")
    report = project.import_interactions(interactions, ImportOptions())
    assert (report.rows_added, report.customers_created) == (1, 0)
    assert _owner_of_interactions(engine)[9] == "A"
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,city\nB,Munich\nD,Graz\n")
    project.import_customers(customers, ImportOptions())
    with engine.connect() as conn:
        c = TABLES.customer
        cities = dict(conn.execute(select(c.c.external_id, c.c.city)).all())
    assert cities == {"A": "Munich", "B": "Berlin", "C": "Hamburg", "D": "Graz"}


def test_a_row_for_a_merged_id_yields_to_the_survivors_own_row(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    project.merge_customers("A", ["B", "C"])
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,city\nB,Munich\nC,Bonn\nA,Kiel\n")
    report = project.import_customers(customers, ImportOptions())
    assert report.rows_updated == 1
    with engine.connect() as conn:
        c = TABLES.customer
        city = conn.scalar(select(c.c.city).where(c.c.external_id == "A"))
    assert city == "Kiel"


def test_chained_merges_undo_last_first(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    before = snapshot(engine)
    first = project.merge_customers("B", ["C"])
    second = project.merge_customers("A", ["B"])
    assert project.merged_into("C") == "A"  # the alias moved on with B
    assert _owner_of_interactions(engine)[4] == "A"
    with pytest.raises(MergeError, match=f"undo merge {second.id} first"):
        project.unmerge(first.id)
    project.unmerge(second.id)
    assert project.merged_into("C") == "B"
    project.unmerge(first.id)
    after = snapshot(engine)
    assert {k: v for k, v in after.items() if k not in HISTORY_TABLES} == {
        k: v for k, v in before.items() if k not in HISTORY_TABLES
    }


def test_merge_refuses_what_it_cannot_do(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    with pytest.raises(NotFoundError, match="'Z'"):
        project.merge_customers("A", ["Z"])
    with pytest.raises(MergeError, match="into itself"):
        project.merge_customers("A", ["A"])
    project.merge_customers("A", ["B"])
    with pytest.raises(MergeError, match="already merged"):
        project.merge_customers("D", ["B"])
    assert project.unmerge("A").merged == ("B",)
    with pytest.raises(NotFoundError, match="not part of any merge"):
        project.unmerge("A")


def test_cli_merge_unmerge_and_list(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from crm.cli import cli
    from crm.cli.app import App
    from crm.core.database import ensure_schema, make_engine

    config = tmp_path / "crm.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "crm.db"}"\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    _seed(engine)
    engine.dispose()
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), obj=App(config_path=config))

    merged = run("customers", "merge", "A", "B", "C", "--format", "json")
    assert merged.exit_code == 0, merged.output
    assert "3 interaction(s) moved" in merged.stderr
    (row,) = json.loads(merged.stdout)
    assert (row["survivor"], row["merged"], row["undone_at"]) == ("A", "B C", None)
    shown = run("customers", "show", "C", "--format", "json")
    assert "C was merged into A" in shown.stderr
    assert json.loads(shown.stdout)["customer_id"] == "A"
    assert run("customers", "unmerge").exit_code == 2  # neither an id nor --merge
    undone = run("customers", "unmerge", "--merge", str(row["merge"]))
    assert undone.exit_code == 0, undone.output
    assert "3 interaction(s) moved back" in undone.stderr
    listed = json.loads(run("customers", "merges", "--all", "--format", "json").stdout)
    assert [m["merge"] for m in listed] == [row["merge"]] and listed[0]["undone_at"]
    assert run("customers", "unmerge", "A").exit_code == 5  # no standing merge


def test_erasing_a_merged_person_erases_every_record_of_them(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    project = _project(engine, tmp_path)
    project.merge_customers("A", ["B"])
    project.forget("B")  # the old id names the same person as A
    with engine.connect() as conn:
        c = TABLES.customer
        names = dict(conn.execute(select(c.c.external_id, c.c.name)).all())
        merge_rows = conn.execute(select(TABLES.customer_merge)).all()
        aliases = conn.execute(select(TABLES.customer_alias)).all()
    assert set(names) == {"C", "D"} | {k for k in names if k.startswith("erased-")}
    assert sum(k.startswith("erased-") for k in names) == 2  # A and B, both shells
    assert all(names[k] is None for k in names if k.startswith("erased-"))
    assert merge_rows == [] and aliases == []  # the snapshot of A's row is gone too
