"""The Sankey-like chart kind: bands of customers through columns, as SVG and as a table.

Three paths to a purchase through the columns (touch 1, touch 2, purchase): 30 customers who
went straight to the purchase, 20 via an e-mail then a visit, 3 via a visit alone (a small
group, hidden at the default min_group_size of 5).
"""

from __future__ import annotations

import io
import json
import re

import pytest

from crm.cli.document_output import render_json_tables
from crm.cli.terminal import figure_lines
from crm.core.rendering.charts import figure_svg
from crm.core.report_model import Document, Figure, RunHeader, Section, Series, Table
from crm.core.small_groups import suppress_document


def _paths() -> Figure:
    def band(name: str, nodes: tuple[str, ...], customers: int) -> Series:
        return Series(
            name=name,
            values=tuple(customers if node else None for node in nodes),
            customers=tuple(customers if node else 0 for node in nodes),
            labels=nodes,
        )

    return Figure(
        kind="sankey",
        title="Paths to purchase",
        categories=("touch 1", "touch 2", "purchase"),
        series=(
            band("direct", ("", "", "purchase"), 30),
            band("mail, visit", ("e-mail", "visit", "purchase"), 20),
            band("visit", ("", "visit", "purchase"), 3),
        ),
        unit="customers",
    )


def _suppressed(figure: Figure) -> tuple[Document, Figure]:
    header = RunHeader(as_of="2024-01-01", config_hash="x", plugins={}, run_id=None, customers=53)
    document = Document(
        title="t",
        header=header,
        sections=(Section(title="Paths", blocks=(figure,), report="paths"),),
    )
    shown = suppress_document(document, 5)
    return shown, shown.sections[0].figures[0]


def test_a_band_has_one_width_wherever_it_passes() -> None:
    with pytest.raises(ValueError, match="band 'shrinks' must have one width"):
        Figure(
            kind="sankey",
            title="t",
            categories=("a", "b"),
            series=(Series(name="shrinks", values=(10, 7)),),
        )


def test_the_bands_as_a_table_with_the_small_group_hidden() -> None:
    _, figure = _suppressed(_paths())
    table = figure.as_table()
    assert table.columns == ("band", "touch 1", "touch 2", "purchase", "customers")
    assert table.rows == (
        ("direct", "", "", "purchase", 30),
        ("mail, visit", "e-mail", "visit", "purchase", 20),
        ("visit", "", "visit", "purchase", "<5"),
    )


def test_the_svg_draws_nodes_with_the_customers_of_the_bands_shown() -> None:
    _, figure = _suppressed(_paths())
    svg = figure_svg(figure)
    assert ">Paths to purchase<" in svg
    # the hidden band (3 customers) is not drawn, so its nodes do not count it
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for label in ("e-mail 20", "visit 20", "purchase 50", "touch 1", "touch 2", "purchase"):
        assert label in texts, (label, texts)
    assert "purchase 53" not in texts and "visit 23" not in texts
    # one ribbon per pair of columns a drawn band passes: mail > visit > purchase is two
    assert svg.count("opacity: 0.45") == 2


def test_a_terminal_csv_and_json_show_the_figure_as_its_table() -> None:
    document, figure = _suppressed(_paths())
    lines = figure_lines(figure, 80)
    assert all(len(line) <= 80 for line in lines)
    assert any("mail, visit" in line and "e-mail" in line and "20" in line for line in lines)
    assert any(line.startswith("visit") and line.rstrip().endswith("<5") for line in lines)
    stream = io.StringIO()
    render_json_tables(document, stream)
    assert json.loads(stream.getvalue())[0] == {
        "band": "direct", "touch 1": "", "touch 2": "", "purchase": "purchase", "customers": 30,
    }  # fmt: skip


def test_only_a_sankey_figure_reads_as_one_table() -> None:
    bars = Figure(kind="bar", title="t", categories=("a",), series=(Series(name="s", values=(1,)),))
    with pytest.raises(ValueError, match="only a sankey figure"):
        bars.as_table()
    assert isinstance(_paths().as_table(), Table)
