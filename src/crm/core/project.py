"""A crm project (crm.toml + its database) as a Python object: what every CLI command calls.

    project = Project.open("crm.toml")
    result = project.segment()          # scores, segments, stores the run
    segment_summary(result)             # crm.core.reports

Heavy modules (SQLAlchemy, numpy) are imported on first use, so building a Project is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import define, field

from crm.core.config import CrmConfig, load_config
from crm.core.database import write_transaction
from crm.core.project_privacy import PrivacyOperations
from crm.core.project_runs import RunHistory

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from crm.core.importing import ImportOptions, ImportReport
    from crm.core.pipeline import SegmentationPlan, SegmentationResult
    from crm.core.plugins import CrmHooks, InstalledPlugin, PluginInfo
    from crm.core.registry import Registry
    from crm.core.report_model import Document
    from crm.core.schema import Tables


def _pairs(plugins: Iterable[tuple[str, object]]) -> tuple[tuple[str, object], ...]:
    return tuple(plugins)


@define
class Project(RunHistory, PrivacyOperations):
    """Configuration, plugins and database of one crm project, each loaded on first use.

    Stored runs come from `RunHistory` (crm.core.project_runs), merges and profiles from
    `CustomerOperations` and privacy from `PrivacyOperations` (crm.core.project_privacy).
    """

    config: CrmConfig
    #: Plugins registered without being installed: (name, plugin) pairs, enabled implicitly.
    extra_plugins: tuple[tuple[str, object], ...] = field(default=(), converter=_pairs)
    _installed: dict[str, InstalledPlugin] | None = field(default=None, init=False)
    _hooks: CrmHooks | None = field(default=None, init=False)
    _registry: Registry | None = field(default=None, init=False)
    _options: dict[str, Any] | None = field(default=None, init=False)
    #: An engine of your own (schema created on first use); default: from the config.
    _engine: Engine | None = field(default=None, alias="engine")
    _schema_ready: bool = field(default=False, init=False)

    @classmethod
    def open(cls, path: str | Path, *, extra_plugins: Iterable[tuple[str, object]] = ()) -> Project:
        return cls(load_config(Path(path)), tuple(extra_plugins))

    @property
    def enabled(self) -> tuple[str, ...]:
        return (*self.config.plugins.enabled, *(name for name, _ in self.extra_plugins))

    @property
    def installed(self) -> dict[str, InstalledPlugin]:
        """The `crm` entry-point group, scanned once per project (it reads every dist-info)."""
        if self._installed is None:
            from crm.core.plugins import installed_plugins

            self._installed = installed_plugins()
        return self._installed

    @property
    def hooks(self) -> CrmHooks:
        if self._hooks is None:
            from crm.core.plugins import CrmHooks, make_plugin_manager

            source = self.config.path.name if self.config.path else "crm.toml"
            pm = make_plugin_manager(
                self.config.plugins.enabled,
                extra=self.extra_plugins,
                installed=self.installed,
                source=source,
            )
            self._hooks = CrmHooks(pm)
        return self._hooks

    @property
    def registry(self) -> Registry:
        """Every component of the enabled plugins, configured and checked (phase 2)."""
        if self._registry is None:
            from crm.core.pipeline import check_plugin_tables, configure_options

            registry = self.hooks.collect_registry()
            check_plugin_tables(self.config, {**self.installed, **dict(self.extra_plugins)})
            loaded = tuple(name for name, _ in self.hooks.pm.list_name_plugin())
            self._options = configure_options(self.config, registry, loaded)
            self.hooks.register_configured(registry, self._options)
            self.hooks.configure(self.config, registry)
            self._registry = registry
        return self._registry

    @property
    def options(self) -> dict[str, Any]:
        """Each enabled plugin's structured options, by plugin name."""
        self.registry  # noqa: B018 - structures the options as a side effect
        assert self._options is not None
        return self._options

    @property
    def database_url(self) -> str:
        from crm.core.database import resolve_database_url

        return resolve_database_url(self.config.database.url, self.config.project_dir)

    @property
    def engine(self) -> Engine:
        from crm.core.database import ensure_schema, make_engine

        if self._engine is None:
            self._engine = make_engine(self.database_url)
        if not self._schema_ready:
            ensure_schema(self._engine)
            self._schema_ready = True
        return self._engine

    @property
    def tables(self) -> Tables:
        from crm.core.schema import Tables

        return Tables.default()

    @contextmanager
    def read_only(self) -> Iterator[Connection]:
        """A connection on which writes fail, in one transaction (one consistent snapshot):
        what a plugin command reads through, e.g. with `crm.EventSequences`."""
        from crm.core.database import read_only_connection

        with read_only_connection(self.engine) as connection:
            yield connection

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def plan(self) -> SegmentationPlan:
        from crm.core.pipeline import plan_segmentation

        return plan_segmentation(self.config, self.registry, self.options)

    def segment(
        self,
        *,
        as_of: date | None = None,
        store: bool = True,
        check: Callable[[SegmentationResult], object] | None = None,
    ) -> SegmentationResult:
        """Score and segment every customer as of `as_of` (default: the day after the last
        interaction); store the run unless `store` is false; notify `segmentation_finished`.

        `check(result)` runs before anything is stored (a caller's own validation, such as
        building the output it will print): if it raises, no run is stored.
        """
        from crm.core.pipeline import default_as_of, run_segmentation, with_run_id
        from crm.core.plugins import plugin_versions
        from crm.core.runs import list_runs, store_run

        plan = self.plan()
        from crm.core.database import read_only_connection

        with read_only_connection(self.engine) as connection:
            day = as_of or self.config.as_of or default_as_of(connection, self.tables)
            result = run_segmentation(
                plan,
                connection,
                self.tables,
                as_of=day,
                config_hash=self.config.hash(),
                plugins=plugin_versions(self.hooks.pm, self.installed),
            )
        if check is not None:
            check(result)
        if store:
            from crm.core.audit import record

            with write_transaction(self.engine) as connection:
                previous = next(iter(list_runs(connection, limit=1)), None)  # newest stored
                result = with_run_id(result, store_run(connection, result, self.config))
                if previous is not None and previous.config_hash != result.config_hash:
                    # Hashes only: the configuration itself may hold a database URL.
                    old, new = previous.config_hash[:12], result.config_hash[:12]
                    record(connection, "config changed", before=old, after=new)
        self.hooks.segmentation_finished(result)
        return result

    def report(
        self,
        names: Iterable[str] = (),
        *,
        run_id: int | None = None,
        as_of: date | None = None,
    ) -> Document:
        """The named reports (default: every report of the whole document) over stored run
        `run_id`, or over a fresh run as of `as_of` that is not stored; small groups hidden."""
        from crm.core.report_building import project_report

        return project_report(self, tuple(names), run_id=run_id, as_of=as_of)

    def import_customers(
        self, path: Path, options: ImportOptions, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        from crm.core.importing import import_customers

        return import_customers(self.engine, path, options, progress)

    def import_interactions(
        self, path: Path, options: ImportOptions, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        from crm.core.importing import import_interactions

        return import_interactions(self.engine, path, options, progress)

    def import_campaigns(
        self, path: Path, options: ImportOptions, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        from crm.core.importing import import_campaigns

        return import_campaigns(self.engine, path, options, progress)

    def plugins(self) -> list[PluginInfo]:
        from crm.core.plugins import PluginInfo, describe_plugins, hooks_of

        infos = describe_plugins(self.config.plugins.enabled)
        for name, plugin in self.extra_plugins:
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=None,
                    version=None,
                    bundled=False,
                    enabled=True,
                    hooks=hooks_of(plugin),
                )
            )
        return infos
