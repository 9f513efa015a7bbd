"""`crm config check` as a library call: every stage a command would run, every problem at once.

A command loads crm.toml in stages (the core tables, the database URL, the plugins, their
options, the rules, the components) and stops at the first stage that fails. `check_config` goes
through every stage that does not depend on a failed one, so a single run lists everything wrong:

    check_config(Path("crm.toml"))   # a ConfigCheck, or a ProblemsError with one line per problem

It reads no data and writes nothing: the database URL is parsed and its driver loaded, but no
connection is opened.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import frozen

from crm.core.columns import BASE_COLUMNS
from crm.core.config import CrmConfig, ImportConfig, parse_config_leniently, read_config_data
from crm.core.errors import ConfigError, CrmError, PluginError, ProblemsError
from crm.core.key_paths import key_path
from crm.core.redaction import redact_url, url_has_password

if TYPE_CHECKING:
    from crm.core.importing.fields import Target


@frozen
class ConfigCheck:
    """What a valid configuration amounts to, as `crm config check` prints it."""

    source: str
    plugins: tuple[str, ...]
    scorers: tuple[str, ...]
    stage_models: tuple[str, ...]
    segmentations: tuple[str, ...]
    #: The database URL with any password hidden.
    database: str
    #: Advice that does not make the configuration invalid (a password kept in crm.toml).
    warnings: tuple[str, ...] = ()


class _Problems:
    """The lines found so far, and whether a plugin (rather than the file) failed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.plugin_failed = False

    def add(self, exc: CrmError) -> None:
        if isinstance(exc, ConfigError):
            self.lines.extend(exc.lines)
        else:
            self.plugin_failed = self.plugin_failed or isinstance(exc, PluginError)
            self.lines.append(str(exc))


def import_field_problems(config: ImportConfig, source: str) -> list[str]:
    """Mapped fields the importer does not have (`[import.customers] nmae = "Name"`)."""
    from crm.core.importing.fields import FIELDS

    found = []
    targets: tuple[Target, ...] = ("customers", "interactions")
    for target in targets:
        names = [f.name for f in FIELDS[target]]
        for name in getattr(config, target):
            if name not in names:
                found.append(
                    f"{source}: {key_path(('import', target, name))}: not a field of {target}; "
                    f"the fields are {', '.join(names)}"
                )
    return found


def _database(config: CrmConfig, source: str, problems: _Problems) -> tuple[str, list[str]]:
    from crm.core.database import make_engine, resolve_database_url

    warnings = []
    configured = config.database.url
    if configured is not None and url_has_password(configured):
        warnings.append(
            f"{source}: database.url holds a password; crm never prints or stores it, but anyone "
            "who can read this file can: set CRM_DATABASE_URL or use a password file "
            "(~/.pgpass or PGPASSFILE for PostgreSQL) instead"
        )
    try:
        url = resolve_database_url(configured, config.project_dir)
        make_engine(url).dispose()  # loads the driver; opens no connection
    except CrmError as exc:
        problems.add(exc)
        return redact_url(configured or ""), warnings
    return redact_url(url), warnings


def _available_columns(registry: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    metrics = [f"{item.spec.name}.{m.name}" for item in registry.scorers for m in item.spec.metrics]
    stages = tuple(item.spec.name for item in registry.stage_models)
    return (*BASE_COLUMNS, *metrics, *stages), stages


def check_config(
    path: Path,
    *,
    extra_plugins: Iterable[tuple[str, object]] = (),
    reserved_commands: Collection[str] | None = None,
) -> ConfigCheck:
    """Check crm.toml at `path` through every stage; raise ProblemsError listing every problem.

    `reserved_commands`: the core command names, to check that no plugin command clashes with
    them (the CLI passes its own; None skips the command check).
    """
    from crm.core.pipeline import check_plugin_tables, configure_options, plan_segmentation
    from crm.core.plugins import (
        CrmHooks,
        installed_plugins,
        make_plugin_manager,
        not_installed_error,
    )
    from crm.core.rule_planning import names_only_catalog, rule_segmenters

    extra = tuple(extra_plugins)
    source = path.name
    problems = _Problems()
    config, found = parse_config_leniently(read_config_data(path), path=path.resolve())
    problems.lines.extend(found)
    database, warnings = _database(config, source, problems)
    problems.lines.extend(import_field_problems(config.import_, source))

    installed = installed_plugins()
    known: Mapping[str, object] = {**installed, **dict(extra)}
    extra_names = [name for name, _ in extra]
    missing = [name for name in config.plugins.enabled if name not in known]
    if missing:
        problems.add(not_installed_error(missing, installed, source))
    enabled = tuple(name for name in config.plugins.enabled if name in installed)
    plan = None
    try:
        pm = make_plugin_manager(
            [n for n in enabled if n not in extra_names],
            extra=extra,
            installed=installed,
            source=source,
        )
        hooks = CrmHooks(pm)
        registry = hooks.collect_registry()
    except CrmError as exc:
        problems.add(exc)
    else:
        try:
            check_plugin_tables(config, known)
        except CrmError as exc:
            problems.add(exc)
        loaded = tuple(name for name, _ in pm.list_name_plugin())
        available, stage_columns = _available_columns(registry)
        try:
            options = configure_options(config, registry, loaded)
        except CrmError as exc:
            problems.add(exc)
            try:  # the rules need only column names, not the plugins' options
                catalog = names_only_catalog(config, registry, available, stage_columns)
                rule_segmenters(config, registry, catalog)
            except CrmError as rule_exc:
                problems.add(rule_exc)
        else:
            try:
                hooks.register_configured(registry, options)
                hooks.configure(config, registry)
                plan = plan_segmentation(config, registry, options)
            except CrmError as exc:
                problems.add(exc)
        if reserved_commands is not None:
            try:
                hooks.plugin_commands(reserved_commands)
            except CrmError as exc:
                problems.add(exc)
    if problems.lines or plan is None:
        raise ProblemsError(problems.lines, plugin_failed=problems.plugin_failed)
    return ConfigCheck(
        source=str(config.path or source),
        plugins=(*config.plugins.enabled, *extra_names),
        scorers=tuple(s.name for s in plan.scorers),
        stage_models=tuple(s.name for s in plan.stage_models),
        segmentations=tuple(s.name for s in plan.segmenters),
        database=database,
        warnings=tuple(warnings),
    )
