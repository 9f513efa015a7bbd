"""`crm plugins`: what is installed, what is enabled, which hooks each implements."""

from __future__ import annotations

from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.core.components import Table


@click.command()
@output_options
@click.pass_context
def plugins(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """List installed plugins: name, version, origin, enabled, hooks."""
    infos = get_app(ctx).project.plugins()
    table = Table(
        columns=("name", "version", "origin", "enabled", "hooks", "error"),
        rows=tuple(
            (
                info.name,
                info.version or "",
                "built-in" if info.bundled else "third-party",
                info.enabled,
                info.hooks,
                info.error or "",
            )
            for info in infos
        ),
        title="Plugins",
    )
    emit(table, fmt, output)
