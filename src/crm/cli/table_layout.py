"""The terminal layout of a table printed with `--format table`: columns while they fit, else
one block per row.

rich squeezes a table wider than the terminal until it fits, which can shrink a text column to
nothing and cut its headers short ("custome", "conversi"). Here a table is laid out in columns
only when every column keeps a readable width: headers wrap at their words (`dropped_share` on
two lines), text cells wrap, numbers are never split. When even that is wider than the
terminal, each row becomes a block of `column  value` lines, as psql's expanded display does,
so an operator at 80 columns always reads every value whole.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import IO

from crm.cli.terminal import console, header_text, plain_rich_table, terminal_width

#: Spaces between columns, and the fewest allowed before a table turns into blocks.
GAP = 2
MIN_GAP = 1
#: Text cells may wrap, but not below this width (or their longest value, if shorter).
MIN_TEXT_WIDTH = 12
#: A word longer than this may be cut across lines rather than widen its column further.
MAX_WORD = 20


def _wrapped_header(name: str, width: int) -> str:
    return "\n".join(textwrap.wrap(header_text(name), width, break_long_words=False)) or " "


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def minimal_widths(
    columns: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool]
) -> list[int]:
    """The narrowest each column may be: numbers whole, headers broken only between words, text
    wrapped between words, to `MIN_TEXT_WIDTH` at least (or its longest value when shorter)."""
    widths = []
    for index, name in enumerate(columns):
        values = [row[index] for row in cells]
        longest = max((len(v) for v in values), default=0)
        header = _longest_word(header_text(name))
        if numeric[index]:
            widths.append(max(header, longest, 1))
        else:
            word = min(max((_longest_word(v) for v in values), default=0), MAX_WORD)
            widths.append(max(header, min(longest, max(MIN_TEXT_WIDTH, word)), 1))
    return widths


def natural_widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width with nothing wrapped."""
    return [
        max([len(header_text(name))] + [len(row[index]) for row in cells])
        for index, name in enumerate(columns)
    ]


def fits(widths: Sequence[int], width: int, gap: int = GAP) -> bool:
    return sum(widths) + gap * (len(widths) - 1) <= width


def final_widths(minimal: Sequence[int], natural: Sequence[int], room: int) -> list[int]:
    """Widen the columns from `minimal` towards `natural` with the `room` left: one character
    at a time to each column still short of its natural width, leftmost first, so no single
    column takes all the room."""
    widths = list(minimal)
    while room > 0:
        short = [i for i, (now, high) in enumerate(zip(widths, natural, strict=True)) if now < high]
        if not short:
            break
        for index in short[:room]:
            widths[index] += 1
        room -= min(len(short), room)
    return widths


def render_cells(
    title: str,
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    stream: IO[str],
) -> None:
    """Print already printable `cells` under `columns` (`numeric` ones right-aligned)."""
    width = terminal_width()
    minimal = minimal_widths(columns, cells, numeric)
    for gap in (GAP, MIN_GAP):
        if fits(minimal, width, gap):
            room = width - sum(minimal) - gap * (len(minimal) - 1)
            widths = final_widths(minimal, natural_widths(columns, cells), room)
            _render_columns(title, columns, cells, numeric, widths, stream, width, gap)
            return
    _render_blocks(title, columns, cells, stream, width)


def _render_columns(
    title: str,
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    widths: Sequence[int],
    stream: IO[str],
    width: int,
    gap: int,
) -> None:
    from rich.text import Text

    shown = plain_rich_table(gap)  # the title is printed above it, at the terminal's width
    for index, name in enumerate(columns):
        # The widths were chosen to fit: rich is told them exactly and squeezes nothing.
        shown.add_column(
            Text(_wrapped_header(name, widths[index])),
            justify="right" if numeric[index] else "left",
            no_wrap=numeric[index],
            overflow="fold",
            width=widths[index],
        )
    for row in cells:
        shown.add_row(*(Text(cell) for cell in row))
    out = console(stream, width)
    if title:  # its own line(s), as wide as the terminal: a narrow table would wrap it
        out.print(Text(title_lines(title, width), style="bold"))
    out.print(shown)


def title_lines(title: str, width: int) -> str:
    """`title` as lines of at most `width`: a title too long for one line breaks after its
    clauses ("; ") before it breaks between words."""
    if len(title) <= width:
        return title
    clauses = title.split("; ")
    parts = [c + ";" for c in clauses[:-1]] + clauses[-1:]
    return "\n".join(line for part in parts for line in textwrap.wrap(part, width) or [""])


def _render_blocks(
    title: str, columns: Sequence[str], cells: Sequence[Sequence[str]], stream: IO[str], width: int
) -> None:
    labels = [header_text(name) for name in columns]
    label_width = min(max((len(label) for label in labels), default=0), width // 3)
    value_width = max(width - label_width - GAP, 10)
    if title:
        stream.write(title_lines(title, width) + "\n")
    for number, row in enumerate(cells, start=1):
        stream.write(f"-[ {number} of {len(cells)} ]".ljust(min(width, 24), "-") + "\n")
        for label, value in zip(labels, row, strict=True):
            lines = textwrap.wrap(value, value_width, break_on_hyphens=False) or [""]
            if len(label) > label_width:  # a long name gets a line of its own, never cut
                stream.write(label + "\n")
                lines = lines if lines != [""] else []
                label = ""
            for line in lines[:1]:
                stream.write(f"{label.ljust(label_width)}{' ' * GAP}{line}".rstrip() + "\n")
            for line in lines[1:]:
                stream.write(" " * (label_width + GAP) + line + "\n")
