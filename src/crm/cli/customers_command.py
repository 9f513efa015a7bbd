"""`crm customers show ID`, `merge SURVIVOR ID...`, `unmerge ID`, `merges`: single customers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crm.cli.app import get_app
from crm.cli.output import emit, emit_document, output_options
from crm.core.components import Table

if TYPE_CHECKING:
    from crm.core.merging import CustomerMerge


@click.group()
def customers() -> None:
    """Look at individual customers."""


def _profile_table(profile: dict[str, Any]) -> Table:
    rows: list[tuple[object, ...]] = [("customer", "customer_id", profile["customer_id"])]
    rows += [("attribute", k, v) for k, v in profile["attributes"].items()]
    purchases = profile.get("purchases")
    if purchases:
        rows += [("purchases", k, v) for k, v in purchases.items()]
    meanings: dict[str, dict[str, str]] = {
        d["segmentation"]: d for d in profile.get("segment_details", ())
    }
    for segmentation, segment_name in profile["segments"].items():
        rows.append(("segment", segmentation, segment_name))
        detail = meanings.get(segmentation, {})
        if detail.get("description"):
            rows.append(("", "what it means", detail["description"]))
        if detail.get("action"):
            rows.append(("", "what to do", detail["action"]))
    rows += [("score", k, v) for k, v in profile["scores"].items()]
    for item in profile["last_interactions"]:
        when = item["occurred_at"]
        details = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("occurred_at", "kind"))
        rows.append(("interaction", f"{when:%Y-%m-%d %H:%M} {item['kind']}", details))
    title = f"Customer {profile['customer_id']}"
    if profile["run"]:
        title += f" (segments of run {profile['run']['id']}, as of {profile['run']['as_of']})"
    return Table(columns=("section", "name", "value"), rows=tuple(rows), title=title)


@customers.command()
@click.argument("customer_id")
@click.option("--last", default=10, show_default=True, help="How many recent interactions.")
@click.option(
    "--unmask",
    is_flag=True,
    help="Show name, email, phone, birth date and city as stored (written to the audit log).",
)
@click.option(
    "--run",
    "run_id",
    type=int,
    metavar="N",
    help="Segments and scores of stored run N (see crm runs). Default: the current run.",
)
@output_options
@click.pass_context
def show(
    ctx: click.Context,
    customer_id: str,
    last: int,
    unmask: bool,
    run_id: int | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Show CUSTOMER_ID: attributes, purchase totals, current segments with what they mean and
    what to do, the run they come from, scores and last interactions.

    Personal fields are masked by the [privacy] rules of crm.toml unless --unmask. A merged
    customer's id shows the survivor it was merged into. --run N shows the segments and scores
    of stored run N instead of the current run.
    """
    project = get_app(ctx).project
    survivor = project.merged_into(customer_id)
    if survivor is not None:
        click.echo(f"{customer_id} was merged into {survivor}; showing {survivor}", err=True)
        customer_id = survivor
    found = project.customer_profile(customer_id, last=last, unmask=unmask, run_id=run_id)
    profile = {**found.to_dict(), **project.customer_summary(found)}
    emit_document(profile, fmt, output, lambda: _profile_table(profile))
    if profile["stale"]:
        click.echo(
            f"note: {profile['stale']}; run `crm segment` to place the customer in current "
            "segments",
            err=True,
        )


def _merge_table(merges: list[CustomerMerge], title: str) -> Table:
    return Table(
        columns=("merge", "survivor", "merged", "merged_at", "reason", "undone_at"),
        rows=tuple(
            (
                m.id,
                m.survivor,
                " ".join(m.merged),
                m.merged_at.isoformat(timespec="seconds"),
                m.reason,
                m.undone_at.isoformat(timespec="seconds") if m.undone_at else None,
            )
            for m in merges
        ),
        title=title,
    )


@customers.command()
@click.argument("survivor")
@click.argument("merged", nargs=-1, required=True)
@output_options
@click.pass_context
def merge(
    ctx: click.Context, survivor: str, merged: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """Merge the customers MERGED into SURVIVOR, in one transaction.

    SURVIVOR keeps its fields; its empty ones are filled from MERGED in the order given
    (consent: a "no" wins). Interactions move to SURVIVOR; the merged ids become aliases of it,
    so later imports of them land on SURVIVOR. `crm customers unmerge` undoes it exactly.
    """
    project = get_app(ctx).project
    done = project.merge_customers(survivor, merged)
    filled = ", ".join(done.filled) or "none"
    click.echo(
        f"merge {done.id}: {len(done.merged)} customer(s) into {done.survivor}, "
        f"{done.interactions_moved} interaction(s) moved, fields filled: {filled}",
        err=True,
    )
    from crm.core.merge_service import merged_customers_in_runs

    with project.engine.connect() as connection:
        history = merged_customers_in_runs(connection, project.tables)
    if history:
        click.echo(
            f"{history} merged customer(s) are named in stored runs; those runs are kept as "
            "history, under the old ids",
            err=True,
        )
    emit(_merge_table([done], "Merged"), fmt, output)


@customers.command()
@click.argument("customer_id", required=False)
@click.option("--merge", "merge_id", type=int, help="Undo this merge (see `crm customers merges`).")
@output_options
@click.pass_context
def unmerge(
    ctx: click.Context, customer_id: str | None, merge_id: int | None, fmt: str, output: Path | None
) -> None:
    """Undo the latest merge CUSTOMER_ID took part in (or --merge N), exactly as before.

    The survivor's fields, the interactions and the aliases are restored; the merge stays in
    `crm customers merges --all`, marked undone.
    """
    if (customer_id is None) == (merge_id is None):
        raise click.UsageError("name a CUSTOMER_ID or --merge N (one of them)")
    target: str | int = merge_id if merge_id is not None else str(customer_id)
    done = get_app(ctx).project.unmerge(target)
    click.echo(
        f"merge {done.id} undone: {done.interactions_moved} interaction(s) moved back", err=True
    )
    emit(_merge_table([done], "Undone"), fmt, output)


@customers.command()
@click.option("--all", "include_undone", is_flag=True, help="Include merges already undone.")
@output_options
@click.pass_context
def merges(ctx: click.Context, include_undone: bool, fmt: str, output: Path | None) -> None:
    """List merges, newest first: survivor, merged ids, when, why."""
    found = get_app(ctx).project.merges(include_undone=include_undone)
    emit(_merge_table(found, "Merges"), fmt, output)
