"""`crm runs`: the stored segmentation runs: list, show, delete and prune them."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from crm.cli.app import get_app
from crm.cli.output import emit, emit_document, output_options
from crm.cli.segment_command import parse_date
from crm.core.components import Table
from crm.core.errors import NotFoundError
from crm.core.segment import Run


def _plugins(run: Run) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(run.plugins.items()))


@click.group(invoke_without_command=True)
@click.option("--last", default=20, show_default=True, help="How many runs, newest first.")
@output_options
@click.pass_context
def runs(ctx: click.Context, last: int, fmt: str, output: Path | None) -> None:
    """List stored runs: when, analysis date, customers, config hash and plugin versions.

    The current run (what `crm customers show` and `crm segments diff` use by default) is the
    latest run of the latest analysis date: a run back-dated with `crm segment --as-of` is
    history. Two runs with the same analysis date, config hash and plugin versions over the same
    data give the same segments.
    """
    if ctx.invoked_subcommand is not None:
        return
    project = get_app(ctx).project
    current = project.current_run()
    table = Table(
        columns=("run", "current", "created_at", "as_of", "customers", "config_hash", "plugins"),
        rows=tuple(
            (
                run.id,
                current is not None and run.id == current.id,
                run.created_at.isoformat(timespec="seconds"),
                run.as_of,
                run.customers,
                run.config_hash[:12],
                _plugins(run),
            )
            for run in project.runs(limit=last)
        ),
        title="Runs",
    )
    emit(table, fmt, output)


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [item for k, v in value.items() for item in _flatten(f"{prefix}.{k}", v)]
    return [(prefix, json.dumps(value) if isinstance(value, list | dict) else value)]


#: Longer config values and artifacts are cut in the table (80 columns); json has them whole.
SHOWN_CHARACTERS = 28


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= SHOWN_CHARACTERS:
        return value
    return f"{text[: SHOWN_CHARACTERS - 13]}... (-f json)"


def _details_table(details: dict[str, Any]) -> Table:
    rows: list[tuple[object, ...]] = [
        ("run", key, details[key]) for key in ("run", "current", "as_of", "customers")
    ]
    rows.append(("run", "created_at", details["created_at"].isoformat(timespec="seconds")))
    rows.append(("run", "config_hash", details["config_hash"][:12]))
    rows += [("plugin", name, version) for name, version in sorted(details["plugins"].items())]
    rows += [
        ("config", name, _short(value))
        for k, v in details["config"].items()
        for name, value in _flatten(k, v)
    ]
    rows += [("metric", name, "") for name in details["metrics"]]
    rows += [
        ("segment", f"{s['segmentation']}: {s['segment']}", s["customers"])
        for s in details["segments"]
    ]
    rows += [("artifact", name, _short(data)) for name, data in details["artifacts"].items()]
    return Table(("section", "name", "value"), tuple(rows), f"Run {details['run']}")


@runs.command()
@click.argument("run_id", metavar="N", type=int)
@output_options
@click.pass_context
def show(ctx: click.Context, run_id: int, fmt: str, output: Path | None) -> None:
    """Show run N: analysis date, config, plugin versions, customers per segment, artifacts.

    `--format json` prints one object: run, current, created_at, as_of, customers, config_hash,
    plugins, config, metrics, segments (segmentation, segment, customers) and artifacts (each
    artifact's JSON by name); the table shortens long artifacts.
    """
    details = get_app(ctx).project.run_details(run_id).to_dict()
    emit_document(details, fmt, output, lambda: _details_table(details))


def _confirm(runs_: list[Run], yes: bool, what: str) -> bool:
    """True to go ahead: --yes, or a person said yes on a terminal. Never asks in a pipe."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.UsageError(f"{what} deletes stored runs: add --yes to do it without a terminal")
    for run in runs_:
        click.echo(
            f"  run {run.id}: as of {run.as_of}, created {run.created_at:%Y-%m-%d %H:%M}, "
            f"{run.customers} customers",
            err=True,
        )
    return click.confirm(f"Delete {len(runs_)} run(s)?", err=True)


_YES = click.option("--yes", "-y", is_flag=True, help="Do not ask (for scripts and cron jobs).")


@runs.command()
@click.argument("run_ids", metavar="N...", type=int, nargs=-1, required=True)
@_YES
@click.pass_context
def delete(ctx: click.Context, run_ids: tuple[int, ...], yes: bool) -> None:
    """Delete runs N... with everything stored for them, in one transaction."""
    project = get_app(ctx).project
    chosen = [run for run in project.runs() if run.id in set(run_ids)]
    missing = sorted(set(run_ids) - {run.id for run in chosen})
    if missing:
        raise NotFoundError(f"no run {missing[0]}; nothing deleted (see crm runs)")
    if not _confirm(chosen, yes, "crm runs delete"):
        click.echo("nothing deleted", err=True)
        return
    deleted = project.delete_runs(run_ids)
    click.echo(f"deleted {deleted} run(s)", err=True)


@runs.command()
@click.option("--keep", type=click.IntRange(min=0), help="Keep the newest N runs.")
@click.option(
    "--before",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Delete runs created before this day (UTC).",
)
@_YES
@click.pass_context
def prune(ctx: click.Context, keep: int | None, before: date | None, yes: bool) -> None:
    """Delete old runs in one transaction: those beyond the newest --keep N, and/or created
    before --before DATE (both given: runs that are both). The current run is always kept.
    """
    if keep is None and before is None:
        raise click.UsageError("say what to prune: --keep N, --before YYYY-MM-DD, or both")
    project = get_app(ctx).project
    chosen = project.runs_to_prune(keep=keep, before=before)
    if not chosen:
        click.echo("no run to prune", err=True)
        return
    if not _confirm(chosen, yes, "crm runs prune"):
        click.echo("nothing deleted", err=True)
        return
    pruned = project.prune_runs(keep=keep, before=before)
    click.echo(f"pruned {len(pruned)} run(s): {', '.join(str(r.id) for r in pruned)}", err=True)
