"""`crm segments`: `diff` (how customers moved between segments from one stored run to another)
and `explain` (why a customer is where they are in a segmentation)."""

from __future__ import annotations

from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.explain_command import explain
from crm.cli.output import emit, output_options


@click.group()
def segments() -> None:
    """Compare the segments of stored runs, and explain a segmentation."""


segments.add_command(explain)


@segments.command()
@click.argument("from_run", metavar="[A]", type=int, required=False)
@click.argument("to_run", metavar="[B]", type=int, required=False)
@click.option(
    "--segmentation",
    "-s",
    help="The segmentation (or stage model) to compare. Default: the first headline "
    "segmentation both runs stored (rfm in the default configuration), else the first both "
    "stored.",
)
@click.option("--from", "from_segment", metavar="SEGMENT", help="Only customers who were here.")
@click.option("--to", "to_segment", metavar="SEGMENT", help="Only customers who are here now.")
@click.option(
    "--customers",
    "list_customers",
    is_flag=True,
    help="List the customers (customer_id, from, to, revenue) instead of counting them; "
    "without --from/--to, every customer whose segment changed.",
)
@click.option(
    "--matrix",
    is_flag=True,
    help="Print the counts as a from x to matrix (one column per segment; wide).",
)
@output_options
@click.pass_context
def diff(
    ctx: click.Context,
    from_run: int | None,
    to_run: int | None,
    segmentation: str | None,
    from_segment: str | None,
    to_segment: str | None,
    list_customers: bool,
    matrix: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Customers moving between segments from run A to run B.

    Default B: the current run; default A: the latest run of an earlier analysis date (store one
    with `crm segment --as-of YYYY-MM-DD`). Prints one row per from/to pair that has customers:
    from, to, customers, share (of the from segment) and revenue (as of B). "(new)" rows are
    customers who entered (not in A), "(gone)" columns customers who left (not in B), "(none)"
    customers the segmentation leaves out.

    A campaign list: crm segments diff --from Champions --to 'At Risk' --customers
    """
    project = get_app(ctx).project
    migration = project.segment_migration(segmentation, from_run, to_run)
    if list_customers:
        with project.engine.connect() as connection:
            table = migration.movers(connection, from_segment, to_segment)
    else:
        if from_segment is not None or to_segment is not None:
            raise click.UsageError("--from and --to choose customers: use them with --customers")
        table = migration.matrix() if matrix else migration.cells()
    if fmt != "table":  # the table shows it as its title
        click.echo(migration.title, err=True)
    emit(table, fmt, output)
