"""The report model: a document of sections, each holding tables, short texts and figures.

Plugins describe what to show; core decides how (terminal, csv, json, html). A `Figure` is data
plus a chart kind with its title, axis labels and unit: plugins never draw, so every chart of
every plugin looks alike, is drawn without a network and is checked for small groups in one place.

Everything here is a frozen value with no numpy or drawing library behind it, so building a
document is cheap and a document can be compared in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import attrs
from attrs import field, frozen

from crm.core.components import Table

#: `bar`: one bar per category and series; `stacked_bar`: the series stacked per category;
#: `line`: each series a line over the categories; `histogram`: one series of counts per bin,
#: bars touching; `heatmap`: a grid, one series per row, with a label in every cell;
#: `scatter`: each series a cloud of (x, value) points; `sankey`: the categories are columns left
#: to right and each series one band of customers through them (see `Figure`).
ChartKind = Literal["bar", "stacked_bar", "line", "histogram", "heatmap", "scatter", "sankey"]
CHART_KINDS: tuple[str, ...] = (
    "bar",
    "stacked_bar",
    "line",
    "histogram",
    "heatmap",
    "scatter",
    "sankey",
)


def _floats(values: Sequence[float | None]) -> tuple[float | None, ...]:
    return tuple(None if v is None else float(v) for v in values)


def _counts(values: Sequence[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(int(v) for v in values)


def _number(value: float | None) -> float | int | None:
    return int(value) if value is not None and float(value).is_integer() else value


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _all_series(values: Iterable[Series]) -> tuple[Series, ...]:
    return tuple(values)


def _blocks(values: Iterable[Block]) -> tuple[Block, ...]:
    return tuple(values)


def _sections(values: Iterable[Section]) -> tuple[Section, ...]:
    return tuple(values)


@frozen(kw_only=True)
class Series:
    """One named run of values, aligned with the figure's categories (or with `x`, for scatter).

    `customers` is how many customers stand behind each value, when the value describes a group
    of customers (a segment's revenue, a cell's count): core suppresses values that describe
    fewer than `[reports] min_group_size` customers. None means "not about groups of customers".
    A None value is a gap (not drawn).
    """

    name: str
    values: tuple[float | None, ...] = field(converter=_floats)
    customers: tuple[int, ...] | None = field(default=None, converter=_counts)
    x: tuple[float, ...] | None = field(default=None)
    #: A label per value (a heat map cell's segment name); core shows the value beside it.
    labels: tuple[str, ...] = field(default=(), converter=_texts)
    #: Set by core: per value, the marker of a hidden small group (`<5`), or "".
    hidden: tuple[str, ...] = field(default=(), converter=_texts)

    def __attrs_post_init__(self) -> None:
        for name, other in (("customers", self.customers), ("x", self.x)):
            if other is not None and len(other) != len(self.values):
                raise ValueError(f"series {self.name!r}: {name} must have one entry per value")
        for name, texts in (("labels", self.labels), ("hidden", self.hidden)):
            if texts and len(texts) != len(self.values):
                raise ValueError(f"series {self.name!r}: {name} must have one entry per value")

    def marker(self, index: int) -> str:
        """The marker of a hidden value at `index`, or "" when it is shown."""
        return self.hidden[index] if self.hidden else ""


@frozen(kw_only=True)
class Figure:
    """A chart described as data; core draws it (SVG in HTML, bars or a grid on a terminal).

    For a heat map, `categories` are the columns and each series is one row (its `name` is the
    row label, its `labels` the text of each cell). For a histogram the categories name the
    bins. `unit` is the unit of the values ("customers", "%", "EUR", "days").

    For a Sankey-like view (`sankey`), `categories` are the columns, left to right, and each
    series is one band of a fixed group of customers (a path): its value at a column is the
    band's width there, the same at every column it passes, and None at a column it skips; its
    `labels` name the node it passes in each column ("" where it skips one; without labels each
    column is one node named by its category). Bands through the same node of a column are drawn
    together, in series order, so list the widest band first. `as_table()` gives the bands as a
    table, which is how a terminal, CSV and JSON show the figure.
    """

    kind: ChartKind = field(validator=attrs.validators.in_(CHART_KINDS))
    title: str
    series: tuple[Series, ...] = field(converter=_all_series)
    categories: tuple[str, ...] = field(default=(), converter=_texts)
    x_label: str = ""
    y_label: str = ""
    unit: str = ""
    #: A sentence under the chart: what it shows and how to read it.
    caption: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.series:
            raise ValueError(f"figure {self.title!r} has no series")
        if self.kind != "scatter":
            for series in self.series:
                if len(series.values) != len(self.categories):
                    raise ValueError(
                        f"figure {self.title!r}: series {series.name!r} has "
                        f"{len(series.values)} values for {len(self.categories)} categories"
                    )
        if self.kind == "sankey":
            for series in self.series:
                widths = {v for v in series.values if v is not None}
                if len(widths) > 1 or any(w < 0 for w in widths):
                    raise ValueError(
                        f"figure {self.title!r}: band {series.name!r} must have one width, not "
                        f"negative, at every column it passes (got {sorted(widths)})"
                    )

    def as_table(self) -> Table:
        """A Sankey-like figure's bands as a table: one row per band, its node in each column
        ("" where it skips one) and its width; a hidden band (a small group) shows its marker.
        Core prints this for the figure at a terminal and adds it to CSV and JSON output."""
        if self.kind != "sankey":
            raise ValueError(f"figure {self.title!r}: only a sankey figure reads as one table")
        rows = []
        for series in self.series:
            nodes = []
            for index, value in enumerate(series.values):
                marked = bool(series.marker(index))
                passes = value is not None or marked
                label = series.labels[index] if series.labels else self.categories[index]
                nodes.append(label if passes else "")
            width = next((v for v in series.values if v is not None), None)
            shown: object = next((m for m in series.hidden if m), None) or _number(width)
            rows.append((series.name, *nodes, shown))
        value_column = self.unit or "value"
        while value_column in self.categories:
            value_column += "_"
        band_column = "band"
        while band_column in (*self.categories, value_column):
            band_column += "_"
        return Table(
            columns=(band_column, *self.categories, value_column),
            rows=tuple(rows),
            title=self.title,
        )

    @classmethod
    def histogram(
        cls,
        title: str,
        counts: Mapping[str, int],
        *,
        x_label: str = "",
        y_label: str = "customers",
        caption: str = "",
    ) -> Figure:
        """A histogram of customers per bin, from bin label to count (bins in display order)."""
        values = tuple(int(v) for v in counts.values())
        return cls(
            kind="histogram",
            title=title,
            categories=tuple(counts),
            series=(Series(name=y_label, values=values, customers=values),),
            x_label=x_label,
            y_label=y_label,
            unit="customers",
            caption=caption,
        )


@frozen
class Text:
    """A short paragraph of plain text (never markup: every renderer escapes it)."""

    text: str


Block = Table | Figure | Text


@frozen(kw_only=True)
class Section:
    """A titled part of a report: tables, texts and figures in reading order."""

    title: str
    blocks: tuple[Block, ...] = field(converter=_blocks)
    #: Which report and plugin it came from; set by core when the report is built.
    report: str = ""
    plugin: str = ""

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Table))

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Figure))


@frozen(kw_only=True)
class RunHeader:
    """What a document says about the run it describes (its header in HTML)."""

    as_of: str
    config_hash: str
    plugins: Mapping[str, str]
    run_id: int | None
    customers: int


@frozen(kw_only=True)
class Document:
    """A whole report: the run it describes and its sections, in order."""

    title: str
    header: RunHeader
    sections: tuple[Section, ...] = field(converter=_sections)
    #: The `[reports] min_group_size` applied (0: not applied yet).
    min_group_size: int = 0

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(f for s in self.sections for f in s.figures)
