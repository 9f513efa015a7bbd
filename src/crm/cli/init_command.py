"""`crm init`: write a working default crm.toml."""

from __future__ import annotations

from pathlib import Path

import click
import tomli_w

from crm.cli.app import get_app
from crm.core.config import CONFIG_FILE_NAME, default_config
from crm.core.errors import CrmError

HEADER = """\
# crm configuration. Reference: README.md, "Configuration".
# [database] url: any SQLAlchemy URL; a relative sqlite path is relative to this file.
# [plugins] enabled: the plugins that run; each plugin's options go in a table named after it.
"""


def write_default_config(directory: Path, *, force: bool = False) -> Path:
    """Write crm.toml enabling every installed built-in plugin (one whose distribution declares
    the `crm.bundled` marker, see docs/plugins.md); refuses to overwrite unless forced."""
    from crm.core.plugins import installed_plugins

    path = directory / CONFIG_FILE_NAME
    if path.exists() and not force:
        raise CrmError(f"{path} already exists; use --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    enabled = tuple(name for name, p in installed_plugins().items() if p.bundled)
    path.write_text(HEADER + tomli_w.dumps(default_config(enabled)), encoding="utf-8")
    return path


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing crm.toml.")
@click.pass_context
def init(ctx: click.Context, directory: Path, force: bool) -> None:
    """Write a default crm.toml in DIRECTORY (default: here), enabling the installed models."""
    get_app(ctx)
    path = write_default_config(directory, force=force)
    click.echo(f"wrote {path}", err=True)
