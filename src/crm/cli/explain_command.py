"""`explain NAME`: why a customer is where they are in segmentation NAME.

Renders the report a plugin registered with `ReportSpec(explains=NAME)` (for RFM, `rfm-explain`:
the segment map and the cut points of the run) over the current data. Kept in a module of its
own so it can join the `crm segments` group as `crm segments explain NAME`; until then the same
report is `crm report rfm-explain`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.document_output import DOCUMENT_FORMATS, emit_report
from crm.cli.segment_command import parse_date
from crm.core.errors import ConfigError
from crm.core.project import Project
from crm.core.report_model import Document


def explain_segmentation(
    project: Project, segmentation: str, *, run_id: int | None = None, as_of: date | None = None
) -> Document:
    """The document explaining `segmentation`: its plugin's `explains` report over the run."""
    reports = [item for item in project.registry.reports if item.spec.explains == segmentation]
    if not reports:
        explained = sorted({i.spec.explains for i in project.registry.reports if i.spec.explains})
        raise ConfigError(
            f"no enabled plugin explains segmentation {segmentation!r} (explained: "
            f"{', '.join(explained) or 'none'})"
        )
    return project.report([item.spec.name for item in reports], run_id=run_id, as_of=as_of)


@click.command()
@click.argument("segmentation")
@click.option("--run", "run_id", type=int, metavar="N", help="Explain stored run N.")
@click.option(
    "--as-of",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Analysis date of the fresh run. Default: the day after the last interaction.",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(DOCUMENT_FORMATS),
    default="table",
    show_default=True,
    help="table for people; csv and json (tables only) for scripts; html with charts.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--table", "table", metavar="REPORT.TABLE", help="csv and json: only this table.")
@click.pass_context
def explain(
    ctx: click.Context,
    segmentation: str,
    run_id: int | None,
    as_of: date | None,
    fmt: str,
    output: Path | None,
    table: str | None,
) -> None:
    """Explain SEGMENTATION (e.g. rfm): its segment map and the cut points of the run."""
    document = explain_segmentation(get_app(ctx).project, segmentation, run_id=run_id, as_of=as_of)
    emit_report(document, fmt, output, table=table)
