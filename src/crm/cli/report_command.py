"""`crm report NAME`: run a registered report over a fresh segmentation (nothing is stored)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.cli.segment_command import parse_date
from crm.core.components import Table


@click.command()
@click.argument("name", required=False)
@click.option(
    "--as-of",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Analysis date. Default: the day after the last interaction.",
)
@output_options
@click.pass_context
def report(
    ctx: click.Context, name: str | None, as_of: date | None, fmt: str, output: Path | None
) -> None:
    """Print report NAME; without NAME, list the reports the enabled plugins offer."""
    project = get_app(ctx).project
    if name is None:
        rows = tuple(
            (item.spec.name, item.plugin, item.spec.description)
            for item in sorted(project.registry.reports, key=lambda item: item.spec.name)
        )
        emit(Table(("report", "plugin", "description"), rows, title="Reports"), fmt, output)
        return
    registered = project.registry.reports[name]
    built = registered.spec.factory(project.options.get(registered.plugin))
    emit(built.build(project.segment(as_of=as_of, store=False)), fmt, output)
