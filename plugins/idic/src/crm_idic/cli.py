"""`crm identify`: possible duplicate customers, with the evidence; `--merge` merges them."""

from __future__ import annotations

from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options


@click.command()
@click.option("--merge", is_flag=True, help="Merge the clusters decided 'merge' (one transaction).")
@click.option(
    "--min-weight",
    type=float,
    help="With --merge: merge every cluster whose members all link to the survivor with at "
    "least this weight (review clusters too), instead of the configured decision.",
)
@click.option("--model", "show_model", is_flag=True, help="Print the fitted m, u and weights.")
@output_options
@click.pass_context
def identify(
    ctx: click.Context,
    merge: bool,
    min_weight: float | None,
    show_model: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """List clusters of customers that look like one person: evidence per field, match weight
    (log2 odds) and decision (merge at or above [idic.identify] merge_weight, review down to
    review_weight). The survivor of a cluster is its earliest created customer."""
    from crm.core.customer_version import customers_version
    from crm.core.database import read_only_connection
    from crm_idic.identify import identify as find
    from crm_idic.identify.cache import store, strongest_links
    from crm_idic.identify.tables import cluster_table, model_table

    if min_weight is not None and not merge:
        raise click.UsageError("--min-weight applies to --merge; add --merge")
    project = get_app(ctx).project
    options = project.options["idic"].identify
    with read_only_connection(project.engine) as connection:
        version = customers_version(connection, project.tables)  # before reading: see cache.py
        found = find(connection, project.tables, options)
    # The next `crm segment` reuses this search while the customers stay as they are.
    store(version, options, strongest_links(found))
    pairs = found.pairs
    click.echo(
        f"{len(found.records)} customers, {len(pairs)} candidate pairs"
        + (
            f" ({pairs.skipped_blocks} blocks over max_block_size skipped)"
            if pairs.skipped_blocks
            else ""
        )
        + f", {sum(found.timings.values()):.1f} s",
        err=True,
    )
    if show_model:
        emit(model_table(found), fmt, output)
        return
    emit(cluster_table(found, evidence_columns=fmt != "table"), fmt, output)
    if merge:
        merges = found.merges(min_weight)
        done = project.merge_many(merges)
        moved = sum(m.interactions_moved for m in done)
        click.echo(
            f"merged {len(done)} cluster(s): {sum(len(m.merged) for m in done)} customer(s) "
            f"into survivors, {moved} interaction(s) moved; `crm customers merges` lists them, "
            "`crm customers unmerge ID` undoes one",
            err=True,
        )


@click.command()
@click.option("--channel", help="Only actions on this channel (email, sms, phone, ...).")
@click.option("--unmask", is_flag=True, help="Contact fields as stored (written to the audit log).")
@output_options
@click.pass_context
def actions(
    ctx: click.Context, channel: str | None, unmask: bool, fmt: str, output: Path | None
) -> None:
    """Each customer's next-best action ([[idic.actions.rules]], highest priority first, else
    the default), with contact fields for the mailing or call-centre tool and the reason.

    Customers without consent for the action's channel are left out and counted on stderr;
    contact fields are masked by the [privacy] rules of crm.toml unless --unmask.
    """
    from crm.core.database import read_only_connection
    from crm_idic.customize import action_list

    project = get_app(ctx).project
    result = project.segment(store=False)
    masker = None if unmask else project.masker()
    with read_only_connection(project.engine) as connection:
        found = action_list(
            result, connection, project.tables, project.options["idic"], channel, masker
        )
    if unmask:
        from crm.core.audit import record

        with project.engine.begin() as connection:
            record(connection, "unmasked export", customers=len(found.table.rows))
    for name, count in sorted(found.without_consent.items()):
        click.echo(f"{count} customer(s) left out: no consent for {name}", err=True)
    emit(found.table, fmt, output)


@click.command()
@click.option("--customers", "per_customer", is_flag=True, help="One row per customer.")
@output_options
@click.pass_context
def idic(ctx: click.Context, per_customer: bool, fmt: str, output: Path | None) -> None:
    """Which IDIC step is missing, in aggregate (or per customer): an unresolved possible
    duplicate (identify), no value or potential tier (differentiate), no interaction within
    [idic] interact_within_days (interact), only the default action (customize)."""
    from crm.core.database import read_only_connection
    from crm_idic.customize import idic_tables, missing_steps

    project = get_app(ctx).project
    result = project.segment(store=False)
    with read_only_connection(project.engine) as connection:
        missing = missing_steps(result, connection, project.tables, project.options["idic"])
    if missing["identify"] is None:
        click.echo(
            "identify: not run ([idic] identify_in_runs = false); `crm identify` lists the "
            "possible duplicates",
            err=True,
        )
    aggregate, customers = idic_tables(result, missing)
    emit(customers if per_customer else aggregate, fmt, output)
