"""`crm demo [DIR]`: a ready project with generated sample data, then `crm segment`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
import tomli_w

from crm.cli.app import get_app
from crm.cli.import_command import _progress, summary_line
from crm.cli.output import emit, output_options
from crm.cli.segment_command import emit_summary, run_line
from crm.core.config import CONFIG_FILE_NAME, default_config

DEMO_SEGMENTATIONS = {
    "region": {
        "description": "Where the customer lives.",
        "default": "Rest of world",
        "rules": [
            {"segment": "Home market", "when": "country == 'United Kingdom'"},
            {
                "segment": "Europe",
                "when": "country in ['Germany', 'France', 'Netherlands', 'Spain']",
            },
        ],
    },
    "value": {
        "description": "Behavioural: spend and engagement.",
        "default": "Other",
        "rules": [
            {
                "segment": "Top spenders",
                "when": ["rfm.m >= 5", "rfm.f >= 4"],
                "action": "Invite to the loyalty programme.",
            },
            {"segment": "Young and active", "when": ["age < 30", "rfm.r >= 4"]},
            {
                "segment": "Never purchased",
                "when": "purchases == 0",
                "action": "Send a first-purchase offer.",
            },
        ],
    },
}


#: Identification settings for the sample data (used when the idic plugin is enabled): its
#: phone numbers are written nationally too, and its made-up mail domains take "+tags".
DEMO_IDENTIFY = {
    "country_regions": {
        "Germany": "DE", "France": "FR", "United Kingdom": "GB", "United States": "US",
        "Netherlands": "NL", "Spain": "ES", "Italy": "IT", "Austria": "AT",
    },
    "email_domains": {
        domain: {"plus_addressing": True}
        for domain in ("example.com", "example.net", "example.org")
    },
}  # fmt: skip


#: Next-best actions for the sample data (idic): over idic's own scores, so they need no other
#: plugin; highest priority first.
DEMO_ACTIONS = {
    "default": {"action": "Monthly newsletter", "channel": "email"},
    "rules": [
        {"action": "Check the possible duplicate record", "channel": "crm", "priority": 100,
         "when": ["idic.duplicate_weight >= 0"]},
        {"action": "Call from the account manager", "channel": "phone", "priority": 90,
         "when": ["idic.key_account == 1"]},
        {"action": "Early access to the new collection", "channel": "email", "priority": 80,
         "when": ["idic.abcd == 1"]},
        {"action": "Upgrade offer", "channel": "email", "priority": 70, "when": ["idic.abcd == 3"]},
        {"action": "Thank-you voucher by text", "channel": "sms", "priority": 60,
         "when": ["idic.abcd == 2"]},
    ],
}  # fmt: skip


def demo_config() -> dict[str, object]:
    from crm.core.plugins import installed_plugins

    enabled = tuple(name for name, p in installed_plugins().items() if p.bundled)
    config = default_config(enabled)
    if "rfm" in enabled:
        config["segmentations"] = DEMO_SEGMENTATIONS
    if "idic" in enabled:
        config["idic"] = {"identify": DEMO_IDENTIFY, "actions": DEMO_ACTIONS}
    return config


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--customers",
    "n_customers",
    default=2_000,
    show_default=True,
    help="How many sample customers to generate.",
)
@click.option("--seed", default=20261125, show_default=True, help="Random seed of the sample data.")
@click.option("--force", is_flag=True, help="Overwrite an existing crm.toml and sample files.")
@output_options
@click.pass_context
def demo(
    ctx: click.Context,
    directory: Path,
    n_customers: int,
    seed: int,
    force: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Make a ready project in DIRECTORY: crm.toml, a SQLite database and sample data, then
    run `crm segment` and print the segment table."""
    from crm.core.demo import write_sample_data
    from crm.core.errors import CrmError
    from crm.core.importing import ImportOptions
    from crm.core.reports import segment_summary

    config_path = directory / CONFIG_FILE_NAME
    if config_path.exists() and not force:
        raise CrmError(f"{config_path} already exists; use --force to rebuild the demo there")
    directory.mkdir(parents=True, exist_ok=True)
    config_path.write_text(tomli_w.dumps(demo_config()), encoding="utf-8")
    database = directory / "crm.db"
    if force and database.exists():
        database.unlink()
    sample = write_sample_data(directory / "data", customers=n_customers, seed=seed)
    click.echo(f"wrote {config_path} and sample data in {directory / 'data'}", err=True)

    app = get_app(ctx)
    app.use_config(config_path)
    project = app.project
    try:
        # Interactions keep their extra columns (category, topic, discount) in attributes.
        steps = [
            (sample.customers_csv, project.import_customers, ImportOptions()),
            (sample.interactions_csv, project.import_interactions, ImportOptions(keep_extra=True)),
        ]
        if sample.campaigns_csv is not None:
            steps.append((sample.campaigns_csv, project.import_campaigns, ImportOptions()))
        for path, importer, options in steps:
            with _progress(path) as progress:
                report = importer(path, options, progress)
            click.echo(summary_line(report), err=True)
        result = project.segment()
        click.echo(run_line(result), err=True)
        # The same layout as `crm segment`: the wide table is unreadable at 80 columns.
        summary = segment_summary(result)
        if fmt == "table":
            emit_summary(summary, output, headline=project.headline_segmentations())
        else:
            emit(summary, fmt, output)
        # The crm that runs now, spelled so that it works even if it is not on PATH.
        crm = "crm" if shutil.which("crm") == sys.argv[0] else str(Path(sys.argv[0]).resolve())
        click.echo(f"\nNext: cd {directory} && {crm} segment --customers | head", err=True)
    finally:
        project.close()
