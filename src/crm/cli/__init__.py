"""The `crm` command line: parse, call the library (`crm.core.project.Project`), render.

Exit codes: 0 success; 1 an error the user can act on; 2 a usage or configuration error;
3 a plugin failed (the message names it); 4 an import found bad rows (nothing was written);
5 something named does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from crm.cli.app import App, CrmCommandError, get_app
from crm.cli.config_command import config
from crm.cli.customers_command import customers
from crm.cli.demo_command import demo
from crm.cli.import_command import import_group
from crm.cli.init_command import init
from crm.cli.plugins_command import plugins
from crm.cli.privacy_commands import audit, backup, forget, restore
from crm.cli.report_command import report
from crm.cli.runs_command import runs
from crm.cli.segment_command import segment
from crm.cli.segments_command import segments
from crm.core.audit_label import command_label
from crm.core.database import describe_database_error
from crm.core.errors import ConfigFileMissing, CrmError


def _command_path() -> str:
    current = click.get_current_context(silent=True)
    return current.command_path if current is not None else "crm"


class PluginGroup(click.Group):
    """The core commands plus those the enabled plugins add through `register_commands`."""

    def _app(self, ctx: click.Context) -> App:
        if not isinstance(ctx.obj, App):
            ctx.obj = App.from_environment(ctx.params.get("config"), ctx.params.get("debug", False))
        return ctx.obj

    def list_commands(self, ctx: click.Context) -> list[str]:
        app = self._app(ctx)
        try:
            plugin_commands = app.plugin_commands(self.commands)
        except ConfigFileMissing:
            plugin_commands = {}  # `crm --help` outside a project: the core commands
        except CrmError as exc:
            if app.debug:
                raise
            # --help must work whatever crm.toml holds: the core commands, and why no others.
            first, *more = str(exc).splitlines() or [""]
            tail = f" (and {len(more)} more: run crm config check)" if more else ""
            click.echo(f"crm: plugin commands are not listed: {first}{tail}", err=True)
            plugin_commands = {}
        return sorted({*self.commands, *plugin_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        app = self._app(ctx)
        try:
            return app.plugin_commands(self.commands).get(cmd_name)
        except ConfigFileMissing:
            return None  # click says "No such command"
        except CrmError as exc:
            if app.debug:
                raise
            raise CrmCommandError(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            # The audit log records the command path ("crm forget"), never its arguments.
            with command_label(_command_path):
                return super().invoke(ctx)
        except CrmError as exc:
            if isinstance(ctx.obj, App) and ctx.obj.debug:
                raise
            raise CrmCommandError(exc) from exc
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            raise  # `crm ... | head`: click exits quietly with status 1
        except SQLAlchemyError as exc:
            # One line from the database; never the statement or its parameters (a stored run's
            # parameters hold the configuration, the URL among it).
            if isinstance(ctx.obj, App) and ctx.obj.debug:
                raise
            raise CrmCommandError(describe_database_error(exc)) from exc
        except Exception as exc:
            # A bug, not a user error: one line for cron logs, the traceback behind --debug.
            if isinstance(ctx.obj, App) and ctx.obj.debug:
                raise
            message = (
                f"unexpected {exc.__class__.__name__}: {exc} (run with --debug for the traceback)"
            )
            raise CrmCommandError(CrmError(message)) from exc
        finally:
            if isinstance(ctx.obj, App):
                ctx.obj.close()


@click.group(cls=PluginGroup)
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CRM_CONFIG",
    help="The project's configuration file.  [env: CRM_CONFIG; default: ./crm.toml]",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="crm", prog_name="crm")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, debug: bool) -> None:
    """Customer analytics from your own data: RFM, CLV, journeys and funnels as plugins.

    Start with `crm demo DIR` for a ready project with sample data, or `crm init` and
    `crm import` for your own.
    """
    app = get_app(ctx)
    if config is not None:
        app.use_config(config)
    app.debug = app.debug or debug


for command in (
    init,
    config,
    import_group,
    plugins,
    segment,
    segments,
    report,
    runs,
    customers,
    demo,
):
    cli.add_command(command)
for command in (forget, audit, backup, restore):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="crm")
