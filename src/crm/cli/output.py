"""One output dialect for every command: `--format table|csv|json`, `--output FILE`.

Data goes to stdout (or the file); diagnostics go to stderr. JSON is a list of objects keyed by
column name; CSV has a header row; table is for people and may change, the other two are stable.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from crm.cli.terminal import terminal_width
from crm.core.components import Table

FORMATS = ("table", "csv", "json")
F = TypeVar("F", bound=Callable[..., Any])


def output_options(fn: F) -> F:
    """Add `--format` and `--output` to a command."""
    fn = click.option(
        "--output",
        "-o",
        "output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Write the data to this file instead of stdout.",
    )(fn)
    fn = click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; csv and json are stable for scripts.",
    )(fn)
    return fn


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def render_json(data: Any, stream: IO[str]) -> None:
    json.dump(_plain(data), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def render(table: Table, fmt: str, stream: IO[str]) -> None:
    if fmt == "json":
        render_json([dict(zip(table.columns, row, strict=True)) for row in table.rows], stream)
    elif fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows([_text(v) for v in row] for row in table.rows)
    elif len(table.rows) > RICH_MAX_ROWS:
        _render_plain(table, stream)
    else:
        _render_rich(table, stream)


#: Above this many rows the table format is plain aligned text: rich measures every cell of
#: every row for layout, which took 46 s for 100k customers (plain text: well under a second).
RICH_MAX_ROWS = 2_000


def _render_plain(table: Table, stream: IO[str]) -> None:
    cells = [[_text(v) for v in row] for row in table.rows]
    widths = [len(c) for c in table.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    if table.title:
        stream.write(table.title + "\n")
    stream.write("  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip())
    stream.write("\n" + "  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        stream.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _render_rich(table: Table, stream: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    rich_table = RichTable(title=table.title or None, title_justify="left")
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in table.rows)
        and any(row[i] is not None for row in table.rows)
        for i in range(len(table.columns))
    ]
    for name, is_number in zip(table.columns, numeric, strict=True):
        rich_table.add_column(
            name, justify="right" if is_number else "left", overflow="fold", no_wrap=is_number
        )
    for row in table.rows:
        rich_table.add_row(*(_text(v) for v in row))
    interactive = stream.isatty() if hasattr(stream, "isatty") else False
    # Piped, the width a person's terminal would have (COLUMNS, else 80), not the table's own.
    width = terminal_width()
    Console(file=stream, width=width, no_color=not interactive, highlight=False).print(rich_table)


def emit(table: Table, fmt: str, output: Path | None) -> None:
    """Render `table` to `output` (a file) or stdout."""
    if output is None:
        render(table, fmt, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as stream:
        render(table, fmt, stream)
    click.echo(f"wrote {len(table.rows)} row(s) to {output}", err=True)


def emit_document(data: Any, fmt: str, output: Path | None, as_table: Callable[[], Table]) -> None:
    """A nested document: JSON as is; table and csv through `as_table`."""
    if fmt == "json":
        if output is None:
            render_json(data, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as stream:
                render_json(data, stream)
        return
    emit(as_table(), fmt, output)
