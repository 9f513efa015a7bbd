"""A report document as ONE self-contained HTML file: inline CSS and SVG, no script, no network.

The file opens offline in any browser and reads without JavaScript. A Content-Security-Policy
in the page forbids scripts and every network request, so even a browser that would fetch
something (a font, a favicon) is stopped. Every piece of data is escaped: a segment called
`<script>` shows as text, it never becomes markup.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import escape

from crm.core.components import Table
from crm.core.report_model import Document, Figure, Section, Text

#: No scripts, no requests: styles and images only from the page itself.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0 auto; max-width: 60rem;
       padding: 1rem 1.5rem 3rem; }
header { border-bottom: 2px solid #4e79a7; margin-bottom: 1rem; }
header dl { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }
header dt { color: #555; } header dd { margin: 0; font-family: ui-monospace, monospace; }
nav ol { columns: 2; } section { margin-top: 2.5rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.origin { color: #666; font-size: .85rem; font-weight: normal; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .85rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .2rem .6rem; vertical-align: top; }
td { max-width: 22rem; }
th { background: #f3f5f8; text-align: left; }
td:first-child { white-space: nowrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .85rem; }
.table-wrap { overflow-x: auto; }
"""


def _cell(value: object, number: bool = False) -> str:
    """One cell: numbers right-aligned with thousands separators, everything escaped."""
    if value is None:
        return "<td></td>"
    if isinstance(value, float):
        text = f"{value:,.6g}" if abs(value) >= 1e6 else f"{value:,.6f}".rstrip("0").rstrip(".")
        number = True
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        text, number = f"{value:,}", True
    else:
        text = str(value)
    css = ' class="number"' if number or text.startswith("<") else ""
    return f"<td{css}>{escape(text)}</td>"


def _is_share(name: str, values: list[object]) -> bool:
    numbers = [v for v in values if isinstance(v, float)]
    return name.endswith("share") and bool(numbers) and all(0 <= v <= 1 for v in numbers)


def render_table(table: Table) -> str:
    """Shares (fractions in a column named `...share`) read as percentages."""
    # `mean_rfm.recency` reads (and wraps) as `mean rfm.recency`
    head = "".join(f'<th scope="col">{escape(c.replace("_", " "))}</th>' for c in table.columns)
    shares = [
        _is_share(name, [row[i] for row in table.rows]) for i, name in enumerate(table.columns)
    ]
    body = "\n".join(
        "<tr>"
        + "".join(
            _cell(f"{100 * v:.1f}%" if share and isinstance(v, float) else v, share)
            for v, share in zip(row, shares, strict=True)
        )
        + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{escape(table.title)}</caption>" if table.title else ""
    return (
        f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


def render_figure(figure: Figure, svg: str) -> str:
    caption = f"<figcaption>{escape(figure.caption)}</figcaption>" if figure.caption else ""
    label = escape(figure.title, quote=True)
    return f'<figure class="chart" data-kind="{figure.kind}" aria-label="{label}">{svg}{caption}</figure>'


SUMMARY_KEYS = ("segmentation", "segment", "customers", "share")


def summary_tables(summary: Table) -> list[Table]:
    """The segment summary read per segmentation: its numbers in one table, what its segments
    mean and what to do in another (one wide table of everything does not read)."""
    at = {name: i for i, name in enumerate(summary.columns)}
    texts = [c for c in ("description", "action") if c in at]
    numbers = [c for c in summary.columns if c not in ("segmentation", *texts)]
    tables = []
    for segmentation in dict.fromkeys(row[at["segmentation"]] for row in summary.rows):
        rows = [r for r in summary.rows if r[at["segmentation"]] == segmentation]
        tables.append(
            Table(
                columns=tuple(numbers),
                rows=tuple(tuple(r[at[c]] for c in numbers) for r in rows),
                title=f"{segmentation}",
            )
        )
        meanings = tuple(
            (r[at["segment"]], *(r[at[c]] for c in texts))
            for r in rows
            if any(r[at[c]] for c in texts)
        )
        if meanings:
            tables.append(
                Table(
                    columns=("segment", *texts),
                    rows=meanings,
                    title=f"{segmentation}: what the segments mean",
                )
            )
    return tables


def _section(index: int, section: Section, draw: Callable[[Figure, str], str]) -> str:
    parts = []
    for number, block in enumerate(section.blocks):
        if isinstance(block, Table) and set(SUMMARY_KEYS) <= set(block.columns):
            if block.title:
                parts.append(f"<h3>{escape(block.title)}</h3>")
            parts.extend(render_table(t) for t in summary_tables(block))
        elif isinstance(block, Table):
            parts.append(render_table(block))
        elif isinstance(block, Text):
            parts.append(f"<p>{escape(block.text)}</p>")
        else:
            parts.append(render_figure(block, draw(block, f"crm-{index}-{number}")))
    origin = f"report {section.report}" + (f", plugin {section.plugin}" if section.plugin else "")
    return (
        f'<section id="section-{index}"><h2>{escape(section.title)} '
        f'<span class="origin">({escape(origin)})</span></h2>\n' + "\n".join(parts) + "</section>"
    )


def _header(document: Document) -> str:
    head = document.header
    rows = [
        ("analysis date", head.as_of),
        ("run", "not stored (a fresh run)" if head.run_id is None else str(head.run_id)),
        ("customers", str(head.customers)),
        ("config hash", head.config_hash),
        ("plugins", ", ".join(f"{n} {v}" for n, v in sorted(head.plugins.items())) or "none"),
    ]
    if document.min_group_size > 1:
        rows.append(("small groups", f"fewer than {document.min_group_size} customers hidden"))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f"<header><h1>{escape(document.title)}</h1><dl>{items}</dl></header>"


def render_html(document: Document, draw: Callable[[Figure, str], str] | None = None) -> str:
    """The whole document as one HTML page. `draw(figure, salt)` returns a figure's SVG
    (default: matplotlib, see `crm.core.rendering.charts`)."""
    if draw is None:
        from crm.core.rendering.charts import figure_svg

        def draw(figure: Figure, salt: str) -> str:
            return figure_svg(figure, salt=salt)

    toc = "".join(
        f'<li><a href="#section-{i}">{escape(s.title)}</a></li>'
        for i, s in enumerate(document.sections)
    )
    body = "\n".join(_section(i, s, draw) for i, s in enumerate(document.sections))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)} as of {escape(document.header.as_of)}</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{STYLE}</style></head>\n<body>\n{_header(document)}\n"
        f'<nav aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>\n{body}\n'
        "</body></html>\n"
    )
