r"""One output dialect for every command: `--format table|csv|json`, `--output FILE`, `--raw`.

Data goes to stdout (or the file); diagnostics go to stderr. JSON is a list of objects keyed by
column name; CSV has a header row; table is for people and may change, the other two are stable.

Data is never markup or terminal control, whoever wrote it (a customer named `[/bold]`, an id
holding ESC bytes, a name starting with `=HYPERLINK(`):

- table output goes through `printable` (control characters and bidirectional overrides shown as
  escapes such as `\x1b`) and reaches rich as `Text`, never as markup;
- CSV cells that a spreadsheet would run as a formula get a leading `'` (`neutralise_formula`, the
  OWASP rule) unless `--raw` is given; otherwise CSV keeps every value exactly;
- JSON keeps every value exactly (C1 controls and bidi overrides are written as `\u` escapes).

`printable`, `escape_markup` and `neutralise_formula` are public: any command or report that puts
data on a terminal or into a spreadsheet file uses them rather than its own rules.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from crm.core.components import Table

FORMATS = ("table", "csv", "json")
F = TypeVar("F", bound=Callable[..., Any])

#: Characters a terminal acts on instead of showing: C0 controls, DEL, C1 controls (0x9b is a
#: one-byte CSI on some terminals), and the bidirectional marks and overrides that make a line
#: read differently from the characters it holds ("Trojan Source", CVE-2021-42574).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Those of them json.dumps leaves as they are (it escapes the C0 controls itself).
_UNESCAPED_BY_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What a spreadsheet treats as the start of a formula (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
#: Where `--raw` is kept for `emit`: in the click context, so no command needs a parameter for it.
_RAW_KEY = "crm.output.raw"


def _escaped(character: str) -> str:
    return repr(character)[1:-1]  # "\x1b", "\n", "\u202e": what Python would write


def printable(text: str) -> str:
    r"""`text` safe to show on a terminal: every control character and bidirectional override
    is replaced by its escape (ESC becomes the four characters `\x1b`, a newline `\n`).

    For people only: the result is not the value. CSV and JSON keep values exactly.
    """
    return _UNPRINTABLE.sub(lambda match: _escaped(match[0]), text)


def printable_lines(text: str) -> str:
    """`printable` line by line: for text whose newlines are layout (messages, two-line headers)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def escape_markup(text: str) -> str:
    """`text` for a string that rich will parse as markup: `printable`, then `[` escaped, so
    `[/bold]` or `[red]x[/red]` print as written. Prefer `rich.text.Text(printable(text))`,
    which is never parsed at all."""
    from rich.markup import escape

    return escape(printable(text))


def neutralise_formula(text: str) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a
    leading `'` (OWASP's rule for CSV injection). Plain numbers such as `-12.50` stay as they are:
    a spreadsheet reads them as the number, never as a formula."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _remember_raw(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[_RAW_KEY] = value
    return value


def output_options(fn: F) -> F:
    """Add `--format`, `--output` and `--raw` to a command (`--raw` reaches `emit` by itself)."""
    fn = click.option(
        "--raw",
        is_flag=True,
        expose_value=False,
        callback=_remember_raw,
        help="CSV: write every cell exactly. By default a text cell starting with = + - @ tab "
        "or CR gets a leading ' so a spreadsheet shows it instead of running it as a formula.",
    )(fn)
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


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"


def render_json(data: Any, stream: IO[str]) -> None:
    """Pretty JSON, non-ASCII text as itself; json escapes C0 controls, and the C1 controls and
    bidi overrides are escaped here: the same values, nothing a terminal would act on."""
    text = json.dumps(_plain(data), indent=2, ensure_ascii=False)
    # Outside strings JSON has only ASCII punctuation, so every match lies inside a string.
    stream.write(_UNESCAPED_BY_JSON.sub(_json_escape, text))
    stream.write("\n")


def _csv_cell(value: Any, raw: bool) -> str:
    text = _text(value)
    return text if raw or not isinstance(value, str) else neutralise_formula(text)


def render(table: Table, fmt: str, stream: IO[str], *, raw: bool = False) -> None:
    """Write `table` as `fmt`; `raw` turns off the formula neutralisation of CSV cells."""
    if fmt == "json":
        render_json([dict(zip(table.columns, row, strict=True)) for row in table.rows], stream)
    elif fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([_csv_cell(c, raw) for c in table.columns])
        writer.writerows([_csv_cell(v, raw) for v in row] for row in table.rows)
    elif len(table.rows) > RICH_MAX_ROWS:
        _render_plain(table, stream)
    else:
        _render_rich(table, stream)


#: Above this many rows the table format is plain aligned text: rich measures every cell of
#: every row for layout, which took 46 s for 100k customers (plain text: well under a second).
RICH_MAX_ROWS = 2_000


def _render_plain(table: Table, stream: IO[str]) -> None:
    cells = [[printable(_text(v)) for v in row] for row in table.rows]
    columns = [printable(c) for c in table.columns]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    if table.title:
        stream.write(printable(table.title) + "\n")
    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    stream.write("\n" + "  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        stream.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def _render_rich(table: Table, stream: IO[str]) -> None:
    from crm.cli.table_layout import render_cells  # it imports printable from here

    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in table.rows)
        and any(row[i] is not None for row in table.rows)
        for i in range(len(table.columns))
    ]
    columns = [printable(c) for c in table.columns]
    cells = [[printable(_text(v)) for v in row] for row in table.rows]
    render_cells(printable(table.title or ""), columns, cells, numeric, stream)


def _raw_requested() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_RAW_KEY, False))


def emit(table: Table, fmt: str, output: Path | None, *, raw: bool | None = None) -> None:
    """Render `table` to `output` (a file) or stdout; `raw` defaults to the command's `--raw`."""
    raw = _raw_requested() if raw is None else raw
    if output is None:
        render(table, fmt, sys.stdout, raw=raw)
        return
    with output.open("w", encoding="utf-8", newline="") as stream:
        render(table, fmt, stream, raw=raw)
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
