"""`crm import customers|interactions FILE`: stream a CSV or JSON Lines file into the database."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crm.cli.app import get_app
from crm.cli.output import emit, output_options
from crm.core.components import Table

if TYPE_CHECKING:
    from crm.core.importing import ImportReport


def parse_mapping(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    mapping = {}
    for value in values:
        field, sep, column = value.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(
                f"expected FIELD=COLUMN, e.g. customer_id=CustomerID; got {value!r}"
            )
        mapping[field.strip()] = column.strip()
    return mapping


def import_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--map",
            "mapping",
            multiple=True,
            callback=parse_mapping,
            metavar="FIELD=COLUMN",
            help="Read FIELD from COLUMN of the file (repeatable); adds to [import] in crm.toml.",
        ),
        click.option(
            "--date-format",
            metavar="STRPTIME",
            help="Format of date columns, e.g. '%Y%m%d'. Default: ISO 8601.",
        ),
        click.option(
            "--delimiter", help="CSV delimiter: ',', ';', 'tab' or 'whitespace'. Default ','."
        ),
        click.option(
            "--encoding",
            default="utf-8-sig",
            show_default=True,
            help="Text encoding of the file, e.g. cp1252 for many spreadsheet exports.",
        ),
        click.option(
            "--file-format",
            type=click.Choice(["csv", "jsonl"]),
            help="Default: from the file name (.jsonl/.ndjson are JSON Lines).",
        ),
        click.option(
            "--skip-bad-rows",
            is_flag=True,
            help="Import the good rows and write the bad ones to a reject file, "
            "instead of importing nothing.",
        ),
        click.option(
            "--reject-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Where bad rows go with --skip-bad-rows. Default: FILE.rejects.csv",
        ),
        click.option("--batch-size", default=10_000, show_default=True, help="Rows per batch."),
        click.option(
            "--recreate-erased",
            is_flag=True,
            help="Import rows of customers erased with `crm forget` (refused by default).",
        ),
        output_options,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


KEEP_EXTRA = click.option(
    "--keep-extra",
    is_flag=True,
    help="Keep columns no field reads in each row's attributes (JSON, by column name); "
    "also keep_extra = true in [import].",
)


@click.group("import")
def import_group() -> None:
    """Import customers, interactions or campaigns from CSV or JSON Lines (all-or-nothing,
    re-runnable)."""


@contextmanager
def _progress(path: Path) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr while the file is read; nothing in a pipe or a cron log."""
    if not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task(f"importing {path.name}", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _run(
    ctx: click.Context,
    target: str,
    path: Path,
    kind: str | None,
    mapping: dict[str, str],
    date_format: str | None,
    delimiter: str | None,
    file_format: str | None,
    encoding: str,
    skip_bad_rows: bool,
    reject_file: Path | None,
    batch_size: int,
    recreate_erased: bool,
    fmt: str,
    output: Path | None,
    clear_empty: bool = False,
    keep_extra: bool = False,
) -> None:
    from crm.core.importing import ImportOptions

    project = get_app(ctx).project
    defaults = project.config.import_
    configured = {
        "customers": defaults.customers,
        "interactions": defaults.interactions,
        "campaigns": defaults.campaigns,
    }[target]
    options = ImportOptions(
        mapping={**configured, **mapping},
        date_format=date_format or defaults.date_format,
        delimiter={"tab": "\t"}.get(delimiter or "", delimiter or defaults.delimiter),
        file_format=file_format,  # type: ignore[arg-type]
        kind=kind,
        skip_bad_rows=skip_bad_rows,
        reject_path=reject_file,
        batch_size=batch_size,
        encoding=encoding,
        clear_empty=clear_empty,
        recreate_erased=recreate_erased,
        keep_extra=keep_extra or defaults.keep_extra,
    )
    importer = {
        "customers": project.import_customers,
        "interactions": project.import_interactions,
        "campaigns": project.import_campaigns,
    }[target]
    with _progress(path) as progress:
        report = importer(path, options, progress)
    click.echo(summary_line(report), err=True)
    if fmt != "table" or output is not None:  # for people the summary line above says it all
        emit(report_table(report), fmt, output)


def summary_line(report: ImportReport) -> str:
    line = (
        f"{report.source}: {report.rows_read} rows read, {report.rows_added} added, "
        f"{report.rows_already_present} already present"
    )
    if report.rows_updated:
        line += f", {report.rows_updated} updated"
    if report.customers_created:
        line += f", {report.customers_created} new customers"
    if report.rows_rejected:
        line += f", {report.rows_rejected} rejected (written to {report.reject_path})"
    return line


def report_table(report: ImportReport) -> Table:
    fields = (
        "target",
        "source",
        "rows_read",
        "rows_added",
        "rows_updated",
        "rows_already_present",
        "rows_rejected",
        "customers_created",
        "reject_path",
    )
    return Table(columns=fields, rows=(tuple(getattr(report, f) for f in fields),), title="Import")


@import_group.command("customers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--clear-empty",
    is_flag=True,
    help="An empty cell sets the stored value to empty (default: an empty cell keeps it).",
)
@KEEP_EXTRA
@import_options
@click.pass_context
def import_customers(ctx: click.Context, /, file: Path, **kwargs: Any) -> None:
    """Import customers from FILE; existing customer ids are updated, not duplicated."""
    _run(ctx, "customers", file, None, **kwargs)


@import_group.command("interactions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind", help="Kind of every row when the file has no kind column. Default: purchase."
)
@KEEP_EXTRA
@import_options
@click.pass_context
def import_interactions(ctx: click.Context, /, file: Path, kind: str | None, **kwargs: Any) -> None:
    """Import interactions (purchases, visits, tickets ...) from FILE.

    A file without a kind column is a file of purchases (or --kind). Re-importing a file adds
    nothing: rows are matched by their interaction_id, or by content fingerprint.
    """
    _run(ctx, "interactions", file, kind, **kwargs)


@import_group.command("campaigns")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@import_options
@click.pass_context
def import_campaigns(ctx: click.Context, /, file: Path, **kwargs: Any) -> None:
    """Import campaigns (id, name, channel, start, end, cost, budget, target_segment) from FILE.

    Interactions name a campaign by its id in their campaign column; existing ids are updated.
    """
    _run(ctx, "campaigns", file, None, **kwargs)
