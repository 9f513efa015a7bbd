"""A crm project (crm.toml + its database) as a Python object: what every CLI command calls.

    project = Project.open("crm.toml")
    result = project.segment()          # scores, segments, stores the run
    segment_summary(result)             # crm.core.reports

Heavy modules (SQLAlchemy, numpy) are imported on first use, so building a Project is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from attrs import define, field

from crm.core.config import CrmConfig, load_config
from crm.core.errors import NotFoundError
from crm.core.privacy import PERSONAL_FIELDS
from crm.core.segment import Segment

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from crm.core.audit import AuditEntry
    from crm.core.backup import BackupReport, RestoreReport
    from crm.core.importing import ImportOptions, ImportReport
    from crm.core.merging import CustomerMerge
    from crm.core.pipeline import SegmentationPlan, SegmentationResult
    from crm.core.plugins import CrmHooks, InstalledPlugin, PluginInfo
    from crm.core.privacy.consent import CampaignList
    from crm.core.privacy.erasure import ErasureReport
    from crm.core.privacy.masking import Masker
    from crm.core.profiles import CustomerProfile
    from crm.core.registry import Registry
    from crm.core.report_model import Document
    from crm.core.run_details import RunDetails
    from crm.core.schema import Tables
    from crm.core.segment import Run
    from crm.core.segment_migration import SegmentMigration


def _pairs(plugins: Iterable[tuple[str, object]]) -> tuple[tuple[str, object], ...]:
    return tuple(plugins)


@define
class Project:
    """Configuration, plugins and database of one crm project, each loaded on first use."""

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
            from crm.core.database import write_transaction

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

    def merge_customers(
        self, survivor: str, merged: Iterable[str], *, reason: str = "manual"
    ) -> CustomerMerge:
        """Merge customers into `survivor` in one transaction (`crm.core.merging`)."""
        return self.merge_many([(survivor, tuple(merged), reason)])[0]

    def merge_many(self, merges: Iterable[tuple[str, tuple[str, ...], str]]) -> list[CustomerMerge]:
        """Several merges (survivor, merged, reason), all in one transaction: all or none."""
        from crm.core.merge_service import merge_all

        self.registry  # noqa: B018 - plugins are loaded and configured before any write
        return merge_all(self.engine, self.tables, self.hooks, merges)

    def unmerge(self, customer_or_merge: str | int) -> CustomerMerge:
        """Undo a merge exactly: by its id (int), or the latest standing merge of a customer."""
        from crm.core.merge_service import undo

        self.registry  # noqa: B018
        return undo(self.engine, self.tables, self.hooks, customer_or_merge)

    def merges(self, *, include_undone: bool = False) -> list[CustomerMerge]:
        """Recorded merges, newest first."""
        from crm.core.merging import list_merges

        with self.engine.connect() as connection:
            return list_merges(connection, self.tables, include_undone=include_undone)

    def merged_into(self, external_id: str) -> str | None:
        """The survivor's external id if `external_id` was merged into another customer."""
        from crm.core.merge_service import survivor_of

        with self.engine.connect() as connection:
            return survivor_of(connection, self.tables, external_id)

    def runs(self, *, limit: int | None = None) -> list[Run]:
        """Stored segmentation runs, newest first."""
        from crm.core.runs import list_runs

        with self.engine.connect() as connection:
            return list_runs(connection, limit=limit)

    def current_run(self) -> Run | None:
        """The latest run of the latest analysis date stored (a back-dated run is history)."""
        from crm.core.runs import current_run

        with self.engine.connect() as connection:
            return current_run(connection)

    def load_run(self, run_id: int | None = None) -> SegmentationResult:
        """Stored run `run_id` (default: the current run) in the shape of a fresh run, with its
        `artifacts`; its facts carry customer ids, purchases and revenue only
        (crm.core.run_reading)."""
        from crm.core.run_reading import load_run, require_run

        with self.engine.connect() as connection:
            return load_run(connection, require_run(connection, run_id).id)

    def run_details(self, run_id: int) -> RunDetails:
        """What `crm runs show` prints: the run, its config, per-segment counts, artifacts."""
        from crm.core.run_details import run_details

        with self.engine.connect() as connection:
            return run_details(connection, run_id)

    def delete_runs(self, run_ids: Iterable[int]) -> int:
        """Delete these runs (every one must exist), in one transaction."""
        from crm.core.runs import delete_runs, get_run

        with self.engine.begin() as connection:
            ids = [get_run(connection, run_id).id for run_id in run_ids]
            return delete_runs(connection, ids)

    def runs_to_prune(self, *, keep: int | None = None, before: date | None = None) -> list[Run]:
        from crm.core.runs import runs_to_prune

        with self.engine.connect() as connection:
            return runs_to_prune(connection, keep=keep, before=before)

    def prune_runs(self, *, keep: int | None = None, before: date | None = None) -> list[Run]:
        """Delete the runs outside the newest `keep` and/or created before `before`, in one
        transaction; the current run is kept. Returns the deleted runs."""
        from crm.core.runs import prune_runs

        with self.engine.begin() as connection:
            return prune_runs(connection, keep=keep, before=before)

    def segment_migration(
        self, segmentation: str, from_run: int | None = None, to_run: int | None = None
    ) -> SegmentMigration:
        """Customers moving between the segments of `segmentation` from one run to another
        (default: the current run and the latest run of an earlier analysis date)."""
        from crm.core.segment_migration import segment_migration

        with self.engine.connect() as connection:
            return segment_migration(connection, segmentation, from_run, to_run)

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

    def customer_summary(self, profile: CustomerProfile) -> dict[str, Any]:
        """What `crm customers show` adds to `profile`: `purchases` (count, revenue, first and
        last purchase), `segment_details` (each segment with its description and action) and
        `stale` (why the segments are out of date, or None)."""
        from crm.core.customer_summary import newer_than_run, purchase_totals, segment_meanings

        with self.engine.connect() as connection:
            totals = purchase_totals(connection, self.tables, profile.customer.external_id)
        plan = self.plan()
        known = {item.name: tuple(item.component.segments) for item in plan.segmenters}
        for model in plan.stage_models:
            known[model.name] = tuple(Segment(stage) for stage in model.component.stages)
        segments = {a.segmentation: a.segment for a in profile.assignments}
        return {
            "purchases": totals.to_dict(),
            "segment_details": [attrs.asdict(m) for m in segment_meanings(segments, known)],
            "stale": newer_than_run(profile.run, profile.customer.created_at, totals),
        }

    def customer_profile(
        self,
        external_id: str,
        *,
        last: int = 10,
        unmask: bool = False,
        run_id: int | None = None,
    ) -> CustomerProfile:
        """A customer's attributes, last interactions and current segments with their scores.

        Scores are shown as `crm segment` shows them (money in currency units, scores as
        integers); the stored values are raw floats. Personal fields are masked by the
        `[privacy]` rules unless `unmask` (which is written to the audit log).
        """
        from crm.core.privacy.tombstones import erased_ids
        from crm.core.profiles import customer_profile
        from crm.core.reports import metric_value

        with self.engine.connect() as connection:
            profile = customer_profile(
                connection, self.tables, external_id, last=last, run_id=run_id
            )
            if profile is None and erased_ids(connection, [external_id]):
                raise NotFoundError(f"customer {external_id!r} was erased (crm forget)")
        if profile is None:
            raise NotFoundError(f"no customer with id {external_id!r}")
        if unmask:
            self._audit_unmasked(customers=1)
        else:
            masked = self.masker().mask_all(
                {name: getattr(profile.customer, name) for name in PERSONAL_FIELDS}
            )
            profile = attrs.evolve(profile, customer=attrs.evolve(profile.customer, **masked))
        metrics = {
            f"{item.spec.name}.{metric.name}": metric
            for item in self.registry.scorers
            for metric in item.spec.metrics
        }
        shown = {
            name: metric_value(metrics[name], value)
            if name in metrics and value is not None
            else value
            for name, value in profile.scores.items()
        }
        return attrs.evolve(profile, scores=shown)

    # Privacy: masking, campaign lists, erasure, audit log, backups (docs/privacy.md).

    def masker(self) -> Masker:
        """The `[privacy]` masking rules with this database's secret."""
        from crm.core.privacy.masking import Masker
        from crm.core.privacy.tombstones import database_secret

        with self.engine.begin() as connection:
            return Masker(self.config.privacy, database_secret(connection))

    def _audit_unmasked(self, **counts: int) -> None:
        from crm.core.audit import record

        with self.engine.begin() as connection:
            record(connection, "unmasked export", **counts)

    def campaign_list(
        self,
        result: SegmentationResult,
        only: Mapping[str, Collection[str]] | None = None,
        *,
        channel: str | None = None,
        with_contact: bool = False,
        unmask: bool = False,
    ) -> CampaignList:
        """`crm segment --customers` rows with consent for `channel` applied and, with
        `with_contact`, name, email and phone (masked unless `unmask`, which is audited)."""
        from crm.core.privacy.consent import campaign_list, contact_details
        from crm.core.reports import customer_rows

        rows = customer_rows(result, only)
        contacts = None
        if with_contact:
            with self.engine.connect() as connection:
                contacts = contact_details(connection, self.tables, result.facts.customer_id)
        masker = None if unmask else self.masker()
        campaign = campaign_list(
            rows, result.facts, channel=channel, contacts=contacts, masker=masker
        )
        if with_contact and unmask:
            self._audit_unmasked(customers=len(campaign.table.rows))
        return campaign

    def forget(self, external_id: str) -> ErasureReport:
        """Erase customer `external_id` everywhere, in one transaction (crm.core.privacy.erasure);
        on SQLite the file is then rebuilt so no erased value stays in free pages."""
        from crm.core.privacy.erasure import erase_customer, scrub_sqlite_file

        listener = self.hooks.customer_erased
        with self.engine.begin() as connection:
            report = erase_customer(connection, self.tables, external_id, listener)
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                scrub_sqlite_file(connection)
        return report

    def audit_log(self, *, action: str | None = None) -> list[AuditEntry]:
        from crm.core.audit import entries

        with self.engine.connect() as connection:
            return entries(connection, action=action)

    def backup(self, path: Path) -> BackupReport:
        from crm.core.backup import backup

        return backup(self.engine, path)

    def restore(self, path: Path) -> RestoreReport:
        from crm.core.backup import restore
        from crm.core.privacy.erasure import scrub_sqlite_file

        report = restore(self.engine, path, self.hooks.customer_erased)
        if report.customers_erased_again and self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                scrub_sqlite_file(connection)
        return report
