"""crm-clv: historical and predictive customer lifetime value, with uncertainty.

A crm plugin registered through the `crm` entry-point group. The models are plain objects
usable without crm (`crm_clv.bgnbd.BgNbd`, `crm_clv.pareto_nbd.ParetoNbd`,
`crm_clv.gamma_gamma.GammaGamma`); this module only registers the scorer, the segmentations
and the `crm clv` commands, and stays light (no numpy or scipy at import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from crm import Metric, ReportSpec, ScorerSpec, SegmentationSpec, hookimpl
from crm_clv.options import ClvOptions

if TYPE_CHECKING:
    from crm_clv.report import ClvReport
    from crm_clv.scoring import ClvScorer
    from crm_clv.segments import AtRisk, ValueTiers

__version__ = "0.1.0"
__all__ = ["SCORER", "ClvOptions"]


def make_scorer(options: ClvOptions) -> ClvScorer:
    from crm_clv.scoring import ClvScorer

    return ClvScorer(options)


def make_tiers(options: ClvOptions) -> ValueTiers:
    from crm_clv.segments import ValueTiers

    return ValueTiers(options)


def make_at_risk(options: ClvOptions) -> AtRisk:
    from crm_clv.segments import AtRisk

    return AtRisk(options)


SCORER = ScorerSpec(
    name="clv",
    factory=make_scorer,
    options=ClvOptions,
    metrics=(
        Metric("revenue", "money", "total purchase amount to the analysis date"),
        Metric("margin", "money", "revenue times the [clv] margin rate"),
        Metric("purchases", "count", "purchases (distinct orders where an order id exists)"),
        Metric("aov", "money", "average order value: revenue / purchases"),
        Metric("tenure", "days", "days from the first purchase to the analysis date"),
        Metric("x", "count", "repeat transactions: distinct purchase days after the first"),
        Metric("t_x", "value", "time of the last transaction after the first (time unit)"),
        Metric("age", "value", "T: time from the first transaction to the period end"),
        Metric("expected_transactions", "value", "expected transactions over the horizon"),
        Metric("expected_transactions_low", "value", "lower end of its interval"),
        Metric("expected_transactions_high", "value", "upper end of its interval"),
        Metric("p_alive", "value", "probability the customer is still active"),
        Metric("expected_spend", "money", "expected value of a future transaction"),
        Metric("clv", "money", "discounted expected margin over the horizon"),
        Metric("clv_low", "money", "lower end of the CLV interval"),
        Metric("clv_high", "money", "upper end of the CLV interval"),
    ),
    description="Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma spend",
)


def make_report(options: ClvOptions) -> ClvReport:
    from crm_clv.report import ClvReport

    return ClvReport(options)


@hookimpl
def register_reports(register: Callable[[ReportSpec], None]) -> None:
    register(
        ReportSpec(
            name="clv",
            factory=make_report,
            options=ClvOptions,
            description="CLV model card, CLV distribution, frequency x recency matrices",
        )
    )


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(SCORER)


@hookimpl
def register_segmentations(register: Callable[[SegmentationSpec], None]) -> None:
    register(
        SegmentationSpec(
            name="clv_tier",
            factory=make_tiers,
            options=ClvOptions,
            description="Value tiers by predicted CLV (top / next / rest)",
        )
    )
    register(
        SegmentationSpec(
            name="clv_risk",
            factory=make_at_risk,
            options=ClvOptions,
            description="At risk: probability alive below [clv] at_risk_below",
        )
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    from crm_clv.commands import add_commands

    add_commands(cli)
