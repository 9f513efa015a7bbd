"""A report document in each output format of `crm report`.

- `table`: for people at a terminal: section titles, texts, tables fitting the width (shares as
  bars), figures as bars or grids of text;
- `csv` and `json`: the tables only (a Sankey-like figure as the table of its bands), stable for
  scripts. A document with one table prints it as `crm segment` prints its summary (JSON: a list
  of row objects); with several, JSON is an object from `<report>.<table>` to its rows, and CSV
  needs `--table` to pick one;
- `html`: one self-contained file (`crm.core.rendering.html`).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from crm.cli.output import printable, render, render_json
from crm.cli.segment_layout import is_summary, render_summary
from crm.cli.terminal import console, figure_lines, rich_table, terminal_width
from crm.core.components import Table
from crm.core.errors import ConfigError
from crm.core.report_model import Document, Figure, Text

DOCUMENT_FORMATS = ("table", "csv", "json", "html")

F = TypeVar("F", bound=Callable[..., Any])


def document_options(command: F) -> F:
    """The options of every command that prints a report document: `--run N`, `--as-of`,
    `--format table|csv|json|html`, `--output FILE` and `--table REPORT.TABLE`."""
    from crm.cli.segment_command import parse_date

    options = [
        click.option(
            "--run",
            "run_id",
            type=int,
            metavar="N",
            help="Use stored run N (see `crm runs`) instead of a fresh run.",
        ),
        click.option(
            "--as-of",
            callback=parse_date,
            metavar="YYYY-MM-DD",
            help="Analysis date of the fresh run. Default: the day after the last interaction.",
        ),
        click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(DOCUMENT_FORMATS),
            default="table",
            show_default=True,
            help="table for people; csv and json (tables only) are stable for scripts; html is "
            "one self-contained file with charts.",
        ),
        click.option(
            "--output",
            "-o",
            "output",
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write to this file instead of stdout.",
        ),
        click.option(
            "--table",
            "table",
            metavar="REPORT.TABLE",
            help="csv and json: only this table (e.g. segments.segments) of a document with "
            "several.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _tables_of(blocks: tuple[object, ...]) -> list[Table]:
    """The tables of a section, with each Sankey-like figure as the table of its bands (the
    other figures are pictures of a table beside them)."""
    found: list[Table] = []
    for block in blocks:
        if isinstance(block, Table):
            found.append(block)
        elif isinstance(block, Figure) and block.kind == "sankey":
            found.append(block.as_table())
    return found


def named_tables(document: Document) -> dict[str, Table]:
    """Every table of the document by `<report>.<table>` (the table's name, else its number)."""
    tables: dict[str, Table] = {}
    for section in document.sections:
        for number, table in enumerate(_tables_of(section.blocks), start=1):
            key = f"{section.report}.{table.name or number}"
            while key in tables:
                key += "+"
            tables[key] = table
    return tables


def chosen_tables(document: Document, table: str | None) -> dict[str, Table]:
    tables = named_tables(document)
    if table is None:
        return tables
    if table not in tables:
        raise ConfigError(f"no table {table!r} in this report; tables: {', '.join(tables)}")
    return {table: tables[table]}


def render_csv(document: Document, stream: IO[str], table: str | None = None) -> None:
    tables = chosen_tables(document, table)
    if len(tables) != 1:
        names = ", ".join(tables) or "none"
        raise ConfigError(
            f"CSV holds one table and this report has {len(tables)} ({names}); "
            "pick one with --table NAME, or use --format json"
        )
    render(next(iter(tables.values())), "csv", stream)


def render_json_tables(document: Document, stream: IO[str], table: str | None = None) -> None:
    tables = chosen_tables(document, table)
    rows = {
        key: [dict(zip(t.columns, row, strict=True)) for row in t.rows] for key, t in tables.items()
    }
    render_json(next(iter(rows.values())) if len(rows) == 1 else rows, stream)


def render_terminal(
    document: Document,
    stream: IO[str],
    width: int | None = None,
    headline: Sequence[str] = (),
) -> None:
    """`headline`: the headline segmentations, for the layout of a segment summary."""
    from rich.rule import Rule

    width = width or terminal_width()
    out = console(stream, width)
    head = document.header
    run = "a fresh run" if head.run_id is None else f"run {head.run_id}"
    out.print(printable(f"{document.title}: {run}, as of {head.as_of}, {head.customers} customers"))
    for section in document.sections:
        out.print(Rule(printable(section.title), align="left", characters="─"))
        for block in section.blocks:
            if isinstance(block, Table) and is_summary(block):
                render_summary(block, stream, width=width, headline=headline)
            elif isinstance(block, Table):
                out.print(rich_table(block))
            elif isinstance(block, Text):
                out.print(printable(block.text))
            elif isinstance(block, Figure):
                for line in figure_lines(block, width):
                    out.print(line, overflow="crop", no_wrap=True)
            out.print("")


def emit_report(
    document: Document,
    fmt: str,
    output: Path | None,
    *,
    table: str | None = None,
    headline: Sequence[str] = (),
) -> None:
    """Write the document to `output` (a file) or stdout in format `fmt` (`headline`: see
    `render_terminal`)."""
    if fmt == "html":
        from crm.core.rendering.html import render_html

        text = render_html(document)
        if output is None:
            sys.stdout.write(text)
            return
        output.write_text(text, encoding="utf-8")
        figures = len(document.figures)
        click.echo(
            f"wrote {len(document.sections)} section(s), {figures} figure(s) to {output}", err=True
        )
        return
    if output is None:
        _write(document, fmt, sys.stdout, table, headline)
        return
    buffer = io.StringIO()  # rendered first: a report that cannot be written leaves no file
    _write(document, fmt, buffer, table, headline)
    output.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    click.echo(f"wrote {len(document.sections)} section(s) to {output}", err=True)


def _write(
    document: Document, fmt: str, stream: IO[str], table: str | None, headline: Sequence[str]
) -> None:
    if fmt == "csv":
        render_csv(document, stream, table)
    elif fmt == "json":
        render_json_tables(document, stream, table)
    else:
        render_terminal(document, stream, headline=headline)
