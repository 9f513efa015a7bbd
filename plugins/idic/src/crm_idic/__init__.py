"""crm-idic: the IDIC model (identify, differentiate, interact, customize) as a crm plugin.

Registered through the `crm` entry-point group, exactly like an in-house plugin. Its options are
the `[idic]` table of crm.toml (`crm_idic.options.IdicOptions`). This module stays light (no
numpy at import) because crm loads enabled plugins for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm import Metric, ReportSpec, ScorerSpec, SegmentationSpec, hookimpl
from crm_idic.options import IdicOptions

if TYPE_CHECKING:
    import click
    from sqlalchemy import Connection

    from crm import CrmConfig, Registry, Segmenter
    from crm_idic.report import IdicReport
    from crm_idic.scoring import IdicScorer

__version__ = "0.1.0"
__all__ = ["ABCD_SEGMENTATION", "ACTIONS", "SCORER", "IdicOptions"]


def make_scorer(options: IdicOptions) -> IdicScorer:
    from crm_idic.scoring import IdicScorer

    return IdicScorer(options)


SCORER = ScorerSpec(
    name="idic",
    factory=make_scorer,
    options=IdicOptions,
    metrics=(
        Metric("duplicate_weight", "value", "strongest match weight to a possible duplicate"),
        Metric("value", "value", "value measure: predicted CLV, else revenue (currency)"),
        Metric("abc", "score", "value class by cumulative share: 1 = A, 2 = B, 3 = C"),
        Metric("key_account", "score", "1 for a key account (top N or above the threshold)"),
        Metric("potential", "value", "potential 0..1: mean percentile rank of the signals"),
        Metric("engagement", "value", "recency-weighted interactions by kind and channel"),
        Metric("abcd", "score", "value x potential cell: 1 = A .. 4 = D"),
    ),
    description="IDIC: duplicates, value tiers, potential, engagement and the ABCD matrix",
)


def _abcd(options: IdicOptions) -> Segmenter:
    from crm_idic.segmentations import make_abcd

    return make_abcd(options)


def _actions(options: IdicOptions) -> Segmenter:
    from crm_idic.segmentations import make_actions

    return make_actions(options)


ABCD_SEGMENTATION = SegmentationSpec(
    name="idic_abcd",
    factory=_abcd,
    options=IdicOptions,
    description="Value x potential: A invest, B retain, C develop, D serve at low cost",
)
ACTIONS = SegmentationSpec(
    name="idic_action",
    factory=_actions,
    options=IdicOptions,
    description="Next-best action: the highest-priority [[idic.actions.rules]] that matches",
)


def make_report(options: IdicOptions) -> IdicReport:
    from crm_idic.report import IdicReport

    return IdicReport(options)


REPORT = ReportSpec(
    name="idic",
    factory=make_report,
    options=IdicOptions,
    description="Pareto curve, ABC table, value x potential heat map, engagement, actions, duplicates",
)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(REPORT)


@hookimpl
def register_segmentations(register: Callable[[SegmentationSpec], None]) -> None:
    register(ABCD_SEGMENTATION)
    register(ACTIONS)


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(SCORER)


@hookimpl
def configure(config: CrmConfig, registry: Registry) -> None:
    """The optional clv dependency: use it when enabled (and listed before idic), else say
    at load time what the fallback is."""
    import sys

    from crm import ConfigError

    value = dict(config.plugin_tables.get("idic", {}).get("value", {}))
    measure = value.get("measure", "auto")
    scorers = [item.spec.name for item in registry.scorers]
    if "clv" not in scorers:
        if measure == "clv":
            raise ConfigError(
                "crm.toml: idic.value.measure: 'clv' needs the clv plugin; install and enable it "
                "(listed before idic), or use 'auto' or 'revenue'"
            )
        if measure == "auto":
            print(
                "idic: the clv plugin is not enabled: value tiers use historical revenue and "
                "potential has no predicted transactions (pip install crm-idic[clv])",
                file=sys.stderr,
            )
    elif measure != "revenue" and scorers.index("clv") > scorers.index("idic"):
        raise ConfigError(
            "crm.toml: plugins.enabled: list 'clv' before 'idic', so that idic's value tiers "
            "can read the predicted CLV (or set idic.value.measure = 'revenue')"
        )


@hookimpl
def customer_erased(connection: Connection, customer_key: int) -> None:
    """The cached duplicate links name customers by key: drop this database's cache."""
    from crm_idic.identify.cache import forget_database

    forget_database(connection)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from crm_idic.cli import actions, identify, idic

    for command in (identify, actions, idic):
        cli.add_command(command)
