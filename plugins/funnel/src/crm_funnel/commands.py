"""`crm funnel`: parse, call `crm_funnel.api` / `crm_funnel.pipeline`, render. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.cli.segment_command import parse_date

F = TypeVar("F", bound=Callable[..., Any])


def scope_options(fn: F) -> F:
    """--funnel, --as-of, --from, --to: which funnel, the analysis date, the entry period."""
    for option in reversed(
        (
            click.option("--funnel", "funnel_name", metavar="NAME",
                         help="Which funnel (default: the main one in [funnel])."),
            click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD",
                         help="Analysis date; events on or after it are ignored. "
                         "Default: the day after the last interaction."),
            click.option("--from", "start", callback=parse_date, metavar="YYYY-MM-DD",
                         help="Only customers who entered the funnel on or after this day."),
            click.option("--to", "end", callback=parse_date, metavar="YYYY-MM-DD",
                         help="Only customers who entered the funnel before this day."),
        )
    ):  # fmt: skip
        fn = option(fn)
    return fn


@click.group(invoke_without_command=True)
@scope_options
@click.option(
    "--by",
    metavar="PROPERTY",
    help="One table per value of country, gender, age_band, channel, campaign or a "
    "segmentation (e.g. rfm).",
)
@click.option(
    "--attribution",
    type=click.Choice(("first", "last")),
    default="first",
    show_default=True,
    help="With --by channel|campaign: the attempt's first or last known value.",
)
@click.option(
    "--cohort",
    type=click.Choice(("week", "month")),
    help="Conversion per cohort of entry instead of the step table.",
)
@output_options
@click.pass_context
def funnel(
    ctx: click.Context,
    funnel_name: str | None,
    as_of: date | None,
    start: date | None,
    end: date | None,
    by: str | None,
    attribution: str,
    cohort: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Funnel steps: reached, conversion, drop-off, time to convert, stuck.

    Columns: step, customers, conversion (from the previous step), from_top, dropped,
    dropped_share, median_days and p90_days (from the previous step), stuck.
    """
    if ctx.invoked_subcommand is not None:
        return
    from crm_funnel import api

    project = get_app(ctx).project
    scope: dict[str, Any] = {"funnel": funnel_name, "as_of": as_of, "start": start, "end": end}
    if by and cohort:
        raise click.UsageError("--by and --cohort are two different tables: choose one")
    if by:
        table = api.funnel_breakdown(project, by, attribution=attribution, **scope)
    elif cohort:
        table = api.funnel_cohorts(project, cohort, **scope)
    else:
        table = api.funnel_steps(project, **scope)
    emit(table, fmt, output)


@funnel.command()
@click.option("--after", "after", required=True, metavar="STEP", help="The step they reached.")
@click.option(
    "--channel",
    type=click.Choice(("email", "sms", "phone")),
    help="Only customers whose consent for this channel is yes (a campaign list).",
)
@scope_options
@output_options
@click.pass_context
def dropped(
    ctx: click.Context,
    after: str,
    channel: str | None,
    funnel_name: str | None,
    as_of: date | None,
    start: date | None,
    end: date | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Customers who reached STEP but not the next step (a re-engagement list).

    Columns: customer_id, reached_at (UTC), days_since, window_open (they may still convert).
    """
    from crm_funnel import api

    table = api.funnel_dropped(
        get_app(ctx).project,
        after,
        channel=channel,
        funnel=funnel_name,
        as_of=as_of,
        start=start,
        end=end,
    )
    click.echo(f"{table.title}: {len(table.rows)} customer(s)", err=True)
    emit(table, fmt, output)


@funnel.command()
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD",
              help="Analysis date (default: the day after the last interaction).")  # fmt: skip
@click.option("--summary", is_flag=True,
              help="Print won, lost, win rate, cycle and velocity instead of the forecast.")  # fmt: skip
@output_options
@click.pass_context
def deals(
    ctx: click.Context, as_of: date | None, summary: bool, fmt: str, output: Path | None
) -> None:
    """Deal pipeline: open deals and weighted forecast per stage (--summary: won, lost, win
    rate, cycle, velocity).

    Columns: stage, open_deals, open_value, p_win, p_low, p_high, source, closed_deals,
    weighted_value (--summary: measure, value).
    """
    import crm_funnel.pipeline as pipeline
    from crm import Table

    report = pipeline.deal_report(get_app(ctx).project, as_of=as_of)
    if summary:
        rows = tuple((key, value) for key, value in report.summary.items())
        emit(
            Table(columns=("measure", "value"), rows=rows, title=report.forecast.title), fmt, output
        )
        return
    for line in report.summary_lines():
        click.echo(line, err=True)
    emit(report.forecast, fmt, output)


@funnel.command()
@click.option("--holdout-start", required=True, callback=parse_date, metavar="YYYY-MM-DD",
              help="Estimate on the deals as they stood before this day; score the deals "
                   "open then or opened later.")  # fmt: skip
@click.option("--as-of", callback=parse_date, metavar="YYYY-MM-DD",
              help="End of the scored period (default: the day after the last interaction).")  # fmt: skip
@click.option("--reliability", is_flag=True,
              help="Print the reliability table instead of the scores.")  # fmt: skip
@output_options
@click.pass_context
def calibrate(
    ctx: click.Context,
    holdout_start: date,
    as_of: date | None,
    reliability: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Brier score and log loss of the fixed and the estimated P(win | stage).

    Columns: probabilities, deals, brier, log_loss (--reliability: probabilities, bin, deals,
    mean_predicted, observed).
    """
    import crm_funnel.pipeline as pipeline

    result = pipeline.calibrate(get_app(ctx).project, holdout_start, as_of=as_of)
    emit(result.reliability if reliability else result.scores, fmt, output)
