"""`crm report [NAME ...]`: reports over a fresh run (not stored) or a stored one (`--run N`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.document_output import document_options, emit_report
from crm.cli.output import emit
from crm.core.components import Table


@click.command()
@click.argument("names", metavar="[NAME ...]", nargs=-1)
@document_options
@click.pass_context
def report(
    ctx: click.Context,
    names: tuple[str, ...],
    run_id: int | None,
    as_of: date | None,
    fmt: str,
    output: Path | None,
    table: str | None,
) -> None:
    """Print reports NAME ...; without NAME, list the reports the enabled plugins offer, or
    with --format html write the whole report (every section of every enabled plugin).

    Groups of fewer than `[reports] min_group_size` customers (default 5) are hidden.
    """
    project = get_app(ctx).project
    if not names and fmt != "html":
        rows = tuple(
            (item.spec.name, item.plugin, item.spec.description)
            for item in sorted(project.registry.reports, key=lambda item: item.spec.name)
        )
        listing_format = fmt if fmt in ("csv", "json") else "table"
        emit(
            Table(("report", "plugin", "description"), rows, title="Reports"),
            listing_format,
            output,
        )
        return
    document = project.report(names, run_id=run_id, as_of=as_of)
    emit_report(document, fmt, output, table=table, headline=project.headline_segmentations())
