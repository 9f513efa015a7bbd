"""`crm import` end to end through the CLI: errors name the line, nothing half-written, re-runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crm.cli import cli
from crm.cli.app import App
from crm.core.database import make_engine
from crm.core.schema import CustomerRow, InteractionRow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n')
    return tmp_path


def run(project: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=App(config_path=project / "crm.toml"))


def counts(project: Path) -> tuple[int, int]:
    engine = make_engine(f"sqlite:///{project / 'crm.db'}")
    with engine.connect() as conn:
        result = (
            conn.scalar(select(func.count()).select_from(CustomerRow)) or 0,
            conn.scalar(select(func.count()).select_from(InteractionRow)) or 0,
        )
    engine.dispose()
    return result


def test_a_bad_row_names_file_line_and_field_and_nothing_is_written(project: Path) -> None:
    data = project / "orders.csv"
    data.write_text(
        "CustomerID,InvoiceDate,Total\nC1,2024-01-05,10.00\nC2,2024-01-06,ten\nC3,2024-01-07,5\n"
    )
    result = run(
        project,
        "import",
        "interactions",
        str(data),
        "--map",
        "customer_id=CustomerID",
        "--map",
        "occurred_at=InvoiceDate",
        "--map",
        "amount=Total",
    )
    assert result.exit_code == 4
    assert "orders.csv:3: amount (column 'Total')" in result.stderr
    assert "nothing was imported" in result.stderr
    assert counts(project) == (0, 0)


def test_reimporting_the_same_file_adds_nothing_but_identical_rows_stay_separate(
    project: Path,
) -> None:
    data = project / "orders.csv"
    # Two identical purchases on one day are two events, not a duplicate.
    data.write_text(
        "customer_id,occurred_at,amount\nC1,2024-01-05,10.00\nC1,2024-01-05,10.00\nC2,2024-01-06,3.50\n"
    )
    first = run(project, "import", "interactions", str(data), "-f", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["rows_added"] == 3
    assert counts(project) == (2, 3)
    second = run(project, "import", "interactions", str(data), "-f", "json")
    report = json.loads(second.stdout)[0]
    assert (report["rows_added"], report["rows_already_present"]) == (0, 3)
    assert counts(project) == (2, 3)


def test_skip_bad_rows_imports_the_good_ones_and_writes_a_reject_file(project: Path) -> None:
    data = project / "orders.csv"
    data.write_text("customer_id,occurred_at,amount\nC1,2024-01-05,1\nC2,not a date,2\n")
    result = run(project, "import", "interactions", str(data), "--skip-bad-rows")
    assert result.exit_code == 0, result.output
    rejects = (project / "orders.csv.rejects.csv").read_text()
    assert "C2,not a date,2" in rejects
    assert counts(project) == (1, 1)


def test_cdnow_layout_loads_with_a_delimiter_and_a_date_format(project: Path) -> None:
    data = project / "cdnow.txt"
    data.write_text(
        " customer_id  date number_of_cds  dollar_value\n"
        " 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n"
    )
    result = run(
        project,
        "import",
        "interactions",
        str(data),
        "--delimiter",
        "whitespace",
        "--map",
        "occurred_at=date",
        "--map",
        "amount=dollar_value",
        "--date-format",
        "%Y%m%d",
    )
    assert result.exit_code == 0, result.output
    assert counts(project) == (2, 3)
    segment = run(project, "segment", "--customers", "-f", "json")
    rows = {r["customer_id"]: r for r in json.loads(segment.stdout)}
    assert rows["00002"]["rfm.monetary"] == 89.0
    assert rows["00002"]["rfm.frequency"] == 2
    assert rows["00001"]["rfm.recency"] == 12


def test_customers_file_then_profile(project: Path) -> None:
    data = project / "customers.csv"
    data.write_text("customer_id,name,country\nC1,Ann,United Kingdom\n")
    assert run(project, "import", "customers", str(data)).exit_code == 0
    profile = run(project, "customers", "show", "C1", "-f", "json", "--unmask")
    assert json.loads(profile.stdout)["attributes"]["name"] == "Ann"


def test_bad_map_syntax_is_a_usage_error(project: Path) -> None:
    data = project / "x.csv"
    data.write_text("a\n1\n")
    result = run(project, "import", "interactions", str(data), "--map", "customer_id")
    assert result.exit_code == 2
    assert "expected FIELD=COLUMN" in result.output


def test_mappings_and_formats_from_crm_toml_need_no_flags(project: Path) -> None:
    (project / "crm.toml").write_text(
        '[plugins]\nenabled = ["rfm"]\n\n[import]\ndate_format = "%d.%m.%Y"\ndelimiter = ";"\n\n'
        '[import.interactions]\ncustomer_id = "Kunde"\noccurred_at = "Datum"\namount = "Betrag"\n'
    )
    data = project / "export.csv"
    data.write_text("Kunde;Datum;Betrag\nK1;31.01.2024;12.50\nK1;01.02.2024;7.50\n")
    result = run(project, "import", "interactions", str(data), "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["rows_added"] == 2
    segment = run(project, "segment", "--customers", "-f", "json")
    (row,) = json.loads(segment.stdout)
    assert (row["customer_id"], row["rfm.monetary"], row["rfm.frequency"]) == ("K1", 20.0, 2)
