"""A small project with personal data, built through the importer, for the privacy tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, select

from crm.core.config import parse_config
from crm.core.importing import ImportOptions
from crm.core.project import Project
from tests.conftest import SpendPlugin

#: The person the erasure tests erase: every one of these values must disappear.
ERASED = {
    "id": "ZQ-7781",
    "name": "Zelda Quixote",
    "email": "zelda.quixote@example.org",
    "phone": "+44 7700 900123",
    "order": "ORD-ZQ-55",
}

CUSTOMERS = (
    "customer_id,name,email,phone,city,birth_date,consent_email,consent_sms,consent_phone,"
    "consent_profiling\n"
    f"{ERASED['id']},{ERASED['name']},{ERASED['email']},{ERASED['phone']},Llanfair,1980-05-17,"
    "true,true,false,true\n"
    "AB-1,Ann Lee,ann@example.com,+1 555 0100,Leeds,1990-01-02,true,false,false,\n"
    "AB-2,Bob Roe,bob@example.com,+1 555 0199,York,,false,true,false,true\n"
    "AB-3,Cy Dee,cy@example.com,,Bath,,,,,false\n"
)
INTERACTIONS = (
    "customer_id,occurred_at,amount,order_id\n"
    f"{ERASED['id']},2024-03-01T10:00:00,10.00,{ERASED['order']}\n"
    f"{ERASED['id']},2024-03-01T10:00:00,20.50,{ERASED['order']}\n"
    f"{ERASED['id']},2024-04-01T10:00:00,5.00,\n"
    "AB-1,2024-03-02T10:00:00,100.00,O-1\n"
    "AB-2,2024-03-03T10:00:00,7.25,O-2\n"
    "AB-3,2024-03-04T10:00:00,1.00,O-3\n"
)


def make_project(engine: Engine, folder: Path, **tables: Any) -> Project:
    """A project on `engine` with the spend scorer and a rule segmentation over consent."""
    rules = {
        "rules": [{"segment": "Mailable", "when": "consent_email == 1"}],
        "default": "Not mailable",
    }
    config = parse_config({"segmentations": {"mail": rules}, **tables}, path=folder / "crm.toml")
    return Project(config, extra_plugins=(("spend", SpendPlugin()),), engine=engine)


def load_people(project: Project, folder: Path) -> None:
    customers = folder / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    interactions = folder / "interactions.csv"
    interactions.write_text(INTERACTIONS, encoding="utf-8")
    project.import_customers(customers, ImportOptions())
    project.import_interactions(interactions, ImportOptions())


def every_value(engine: Engine) -> list[str]:
    """Every value of every row of every table, as text."""
    metadata = MetaData()
    with engine.connect() as conn:
        metadata.reflect(bind=conn)
        return [
            str(value)
            for table in metadata.sorted_tables
            for row in conn.execute(select(table))
            for value in row
        ]


def assert_not_in_sqlite_file(engine: Engine) -> None:
    """SQLite: none of the erased person's values is in the database file or its WAL."""
    if engine.dialect.name != "sqlite":
        return
    database = Path(engine.url.database or "")
    files = [database, Path(f"{database}-wal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert raw, "the database file was not found"
    for name, value in ERASED.items():
        assert value.encode() not in raw, f"{name} is still in the database file"
