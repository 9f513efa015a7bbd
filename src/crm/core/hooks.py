"""The hook specifications: the whole contract between crm and its plugins.

A plugin is a module (or object) with functions decorated by `crm.hookimpl` whose names match
these specs; it may accept any subset of a spec's arguments. Plugins are found through the `crm`
entry-point group and run only when listed in `[plugins] enabled` of crm.toml.
Each hook is documented, with an example, in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from sqlalchemy import Connection

    from crm.core.components import (
        AnySpec,
        ReportSpec,
        ScorerSpec,
        SegmentationSpec,
        StageModelSpec,
    )
    from crm.core.config import CrmConfig
    from crm.core.merging import CustomerMerge
    from crm.core.pipeline import SegmentationResult
    from crm.core.registry import Registry

PROJECT_NAME = "crm"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorator marking a plugin's hook implementations.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    """Register scorers by calling ``register(ScorerSpec(...))`` once per scorer.

    A name already taken by another plugin raises `DuplicateComponentError` naming both plugins.
    """


@hookspec
def register_segmentations(register: Callable[[SegmentationSpec], None]) -> None:
    """Register segmentations (score grids, rule lists) with ``register(SegmentationSpec(...))``.

    Each customer gets at most one segment per segmentation; the segmentation's name is the column
    that holds it in `crm segment --customers` output.
    """


@hookspec
def register_stage_models(register: Callable[[StageModelSpec], None]) -> None:
    """Register ordered stage models (a journey, a funnel) with ``register(StageModelSpec(...))``."""


@hookspec
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    """Register reports with ``register(ReportSpec(...))``.

    A report's ``build(context: ReportContext)`` returns sections of tables, texts and figures
    (or one `Table`); core renders them and hides groups smaller than `[reports] min_group_size`.
    The 0.1 form ``build(result)`` still works, with a `LegacyReportWarning`.
    """


@hookspec
def register_configured(options: Any, register: Callable[[AnySpec], None]) -> None:
    """Register components that depend on the plugin's own configuration.

    Called once per plugin after phase 2, with `options` its `[plugin]` table structured into
    the options class its `register_*` components declare (`NoOptions` when they declare none),
    so the table has been checked and every problem named with its key path. `register` takes a
    spec of any kind (`ScorerSpec`, `SegmentationSpec`, `StageModelSpec`, `ReportSpec`); each
    declares that same options class or `NoOptions`, and its factory gets `options`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the `crm` command line (``@cli.command()``).

    Called on a fresh group for each CLI invocation; commands should call the plugin's library
    functions and render with `crm.cli.output`.
    """


@hookspec(historic=True)
def configure(config: CrmConfig, registry: Registry) -> None:
    """Called once the configuration is loaded and every component is registered and configured.

    Historic: a plugin registered later is called at registration. Use it to check cross-plugin
    requirements (raise `crm.ConfigError` with the key path) or to prepare shared state.
    """


@hookspec
def segmentation_finished(result: SegmentationResult) -> None:
    """Notification after every segmentation run, stored or not (export, alerting, audit).

    `result.run_id` is the stored run's id, or None for a run that was not stored.
    """


@hookspec
def customer_erased(connection: Connection, customer_key: int) -> None:
    """Remove everything the plugin stores about the customer with integer key `customer_key`.

    Called by `crm forget` (and when a restore re-applies an erasure) inside the erasure's
    transaction, on a connection that may write: delete or anonymise the plugin's own rows that
    name the customer (aliases, exports, caches). Raising aborts the whole erasure. Every plugin
    that stores customer data must implement it (see docs/privacy.md).
    """


@hookspec
def customers_merged(merge: CustomerMerge, connection: Connection) -> None:
    """Called inside the transaction of every merge of customers, and of every undo of one.

    Core has already moved the interactions and recorded the aliases; a plugin that stores data
    about customers moves its own rows for `merge.merged_ids` to `merge.survivor_id` (and back
    when `merge.undone` is true) on `connection`. Raising rolls the whole merge back.
    """
