"""`crm customers show ID`: one customer's profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crm.cli.app import get_app
from crm.cli.output import emit_document, output_options
from crm.core.components import Table


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
@output_options
@click.pass_context
def show(
    ctx: click.Context, customer_id: str, last: int, unmask: bool, fmt: str, output: Path | None
) -> None:
    """Show CUSTOMER_ID: attributes, purchase totals, current segments with what they mean and
    what to do, the run they come from, scores and last interactions.

    Personal fields are masked by the [privacy] rules of crm.toml unless --unmask.
    """
    project = get_app(ctx).project
    found = project.customer_profile(customer_id, last=last, unmask=unmask)
    profile = {**found.to_dict(), **project.customer_summary(found)}
    emit_document(profile, fmt, output, lambda: _profile_table(profile))
    if profile["stale"]:
        click.echo(
            f"note: {profile['stale']}; run `crm segment` to place the customer in current "
            "segments",
            err=True,
        )
