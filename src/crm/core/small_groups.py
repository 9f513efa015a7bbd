"""Small-group suppression: a shared report must not single out a person.

Every table row, bar or heat-map cell that declares how many customers it describes
(`Table.customers_column`, `Series.customers`) and describes fewer than `[reports]
min_group_size` of them (but at least one) is hidden and marked: a table cell becomes the text
`<5`, a figure value a gap with the label `<5`. Empty groups (0 customers) stay: "nobody" names no
one. Core applies this to every report before rendering, so no plugin can forget it.
"""

from __future__ import annotations

import attrs

from crm.core.components import Table
from crm.core.report_model import Block, Document, Figure, Section, Series, Text


def marker(min_group_size: int) -> str:
    """How a hidden value is shown: `<5` for groups of fewer than five customers."""
    return f"<{min_group_size}"


def is_small(customers: object, min_group_size: int) -> bool:
    return isinstance(customers, int | float) and 0 < customers < min_group_size


def suppress_table(table: Table, min_group_size: int) -> Table:
    """In a row describing fewer than `min_group_size` customers, hide the count and every number
    in the columns after it (its revenue, its means).

    The columns before the count say which group the row is (a segment, a cell's scores) and
    stay, as do texts, so the reader sees which group was hidden.
    """
    if table.customers_column is None or min_group_size <= 1:
        return table
    at = table.columns.index(table.customers_column)
    mark = marker(min_group_size)

    def hidden(row: tuple[object, ...]) -> tuple[object, ...]:
        kept = row[:at]
        rest = tuple(v if isinstance(v, str) or v is None else mark for v in row[at:])
        return (*kept, *rest)

    rows = tuple(hidden(row) if is_small(row[at], min_group_size) else row for row in table.rows)
    return attrs.evolve(table, rows=rows)


def suppress_series(series: Series, min_group_size: int) -> Series:
    if series.customers is None or min_group_size <= 1:
        return series
    small = [is_small(c, min_group_size) for c in series.customers]
    if not any(small):
        return series
    mark = marker(min_group_size)
    return attrs.evolve(
        series,
        values=tuple(None if s else v for v, s in zip(series.values, small, strict=True)),
        hidden=tuple(mark if s else "" for s in small),
    )


def suppress_figure(figure: Figure, min_group_size: int) -> Figure:
    series = tuple(suppress_series(s, min_group_size) for s in figure.series)
    return figure if series == figure.series else attrs.evolve(figure, series=series)


def _suppress_block(block: Block, min_group_size: int) -> Block:
    if isinstance(block, Table):
        return suppress_table(block, min_group_size)
    if isinstance(block, Figure):
        return suppress_figure(block, min_group_size)
    return block


def suppressed_count(before: Section, after: Section) -> int:
    return sum(b != a for b, a in zip(before.blocks, after.blocks, strict=True))


def suppress_document(document: Document, min_group_size: int) -> Document:
    """The document with small groups hidden; a section that lost any says so in a note."""
    sections = []
    for section in document.sections:
        blocks = tuple(_suppress_block(b, min_group_size) for b in section.blocks)
        changed = attrs.evolve(section, blocks=blocks)
        if suppressed_count(section, changed):
            note = Text(
                f"Groups of fewer than {min_group_size} customers are hidden "
                f"(shown as {marker(min_group_size)}); see [reports] min_group_size."
            )
            changed = attrs.evolve(changed, blocks=(*blocks, note))
        sections.append(changed)
    return attrs.evolve(document, sections=tuple(sections), min_group_size=min_group_size)
