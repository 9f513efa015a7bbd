"""Figures drawn as SVG with matplotlib, deterministic and without a network.

Why matplotlib: it is the most widely kept plotting library of the Python world, draws every
chart kind of the report model, and its SVG backend needs no browser, no JavaScript runtime and
no network (Vega-Lite through vl-convert would pull in a bundled Deno engine for the same result).
The output is reproducible: `svg.hashsalt` fixes the ids it generates and no date is written, so
the same document gives byte-identical SVG. Text stays text (`svg.fonttype = none`): it is
searchable in the browser and the figure's labels can be checked in tests.

matplotlib is imported inside `figure_svg` only: importing it costs about half a second, which
`crm --help` and `crm segment` must not pay.
"""

from __future__ import annotations

import io
import math
from typing import Any

from crm.core.report_model import Figure, Series

#: Colours of the series, from matplotlib's colour-blind-safe "tableau" palette.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
WIDTH_INCHES = 7.5
#: At most this many category labels under a line chart.
MAX_LINE_LABELS = 20


def _value_label(figure: Figure) -> str:
    label = figure.y_label or "value"
    return f"{label} ({figure.unit})" if figure.unit and figure.unit not in label else label


def _numbers(series: Series) -> list[float]:
    return [math.nan if v is None else v for v in series.values]


def _mark_gaps(axes: Any, series: Series, positions: list[float], horizontal: bool) -> None:
    """Write a suppressed value's marker (`<5`) where its bar would be."""
    for index, position in enumerate(positions):
        if series.marker(index):
            # at the foot of the value axis, wherever its range starts
            xy, coords = (
                ((0.005, position), ("axes fraction", "data"))
                if horizontal
                else ((position, 0.03), ("data", "axes fraction"))
            )
            axes.annotate(
                series.marker(index),
                xy,
                xycoords=coords,
                fontsize=8,
                color="#555555",
                va="center",
                ha="left" if horizontal else "center",
            )


def _bars(axes: Any, figure: Figure, stacked: bool) -> None:
    count = len(figure.categories)
    n_series = len(figure.series)
    height = 0.8 if stacked else 0.8 / n_series
    left = [0.0] * count
    for i, series in enumerate(figure.series):
        values = _numbers(series)
        if stacked:
            positions = [float(p) for p in range(count)]
            axes.barh(positions, values, height, left=left, label=series.name, color=PALETTE[i])
            left = [a + (0 if math.isnan(b) else b) for a, b in zip(left, values, strict=True)]
        else:
            positions = [p - 0.4 + height * (i + 0.5) for p in range(count)]
            axes.barh(positions, values, height, label=series.name, color=PALETTE[i % 7])
        _mark_gaps(axes, series, positions, horizontal=True)
    axes.set_yticks(range(count), figure.categories)
    axes.invert_yaxis()  # first category on top, as in the tables
    axes.set_xlabel(_value_label(figure))
    axes.set_ylabel(figure.x_label)
    if n_series > 1:
        axes.legend(frameon=False, fontsize=8)


def _histogram(axes: Any, figure: Figure) -> None:
    series = figure.series[0]
    positions = list(range(len(figure.categories)))
    axes.bar(positions, _numbers(series), 1.0, color=PALETTE[0], edgecolor="white")
    _mark_gaps(axes, series, [float(p) for p in positions], horizontal=False)
    axes.set_xticks(positions, figure.categories)
    axes.set_xlabel(figure.x_label)
    axes.set_ylabel(_value_label(figure))


def _line(axes: Any, figure: Figure) -> None:
    positions = list(range(len(figure.categories)))
    for i, series in enumerate(figure.series):
        axes.plot(positions, _numbers(series), marker="o", label=series.name, color=PALETTE[i % 7])
        _mark_gaps(axes, series, [float(p) for p in positions], horizontal=False)
    # a label on every point of a long line (52 weeks) overlaps: label every step-th point
    step = max(1, -(-len(positions) // MAX_LINE_LABELS))
    axes.set_xticks(positions[::step], figure.categories[::step])
    axes.set_xlabel(figure.x_label)
    axes.set_ylabel(_value_label(figure))
    if len(figure.series) > 1:
        axes.legend(frameon=False, fontsize=8)


def _scatter(axes: Any, figure: Figure) -> None:
    for i, series in enumerate(figure.series):
        x = list(series.x) if series.x is not None else list(range(len(series.values)))
        axes.scatter(x, _numbers(series), s=12, label=series.name, color=PALETTE[i % 7])
    axes.set_xlabel(figure.x_label)
    axes.set_ylabel(_value_label(figure))
    if len(figure.series) > 1:
        axes.legend(frameon=False, fontsize=8)


def _heatmap(axes: Any, figure: Figure, drawing: Any) -> None:
    import numpy as np

    grid = np.ma.masked_invalid(np.array([_numbers(s) for s in figure.series], dtype=float))
    image = axes.imshow(grid, cmap="Blues", aspect="auto")
    top = float(grid.max()) if grid.count() else 0.0
    for row, series in enumerate(figure.series):
        for column, text in enumerate(heatmap_cell_texts(series, figure.unit)):
            value = series.values[column]
            dark = value is not None and top > 0 and value > 0.6 * top
            axes.text(
                column,
                row,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "#222222",
            )
    axes.set_xticks(range(len(figure.categories)), figure.categories)
    axes.set_yticks(range(len(figure.series)), [s.name for s in figure.series])
    axes.set_xlabel(figure.x_label)
    axes.set_ylabel(figure.y_label)
    colorbar = drawing.colorbar(image, ax=axes)
    colorbar.set_label(figure.unit)


def heatmap_cell_texts(series: Series, unit: str) -> list[str]:
    """Each cell's label above its value (or the marker of a hidden small group)."""
    texts = []
    for index, value in enumerate(series.values):
        shown = series.marker(index) or ("" if value is None else f"{value:,.10g}")
        label = series.labels[index] if series.labels else ""
        texts.append(f"{label}\n{shown}" if label else shown)
    return texts


def _height(figure: Figure) -> float:
    if figure.kind in ("bar", "stacked_bar"):
        per_category = 0.28 * (1 if figure.kind == "stacked_bar" else len(figure.series))
        return max(2.5, 1.2 + len(figure.categories) * max(per_category, 0.3))
    if figure.kind == "heatmap":
        return max(3.0, 1.2 + 0.7 * len(figure.series))
    if figure.kind == "sankey":
        return 3.6
    return 2.8


def _set_margins(drawing: Any, figure: Figure, height: float) -> None:
    """Margins from the longest category label, in inches: a fixed layout draws the figure
    once, where matplotlib's constrained layout measures it by drawing it twice (about half
    the time of a report goes into that)."""
    if figure.kind in ("bar", "stacked_bar"):
        labels = figure.categories
    elif figure.kind == "heatmap":
        labels = tuple(s.name for s in figure.series)
    else:
        labels = ()
    label_inches = 0.07 * max((len(label) for label in labels), default=4)
    # A Sankey-like figure has no value axis: its labels sit beside its nodes.
    left = 0.25 if figure.kind == "sankey" else 0.45 + max(0.35, label_inches)
    drawing.subplots_adjust(
        left=left / WIDTH_INCHES,
        right=1 - 0.25 / WIDTH_INCHES,
        bottom=0.55 / height,
        top=1 - 0.35 / height,
    )


def figure_svg(figure: Figure, *, salt: str = "crm") -> str:
    """The figure as an `<svg>` element (no XML declaration), ready to inline into HTML."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure as Drawing

    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "font.size": 9}):
        height = _height(figure)
        drawing = Drawing(figsize=(WIDTH_INCHES, height))
        FigureCanvasSVG(drawing)
        axes = drawing.add_subplot()
        _set_margins(drawing, figure, height)
        if figure.kind in ("bar", "stacked_bar"):
            _bars(axes, figure, stacked=figure.kind == "stacked_bar")
        elif figure.kind == "histogram":
            _histogram(axes, figure)
        elif figure.kind == "line":
            _line(axes, figure)
        elif figure.kind == "scatter":
            _scatter(axes, figure)
        elif figure.kind == "sankey":
            from crm.core.rendering.sankey import draw_sankey

            draw_sankey(axes, figure, PALETTE)
        else:
            _heatmap(axes, figure, drawing)
        axes.set_title(figure.title, loc="left", fontsize=10)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        buffer = io.StringIO()
        drawing.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
