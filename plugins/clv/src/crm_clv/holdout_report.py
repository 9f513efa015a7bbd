"""The report's holdout section, from the run artifact `clv.validation` (`crm_clv.holdout`).

Two figures as in the papers: cumulative repeat transactions week by week through the holdout,
predicted against actual, and predicted against actual holdout transactions per calibration
frequency 0..7+; each with a table of the same numbers, for the terminal, csv and json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm import Table
from crm.core.report_model import Block, Figure, Section, Series, Text

TITLE = "CLV holdout check"


def _summary_text(check: Mapping[str, Any]) -> Text:
    error = check["error"]
    correlation = check["correlation"]
    cumulative = check["cumulative_error"]
    return Text(
        f"{check['model']} fitted on the purchases to {check['calibration_end']} and checked "
        f"on the {check['holdout_days']} days to {check['holdout_end']}: "
        f"{check['customers']:,} customers made {check['actual']:,.0f} repeat transactions "
        f"in the holdout against {check['predicted']:,.1f} predicted"
        + ("" if error is None else f" (error {error:+.1%})")
        + f"; per customer, mean absolute error {check['mean_absolute_error']:.3f}"
        + ("" if correlation is None else f" and correlation {correlation:.3f}")
        + f". Cumulative from each first purchase: {check['cumulative_actual']:,.0f} actual, "
        f"{check['cumulative_predicted']:,.1f} predicted"
        + ("" if cumulative is None else f" ({cumulative:+.1%})")
        + "."
    )


def _tracking(check: Mapping[str, Any]) -> tuple[Figure, Table]:
    points = check["tracking"]
    weeks = [str(p["period"]) for p in points]
    cohort = [int(check["customers"])] * len(points)
    figure = Figure(
        kind="line",
        title="Cumulative repeat transactions in the holdout, week by week",
        categories=weeks,
        series=(
            Series(name="actual", values=[p["actual"] for p in points], customers=cohort),
            Series(
                name="predicted",
                values=[round(p["predicted"], 2) for p in points],
                customers=cohort,
            ),
        ),
        x_label="weeks since the calibration end",
        y_label="repeat transactions",
        unit="transactions",
        caption="The calibration period's customers; the model saw none of these weeks.",
    )
    table = Table(
        columns=("week", "customers", "actual", "predicted"),
        rows=tuple(
            (p["period"], check["customers"], int(p["actual"]), round(p["predicted"], 2))
            for p in points
        ),
        title="Cumulative repeat transactions in the holdout",
        name="holdout_tracking",
        customers_column="customers",
    )
    return figure, table


def _per_frequency(check: Mapping[str, Any]) -> tuple[Figure, Table]:
    buckets = check["buckets"]
    customers = [int(b["customers"]) for b in buckets]
    figure = Figure(
        kind="bar",
        title="Holdout repeat transactions per calibration frequency",
        categories=[b["frequency"] for b in buckets],
        series=(
            Series(name="actual", values=[b["actual"] for b in buckets], customers=customers),
            Series(
                name="predicted",
                values=[round(b["predicted"], 2) for b in buckets],
                customers=customers,
            ),
        ),
        x_label="repeat transactions in the calibration period",
        y_label="repeat transactions in the holdout",
        unit="transactions",
        caption="Customers grouped by how often they bought again before the holdout.",
    )
    table = Table(
        columns=("frequency", "customers", "actual", "predicted"),
        rows=tuple(
            (b["frequency"], b["customers"], int(b["actual"]), round(b["predicted"], 2))
            for b in buckets
        ),
        title="Holdout repeat transactions per calibration frequency",
        name="holdout_frequency",
        customers_column="customers",
    )
    return figure, table


def holdout_section(check: Mapping[str, Any] | None) -> Section:
    """The section for the run's `clv.validation` artifact (None: the run has none)."""
    if check is None:
        return Section(
            title=TITLE,
            blocks=(
                Text(
                    "This run has no holdout check: [clv.validation] enabled is false, or "
                    "the run was stored before crm-clv checked its model."
                ),
            ),
        )
    if "skipped" in check:
        return Section(
            title=TITLE, blocks=(Text(f"No holdout check: {str(check['skipped']).rstrip('.')}."),)
        )
    tracking_figure, tracking_table = _tracking(check)
    frequency_figure, frequency_table = _per_frequency(check)
    blocks: tuple[Block, ...] = (
        _summary_text(check),
        tracking_figure,
        frequency_figure,
        frequency_table,
        tracking_table,
    )
    return Section(title=TITLE, blocks=blocks)
