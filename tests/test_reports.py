"""The report model and its renderers: small groups, the old report contract, HTML safety,
reproducible SVG, and the drawing library staying out of commands that do not draw."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from crm import ReportSpec, Table, hookimpl
from crm.core.config import parse_config
from crm.core.errors import PluginError
from crm.core.project import Project
from crm.core.rendering.charts import figure_svg
from crm.core.rendering.html import render_html
from crm.core.report_building import LegacyReportWarning, takes_the_run
from crm.core.report_model import Document, Figure, RunHeader, Section, Series, Text
from crm.core.small_groups import suppress_document, suppress_table

HEADER = RunHeader(
    as_of="2024-03-04", config_hash="abc", plugins={"crm": "0.1.0"}, run_id=None, customers=10
)


def test_rows_of_small_groups_hide_their_numbers_but_not_their_names() -> None:
    table = Table(
        columns=("segment", "customers", "revenue", "description"),
        rows=(("Big", 4, 400.0, "few"), ("Small", 5, 50.0, "many"), ("Empty", 0, 0.0, "")),
        customers_column="customers",
    )
    hidden = suppress_table(table, 5)
    assert hidden.rows == (
        ("Big", "<5", "<5", "few"),  # 4 < 5: count and revenue hidden, texts kept
        ("Small", 5, 50.0, "many"),  # exactly 5 is shown
        ("Empty", 0, 0.0, ""),  # nobody names no one
    )
    assert suppress_table(table, 1) == table


def test_a_table_that_counts_no_customers_is_left_alone() -> None:
    table = Table(columns=("score", "value"), rows=((1, 2),))
    assert suppress_table(table, 5) == table


def test_bars_and_cells_of_small_groups_become_marked_gaps() -> None:
    figure = Figure(
        kind="heatmap",
        title="grid",
        categories=("a", "b", "c"),
        series=(Series(name="r", values=(3, 7, 0), customers=(3, 7, 0), labels=("x", "y", "z")),),
    )
    document = Document(title="t", header=HEADER, sections=(Section(title="s", blocks=(figure,)),))
    hidden = suppress_document(document, 5)
    (series,) = hidden.sections[0].figures[0].series
    assert series.values == (None, 7.0, 0.0)
    assert series.hidden == ("<5", "", "")
    assert isinstance(hidden.sections[0].blocks[-1], Text)  # the note that says so
    assert hidden.min_group_size == 5


@pytest.mark.parametrize(
    ("build", "legacy"),
    [
        (lambda result: None, True),
        (lambda context: None, False),
        (lambda r, extra: None, False),
    ],
)
def test_the_old_one_argument_build_is_recognised(build: Any, legacy: bool) -> None:
    assert takes_the_run(build) is legacy


class OldReport:
    """A report written for crm 0.1: build(result) -> Table."""

    def build(self, result: Any) -> Table:
        return Table(columns=("customers",), rows=((len(result.facts),),), title="Old")


class OldReportPlugin:
    @hookimpl
    def register_reports(self, register: Any) -> None:
        register(ReportSpec(name="old", factory=lambda _o: OldReport()))


class BrokenReport:
    def build(self, context: Any) -> str:
        return "not a section"


class BrokenReportPlugin:
    @hookimpl
    def register_reports(self, register: Any) -> None:
        register(ReportSpec(name="broken", factory=lambda _o: BrokenReport()))


def _project(tmp_path: Path, *plugins: tuple[str, object]) -> Project:
    config = parse_config(
        {"database": {"url": f"sqlite:///{tmp_path / 'crm.db'}"}, "reports": {"min_group_size": 1}}
    )
    return Project(config, extra_plugins=plugins)


def test_an_old_report_still_works_with_a_warning(tmp_path: Path, seed: Any) -> None:
    project = _project(tmp_path, ("old", OldReportPlugin()))
    seed(project.engine, [("a", "2024-03-01T10:00:00", "1.00"), ("b", "2024-03-01T11:00:00", "2")])
    with pytest.warns(LegacyReportWarning, match="plugin 'old': report 'old' uses build"):
        document = project.report(["old"])
    (section,) = document.sections
    assert section.title == "Old"
    assert section.tables[0].rows == ((2,),)


def test_a_report_returning_something_else_blames_its_plugin(tmp_path: Path, seed: Any) -> None:
    project = _project(tmp_path, ("broken", BrokenReportPlugin()))
    seed(project.engine, [("a", "2024-03-01T10:00:00", "1.00")])
    with pytest.raises(PluginError, match="report 'broken' returned str") as error:
        project.report(["broken"])
    assert error.value.plugin == "broken"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)


def test_data_in_the_html_report_is_text_never_markup() -> None:
    evil = '<script>alert("x")</script><img src=http://example.com/x.png>'
    figure = Figure(
        kind="bar", title=evil, categories=(evil, "b"), series=(Series(name=evil, values=(1, 2)),)
    )
    table = Table(columns=(evil,), rows=((evil,),), title=evil)
    document = Document(
        title=evil,
        header=RunHeader(
            as_of="2024-01-01", config_hash=evil, plugins={evil: evil}, run_id=1, customers=1
        ),
        sections=(Section(title=evil, blocks=(table, Text(evil), figure), report=evil),),
    )
    html = render_html(document)
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags
    assert "img" not in parser.tags
    assert "&lt;script&gt;" in html


def test_the_same_figure_draws_the_same_svg_without_a_date() -> None:
    figure = Figure(
        kind="histogram",
        title="F scores",
        categories=("1", "2"),
        series=(Series(name="customers", values=(3, 4)),),
    )
    first, second = figure_svg(figure), figure_svg(figure)
    assert first == second
    assert first.startswith("<svg") and "<dc:date>" not in first
    assert ">F scores<" in first  # text stays text (svg.fonttype = none)


@pytest.mark.parametrize("args", [["--help"], ["segment", "--no-store", "-f", "csv"]])
def test_commands_that_do_not_draw_never_import_matplotlib(
    args: list[str], tmp_path: Path, seed: Any
) -> None:
    from crm.core.database import ensure_schema, make_engine

    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    ensure_schema(engine)
    seed(engine, [("a", "2024-03-01T10:00:00", "1.00")])
    engine.dispose()
    code = (
        "import sys\nfrom crm.cli import cli\n"
        f"try:\n    cli({args!r}, prog_name='crm')\nexcept SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_report_example_in_the_plugin_guide_builds(tmp_path: Path, seed: Any) -> None:
    import types

    from tests.conftest import BigSpendersPlugin, SpendPlugin
    from tests.test_docs import doc_sections, python_blocks

    example = types.ModuleType("docs_report_example")
    block = python_blocks(doc_sections()["register_reports(register)"])[0]
    exec(compile(block, "docs/plugins.md (register_reports)", "exec"), example.__dict__)
    project = _project(
        tmp_path, ("spend", SpendPlugin()), ("size", BigSpendersPlugin()), ("sizes", example)
    )
    seed(project.engine, [("a", "2024-03-01T10:00:00", "150"), ("b", "2024-03-01T11:00:00", "2")])
    (section,) = project.report(["segment-sizes"]).sections
    assert section.tables[0].rows == (("Big", 1), ("Small", 1))
    assert section.figures[0].series[0].values == (1.0, 1.0)


def _figure(kind: str) -> Figure:
    two = (
        Series(name="first", values=(1, 2, None), x=(0.5, 1.5, 2.5), hidden=("", "", "<5")),
        Series(name="second", values=(3, 1, 2), x=(1.0, 2.0, 3.0), labels=("a", "b", "c")),
    )
    return Figure(
        kind=kind,  # type: ignore[arg-type]
        title=f"A {kind} chart",
        categories=("x", "y", "z"),
        series=two[:1] if kind == "histogram" else two,
        x_label="things",
        y_label="amount",
        unit="EUR",
    )


@pytest.mark.parametrize("kind", ["bar", "stacked_bar", "line", "histogram", "heatmap", "scatter"])
def test_every_chart_kind_draws_its_title_and_axis_labels(kind: str) -> None:
    from crm.cli.terminal import figure_lines

    svg = figure_svg(_figure(kind))
    assert f">A {kind} chart<" in svg
    if kind != "heatmap":
        assert "amount (EUR)" in svg  # the value axis names its unit
    if kind != "scatter":  # a hidden small group is marked where its value would be
        assert "&lt;5" in svg
    lines = figure_lines(_figure(kind), 80)
    assert lines[0].startswith(f"A {kind} chart")
    assert all(len(line) <= 80 for line in lines)


def test_a_customers_column_that_is_not_a_column_is_refused() -> None:
    with pytest.raises(ValueError, match="customers_column 'people' is not one of its columns"):
        Table(columns=("segment", "customers"), rows=(), customers_column="people")
