"""`crm forget`, `crm audit`, `crm backup`, `crm restore`: the privacy commands (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.core.components import Table


@click.command()
@click.argument("customer_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.pass_context
def forget(ctx: click.Context, customer_id: str, yes: bool) -> None:
    """Erase CUSTOMER_ID's personal data everywhere (right to erasure).

    Name, email, phone, city, birth date, gender and attributes go; interactions keep only
    anonymous kind, time and amount, under an anonymous id, so totals stay right; stored runs
    lose the person's segments and scores; plugins remove what they store. A keyed hash of
    the id (never the id) makes a later import of it fail unless --recreate-erased. Exit 5
    if there is no such customer.
    """
    project = get_app(ctx).project
    if not yes:
        click.confirm(f"Erase customer {customer_id!r} for good?", abort=True, err=True)
    report = project.forget(customer_id)
    click.echo(
        f"erased: {report.interactions_anonymised} interaction(s) anonymised, "
        f"{report.run_rows_removed} stored run row(s) removed",
        err=True,
    )


@click.command()
@click.option("--action", help="Only entries of this action, e.g. 'erase customer'.")
@output_options
@click.pass_context
def audit(ctx: click.Context, action: str | None, fmt: str, output: Path | None) -> None:
    """The audit log: imports, erasures, unmasked exports, config changes, backups, restores.

    Columns: id, occurred_at (UTC), os_user, command, action, counts. No command changes or
    deletes entries.
    """
    entries = get_app(ctx).project.audit_log(action=action)
    rows = tuple(
        (
            e.id,
            e.occurred_at.replace(microsecond=0),
            e.os_user,
            e.command,
            e.action,
            " ".join(f"{k}={v}" for k, v in e.counts.items()) if fmt != "json" else e.counts,
        )
        for e in entries
    )
    columns = ("id", "occurred_at", "os_user", "command", "action", "counts")
    emit(Table(columns=columns, rows=rows, title="Audit log"), fmt, output)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx: click.Context, file: Path) -> None:
    """Write a consistent snapshot of the whole database to FILE (a new file).

    SQLite: a SQLite database made with the online backup API. PostgreSQL: a zip of every
    table as JSON Lines (independent of pg_dump versions). Restore with `crm restore FILE`.
    """
    report = get_app(ctx).project.backup(file)
    click.echo(f"wrote {report.tables} table(s), {report.rows} row(s) to {file}", err=True)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.pass_context
def restore(ctx: click.Context, file: Path, yes: bool) -> None:
    """Replace the whole database with the backup in FILE.

    The audit log, the tombstones of erased customers and the database's secret are kept,
    and erasures done after the backup was taken are applied again.
    """
    project = get_app(ctx).project
    if not yes:
        click.confirm("Replace every row of the database with the backup?", abort=True, err=True)
    report = project.restore(file)
    click.echo(
        f"restored {report.tables} table(s), {report.rows} row(s) from {file}; "
        f"{report.customers_erased_again} customer(s) erased again",
        err=True,
    )
