"""The segment summary laid out for a person at 80 columns.

`crm segment --format table` showed every column of the summary in one table: at 80 columns
that was 231 lines for 19 segments, numbers split across lines. For people the summary is now
one table per segmentation with the columns a person reads first (segment, customers, share,
revenue share) and as many per-segment means as fit the width, followed by what each segment
means and what to do about it. csv and json keep every column: the output contract is unchanged.

Which means come first, for each segmentation: those of its own scorer (the scorer it is named
after: rfm's beside the rfm segments, clv's beside clv_tier), then those of the scorers of the
headline segmentations (`SegmentationSpec.headline`: rfm's recency, frequency and monetary are
what a person reads first about any segment), then the others in registration order. Without
the headline step a segmentation with no scorer of its own (a funnel stage, a rule list) showed
whichever scorer registered first, so a plugin with many days or count metrics crowded out RFM.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

from crm.cli.output import printable
from crm.cli.terminal import BAR_CELLS, cell_text, console, is_number, rich_table
from crm.core.components import Table

#: Columns of the summary that are always shown, in this order, with their headers.
CORE_COLUMNS = (
    ("segment", "segment"),
    ("customers", "customers"),
    ("share", "share"),
    ("revenue_share", "revenue\nshare"),
)
#: The share shown with a bar (one bar column keeps the most telling means inside 80 columns).
BAR_COLUMNS = frozenset({"share"})
#: Spaces between columns.
GAP = 1


def _mean_header(column: str, all_means: Sequence[str]) -> str:
    metric = column.removeprefix("mean_")
    short = metric.rsplit(".", 1)[-1]
    clash = sum(m.removeprefix("mean_").rsplit(".", 1)[-1] == short for m in all_means) > 1
    return f"mean\n{metric if clash else short}"


def _mean_value(value: Any) -> Any:
    """Means are read at a glance: money in whole units, other means to one decimal."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1))
    if isinstance(value, float):
        return round(value, 1)
    return value


def _width(header: str, values: Sequence[Any], share: bool, with_bar: bool = False) -> int:
    longest = max((len(line) for line in header.split("\n")), default=0)
    share_width = 6 + (1 + BAR_CELLS if with_bar else 0)
    cells = [share_width if share and is_number(v) else len(cell_text(v)) for v in values]
    return max([longest, *cells]) + GAP


def _title(segmentation: object, counts: Sequence[object]) -> str:
    """`rfm: 2,000 customers`; just the name where a small group is hidden (`<5`)."""
    if all(isinstance(c, int) for c in counts):
        return f"{segmentation}: {sum(c for c in counts if isinstance(c, int)):,} customers"
    return str(segmentation)


def is_summary(table: Table) -> bool:
    """Whether `table` has the shape of the segment summary (`crm.core.reports`)."""
    return {"segmentation", "segment", "customers", "share"} <= set(table.columns)


def _own_metric(segmentation: str, mean: str) -> bool:
    scorer = mean.removeprefix("mean_").split(".", 1)[0]
    return segmentation == scorer or segmentation.startswith(scorer + "_")


def _precedence(segmentation: str, mean: str, headline: Sequence[str]) -> int:
    """0: the segmentation's own scorer, 1: a headline segmentation's scorer, 2: any other."""
    if _own_metric(segmentation, mean):
        return 0
    return 1 if any(_own_metric(name, mean) for name in headline) else 2


def compact_tables(summary: Table, width: int, headline: Sequence[str] = ()) -> list[Table]:
    """One table per segmentation: the core columns plus the means that fit in `width`, chosen
    in the order of `_precedence` (`headline`: the headline segmentations' names)."""
    index = {name: i for i, name in enumerate(summary.columns)}
    means = [c for c in summary.columns if c.startswith("mean_")]
    tables = []
    for segmentation in dict.fromkeys(row[index["segmentation"]] for row in summary.rows):
        rows = [row for row in summary.rows if row[index["segmentation"]] == segmentation]
        columns = [(name, header) for name, header in CORE_COLUMNS if name in index]
        used = sum(
            _width(h, [r[index[n]] for r in rows], n.endswith("share"), n in BAR_COLUMNS)
            for n, h in columns
        )
        # own scorer, headline scorers, then the rest (module docstring); sorted is stable
        for mean in sorted(means, key=lambda m: _precedence(str(segmentation), m, headline)):
            header = _mean_header(mean, means)
            needed = _width(header, [_mean_value(r[index[mean]]) for r in rows], False)
            if used + needed <= width:
                columns.append((mean, header))
                used += needed
        shown = tuple(
            tuple(
                _mean_value(row[index[name]]) if name in means else row[index[name]]
                for name, _ in columns
            )
            for row in rows
        )
        tables.append(
            Table(
                columns=tuple(header for _, header in columns),
                rows=shown,
                title=_title(segmentation, [r[index["customers"]] for r in rows]),
            )
        )
    return tables


def meaning_tables(summary: Table) -> list[Table]:
    """Per segmentation, each segment's description and suggested action (where it has one)."""
    index = {name: i for i, name in enumerate(summary.columns)}
    if "description" not in index or "action" not in index:
        return []
    tables = []
    for segmentation in dict.fromkeys(row[index["segmentation"]] for row in summary.rows):
        rows = tuple(
            (row[index["segment"]], row[index["description"]], row[index["action"]])
            for row in summary.rows
            if row[index["segmentation"]] == segmentation
            and (row[index["description"]] or row[index["action"]])
        )
        if rows:
            tables.append(
                Table(
                    columns=("segment", "what it means", "what to do"),
                    rows=rows,
                    title=f"{segmentation}: what the segments mean",
                )
            )
    return tables


def render_summary(
    summary: Table,
    stream: IO[str],
    *,
    width: int,
    wide: bool = False,
    headline: Sequence[str] = (),
) -> None:
    """The summary for people: compact tables and their meanings, or with `wide` everything in
    one table at the terminal's width. `headline`: the headline segmentations' names."""
    out = console(stream, width)
    if wide:
        out.print(rich_table(summary))
        return
    if summary.title:
        out.print(printable(summary.title))
    for table in compact_tables(summary, width, headline):
        out.print("")
        out.print(rich_table(table, gap=GAP, bars=BAR_COLUMNS))
    for table in meaning_tables(summary):
        out.print("")
        out.print(rich_table(table, gap=GAP))
