"""The funnel's reports through crm's report model: `crm report funnel`, `crm report deals`.

- `funnel`: per configured funnel, the funnel bars (customers per step, with drop-off), the
  time-to-convert histogram of each step, the cohort conversion heat map, and the breakdown
  bars by first-touch channel, each with its table;
- `deals`: the weighted forecast per stage and the reliability diagram of P(win | stage), the
  holdout starting `HOLDOUT_DAYS` before the analysis date.

Counts of customers are declared (`customers_column`, `Series.customers`), so crm hides groups
smaller than `[reports] min_group_size`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from attrs import frozen

from crm import Figure, ReportContext, Section, Series, Table, Text
from crm_funnel.analysis import STEP_COLUMNS, breakdown_table, cohort_table, step_stats, steps_table
from crm_funnel.deals import build_deals, estimate_win_probability, read_deal_events
from crm_funnel.options import FunnelDefinition, FunnelOptions
from crm_funnel.pipeline import calibration, forecast_table, summary
from crm_funnel.reach import Reach, _seconds, compute_reach
from crm_funnel.sections import DAY_BINS, time_to_convert

HOLDOUT_DAYS = 182


def _named(table: Table, name: str, customers: str | None = "customers") -> Table:
    return Table(
        columns=table.columns, rows=table.rows, title=table.title, name=name,
        customers_column=customers,
    )  # fmt: skip


def funnel_section(
    name: str, definition: FunnelDefinition, reach: Reach, context: ReportContext
) -> Section:
    stats = step_stats(reach, definition, context.as_of)
    steps = [s.step for s in stats]
    reached = [s.customers for s in stats]
    dropped = [s.dropped or 0 for s in stats]
    went_on = [r - d for r, d in zip(reached, dropped, strict=True)]
    bars = Figure(
        kind="stacked_bar",
        title=f"Funnel {name}: customers per step",
        categories=steps,
        series=(
            Series(name="went on to the next step", values=went_on, customers=went_on),
            Series(name="dropped off here", values=dropped, customers=dropped),
        ),
        y_label="customers",
        unit="customers",
        caption=f"{definition.order} order, {definition.window_days:g}-day window; "
        "each bar is the customers who reached the step",
    )
    table = steps_table(reach, definition, context.as_of, f"Funnel {name}")
    blocks: list[Table | Text | Figure] = [bars, _named(table, f"{name}.steps")]
    waits = time_to_convert(reach, definition, f"Funnel {name}: days from the previous step")
    labels = [c.removeprefix("days_") for c in waits.columns[1:]]
    for row in waits.rows:
        counts = dict(zip(labels, (int(v) for v in row[1:]), strict=True))  # type: ignore[call-overload]
        if sum(counts.values()):
            blocks.append(Figure.histogram(f"Days to reach {row[0]}", counts, x_label="days"))
    blocks.append(_named(waits, f"{name}.time_to_convert", None))
    cohorts = cohort_table(
        reach, definition, "month", f"Funnel {name}: share reaching each step per month of entry"
    )
    if cohorts.rows:
        blocks.append(
            Figure(
                kind="heatmap",
                title=f"Funnel {name}: conversion by month of entry",
                categories=steps,
                series=tuple(
                    Series(name=str(row[0]), values=[100 * float(v) for v in row[2:-1]],  # type: ignore[arg-type]
                           customers=[int(row[1])] * len(steps),  # type: ignore[call-overload]
                           labels=[f"{100 * float(v):.0f}%" for v in row[2:-1]])  # type: ignore[arg-type]
                    for row in cohorts.rows
                ),
                unit="%",
                caption="each row is the customers who entered in that month",
            )
        )  # fmt: skip
    blocks.append(_named(cohorts, f"{name}.cohorts", "entered"))
    return Section(title=f"Funnel {name} as of {context.as_of}", blocks=blocks)


def breakdown_section(
    name: str, definition: FunnelDefinition, reach: Reach, context: ReportContext
) -> Section:
    first, _ = reach.attribution["channel"]
    table = breakdown_table(
        reach, definition, context.as_of, first, "channel", f"Funnel {name} by first-touch channel"
    )
    channels = sorted({str(row[0]) for row in table.rows})
    last = definition.step_names[-1]
    entered = {str(r[0]): int(r[2]) for r in table.rows if r[1] == definition.step_names[0]}  # type: ignore[call-overload]
    converted = {str(r[0]): int(r[2]) for r in table.rows if r[1] == last}  # type: ignore[call-overload]
    figure = Figure(
        kind="bar",
        title=f"Funnel {name}: share reaching {last}, by first-touch channel",
        categories=channels,
        series=(Series(
            name=last,
            values=[100 * converted[c] / entered[c] if entered.get(c) else None for c in channels],
            customers=[entered.get(c, 0) for c in channels]),),
        unit="%",
    )  # fmt: skip
    return Section(
        title=f"Funnel {name} by channel",
        blocks=(figure, _named(table, f"{name}.by_channel")),
    )


@frozen
class FunnelReport:
    options: FunnelOptions

    def build(self, context: ReportContext) -> Sequence[Section]:
        sections = []
        for name, definition in self.options.all_funnels().items():
            reach = compute_reach(
                context.connection, context.tables, definition, as_of=context.as_of,
                attributed=("channel",),
            )  # fmt: skip
            sections.append(funnel_section(name, definition, reach, context))
            sections.append(breakdown_section(name, definition, reach, context))
        return sections


@frozen
class DealsReport:
    options: FunnelOptions

    def build(self, context: ReportContext) -> Sequence[Section]:
        deal_options = self.options.deals
        events = read_deal_events(context.connection, context.tables, deal_options, context.as_of)
        deals = build_deals(events, deal_options, _seconds(context.as_of))
        estimates = estimate_win_probability(deals, deal_options)
        forecast = forecast_table(
            deals, deal_options, estimates, f"Weighted pipeline forecast, as of {context.as_of}"
        )
        numbers = summary(deals)
        facts = Text(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in numbers.items()))
        holdout = context.as_of - timedelta(days=HOLDOUT_DAYS)
        check = calibration(events, deal_options, holdout, context.as_of)
        blocks: list[Table | Text | Figure] = [
            facts,
            _named(forecast, "forecast", None),
            _named(check.scores, "calibration", None),
        ]
        for source in ("estimated", "fixed"):
            rows = [r for r in check.reliability.rows if r[0] == source]
            if rows:
                blocks.append(
                    Figure(
                        kind="scatter",
                        title=f"Reliability of the {source} P(win | stage)",
                        categories=(),
                        series=(
                            Series(name="observed win rate", values=[float(r[4]) for r in rows],  # type: ignore[arg-type]
                                   x=tuple(float(r[3]) for r in rows),  # type: ignore[arg-type]
                                   customers=[int(r[2]) for r in rows]),  # type: ignore[call-overload]
                            Series(name="perfect calibration", values=[0.0, 1.0], x=(0.0, 1.0)),
                        ),
                        x_label="predicted", y_label="observed",
                        caption=f"deals open from {holdout} that closed by {context.as_of}, predicted from "
                        f"their stage on {holdout}; on the diagonal means well calibrated",
                    )
                )  # fmt: skip
        blocks.append(_named(check.reliability, "reliability", "deals"))
        return [Section(title=f"Deals as of {context.as_of}", blocks=blocks)]


__all__ = ["DAY_BINS", "STEP_COLUMNS", "DealsReport", "FunnelReport"]
