"""A Sankey-like figure (`kind="sankey"`) drawn on matplotlib axes: bands between columns.

The layout is fixed, so the same figure gives the same picture: each category is a column at
x = 0, 1, 2, ...; in a column the nodes are stacked top down in the order their labels first
appear in the series, with a small gap between nodes; in a node the bands are stacked in series
order. A node is drawn as the stack of its bands' slots in the bands' colours (so a band that
passes one column only still shows), and a band between two columns it passes as a ribbon of two
cubic curves, as wide as its customers at both ends. Hidden bands (small groups) are not drawn.
"""

from __future__ import annotations

import itertools
from typing import Any

from crm.core.report_model import Figure

#: Width of a node in x units (columns are 1 apart), and the gap between nodes, as a share of the
#: fullest column.
NODE_WIDTH = 0.06
NODE_GAP = 0.04
#: Room to the right of the last column for its node labels, in x units.
LABEL_ROOM = 0.55


def _node_of(figure: Figure, band: int, column: int) -> str:
    series = figure.series[band]
    return series.labels[column] if series.labels else figure.categories[column]


def _slots(figure: Figure) -> tuple[dict[tuple[int, int], tuple[float, float]], list[Any], float]:
    """Each drawn band's (top, bottom) in each column it passes, the nodes as (column, label,
    top, bottom, customers), and the height of the fullest column."""
    drawn = [
        i
        for i, series in enumerate(figure.series)
        if not any(series.hidden) and any(v for v in series.values if v is not None)
    ]
    columns: list[dict[str, list[int]]] = []
    for column in range(len(figure.categories)):
        nodes: dict[str, list[int]] = {}
        for band in drawn:
            if figure.series[band].values[column] is not None:
                nodes.setdefault(_node_of(figure, band, column), []).append(band)
        columns.append(nodes)

    def width(band: int, column: int) -> float:
        return float(figure.series[band].values[column] or 0.0)

    totals = [
        sum(width(b, c) for bands in n.values() for b in bands) for c, n in enumerate(columns)
    ]
    fullest = max(totals, default=0.0)
    gap = NODE_GAP * fullest
    heights = [t + gap * max(0, len(n) - 1) for t, n in zip(totals, columns, strict=True)]
    tallest = max(heights, default=0.0)
    slots: dict[tuple[int, int], tuple[float, float]] = {}
    nodes_drawn: list[Any] = []
    for column, nodes in enumerate(columns):
        top = (tallest + heights[column]) / 2  # columns centred on one another
        for label, bands in nodes.items():
            node_top = top
            for band in bands:
                slots[(band, column)] = (top, top - width(band, column))
                top -= width(band, column)
            nodes_drawn.append((column, label, node_top, top, node_top - top))
            top -= gap
    return slots, nodes_drawn, tallest


def draw_sankey(axes: Any, figure: Figure, palette: tuple[str, ...]) -> None:
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path

    slots, nodes, tallest = _slots(figure)
    half = NODE_WIDTH / 2
    for band in range(len(figure.series)):
        colour = palette[band % len(palette)]
        passed = sorted(column for (b, column) in slots if b == band)
        for a, b in itertools.pairwise(passed):
            (top_a, bottom_a), (top_b, bottom_b) = slots[(band, a)], slots[(band, b)]
            x0, x1 = a + half, b - half
            middle = (x0 + x1) / 2
            ribbon = Path(
                [
                    (x0, top_a), (middle, top_a), (middle, top_b), (x1, top_b),
                    (x1, bottom_b), (middle, bottom_b), (middle, bottom_a), (x0, bottom_a),
                    (x0, top_a),
                ],
                [Path.MOVETO, *[Path.CURVE4] * 3, Path.LINETO, *[Path.CURVE4] * 3, Path.CLOSEPOLY],
            )  # fmt: skip
            axes.add_patch(PathPatch(ribbon, facecolor=colour, edgecolor="none", alpha=0.45))
        for column in passed:
            top, bottom = slots[(band, column)]
            axes.add_patch(
                Rectangle((column - half, bottom), NODE_WIDTH, top - bottom, facecolor=colour)
            )
    for column, label, top, bottom, customers in nodes:
        axes.add_patch(
            Rectangle(
                (column - half, bottom), NODE_WIDTH, top - bottom, fill=False, edgecolor="#333333"
            )
        )
        axes.text(
            column + half + 0.02,
            (top + bottom) / 2,
            f"{label} {customers:,.10g}",
            fontsize=7,
            va="center",
            ha="left",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
        )
    for column, category in enumerate(figure.categories):
        axes.text(column, tallest * 1.04, category, fontsize=8, ha="center", va="bottom")
    if not nodes:
        axes.text(0.5, 0.5, "nothing to show", transform=axes.transAxes, ha="center")
    # Room on the left for half of the first column's title, which is centred on the column.
    axes.set_xlim(-0.3, len(figure.categories) - 1 + LABEL_ROOM)
    axes.set_ylim(-0.02 * tallest, tallest * 1.12 or 1.0)
    axes.set_axis_off()
