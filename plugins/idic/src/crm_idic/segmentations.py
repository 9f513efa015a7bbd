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
    return [options.actions.rules[i] for i in _priority_order(options)]


def _priority_order(options: IdicOptions) -> list[int]:
    rules = options.actions.rules
    return sorted(range(len(rules)), key=lambda i: -rules[i].priority)


def action_label(action: str, channel: str) -> str:
    return f"{action} [{channel}]"


def make_actions(options: IdicOptions) -> RuleSegmenter:
    """A rule segmenter over the action rules; the segment is "<action> [<channel>]".

    Built like a crm.toml rule segmentation: parsed and checked for unreachable rules here,
    its columns (scores, other segmentations' segments) checked by crm at load time, with the
    rules' own key paths (`idic.actions.rules[i]`, `i` as written, not in priority order)."""
    from crm.core.rules import RuleSegmenter

    order = _priority_order(options)
    rules = [options.actions.rules[i] for i in order]
    default = options.actions.default
    fallback = Segment(action_label(default.action, default.channel), "default", default.action)
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
    where = {"source": "crm.toml", "key_path": "idic.actions"}
    if not entries:
        return RuleSegmenter.from_rules([(fallback, [])], rule_keys=["default"], **where)
    return RuleSegmenter.from_rules(
        entries, default=fallback, rule_keys=[f"rules[{i}]" for i in order], **where
    )
