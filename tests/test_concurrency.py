"""Several crm processes on one database: they take turns, never fail because another ran.

PostgreSQL: four imports start together on an empty schema (so they also race to create the
tables), with overlapping new customers, rows that all four files share, and the bulk path
(indexes and foreign keys dropped and rebuilt). SQLite: a writer waits for another's write lock
with a message, or gives up with one line that names the situation, never the SQL.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from crm.cli import cli
from crm.cli.app import App
from crm.core.database import ensure_schema, make_engine
from crm.core.importing import ImportOptions, import_interactions
from crm.core.schema import CustomerRow, InteractionRow
from crm.testing import postgresql_engine, postgresql_url
from tests.test_import_crash import start_worker

WORKERS = 4


def worker_files(tmp_path: Path, k: int) -> list[tuple[str, str]]:
    """Worker k: customers C{100k}..C{100k+299} (each overlaps its neighbours by 200), the same
    name for a customer in every file; interactions: 50 rows every file shares, 100 of its own
    (customers of its range, some of them new in the interactions file only)."""
    customers = tmp_path / f"customers{k}.csv"
    ids = [f"C{n:04d}" for n in range(100 * k, 100 * k + 300)]
    customers.write_text("customer_id,name\n" + "".join(f"{cid},Name of {cid}\n" for cid in ids))
    rows = [f"S{n:03d},2024-01-{n % 28 + 1:02d},{n}.50" for n in range(50)]  # shared
    rows += [f"C{100 * k + n:04d},2024-02-{n % 28 + 1:02d},{k}.0{n % 10}" for n in range(100)]
    interactions = tmp_path / f"interactions{k}.csv"
    interactions.write_text("customer_id,occurred_at,amount\n" + "\n".join(rows) + "\n")
    return [("customers", str(customers)), ("interactions", str(interactions))]


@pytest.mark.postgresql
def test_four_concurrent_imports_with_overlapping_customers_all_succeed_exactly(
    tmp_path: Path,
) -> None:
    for engine in postgresql_engine():  # an empty schema: the workers create the tables
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
        workers = [
            start_worker(
                tmp_path,
                f"w{k}",
                {
                    "url": postgresql_url(),
                    "schema": schema,
                    "files": worker_files(tmp_path, k),
                    "wait_for_go": True,
                    "always_bulk": True,
                },
            )
            for k in range(WORKERS)
        ]
        # Every worker has raced through schema creation; now they import at once.
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outcomes = [worker.communicate() for worker in workers]
        for worker, (_out, err) in zip(workers, outcomes, strict=True):
            assert worker.returncode == 0, err

        # Customers C0000..C0599 from the customer files, S000..S049 from the shared rows.
        # Interactions: 50 shared once, 100 per worker.
        own_cents = sum(k * 100 + n % 10 for k in range(WORKERS) for n in range(100))
        shared_cents = sum(n * 100 + 50 for n in range(50))
        with engine.connect() as conn:
            ids = list(conn.scalars(select(CustomerRow.external_id).order_by(CustomerRow.id)))
            names = dict(conn.execute(select(CustomerRow.external_id, CustomerRow.name)).all())
            interactions = conn.scalar(select(func.count()).select_from(InteractionRow))
            cents = conn.scalar(select(func.sum(InteractionRow.amount_minor)))
        assert len(ids) == len(set(ids)) == 600 + 50
        assert set(ids) == {f"C{n:04d}" for n in range(600)} | {f"S{n:03d}" for n in range(50)}
        assert names["C0250"] == "Name of C0250" and names["S007"] is None
        assert interactions == 50 + WORKERS * 100
        assert cents == own_cents + shared_cents
        # The rebuilt indexes and foreign keys are all back.
        with engine.connect() as conn:
            keys = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                    "AND conrelid = 'interaction'::regclass"
                )
            )
        assert keys == 1


def crm(project: Path, *args: str, timeout: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "CRM_CONFIG": str(project / "crm.toml")}
    env.pop("CRM_DATABASE_URL", None)
    if timeout is not None:
        env["CRM_BUSY_TIMEOUT"] = timeout
    return subprocess.Popen(
        [sys.executable, "-c", "from crm.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Path:
    """A project with a purchase imported, so the schema exists and segment has data."""
    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n')
    (tmp_path / "c.csv").write_text("customer_id,name\nC1,Ada\nC2,Bob\n")
    (tmp_path / "i.csv").write_text("customer_id,occurred_at,amount\nC1,2024-01-01,5\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    import_interactions(engine, tmp_path / "i.csv", ImportOptions())
    engine.dispose()
    return tmp_path


def hold_write_lock(project: Path) -> sqlite3.Connection:
    """Another writer: a connection that holds the database's write lock until it commits."""
    holder = sqlite3.connect(project / "crm.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_sqlite_segment_during_a_write_gives_up_with_one_line_and_never_the_sql(
    sqlite_project: Path,
) -> None:
    holder = hold_write_lock(sqlite_project)
    try:
        process = crm(sqlite_project, "segment", "--format", "csv", timeout="0.2")
        _out, err = process.communicate()
    finally:
        holder.rollback()
        holder.close()
    assert process.returncode == 1
    database = sqlite_project / "crm.db"
    lines = err.strip().splitlines()
    assert lines == [
        f"another crm process is writing to DB {database}; waiting up to 0.2 s for it to finish",
        f"Error: another crm process is writing to DB {database} and did not finish within "
        "0.2 s; try again when it is done (or set CRM_BUSY_TIMEOUT to wait longer)",
    ]


def test_sqlite_writer_waits_for_its_turn_with_a_message(sqlite_project: Path) -> None:
    holder = hold_write_lock(sqlite_project)
    try:
        process = crm(sqlite_project, "import", "customers", str(sqlite_project / "c.csv"))
        assert process.stderr is not None
        waiting = process.stderr.readline()  # blocks until the writer says it waits
    finally:
        holder.commit()
        holder.close()
    _out, err = process.communicate()
    assert waiting.startswith(f"another crm process is writing to DB {sqlite_project / 'crm.db'}")
    assert process.returncode == 0, err
    assert "2 rows read, 1 added" in err and "1 updated" in err


def test_a_database_error_in_the_cli_shows_neither_sql_nor_parameters(
    sqlite_project: Path,
) -> None:
    # The database refuses to store the run: SQLAlchemy's message would carry the INSERT, its
    # parameters (the configuration, database URL included) and a link; the user gets one line.
    with sqlite3.connect(sqlite_project / "crm.db") as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON segmentation_run "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    result = CliRunner().invoke(cli, ["segment"], obj=App(config_path=sqlite_project / "crm.toml"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: database error (IntegrityError): disk quota exceeded"
    ]


@pytest.mark.parametrize(
    "command",
    [("forget", "C1", "--yes"), ("backup", "{project}/copy.db")],
    ids=["forget", "backup"],
)
def test_sqlite_privacy_writers_wait_for_the_lock_and_give_up_with_one_line(
    sqlite_project: Path, command: tuple[str, ...]
) -> None:
    holder = hold_write_lock(sqlite_project)
    try:
        args = [arg.format(project=sqlite_project) for arg in command]
        process = crm(sqlite_project, *args, timeout="0.2")
        _out, err = process.communicate()
    finally:
        holder.rollback()
        holder.close()
    assert process.returncode == 1
    database = sqlite_project / "crm.db"
    assert err.strip().splitlines()[-2:] == [
        f"another crm process is writing to DB {database}; waiting up to 0.2 s for it to finish",
        f"Error: another crm process is writing to DB {database} and did not finish within "
        "0.2 s; try again when it is done (or set CRM_BUSY_TIMEOUT to wait longer)",
    ]
    # A backup that gave up left no file behind that the audit log would not know of.
    assert not (sqlite_project / "copy.db").exists()
