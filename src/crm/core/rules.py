"""Rule segmentations: ordered rules over customer attributes and scores, first match wins.

In crm.toml::

    [segmentations.region]
    default = "Rest of world"

    [[segmentations.region.rules]]
    segment = "DACH high value"
    when = ['country in ["DE", "AT", "CH"]', "rfm.m >= 4"]    # every condition must hold

    [[segmentations.region.rules]]
    segment = "DACH"
    when = 'country in ["DE", "AT", "CH"]'

A condition is `<column> <op> <value>` (see `crm.core.conditions`): parsed, never evaluated as
Python; a missing value never matches. Money columns hold currency units: `rfm.monetary >= 1000`
means 1000.00, like `revenue >= 1000`.

A segmentation's name is a text column holding each customer's segment in it, so one rule
segmentation can read another (`rfm in ["Champions", "Lost"]`); the pipeline runs a
segmentation after the ones it reads (`crm.core.segmentation_order`).

Load-time checks: malformed conditions, unknown columns (with a did-you-mean), a string compared
with a numeric column or a number with a text column, a segment the segmentation read does not
have (with a did-you-mean), and rules that can never match because an earlier rule's conditions
are a subset of theirs. Parsing and the unreachable-rule check happen when the segmenter is
built; the column checks need the columns of every enabled plugin, so the pipeline runs them
(`RuleSegmenter.column_problems`) once everything is built, for plugins' rule segmenters too.

numpy is imported where columns are evaluated, not at module import: plugins import this module
when they are loaded, and `crm --help` must stay fast.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from attrs import field, frozen

from crm.core.column_catalog import ColumnCatalog, condition_problem
from crm.core.conditions import (
    EXPECTED_FORM,
    Condition,
    ConditionError,
    Op,
    Value,
)
from crm.core.errors import ConfigError
from crm.core.segment import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crm.core.components import Columns
    from crm.core.config import RuleSegmentationConfig

#: Customer attributes that hold text; every other column holds numbers.
TEXT_COLUMNS: frozenset[str] = frozenset({"country", "city", "gender"})

__all__ = [
    "EXPECTED_FORM",
    "TEXT_COLUMNS",
    "Condition",
    "ConditionError",
    "Op",
    "Rule",
    "RuleSegmenter",
    "Value",
]


@frozen
class Rule:
    """Customers matching every condition get `segment`; no conditions match everyone."""

    segment: Segment
    conditions: tuple[Condition, ...]
    #: Where the rule was written (`segmentations.region.rules[0]`), for messages.
    key_path: str = field(default="", eq=False)


RuleInput = tuple[str | Segment, str | Sequence[str]]


@frozen
class RuleSegmenter:
    """Rules in order, first match wins; customers matching none get `default` or no segment.

    A `Segmenter`: `segments` lists every segment a rule or the default can assign.
    """

    rules: tuple[Rule, ...]
    default: Segment | None = None
    #: The file the rules came from, for messages.
    source: str = field(default="rules", eq=False)

    @property
    def segments(self) -> tuple[Segment, ...]:
        seen: dict[str, Segment] = {}
        for rule in self.rules:
            known = seen.get(rule.segment.name)
            if known is None or (not known.description and not known.action):
                seen[rule.segment.name] = rule.segment
        if self.default is not None and self.default.name not in seen:
            seen[self.default.name] = self.default
        return tuple(seen.values())

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.column for rule in self.rules for c in rule.conditions))

    def assign(self, columns: Columns) -> NDArray[np.int64]:
        """Index into `segments` per customer: the first matching rule's segment, else default."""
        import numpy as np

        index = {segment.name: i for i, segment in enumerate(self.segments)}
        fallback = index[self.default.name] if self.default is not None else -1
        codes = np.full(len(columns), fallback, dtype=np.int64)
        undecided = np.ones(len(columns), dtype=bool)
        for rule in self.rules:
            hit = undecided.copy()
            for condition in rule.conditions:
                if not hit.any():
                    break
                hit &= condition.matches(columns[condition.column])
            codes[hit] = index[rule.segment.name]
            undecided &= ~hit
        return codes

    def column_problems(self, catalog: ColumnCatalog) -> list[str]:
        """One line per condition that reads an unknown column or segment, or compares a
        column with the wrong kind of value, naming the condition's key path."""
        problems = []
        for rule in self.rules:
            for j, condition in enumerate(rule.conditions):
                message = condition_problem(condition, catalog)
                if message:
                    where = f"{rule.key_path}.when" + (f"[{j}]" if len(rule.conditions) > 1 else "")
                    problems.append(f"{self.source}: {where}: {message}")
        return problems

    @classmethod
    def from_config(
        cls,
        name: str,
        config: RuleSegmentationConfig,
        *,
        available_columns: Collection[str] | None,
        source: str,
        text_columns: Collection[str] = TEXT_COLUMNS,
    ) -> RuleSegmenter:
        """Build `[segmentations.<name>]`, raising ConfigError lines that name the key path.

        Columns are checked only when `available_columns` is given (the pipeline checks them
        with every enabled plugin's columns and segments)."""
        entries = [
            (Segment(rule.segment, rule.description, rule.action), rule.when)
            for rule in config.rules
        ]
        return _build(
            entries,
            default=config.default,
            available_columns=available_columns,
            text_columns=text_columns,
            source=source,
            key_path=f"segmentations.{name}",
            rule_keys=None,
        )

    @classmethod
    def from_rules(
        cls,
        rules: Iterable[RuleInput],
        *,
        default: str | Segment | None = None,
        available_columns: Collection[str] | None = None,
        text_columns: Collection[str] = TEXT_COLUMNS,
        source: str = "rules",
        key_path: str = "",
        rule_keys: Sequence[str] | None = None,
    ) -> RuleSegmenter:
        """Build from Python: `[("VIP", ["rfm.m >= 4", "purchases >= 3"]), ("DE", "country == 'DE'")]`.

        Segments may be given as names or as `Segment`s (with description and action). Columns are
        checked only when `available_columns` is given; otherwise the pipeline checks them at
        load time, as for crm.toml's rules. Messages name `<key_path>.<rule key>`, the rule keys
        being `rule_keys` (one per rule, such as `rules[3]` for rules given in another order
        than the file's) or `rules[i]`.
        """
        entries = [
            (
                segment if isinstance(segment, Segment) else Segment(segment),
                (when,) if isinstance(when, str) else tuple(when),
            )
            for segment, when in rules
        ]
        return _build(
            entries,
            default=default,
            available_columns=available_columns,
            text_columns=text_columns,
            source=source,
            key_path=key_path,
            rule_keys=rule_keys,
        )


def _build(
    entries: Sequence[tuple[Segment, Sequence[str]]],
    *,
    default: str | Segment | None,
    available_columns: Collection[str] | None,
    text_columns: Collection[str],
    source: str,
    key_path: str,
    rule_keys: Sequence[str] | None,
) -> RuleSegmenter:
    problems: list[str] = []

    def path(where: str) -> str:
        return f"{key_path}.{where}" if key_path else where

    def problem(where: str, message: str) -> None:
        problems.append(f"{source}: {path(where)}: {message}")

    if not entries:
        problem("rules", "expected at least one rule")
    keys = list(rule_keys or (f"rules[{i}]" for i in range(len(entries))))
    catalog = None if available_columns is None else ColumnCatalog(available_columns, text_columns)
    rules: list[Rule] = []
    for key, (segment, when) in zip(keys, entries, strict=True):
        if not segment.name.strip():
            problem(f"{key}.segment", "expected a segment name (a non-empty string)")
        conditions: list[Condition] = []
        for j, text in enumerate(when):
            where = f"{key}.when" + (f"[{j}]" if len(when) > 1 else "")
            try:
                condition = Condition.parse(text)
            except ConditionError as exc:
                problem(where, str(exc))
                continue
            message = condition_problem(condition, catalog) if catalog is not None else None
            if message:
                problem(where, message)
            conditions.append(condition)
        rules.append(Rule(segment, tuple(conditions), key_path=path(key)))
    if not problems:
        for i, rule in enumerate(rules):
            earlier = _shadowing_rule(rules[:i], rule)
            if earlier is not None:
                problem(
                    keys[i],
                    f"the rule for {rule.segment.name!r} can never match: {keys[earlier]} "
                    f"(segment {rules[earlier].segment.name!r}) comes first and matches every "
                    "customer it would match",
                )
        catch_all = next((i for i, rule in enumerate(rules) if not rule.conditions), None)
        if default is not None and catch_all is not None:
            problem(
                "default",
                f"the default can never apply: {keys[catch_all]} has no conditions and matches "
                "every customer",
            )
    if problems:
        raise ConfigError(problems)
    default_segment = Segment(default) if isinstance(default, str) else default
    if default_segment is not None and not default_segment.description:
        default_segment = Segment(
            default_segment.name, "customers that match no rule", default_segment.action
        )
    return RuleSegmenter(rules=tuple(rules), default=default_segment, source=source)


def _shadowing_rule(earlier: Sequence[Rule], rule: Rule) -> int | None:
    """An earlier rule whose conditions are a subset of this rule's, so it takes all its customers."""
    mine = set(rule.conditions)
    for i, other in enumerate(earlier):
        if set(other.conditions) <= mine:
            return i
    return None
