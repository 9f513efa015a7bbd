"""crm-idic: the IDIC model (identify, differentiate, interact, customize) as a crm plugin.

Registered through the `crm` entry-point group, exactly like an in-house plugin. Its options are
the `[idic]` table of crm.toml (`crm_idic.options.IdicOptions`). This module stays light (no
numpy at import) because crm loads enabled plugins for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crm import Metric, ScorerSpec, hookimpl
from crm_idic.options import IdicOptions

if TYPE_CHECKING:
    import click

    from crm_idic.scoring import DuplicateScorer

__version__ = "0.1.0"
__all__ = ["DUPLICATES", "IdicOptions"]


def make_duplicate_scorer(options: IdicOptions) -> DuplicateScorer:
    from crm_idic.scoring import DuplicateScorer

    return DuplicateScorer(options)


DUPLICATES = ScorerSpec(
    name="idic",
    factory=make_duplicate_scorer,
    options=IdicOptions,
    metrics=(
        Metric(
            "duplicate_weight",
            "value",
            "strongest match weight to another customer in a merge or review cluster (empty: none)",
        ),
    ),
    description="IDIC: possible duplicates (identify), for rules, actions and crm idic",
)


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    register(DUPLICATES)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from crm_idic.cli import identify

    cli.add_command(identify)
