"""The generic `--format table` layout at 80 columns: readable columns, or one block per row."""

from __future__ import annotations

import io

import pytest

from crm.cli.output import render
from crm.core.components import Table

STEPS = ("awareness", "research and evaluation", "consideration", "purchase", "relationship")
COLUMNS = (
    "step",
    "customers",
    "conversion",
    "from_top",
    "dropped",
    "dropped_share",
    "median_days",
    "p90_days",
    "stuck",
)


def _printed(table: Table) -> list[str]:
    stream = io.StringIO()
    render(table, "table", stream)
    return stream.getvalue().splitlines()


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def test_a_table_wider_than_the_terminal_wraps_headers_between_words_and_cuts_no_value() -> None:
    # Natural width 109: rich alone squeezed the step column to nothing and cut "customers"
    # to "custome"; here every header word and every value is printed whole.
    rows = tuple(
        (step, 1426 - 90 * i, 0.9376, 0.8661, 102, 0.0763, 4.56, 14.56, 99)
        for i, step in enumerate(STEPS)
    )
    lines = _printed(Table(columns=COLUMNS, rows=rows, title="Funnel sales steps"))
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == "Funnel sales steps"
    text = "\n".join(lines)
    words = {w for name in COLUMNS for w in name.replace("_", " ").split()}
    assert words <= set(text.split())
    body = [line for line in lines if line.startswith(("awareness", "consideration", "purchase"))]
    assert [line.split()[0] for line in body] == ["awareness", "consideration", "purchase"]
    assert body[0].split() == ["awareness", "1426", "0.9376", "0.8661", "102", "0.0763", "4.56",
                               "14.56", "99"]  # fmt: skip


def test_a_table_that_cannot_fit_becomes_one_block_per_row() -> None:
    columns = tuple(f"measure_number_{i}" for i in range(8))
    rows = (tuple(10**9 + i for i in range(8)), tuple(range(8)))
    lines = _printed(Table(columns=columns, rows=rows, title="Wide"))
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == "Wide"
    assert lines[1].startswith("-[ 1 of 2 ]")
    assert lines[2].split() == ["measure", "number", "0", "1000000000"]
    assert lines[10].startswith("-[ 2 of 2 ]")
    assert lines[18].split() == ["measure", "number", "7", "7"]


def test_a_long_title_breaks_after_its_clauses() -> None:
    title = "size: run 2 (as of 2024-03-03) -> run 1 (as of 2024-03-04); 1 moved, 0 entered, 0 left"
    lines = _printed(Table(columns=("from", "to"), rows=(("Small", "Big"),), title=title))
    assert lines[:2] == [
        "size: run 2 (as of 2024-03-03) -> run 1 (as of 2024-03-04);",
        "1 moved, 0 entered, 0 left",
    ]
