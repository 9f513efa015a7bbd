"""crm-funnel: conversion, drop-off, time to convert, cohorts and a calibrated deal forecast.

A crm plugin registered through the `crm` entry-point group, exactly like an in-house plugin.
Its options are the `[funnel]` table of crm.toml (`crm_funnel.options.FunnelOptions`); the exact
rules are in the README. It adds the `crm funnel` command group and, for `crm segment`, one stage
column per funnel (`funnel` for the main one, `funnel_<name>` for the others).

This module stays light (no numpy at import) because crm loads enabled plugins for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm import ReportSpec, StageModelSpec, hookimpl
from crm_funnel.options import FunnelDefinition, FunnelOptions, StepOptions

if TYPE_CHECKING:
    import click

    from crm_funnel.report import DealsReport, FunnelReport
    from crm_funnel.stage_model import FurthestStep

__version__ = "0.1.0"
__all__ = ["FunnelDefinition", "FunnelOptions", "StepOptions", "make_stage_model"]


def make_stage_model(options: FunnelOptions, funnel: str | None = None) -> FurthestStep:
    from crm_funnel.stage_model import FurthestStep

    return FurthestStep(options.funnel(funnel)[1])


@hookimpl
def register_stage_models(register: Callable[[StageModelSpec], None]) -> None:
    register(
        StageModelSpec(
            name="funnel",
            factory=make_stage_model,
            options=FunnelOptions,
            description="Furthest step of the main funnel",
        )
    )


@hookimpl
def register_configured(options: FunnelOptions, register: Callable[[StageModelSpec], None]) -> None:
    # The extra funnels are data in [funnel.funnels]: one stage column each, once the table is
    # structured (and its key paths checked).
    for name in options.funnels:

        def factory(options: FunnelOptions, funnel: str = name) -> FurthestStep:
            return make_stage_model(options, funnel)

        register(
            StageModelSpec(
                name=options.column(name),
                factory=factory,
                options=FunnelOptions,
                description=f"Furthest step of funnel {name!r}",
            )
        )


def make_funnel_report(options: FunnelOptions) -> FunnelReport:
    from crm_funnel.report import FunnelReport

    return FunnelReport(options)


def make_deals_report(options: FunnelOptions) -> DealsReport:
    from crm_funnel.report import DealsReport

    return DealsReport(options)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(
        ReportSpec(
            name="funnel",
            factory=make_funnel_report,
            options=FunnelOptions,
            description="funnel bars, days to convert, cohort heat map, breakdown by channel",
        )
    )
    register(
        ReportSpec(
            name="deals",
            factory=make_deals_report,
            options=FunnelOptions,
            description="weighted pipeline forecast and the reliability of P(win | stage)",
        )
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    from crm_funnel.commands import funnel

    cli.add_command(funnel)
