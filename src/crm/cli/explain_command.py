"""`crm segments explain NAME`: why a customer is where they are in segmentation NAME.

Renders the report a plugin registered with `ReportSpec(explains=NAME)` (for RFM, `rfm-explain`:
the segment map and the cut points of the run) over the current data. The same report is
`crm report rfm-explain`; this command finds it by the segmentation's name.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.document_output import document_options, emit_report
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
@document_options
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
    project = get_app(ctx).project
    document = explain_segmentation(project, segmentation, run_id=run_id, as_of=as_of)
    emit_report(document, fmt, output, table=table, headline=project.headline_segmentations())
