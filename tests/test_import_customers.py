"""Importing customers on SQLite and PostgreSQL: insert, upsert by external id, bad rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from crm.core.errors import ConfigError, ImportDataError
from crm.core.importing import ImportOptions, import_customers, import_interactions
from crm.core.schema import ImportRow, Tables

T = Tables.default()
HEADER = (
    "id,name,email,phone,country,city,birth_date,gender,created_at,"
    "consent_email,consent_sms,consent_phone,consent_profiling,loyalty_tier\n"
)
MAPPING = {"customer_id": "id"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def customers(engine: Engine) -> dict[str, dict[str, Any]]:
    c = T.customer
    with engine.connect() as conn:
        rows = conn.execute(select(c).order_by(c.c.external_id))
        return {row.external_id: dict(row._mapping) for row in rows}


def test_new_customers_are_inserted_with_every_field(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        HEADER + "C1,Ada Lovelace,ada@example.com,+44 20 1234,GB,London,1815-12-10,female,"
        "2020-01-02T03:04:05+01:00,yes,No,1,,gold\n"
        "C2,,,,,,,,,TRUE,false,0,true,\n",
    )
    report = import_customers(engine, path, ImportOptions(mapping=MAPPING))
    assert (report.rows_read, report.rows_added, report.rows_updated) == (2, 2, 0)
    assert (report.rows_already_present, report.customers_created) == (0, 2)
    got = customers(engine)
    ada = got["C1"]
    assert (ada["name"], ada["email"], ada["phone"]) == (
        "Ada Lovelace",
        "ada@example.com",
        "+44 20 1234",
    )
    assert (ada["country"], ada["city"], ada["gender"]) == ("GB", "London", "female")
    assert ada["birth_date"] == date(1815, 12, 10)
    assert ada["created_at"] == datetime(2020, 1, 2, 2, 4, 5)
    consent = [ada[f"consent_{what}"] for what in ("email", "sms", "phone", "profiling")]
    assert consent == [True, False, True, None]
    other = got["C2"]
    assert other["name"] is None and other["birth_date"] is None
    assert [other[f"consent_{what}"] for what in ("email", "sms", "phone", "profiling")] == [
        True,
        False,
        False,
        True,
    ]
    # No created_at in the file: the time of the import (a few seconds ago at most).
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs((now - other["created_at"]).total_seconds()) < 60


def test_known_customers_are_updated_with_the_non_empty_cells_only(
    engine: Engine, tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "a.csv",
        "id,name,email,city,consent_email\n"
        "C1,Ada,ada@example.com,London,yes\n"
        "C2,Bob,bob@example.com,Paris,no\n",
    )
    import_customers(engine, first, ImportOptions(mapping=MAPPING))
    created = customers(engine)["C1"]["created_at"]
    second = write(
        tmp_path,
        "b.csv",
        "id,name,email,city,consent_email\n"
        "C1,,ada@lovelace.org,,\n"  # new email; empty cells keep what is stored
        "C2,Bob,bob@example.com,Paris,no\n"  # unchanged
        "C3,Cy,,,\n",  # new
    )
    report = import_customers(engine, second, ImportOptions(mapping=MAPPING))
    assert (report.rows_added, report.rows_updated, report.rows_already_present) == (1, 1, 1)
    got = customers(engine)
    assert (got["C1"]["name"], got["C1"]["email"], got["C1"]["city"]) == (
        "Ada",
        "ada@lovelace.org",
        "London",
    )
    assert got["C1"]["consent_email"] is True
    assert got["C1"]["created_at"] == created
    assert (got["C3"]["name"], got["C3"]["email"]) == ("Cy", None)


def test_reimport_of_an_unchanged_file_adds_and_updates_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        HEADER + "C1,Ada,ada@example.com,,GB,,1815-12-10,,2020-01-01,yes,,,,x\n",
    )
    import_customers(engine, path, ImportOptions(mapping=MAPPING))
    before = customers(engine)
    report = import_customers(engine, path, ImportOptions(mapping=MAPPING))
    assert (report.rows_added, report.rows_updated, report.rows_already_present) == (0, 0, 1)
    assert customers(engine) == before


def test_a_customer_file_completes_customers_an_interaction_file_created(
    engine: Engine, tmp_path: Path
) -> None:
    purchases = write(tmp_path, "tx.csv", "customer_id,occurred_at\nC1,2024-01-01\n")
    import_interactions(engine, purchases, ImportOptions())
    profile = write(tmp_path, "customers.csv", "customer_id,name,country\nC1,Ada,GB\n")
    report = import_customers(engine, profile, ImportOptions())
    assert (report.rows_added, report.rows_updated, report.customers_created) == (0, 1, 0)
    got = customers(engine)["C1"]
    assert (got["name"], got["country"], got["created_at"]) == ("Ada", "GB", datetime(2024, 1, 1))


def test_a_customer_twice_in_one_file_is_a_bad_row(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "customers.csv", "id,name\nC1,Ada\nC2,Bob\nC1,Ada L.\n")
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions(mapping=MAPPING))
    assert caught.value.problems == (
        f"{path}:4: customer_id (column 'id'): 'C1' is already on line 2",
    )
    assert customers(engine) == {}
    report = import_customers(engine, path, ImportOptions(mapping=MAPPING, skip_bad_rows=True))
    assert (report.rows_added, report.rows_rejected) == (2, 1)
    assert customers(engine)["C1"]["name"] == "Ada"


def test_bad_cells_are_reported_per_row_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        "id,email,birth_date,consent_sms,country\n"
        "C1,ada.example.com,1815-12-10,yes,GB\n"
        "C2,bob@example.com,31/12/1990,maybe,FR\n"
        "C3,cy@example.com,,," + "X" * 65 + "\n",
    )
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions(mapping=MAPPING))
    assert caught.value.problems == (
        f"{path}:2: email (column 'email'): 'ada.example.com' is not an email address "
        "(name@example.com)",
        # the first bad field of a row is the one reported
        f"{path}:3: birth_date (column 'birth_date'): '31/12/1990' is not an ISO 8601 date "
        "such as 1980-07-31",
        f"{path}:4: country (column 'country'): is 65 characters long; at most 64 fit",
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ImportRow.__table__)) == 0
    assert customers(engine) == {}


def test_dates_follow_the_date_format(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "customer_id,birth_date,created_at\nC1,31/12/1990,01/02/2020\n")
    import_customers(engine, path, ImportOptions(date_format="%d/%m/%Y"))
    got = customers(engine)["C1"]
    assert (got["birth_date"], got["created_at"]) == (date(1990, 12, 31), datetime(2020, 2, 1))


def test_an_unknown_field_in_the_mapping_is_a_config_error(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "customer_id\nC1\n")
    with pytest.raises(ConfigError) as caught:
        import_customers(engine, path, ImportOptions(mapping={"mail": "Email"}))
    assert str(caught.value) == (
        "import mapping: 'mail' is not a field of customers; the fields are customer_id, name, "
        "email, phone, country, city, birth_date, gender, created_at, consent_email, "
        "consent_sms, consent_phone, consent_profiling"
    )


def test_semicolon_files_in_another_encoding(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes("Kundennr;Name;Stadt\nK1;Jürgen;Köln\n".encode("cp1252"))
    options = ImportOptions(
        mapping={"customer_id": "Kundennr", "name": "Name", "city": "Stadt"},
        delimiter=";",
        encoding="cp1252",
    )
    assert import_customers(engine, path, options).rows_added == 1
    assert customers(engine)["K1"]["city"] == "Köln"
