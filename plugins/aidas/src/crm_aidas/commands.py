"""`crm journey` and `crm campaigns`: parse, call `crm_aidas.api`, render. Nothing else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from crm import Table
from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.cli.segment_command import parse_date

AS_OF = click.option(
    "--as-of",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Analysis date; events on or after it are ignored. "
    "Default: the day after the last interaction.",
)
STAGES = click.option(
    "--stages",
    "stages",
    metavar="NAME",
    help="Stage set: aidas, aida, aidma, aisas, lifecycle or one of [aidas.sets] "
    "(default: [aidas] stages).",
)


@click.group(invoke_without_command=True)
@STAGES
@AS_OF
@click.option(
    "--by",
    type=click.Choice(("channel", "campaign")),
    help="One stage table per channel or campaign of each customer's first or last touch.",
)
@click.option(
    "--touch",
    type=click.Choice(("first", "last")),
    default="first",
    show_default=True,
    help="With --by: the first touch, or the last touch before the first action.",
)
@output_options
@click.pass_context
def journey(
    ctx: click.Context,
    stages: str | None,
    as_of: date | None,
    by: str | None,
    touch: str,
    fmt: str,
    output: Path | None,
) -> None:
    """Journey stages: reached, conversion to the next stage, drop-off, days to the next stage.

    Columns: stage, reached, observed (had an event of the stage itself), current, convert (to
    the next stage), dropped, days_next (median days to the next stage); with --by: the channel
    or campaign, stage, reached, convert, dropped, days_next.
    """
    if ctx.invoked_subcommand is not None:
        return
    from crm_aidas import api

    table = api.journey_stages(get_app(ctx).project, stages=stages, as_of=as_of, by=by, touch=touch)
    emit(table, fmt, output)


@journey.command()
@STAGES
@AS_OF
@click.option("--top", default=10, show_default=True, help="How many paths to show.")
@click.option("--flows", is_flag=True, help="Flows between stages (a Sankey's links) instead.")
@output_options
@click.pass_context
def paths(
    ctx: click.Context,
    stages: str | None,
    as_of: date | None,
    top: int,
    flows: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """The most common paths of stages to the first action.

    Columns: path, customers, share (--flows: source, target, customers).
    """
    from crm_aidas import api

    path_table, flow_table = api.journey_paths(
        get_app(ctx).project, stages=stages, as_of=as_of, top=top
    )
    emit(flow_table if flows else path_table, fmt, output)


@journey.command("4c")
@click.option(
    "--by",
    default="rfm",
    show_default=True,
    metavar="SEGMENTATION",
    help="The segmentation (or stage model) whose segments are compared.",
)
@AS_OF
@output_options
@click.pass_context
def four_c(ctx: click.Context, by: str, as_of: date | None, fmt: str, output: Path | None) -> None:
    """The 4C view per segment: needs, cost, convenience, communication.

    Columns: segment, c, measure, value, note (why a value is unavailable).
    """
    from crm_aidas import api

    emit(api.four_c(get_app(ctx).project, by=by, as_of=as_of), fmt, output)


#: On a terminal: these columns, under short names, so that 80 columns hold them.
TERMINAL_CAMPAIGN_COLUMNS = {
    "campaign": "campaign", "reach": "reach", "responses": "resp", "conversions": "conv",
    "revenue": "revenue", "cost": "cost", "roi": "roi", "cost_per_conversion": "per_conv",
}  # fmt: skip


def narrowed(table: Table, columns: dict[str, str]) -> Table:
    """The table with only `columns`, renamed (csv and json keep every column as it is)."""
    at = [table.columns.index(column) for column in columns]
    rows = tuple(tuple(row[i] for i in at) for row in table.rows)
    return Table(columns=tuple(columns.values()), rows=rows, title=table.title)


@click.group(invoke_without_command=True)
@AS_OF
@click.option(
    "--attribution",
    type=click.Choice(("last", "first", "linear")),
    help="Which touch in the window gets a purchase (default: [aidas] attribution, last).",
)
@click.option(
    "--window-days",
    type=float,
    help="Attribution window in days after a touch (default: [aidas] attribution_days, 7).",
)
@output_options
@click.pass_context
def campaigns(
    ctx: click.Context,
    as_of: date | None,
    attribution: str | None,
    window_days: float | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Campaign results: reach, responses, attributed conversions and revenue, cost, ROI.

    Columns: campaign, channel, start, reach, responses, response_rate, conversions, revenue,
    cost, roi, cost_per_conversion, note (as a table on a terminal: campaign, reach, resp,
    conv, revenue, cost, roi, per_conv, with the notes on stderr). Attribution is not causation: see
    `crm campaigns holdout` for uplift against comparable untouched customers.
    """
    if ctx.invoked_subcommand is not None:
        return
    from crm_aidas import api

    table = api.campaign_results(
        get_app(ctx).project, as_of=as_of, attribution=attribution, window_days=window_days
    )
    if fmt == "table" and output is None:
        # For a terminal: the money columns, and the notes (no cost: ROI unavailable) on stderr.
        note = table.columns.index("note")
        for row in table.rows:
            if row[note]:
                click.echo(f"{row[0]}: {row[note]}", err=True)
        table = narrowed(table, TERMINAL_CAMPAIGN_COLUMNS)
    emit(table, fmt, output)


@campaigns.command()
@AS_OF
@click.option(
    "--by",
    default="rfm",
    show_default=True,
    metavar="SEGMENTATION",
    help="Compare within the segments of this segmentation as of each campaign's start.",
)
@click.option("--window-days", type=float, help="Days after the campaign's end that count.")
@output_options
@click.pass_context
def holdout(
    ctx: click.Context,
    as_of: date | None,
    by: str,
    window_days: float | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Conversion of touched customers against untouched ones in the same segment.

    Columns: campaign, segmentation, touched, touched_rate, control, control_rate (standardised
    to the touched customers' segments), uplift, incremental, note.
    """
    from crm_aidas import api

    table = api.campaign_holdout(get_app(ctx).project, as_of=as_of, by=by, window_days=window_days)
    emit(table, fmt, output)
