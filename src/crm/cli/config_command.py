"""`crm config check|show`: validate crm.toml without touching data; print the effective config."""

from __future__ import annotations

from typing import Any

import click
import tomli_w

from crm.cli.app import get_app
from crm.core.config import converter


@click.group()
def config() -> None:
    """Check or show the project's configuration."""


@config.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Load crm.toml, its plugins, their options, segment maps and rules; change nothing.

    Exit code 0 when everything is valid, 2 for a configuration error, 3 for a plugin error: a
    cheap check for a deployment pipeline or before a cron job's first run.
    """
    from crm.core.checks import check_config

    app = get_app(ctx)
    root = ctx.find_root().command
    core_commands = set(root.commands) if isinstance(root, click.Group) else set()
    checked = check_config(
        app.config_path, extra_plugins=app.extra_plugins, reserved_commands=core_commands
    )
    for warning in checked.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{checked.source}: valid", err=True)
    lines = {
        "plugins": ", ".join(checked.plugins) or "none",
        "scorers": ", ".join(checked.scorers) or "none",
        "stage models": ", ".join(checked.stage_models) or "none",
        "segmentations": ", ".join(checked.segmentations) or "none",
        "database": checked.database,
    }
    for name, value in lines.items():
        click.echo(f"  {name}: {value}", err=True)


def _without_none(value: Any) -> Any:
    # TOML has no null: an unset option (or a table of them) is simply absent.
    if isinstance(value, dict):
        kept = {k: _without_none(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


@config.command()
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the effective configuration as TOML: your file plus every default it leaves out."""
    project = get_app(ctx).project
    effective = project.config.to_dict()
    for plugin, options in project.options.items():
        unstructured = converter.unstructure(options)
        if unstructured:
            effective[plugin] = unstructured
    click.echo(tomli_w.dumps(_without_none(effective)), nl=False)
