"""Finding, loading and calling plugins: the only module that touches `pm.hook`.

Plugins are found through the `crm` entry-point group without importing them; only the ones listed
in `[plugins] enabled` are imported and registered. Every failure names the plugin.

Whether a plugin is built-in is said by its own distribution, never by a list in core: a
distribution that ships with crm declares the plugin a second time, under the same name, in the
`crm.bundled` entry-point group (see docs/plugins.md, "Built-in plugins").
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Collection, Iterable, Iterator, Mapping
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

import pluggy
from attrs import field, frozen

from crm.core import hooks
from crm.core.components import (
    NoOptions,
    ReportSpec,
    ScorerSpec,
    SegmentationSpec,
    StageModelSpec,
)
from crm.core.errors import (
    ConfigError,
    CrmError,
    DuplicateComponentError,
    PluginError,
    blamed_on,
)
from crm.core.registry import Registry, make_configured_register, make_register

if TYPE_CHECKING:
    import click
    from sqlalchemy import Connection

    from crm.core.config import CrmConfig
    from crm.core.merging import CustomerMerge
    from crm.core.pipeline import SegmentationResult

ENTRY_POINT_GROUP = "crm"
#: Comma-separated plugin names; when set, only these of the enabled plugins load ("" = none).
LOAD_PLUGINS_ENV = "CRM_LOAD_PLUGINS"
#: The core's own behaviour, registered as plugins before any other (pluggy calls them last).
CORE_PLUGINS = {"crm": "crm.core.builtin_reports"}
#: The marker of a plugin that ships with crm: the same name in this group, declared by the same
#: distribution as its `crm` entry point. Everything else is third-party.
BUNDLED_ENTRY_POINT_GROUP = "crm.bundled"


@frozen
class InstalledPlugin:
    """A plugin found in the `crm` entry-point group (not necessarily enabled or importable)."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    #: Its distribution declares it in `crm.bundled` too: it ships with crm (`crm init` enables it).
    bundled: bool = False
    #: The entry point it was found through; loading it needs no second scan of the group.
    entry_point: importlib.metadata.EntryPoint | None = field(default=None, eq=False, repr=False)

    def load(self) -> object:
        try:
            entry_point = self.entry_point or next(
                ep
                for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
                if ep.name == self.name
            )
            return entry_point.load()
        except Exception as exc:
            raise PluginError(self.name, f"cannot be imported from {self.value!r}: {exc}") from exc


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin in the `crm` entry-point group, by name, without importing any of them."""
    every = importlib.metadata.entry_points()  # one scan of the installed dist-infos
    # A marker counts only for a plugin of the distribution that declares it.
    marked = {
        (entry_point.name, _distribution_name(entry_point))
        for entry_point in every.select(group=BUNDLED_ENTRY_POINT_GROUP)
    }
    found: dict[str, InstalledPlugin] = {}
    for entry_point in every.select(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        distribution = _distribution_name(entry_point)
        found.setdefault(
            entry_point.name,
            InstalledPlugin(
                name=entry_point.name,
                value=entry_point.value,
                distribution=distribution,
                version=dist.version if dist is not None else None,
                bundled=distribution is not None and (entry_point.name, distribution) in marked,
                entry_point=entry_point,
            ),
        )
    return dict(sorted(found.items()))


def _distribution_name(entry_point: importlib.metadata.EntryPoint) -> str | None:
    return entry_point.dist.name if entry_point.dist is not None else None


def _allowed_by_environment(names: Iterable[str]) -> list[str]:
    allowed = os.environ.get(LOAD_PLUGINS_ENV)
    if allowed is None:
        return list(names)
    keep = {name.strip() for name in allowed.split(",") if name.strip()}
    return [name for name in names if name in keep]


def make_plugin_manager(
    enabled: Collection[str],
    *,
    extra: Iterable[tuple[str, object]] = (),
    installed: Mapping[str, InstalledPlugin] | None = None,
    source: str = "crm.toml",
) -> pluggy.PluginManager:
    """A fresh plugin manager with the enabled plugins registered, plus `extra` (name, plugin).

    `extra` registers plugins that are not installed (tests, local unpackaged plugins).
    """
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    for core_name, core_module in CORE_PLUGINS.items():
        pm.register(importlib.import_module(core_module), core_name)
    available = installed_plugins() if installed is None else installed
    extra_names = {name for name, _ in extra}
    missing = [name for name in enabled if name not in available and name not in extra_names]
    if missing:
        raise not_installed_error(missing, available, source)
    for name in _allowed_by_environment(n for n in enabled if n not in extra_names):
        _register(pm, name, available[name].load())
    for extra_name, extra_plugin in extra:
        _register(pm, extra_name, extra_plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_name_of(pm, exc.plugin), str(exc)) from exc
    return pm


def not_installed_error(
    missing: Collection[str], available: Collection[str], source: str
) -> ConfigError:
    known = ", ".join(available) or "none installed"
    return ConfigError(
        f"{source}: plugins.enabled: plugin {', '.join(map(repr, missing))} is not installed "
        f"(installed plugins: {known}); install its package or remove it from the list"
    )


def _register(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    try:
        pm.register(plugin, name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(name, str(exc)) from exc


def _name_of(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or repr(plugin)


def failing_plugin(tb: TracebackType | None, pm: pluggy.PluginManager) -> str | None:
    """The plugin whose code raised: the innermost traceback frame that belongs to a plugin.

    A frame belongs to a plugin when it runs a method of the plugin object, or code of the
    plugin's module (or a submodule of it).
    """
    plugins = [(name, plugin) for name, plugin in pm.list_name_plugin() if plugin is not None]
    found = None
    for frame, _ in traceback.walk_tb(tb):
        owner = frame.f_locals.get("self")
        module = frame.f_globals.get("__name__", "")
        for name, plugin in plugins:
            if owner is plugin or (
                isinstance(plugin, ModuleType)
                and (module == plugin.__name__ or module.startswith(plugin.__name__ + "."))
            ):
                found = name
    return found


class CrmHooks:
    """Typed calls into the plugins; turns a plugin's crash into a PluginError naming it.

    Hooks other than `configure` are called one plugin at a time through pluggy's subset callers,
    so a registration is attributed to the plugin that made it and a crash names its plugin.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def _each(self, hook_name: str) -> Iterator[tuple[str, Any]]:
        plugins = [
            (name, plugin) for name, plugin in self.pm.list_name_plugin() if plugin is not None
        ]
        for name, plugin in plugins:
            others = [p for _, p in plugins if p is not plugin]
            yield name, self.pm.subset_hook_caller(hook_name, remove_plugins=others)

    def collect_registry(self) -> Registry:
        registry = Registry()
        calls: tuple[tuple[str, type[Any]], ...] = (
            ("register_scorers", ScorerSpec),
            ("register_segmentations", SegmentationSpec),
            ("register_stage_models", StageModelSpec),
            ("register_reports", ReportSpec),
        )
        for hook_name, spec_type in calls:
            for plugin, caller in self._each(hook_name):
                with blamed_on(plugin, f"hook {hook_name}"):
                    caller(register=make_register(registry, plugin, spec_type))
        return registry

    def register_configured(self, registry: Registry, options: Mapping[str, Any]) -> None:
        """Each plugin's components that depend on its structured options (phase 2 done)."""
        for plugin, caller in self._each("register_configured"):
            own = options.get(plugin, NoOptions())
            register = make_configured_register(registry, plugin, type(own))
            with blamed_on(plugin, "hook register_configured"):
                caller(options=own, register=register)

    def configure(self, config: CrmConfig, registry: Registry) -> None:
        try:
            self.pm.hook.configure.call_historic(kwargs={"config": config, "registry": registry})
        except CrmError:
            raise
        except Exception as exc:
            # One historic call reaches every plugin; the traceback tells whose code raised.
            owner = failing_plugin(exc.__traceback__, self.pm) or "unknown"
            with blamed_on(owner, "hook configure"):
                raise

    def plugin_commands(self, reserved: Collection[str] = ()) -> dict[str, click.Command]:
        """Every command the plugins add, by name. A name two plugins add, or a name in
        `reserved` (the core commands), is an error naming the plugins: one would silently hide
        the other."""
        import click

        found: dict[str, tuple[str, click.Command]] = {}
        for plugin, caller in self._each("register_commands"):
            own = click.Group()  # one group per plugin, so each command has a known author
            with blamed_on(plugin, "hook register_commands"):
                caller(cli=own)
            for name, command in own.commands.items():
                if name in reserved:
                    raise PluginError(
                        plugin,
                        f"adds a command {name!r}, but `crm {name}` is a core command; the plugin "
                        "must give its command another name",
                    )
                if name in found:
                    raise DuplicateComponentError("command", name, found[name][0], plugin)
                found[name] = (plugin, command)
        return {name: command for name, (_, command) in found.items()}

    def register_commands(self, cli: click.Group) -> None:
        """Add the plugins' commands to `cli`; its own commands count as core commands."""
        for name, command in self.plugin_commands(reserved=set(cli.commands)).items():
            cli.add_command(command, name)

    def customer_erased(self, connection: Connection, customer_key: int) -> None:
        for plugin, caller in self._each("customer_erased"):
            with blamed_on(plugin, "hook customer_erased"):
                caller(connection=connection, customer_key=customer_key)

    def segmentation_finished(self, result: SegmentationResult) -> None:
        for plugin, caller in self._each("segmentation_finished"):
            with blamed_on(plugin, "hook segmentation_finished"):
                caller(result=result)

    def customers_merged(self, merge: CustomerMerge, connection: Connection) -> None:
        for plugin, caller in self._each("customers_merged"):
            with blamed_on(plugin, "hook customers_merged"):
                caller(merge=merge, connection=connection)


@frozen
class PluginInfo:
    """What `crm plugins` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    bundled: bool
    enabled: bool
    hooks: tuple[str, ...]
    error: str | None = None


def hooks_of(plugin: object) -> tuple[str, ...]:
    pm = pluggy.PluginManager(hooks.PROJECT_NAME)
    pm.add_hookspecs(hooks)
    pm.register(plugin)
    return tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))


def describe_plugins(enabled: Collection[str]) -> list[PluginInfo]:
    """Every installed plugin with its hooks; one that fails to import shows the error instead."""
    infos = []
    for name, plugin in installed_plugins().items():
        try:
            implemented, error = hooks_of(plugin.load()), None
        except Exception as exc:
            implemented, error = (), str(exc)
        infos.append(
            PluginInfo(
                name=name,
                distribution=plugin.distribution,
                version=plugin.version,
                bundled=plugin.bundled,
                enabled=name in enabled,
                hooks=implemented,
                error=error,
            )
        )
    return infos


def plugin_versions(
    pm: pluggy.PluginManager, installed: Mapping[str, InstalledPlugin]
) -> dict[str, str]:
    """Plugin name -> distribution version (or "unpackaged"), recorded with every run."""
    from crm import __version__

    versions = {"crm": __version__}
    for name, _ in pm.list_name_plugin():
        if name in CORE_PLUGINS:
            continue
        info = installed.get(name)
        versions[name] = (info.version if info else None) or "unpackaged"
    return versions


def python_version() -> str:
    return sys.version.split()[0]
