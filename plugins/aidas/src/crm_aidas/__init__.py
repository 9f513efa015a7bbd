"""crm-aidas: journeys as data (AIDAS and friends), the 4C view, and campaigns with ROI.

A crm plugin registered through the `crm` entry-point group, exactly like an in-house plugin.
Its options are the `[aidas]` table of crm.toml (`crm_aidas.options.AidasOptions`); the exact
rules are in the README. It adds `crm journey`, `crm journey 4c` and `crm campaigns`, the
`aidas` stage column of `crm segment` and the `aidas.*` scores.

This module stays light (no numpy at import) because crm loads enabled plugins for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm import Metric, ReportSpec, ScorerSpec, StageModelSpec, hookimpl
from crm_aidas.options import AidasOptions, Repeat, StageOptions, StageSet

if TYPE_CHECKING:
    import click

    from crm_aidas.report import JourneyReport
    from crm_aidas.scoring import JourneyScorer, JourneyStage

__version__ = "0.1.0"
__all__ = ["AidasOptions", "Repeat", "StageOptions", "StageSet", "make_scorer", "make_stage_model"]


def make_stage_model(options: AidasOptions) -> JourneyStage:
    from crm_aidas.scoring import JourneyStage

    return JourneyStage(options)


def make_scorer(options: AidasOptions) -> JourneyScorer:
    from crm_aidas.scoring import JourneyScorer

    return JourneyScorer(options)


def make_report(options: AidasOptions) -> JourneyReport:
    from crm_aidas.report import JourneyReport

    return JourneyReport(options)


REPORT = ReportSpec(
    name="journey",
    factory=make_report,
    options=AidasOptions,
    description="journey stages by channel, paths to action, the 4C view, campaign ROI",
)

# Their proper kinds: the segment summary shows each segmentation's own scorer's means first
# and then the headline segmentation's (RFM's), so these sit beside the aidas stages without
# crowding RFM's means out of other segmentations' tables (crm.cli.segment_layout).
SCORER = ScorerSpec(
    name="aidas",
    factory=make_scorer,
    options=AidasOptions,
    metrics=(
        Metric("stage", "score", "furthest stage reached, 1 = the first stage (missing: none)"),
        Metric("current_stage", "score", "current stage: the furthest, or the one before it "
               "while something counts against it (an open complaint)"),
        Metric("days_to_action", "days", "days from the first tracked touch to the first recorded action"),
        Metric("touches_to_action", "count", "tracked touchpoints before the first action"),
        Metric("days_in_stage", "days", "days since the customer entered the current stage"),
    ),
    description="Journey stage per customer (AIDAS by default) and the way to action",
)  # fmt: skip


@hookimpl
def register_stage_models(register: Callable[[StageModelSpec], None]) -> None:
    register(
        StageModelSpec(
            name="aidas",
            factory=make_stage_model,
            options=AidasOptions,
            description="Current journey stage (AIDAS by default; [aidas] stages = NAME)",
        )
    )


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(SCORER)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(REPORT)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from crm_aidas.commands import campaigns, journey

    cli.add_command(journey)
    cli.add_command(campaigns)
