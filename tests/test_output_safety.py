"""Data is never markup, terminal control or a spreadsheet formula (issue 5, items 5 and 6).

Customer names and ids come from other people's systems: `[/bold]` must not break a table,
`[red]x[/red]` must print as written, ESC bytes must not reach the terminal, and a CSV cell
`=HYPERLINK(...)` must not run when the export is opened in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from crm.cli import cli
from crm.cli.app import App
from crm.cli.output import (
    RICH_MAX_ROWS,
    escape_markup,
    neutralise_formula,
    printable,
    render,
)
from crm.core.components import Table
from tests.conftest import BigSpendersPlugin, SpendPlugin

CLOSING_TAG = "[/bold]"
COLOURED = "[red]x[/red]"
ESCAPES = "clear\x1b[2J\x1b]0;owned\x07\x9b31m\u202eevil"
FORMULA = '=HYPERLINK("http://x","y")'
ESCAPE_ID = "id\x1b[2J\x1b[31m"


def rendered(table: Table, fmt: str, **kwargs: Any) -> str:
    stream = io.StringIO()
    render(table, fmt, stream, **kwargs)
    return stream.getvalue()


def test_printable_shows_every_control_character_as_its_escape() -> None:
    assert printable(ESCAPES) == "clear\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202eevil"
    assert printable("tab\there\nnew line\x00\x7f") == "tab\\there\\nnew line\\x00\\x7f"
    assert printable("Zoë Ünal 東京") == "Zoë Ünal 東京"  # printable text is left alone


def test_escape_markup_makes_rich_print_the_brackets() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(escape_markup(f"{CLOSING_TAG} {COLOURED}"))
    assert console.file.getvalue() == f"{CLOSING_TAG} {COLOURED}\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),  # a plain number is never a formula
        ("+49", "+49"),
        ("1e5", "1e5"),
        ("Alice = Bob", "Alice = Bob"),  # only the first character counts
        ("", ""),
    ],
)
def test_neutralise_formula_follows_owasp(cell: str, expected: str) -> None:
    assert neutralise_formula(cell) == expected


def test_table_output_prints_data_as_written_without_control_bytes() -> None:
    table = Table(
        columns=("customer_id", "name"),
        rows=((CLOSING_TAG, COLOURED), ("c2", ESCAPES)),
        title=f"Customer {CLOSING_TAG}",
    )
    out = rendered(table, "table")
    assert f"Customer {CLOSING_TAG}" in out
    assert CLOSING_TAG in out
    assert COLOURED in out
    assert "\\x1b[2J" in out
    assert not any(c in out for c in "\x1b\x07\x9b\u202e")


def test_long_plain_tables_are_made_printable_too() -> None:
    rows = tuple((f"C{i}", ESCAPES) for i in range(RICH_MAX_ROWS + 1))
    out = rendered(Table(columns=("customer_id", "name"), rows=rows), "table")
    assert "\x1b" not in out
    assert out.count("clear\\x1b[2J") == RICH_MAX_ROWS + 1


def test_csv_neutralises_formulas_and_keeps_everything_else_exactly() -> None:
    table = Table(
        columns=("customer_id", "name", "amount"),
        rows=((FORMULA, ESCAPES, -12.5), ("@x", COLOURED, None)),
    )
    rows = list(csv.reader(io.StringIO(rendered(table, "csv"))))
    assert rows[1] == ["'" + FORMULA, ESCAPES, "-12.5"]
    assert rows[2] == ["'@x", COLOURED, ""]
    raw = list(csv.reader(io.StringIO(rendered(table, "csv", raw=True))))
    assert raw[1] == [FORMULA, ESCAPES, "-12.5"]


def test_json_keeps_values_exactly_and_escapes_what_a_terminal_would_act_on() -> None:
    table = Table(columns=("customer_id", "name"), rows=((FORMULA, ESCAPES),))
    out = rendered(table, "json")
    assert json.loads(out) == [{"customer_id": FORMULA, "name": ESCAPES}]
    assert not any(c in out for c in "\x1b\x07\x9b\u202e")


# Through the CLI, on SQLite and PostgreSQL: the reproducers of the issue.


def project_url(engine: Engine) -> str:
    """A URL that reaches the fixture's database (on PostgreSQL: its own schema)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def hostile_project(engine: Engine, seed: Any, tmp_path: Path) -> Path:
    purchases = [
        (CLOSING_TAG, "2024-03-01T10:00:00", "150.00"),
        (COLOURED, "2024-03-02T10:00:00", "20.00"),
        (FORMULA, "2024-03-03T10:00:00", "30.00"),
        (ESCAPE_ID, "2024-03-03T11:00:00", "5.00"),
    ]
    names = {
        CLOSING_TAG: {"name": CLOSING_TAG, "city": ESCAPES},
        COLOURED: {"name": COLOURED, "city": "Köln"},
        FORMULA: {"name": "@SUM(A1)", "city": "+1+1"},
    }
    seed(engine, purchases, names)
    config = tmp_path / "crm.toml"
    config.write_text(f"[database]\nurl = {json.dumps(project_url(engine))}\n")
    return config


def invoke(config: Path, *args: str) -> Any:
    app = App(
        config_path=config,
        extra_plugins=(("spend", SpendPlugin()), ("size", BigSpendersPlugin())),
    )
    return CliRunner().invoke(cli, list(args), obj=app)


def test_customers_show_prints_a_markup_id_as_written(hostile_project: Path) -> None:
    assert invoke(hostile_project, "segment", "--format", "json").exit_code == 0
    result = invoke(hostile_project, "customers", "show", CLOSING_TAG)
    assert result.exit_code == 0, result.output
    assert f"Customer {CLOSING_TAG}" in result.stdout
    assert "\x1b" not in result.stdout
    coloured = invoke(hostile_project, "customers", "show", COLOURED)
    assert coloured.exit_code == 0, coloured.output
    assert COLOURED in coloured.stdout


def test_segment_customers_table_survives_markup_ids(hostile_project: Path) -> None:
    result = invoke(hostile_project, "segment", "--customers")
    assert result.exit_code == 0, result.output
    for customer_id in (CLOSING_TAG, COLOURED, "=HYPERLINK", "id\\x1b[2J\\x1b[31m"):
        assert customer_id in result.stdout
    assert "\x1b" not in result.stdout  # the escape bytes never reach the terminal


def test_segment_customers_csv_is_safe_for_spreadsheets_unless_raw(hostile_project: Path) -> None:
    result = invoke(hostile_project, "segment", "--customers", "--format", "csv")
    assert result.exit_code == 0, result.output
    ids = [row["customer_id"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert ids == [CLOSING_TAG, COLOURED, "'" + FORMULA, ESCAPE_ID]  # csv keeps the bytes
    raw = invoke(hostile_project, "segment", "--customers", "--format", "csv", "--raw")
    assert raw.exit_code == 0, raw.output
    raw_ids = [row["customer_id"] for row in csv.DictReader(io.StringIO(raw.stdout))]
    assert raw_ids == [CLOSING_TAG, COLOURED, FORMULA, ESCAPE_ID]


def test_segment_customers_json_keeps_ids_exactly(hostile_project: Path) -> None:
    result = invoke(hostile_project, "segment", "--customers", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["customer_id"] for r in json.loads(result.stdout)] == [
        CLOSING_TAG,
        COLOURED,
        FORMULA,
        ESCAPE_ID,
    ]
