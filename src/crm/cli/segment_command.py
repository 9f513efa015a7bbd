"""`crm segment`: score and segment every customer, store the run, print the summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.core.components import Table
from crm.core.privacy import CHANNELS

if TYPE_CHECKING:
    from crm.core.pipeline import SegmentationResult


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def parse_where(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for value in values:
        segmentation, sep, segment_name = value.partition("=")
        if not sep or not segmentation.strip() or not segment_name.strip():
            raise click.BadParameter(
                f"expected SEGMENTATION=SEGMENT, e.g. 'rfm=At Risk'; got {value!r}"
            )
        wanted.setdefault(segmentation.strip(), []).append(segment_name.strip())
    return wanted


@click.command()
@click.option(
    "--as-of",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Analysis date; interactions on or after it are ignored. "
    "Default: the day after the last interaction.",
)
@click.option(
    "--customers",
    "per_customer",
    is_flag=True,
    help="One row per customer (segments and scores) instead of the summary.",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="SEGMENTATION=SEGMENT",
    callback=parse_where,
    help="With --customers: only customers in this segment (repeatable; the same segmentation "
    "twice means either segment), e.g. --where 'rfm=At Risk'.",
)
@click.option("--no-store", is_flag=True, help="Compute and print, but do not store the run.")
@click.option(
    "--wide",
    is_flag=True,
    help="Table format: every column of the summary in one table, descriptions and actions "
    "included (csv and json always have every column).",
)
@click.option(
    "--channel",
    type=click.Choice(CHANNELS),
    help="With --customers: a campaign list for this channel; customers without consent for "
    "it are left out (and counted on stderr).",
)
@click.option(
    "--with-contact",
    is_flag=True,
    help="With --customers: add name, email and phone (consent applied, masked unless --unmask).",
)
@click.option(
    "--unmask",
    is_flag=True,
    help="With --with-contact: contact details as stored (written to the audit log).",
)
@output_options
@click.pass_context
def segment(
    ctx: click.Context,
    as_of: date | None,
    per_customer: bool,
    where: dict[str, list[str]],
    no_store: bool,
    wide: bool,
    channel: str | None,
    with_contact: bool,
    unmask: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Run the enabled scorers and segmentations over every customer.

    The summary has one row per segment with at least `segment`, `customers` and `share`;
    `--customers` has `customer_id`, one column per segmentation and one per score
    (`<scorer>.<metric>`, e.g. `rfm.r`).
    """
    from crm.core.reports import customer_rows, segment_summary

    for given, option in (
        (where, "--where"),
        (channel, "--channel"),
        (with_contact, "--with-contact"),
    ):
        if given and not per_customer:
            raise click.UsageError(f"{option} selects customers: use it with --customers")
    if unmask and not with_contact:
        raise click.UsageError("--unmask shows contact details: use it with --with-contact")
    project = get_app(ctx).project
    started = time.perf_counter()
    built: list[Any] = []

    def build_output(fresh: SegmentationResult) -> None:
        # Before the run is stored: a --where naming an unknown segment stores nothing.
        if not per_customer:
            built.append(segment_summary(fresh))
        elif channel or with_contact:
            built.append(
                project.campaign_list(
                    fresh, where, channel=channel, with_contact=with_contact, unmask=unmask
                )
            )
        else:
            built.append(customer_rows(fresh, where))

    with _status("Scoring customers"):
        result = project.segment(as_of=as_of, store=not no_store, check=build_output)
    click.echo(f"{run_line(result)} ({time.perf_counter() - started:.2f} s)", err=True)
    (data,) = built
    if not per_customer:
        if fmt == "table":
            emit_summary(data, output, wide=wide, headline=project.headline_segmentations())
        else:
            emit(data, fmt, output)
    elif channel or with_contact:
        if channel:
            click.echo(f"{data.left_out} customer(s) left out: no consent for {channel}", err=True)
        emit(data.table, fmt, output)
    else:
        emit(data, fmt, output)


def run_line(result: SegmentationResult) -> str:
    """What a run covered, for stderr: customers, date, where it is stored; then who was left
    out, if anyone."""
    stored = f"stored as run {result.run_id}" if result.run_id is not None else "not stored"
    line = f"{len(result.facts)} customers as of {result.as_of}, {stored}"
    if result.refused_profiling:  # a line of its own: both together pass 80 columns
        line += f"\n{result.refused_profiling} customer(s) left out: no consent to profiling"
    return line


def emit_summary(
    summary: Table, output: Path | None, *, wide: bool = False, headline: Sequence[str] = ()
) -> None:
    """The summary for people (see `crm.cli.segment_layout`), on stdout or into `output`;
    `headline`: the headline segmentations, whose scorers' means come next to a segmentation's
    own."""
    from crm.cli.segment_layout import render_summary
    from crm.cli.terminal import terminal_width

    width = terminal_width()
    if output is None:
        render_summary(summary, sys.stdout, width=width, wide=wide, headline=headline)
        return
    with output.open("w", encoding="utf-8") as stream:
        render_summary(summary, stream, width=width, wide=wide, headline=headline)
    click.echo(f"wrote {len(summary.rows)} row(s) to {output}", err=True)


def _status(message: str) -> AbstractContextManager[object]:
    """A spinner on a terminal; nothing in a pipe or a cron log (and no rich import)."""
    if not sys.stderr.isatty():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)
