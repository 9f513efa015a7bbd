"""What every command shares: the project behind `--config`, and error handling."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import click
from attrs import define, field

from crm.core.config import CONFIG_FILE_NAME
from crm.core.errors import CrmError
from crm.core.project import Project

CONFIG_ENV = "CRM_CONFIG"


@define
class App:
    """The CLI's state: where crm.toml is and the project loaded from it (on first use)."""

    config_path: Path
    debug: bool = False
    extra_plugins: tuple[tuple[str, object], ...] = ()
    _project: Project | None = field(default=None, init=False)
    _plugin_commands: dict[str, click.Command] | None = field(default=None, init=False)

    @classmethod
    def from_environment(cls, config: Path | None = None, debug: bool = False) -> App:
        path = config or Path(os.environ.get(CONFIG_ENV, CONFIG_FILE_NAME))
        return cls(config_path=path, debug=debug)

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project.open(self.config_path, extra_plugins=self.extra_plugins)
        return self._project

    def use_config(self, path: Path) -> None:
        """Point at another crm.toml; the project is loaded again from it on next use."""
        if path != self.config_path:
            self.close()
            self.config_path = path
            self._project = None
            self._plugin_commands = None

    def plugin_commands(self, reserved: Collection[str] = ()) -> dict[str, click.Command]:
        """Commands the enabled plugins add; a CrmError when the config or a plugin is broken,
        or when a plugin's command clashes with another's or with a core command (`reserved`)."""
        if self._plugin_commands is None:
            self._plugin_commands = self.project.hooks.plugin_commands(reserved)
        return self._plugin_commands

    def close(self) -> None:
        if self._project is not None:
            self._project.close()


class CrmCommandError(click.ClickException):
    """A CrmError on its way out: printed without a traceback, with the error's exit code."""

    def __init__(self, error: CrmError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code  # type: ignore[misc]  # per instance, by error kind

    def format_message(self) -> str:
        return self.message


def get_app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    if app is None:  # a command invoked on its own, as in some tests
        app = App.from_environment()
        ctx.obj = app
    return app
