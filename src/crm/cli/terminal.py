"""Tables and figures for a person at a terminal: fit the width, shares as bars, no markup.

The width is the terminal's; piped or redirected it is what a person's terminal would be, 80
columns (or `COLUMNS`), never the table's natural width. Cells are rich `Text` objects, so data
is never read as rich markup (`[bold]` in a customer's name stays `[bold]`), and control
characters are replaced so data cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from crm.cli.output import printable, printable_lines
from crm.core.components import Table

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table as RichTable

    from crm.core.report_model import Figure

DEFAULT_WIDTH = 80
BAR_CELLS = 6
_EIGHTHS = " ▏▎▍▌▋▊▉"


def terminal_width() -> int:
    """The terminal's width; `COLUMNS` or 80 when output is not a terminal."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def bar(fraction: float, cells: int = BAR_CELLS) -> str:
    """A horizontal bar of `cells` character cells at most, in eighths of a cell."""
    eighths = max(0, min(cells * 8, round(fraction * cells * 8)))
    return ("█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")).ljust(cells)


def is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def is_share_column(name: str, values: Sequence[object]) -> bool:
    """A column of fractions of a whole (`share`, `revenue_share`), shown as `12.3% ███`."""
    numbers = [v for v in values if is_number(v)]
    return (
        name.endswith("share") and bool(numbers) and all(0 <= float(v) <= 1 for v in numbers)  # type: ignore[arg-type]
    )


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return printable(str(value))


def share_text(value: object, top: float, with_bar: bool) -> str:
    if not is_number(value):
        return cell_text(value)
    fraction = float(value)  # type: ignore[arg-type]
    percent = f"{100 * fraction:.1f}%"
    return f"{percent:>6} {bar(fraction / top if top else 0.0)}" if with_bar else percent


def header_text(name: str) -> str:
    """`revenue_share` -> `revenue share`, `mean_rfm.recency` -> `mean rfm.recency`."""
    return name.replace("_", " ")


def rich_table(
    table: Table,
    *,
    bars: bool | Collection[str] = True,
    title: str | None = None,
    gap: int = 2,
) -> RenderableType:
    """A rich table of `table`: numbers right-aligned and never split, text wrapped, shares as
    percentages with a bar scaled to the largest share of the column (`bars`: for every share
    column, none, or the named ones); `gap` spaces between columns."""
    from rich.text import Text

    shown = plain_rich_table(gap, title=printable(table.title if title is None else title))
    columns = list(zip(*table.rows, strict=True)) if table.rows else [()] * len(table.columns)
    formats = []
    for name, values in zip(table.columns, columns, strict=True):
        share = is_share_column(name, values)
        with_bar = share and (bars if isinstance(bars, bool) else name in bars)
        numeric = share or (
            any(is_number(v) for v in values)
            and all(is_number(v) or v is None or str(v).startswith("<") for v in values)
        )
        top = max((float(v) for v in values if is_number(v)), default=0.0)  # type: ignore[arg-type,unused-ignore]
        formats.append((share, with_bar, top))
        shown.add_column(
            Text(printable_lines(header_text(name))),
            # a share with a bar is padded to align; right-justified, its bar would not
            justify="left" if with_bar or not numeric else "right",
            no_wrap=numeric,
            overflow="fold",
        )
    for row in table.rows:
        cells = [
            share_text(v, top, with_bar) if share else cell_text(v)
            for v, (share, with_bar, top) in zip(row, formats, strict=True)
        ]
        shown.add_row(*(Text(c) for c in cells))
    return shown


def plain_rich_table(gap: int, *, title: str | None = None) -> RichTable:
    """crm's table style at a terminal: a rule under the headers, no borders, `gap` spaces
    between columns, a bold title on the left."""
    from rich import box
    from rich.table import Table as RichTable

    return RichTable(
        title=title or None,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, gap - 1, 0, 0),  # the box's inner verticals are one space
        show_edge=False,
    )


def console(stream: IO[str], width: int | None = None) -> Console:
    from rich.console import Console

    interactive = stream.isatty() if hasattr(stream, "isatty") else False
    return Console(
        file=stream,
        width=width or terminal_width(),
        no_color=not interactive,
        highlight=False,
        markup=False,
        emoji=False,
    )


def figure_lines(figure: Figure, width: int) -> list[str]:
    """A figure as text: bar kinds as labelled bars, a heat map as its grid of labels, lines and
    scatters as their values (their picture is in the HTML report), a Sankey-like figure as the
    table of its bands."""
    if figure.kind == "heatmap":
        return _heatmap_lines(figure, width)
    if figure.kind == "sankey":
        import io

        text = io.StringIO()
        console(text, width).print(rich_table(figure.as_table()))
        return text.getvalue().rstrip("\n").split("\n")
    if figure.kind == "scatter":
        return [f"{figure.title}: {sum(len(s.values) for s in figure.series)} points (see HTML)"]
    label_width = min(max((len(c) for c in figure.categories), default=0), width // 3)
    many = len(figure.series) > 1
    series_width = max((len(s.name) for s in figure.series), default=0) if many else 0
    cells = max(4, width - label_width - series_width - 16)
    lines = [figure.title + (f" ({figure.unit})" if figure.unit else "")]
    for index, category in enumerate(figure.categories):
        values = [s.values[index] for s in figure.series]
        for number, series in enumerate(figure.series):
            top = max((v for s in figure.series for v in s.values if v is not None), default=0.0)
            value = values[number]
            label = printable(category if number == 0 else "")[:label_width].ljust(label_width)
            name = (printable(series.name)[:series_width].ljust(series_width) + " ") if many else ""
            if value is None:
                mark = series.marker(index)
                lines.append(f"{label}  {name}{'':{cells}} {mark}")
            else:
                drawn = bar(value / top if top else 0.0, cells)
                lines.append(f"{label}  {name}{drawn} {cell_text(value)}")
    return lines


def _heatmap_lines(figure: Figure, width: int) -> list[str]:
    """A cell's label wrapped over as many lines as it needs, its value on the line below."""
    import textwrap

    from crm.core.rendering.charts import heatmap_cell_texts

    row_width = max(len(s.name) for s in figure.series)
    cell = max(6, min(18, (width - row_width - 2) // max(1, len(figure.categories)) - 1))
    lines = [figure.title, f"{figure.y_label} \\ {figure.x_label}".strip(" \\")]
    lines.append(" " * (row_width + 1) + " ".join(c[:cell].center(cell) for c in figure.categories))
    for series in figure.series:
        cells = []
        for text in heatmap_cell_texts(series, figure.unit):
            *label, value = (printable(part) for part in text.split("\n"))
            cells.append([*textwrap.wrap(" ".join(label), cell), value])
        depth = max(len(parts) for parts in cells)
        # values on one line at the bottom of every cell, labels above them
        cells = [parts[:-1] + [""] * (depth - len(parts)) + parts[-1:] for parts in cells]
        for line in range(depth):
            name = printable(series.name) if line == 0 else ""
            parts = [p[line][:cell].center(cell) for p in cells]
            lines.append(name.rjust(row_width) + " " + " ".join(parts).rstrip())
    return lines
