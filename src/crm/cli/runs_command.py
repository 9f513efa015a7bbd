"""`crm runs`: the stored segmentation runs, to reproduce or compare them."""

from __future__ import annotations

from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.core.components import Table


@click.command()
@click.option("--last", default=20, show_default=True, help="How many runs, newest first.")
@output_options
@click.pass_context
def runs(ctx: click.Context, last: int, fmt: str, output: Path | None) -> None:
    """List stored runs: when, analysis date, customers, config hash and plugin versions.

    Two runs with the same analysis date, config hash and plugin versions over the same data give
    the same segments.
    """
    table = Table(
        columns=("run", "created_at", "as_of", "customers", "config_hash", "plugins"),
        rows=tuple(
            (
                run.id,
                run.created_at.isoformat(timespec="seconds"),
                run.as_of,
                run.customers,
                run.config_hash[:12],
                ", ".join(f"{name} {version}" for name, version in sorted(run.plugins.items())),
            )
            for run in get_app(ctx).project.runs(limit=last)
        ),
        title="Runs",
    )
    emit(table, fmt, output)
