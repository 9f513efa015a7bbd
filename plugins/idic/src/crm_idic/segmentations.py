"""Segmentations: `idic_abcd` (the value x potential matrix) and `idic_action` (next-best
action rules, highest priority first, checked at load time like rule segmentations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from crm import Segment
from crm_idic.differentiate import ABCD
from crm_idic.options import ActionRule, IdicOptions

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from crm import Columns
    from crm.core.rules import RuleSegmenter


@frozen
class AbcdSegmenter:
    segments: tuple[Segment, ...] = tuple(Segment(name, text) for name, text in ABCD)
    inputs: tuple[str, ...] = ("idic.abcd",)

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        cell = np.nan_to_num(columns["idic.abcd"], nan=4.0)
        codes: NDArray[np.int64] = (cell.astype(np.int64) - 1).clip(0, 3)
        return codes


def make_abcd(_options: IdicOptions) -> AbcdSegmenter:
    return AbcdSegmenter()


def ordered_rules(options: IdicOptions) -> list[ActionRule]:
    """The action rules, highest priority first (ties keep the file's order)."""
    return sorted(options.actions.rules, key=lambda rule: -rule.priority)


def action_label(action: str, channel: str) -> str:
    return f"{action} [{channel}]"


def make_actions(options: IdicOptions) -> RuleSegmenter:
    """A rule segmenter over the action rules; the segment is "<action> [<channel>]"."""
    from crm.core.rules import RuleSegmenter

    rules = ordered_rules(options)
    default = options.actions.default
    entries = [
        (
            Segment(
                action_label(rule.action, rule.channel),
                rule.description or " and ".join(rule.when),
                rule.action,
            ),
            list(rule.when),
        )
        for rule in rules
    ]
    if not entries:
        entries = [
            (Segment(action_label(default.action, default.channel), "default", default.action), [])
        ]
        return RuleSegmenter.from_rules(entries, source="crm.toml")
    return RuleSegmenter.from_rules(
        entries,
        default=Segment(action_label(default.action, default.channel), "default", default.action),
        source="crm.toml",
    )
