"""The RFM report sections: the R x FM grid as a heat map, the score distributions, the cut points.

Everything is computed from the run in the report context (fresh or stored), so a report on an
old run shows that run's cut points. Core draws the figures and hides small groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from crm import Table
from crm.core.components import ReportContext
from crm.core.report_model import Figure, Section, Series, Text
from crm_rfm.options import RfmOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm.core.pipeline import SegmentationResult
    from crm.core.segment_map import SegmentMap

SCORES = (("r", "recency", "days"), ("f", "frequency", "purchases"), ("m", "monetary", "money"))


def _column(run: SegmentationResult, metric: str) -> NDArray[np.float64]:
    return np.asarray(run.scores[f"rfm.{metric}"], dtype=np.float64)


def grid_counts(run: SegmentationResult, axes: Sequence[str], levels: Sequence[int]) -> Any:
    """Customers per cell of a two-axis grid: `counts[i, j]` has score i+1 on the first axis and
    j+1 on the second. Customers without scores are not counted."""
    first, second = (np.asarray(run.scores[a], dtype=np.float64) for a in axes)
    scored = ~(np.isnan(first) | np.isnan(second))
    flat = (first[scored].astype(np.int64) - 1) * levels[1] + (second[scored].astype(np.int64) - 1)
    return np.bincount(flat, minlength=levels[0] * levels[1]).reshape(levels[0], levels[1])


def grid_section(run: SegmentationResult, segment_map: SegmentMap) -> Section:
    """The segment map's grid as a heat map: each cell names its segment and its customers."""
    if len(segment_map.axes) != 2:
        return Section(
            title="RFM grid",
            blocks=(Text(f"The segment map has {len(segment_map.axes)} axes; no grid to draw."),),
        )
    rows_axis, columns_axis = segment_map.axes
    levels = segment_map.levels
    counts = grid_counts(run, segment_map.axes, levels)
    row_label = rows_axis.rsplit(".", 1)[-1].upper()
    column_label = columns_axis.rsplit(".", 1)[-1].upper()
    series = []
    table_rows = []
    for score in range(levels[0], 0, -1):  # best recency on top, as the grid is usually drawn
        values = [int(counts[score - 1, c]) for c in range(levels[1])]
        names = [segment_map.segment_at(score, c + 1).name for c in range(levels[1])]
        series.append(
            Series(
                name=f"{row_label} {score}",
                values=values,
                customers=values,
                labels=names,
            )
        )
        table_rows += [(score, c + 1, names[c], values[c]) for c in range(levels[1])]
    figure = Figure(
        kind="heatmap",
        title=f"Customers per {row_label} x {column_label} cell, with the cell's segment",
        categories=[f"{column_label} {c}" for c in range(1, levels[1] + 1)],
        series=series,
        x_label=f"{column_label} score",
        y_label=f"{row_label} score",
        unit="customers",
        caption="Darker cells hold more customers. Each cell shows the segment the map gives it.",
    )
    table = Table(
        columns=(row_label.lower(), column_label.lower(), "segment", "customers"),
        rows=tuple(table_rows),
        title="Customers per cell",
        name="grid",
        customers_column="customers",
    )
    return Section(title="RFM grid", blocks=(figure, table))


def distribution_section(run: SegmentationResult, bins: int) -> Section:
    """How many customers got each score, per score."""
    figures = []
    for metric, name, _unit in SCORES:
        scores = _column(run, metric)
        known = scores[~np.isnan(scores)].astype(np.int64)
        counts = np.bincount(known, minlength=bins + 1)[1:]
        figures.append(
            Figure.histogram(
                f"{metric.upper()} ({name}) scores",
                {str(s): int(counts[s - 1]) for s in range(1, bins + 1)},
                x_label=f"{metric.upper()} score",
                caption=f"Customers per {name} score; customers who never purchased have none.",
            )
        )
    return Section(title="Score distributions", blocks=tuple(figures))


def _shown(kind: str, value: float) -> Any:
    if kind == "money":
        return (Decimal(round(value)) / 100).quantize(Decimal("0.01"))
    return round(value)


def cut_points_table(run: SegmentationResult, bins: int) -> Table:
    """Per metric and score, the lowest and highest raw value among the customers who got that
    score in this run: the cut points the run used, read off its own data (quantile cut points
    move from run to run). A score held by a small group is hidden like any small group."""
    rows = []
    for metric, raw, kind in SCORES:
        scores, values = _column(run, metric), _column(run, raw)
        for score in range(1, bins + 1):
            held = values[scores == score]
            low, high = (
                (None, None)
                if held.size == 0
                else (_shown(kind, float(held.min())), _shown(kind, float(held.max())))
            )
            rows.append((metric.upper(), score, int(held.size), low, high, kind))
    return Table(
        columns=("score", "level", "customers", "from", "to", "unit"),
        rows=tuple(rows),
        title="Raw values behind each score in this run",
        name="cut_points",
        customers_column="customers",
    )


def how_scored(options: RfmOptions) -> Text:
    cuts = options.thresholds
    explicit = [n for n in ("recency", "frequency", "monetary") if getattr(cuts, n) is not None]
    method = (
        f"fixed thresholds for {', '.join(explicit)} ([rfm.thresholds]) and quantiles otherwise"
        if explicit
        else "quantiles of this run's customers"
    )
    return Text(
        f"Scores run 1..{options.bins} from {method}; monetary is {options.monetary} spend. "
        "Recency scores higher for a more recent purchase; FM = floor((F + M) / 2)."
    )


def cut_points_section(run: SegmentationResult, options: RfmOptions) -> Section:
    return Section(
        title="Cut points",
        blocks=(how_scored(options), cut_points_table(run, options.bins)),
    )


def segment_map_table(segment_map: SegmentMap) -> Table:
    """Every segment with the cells it covers, its description and its suggested action."""
    labels = [a.rsplit(".", 1)[-1].upper() for a in segment_map.axes]
    rows = tuple(
        (
            segment.name,
            "; ".join(
                " ".join(f"{label}={s}" for label, s in zip(labels, cell, strict=True))
                for cell in segment_map.cells_of(segment.name)
            ),
            segment.description,
            segment.action,
        )
        for segment in segment_map.segments
    )
    return Table(
        columns=("segment", "cells", "description", "action"),
        rows=rows,
        title="The segment map",
        name="segment_map",
    )


@frozen
class RfmReport:
    """`crm report rfm`: the grid, the score distributions and the cut points of the run."""

    options: RfmOptions

    def build(self, context: ReportContext) -> tuple[Section, ...]:
        run = context.run
        segment_map = self.options.build_segment_map()
        sections = (
            grid_section(run, segment_map),
            distribution_section(run, self.options.bins),
            cut_points_section(run, self.options),
        )
        # Extension point: once stored runs can be compared, `context.previous` holds the
        # earlier run and a migration heat map (segment of then x segment of now) goes here.
        return sections


@frozen
class RfmExplainReport:
    """`crm report rfm-explain`: why a customer is where they are (map and cut points)."""

    options: RfmOptions

    def build(self, context: ReportContext) -> tuple[Section, ...]:
        segment_map = self.options.build_segment_map()
        return (
            Section(title="RFM segment map", blocks=(segment_map_table(segment_map),)),
            cut_points_section(context.run, self.options),
        )
