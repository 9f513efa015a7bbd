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

A condition is `<column> <op> <value>`: op is one of == != >= > <= < in, not in; value is a
number, a quoted string, or a [list] of either. Conditions are parsed with a small tokenizer, never
evaluated as Python. A missing value (NaN, None) never satisfies a condition, not even `!=` or
`not in`. Text comparisons are exact (case-sensitive).

Load-time checks: malformed conditions, unknown columns (with a did-you-mean), a string compared
with a numeric column or a number with a text column, and rules that can never match because an
earlier rule's conditions are a subset of theirs.

numpy is imported where columns are evaluated, not at module import: plugins import this module
when they are loaded, and `crm --help` must stay fast.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from attrs import frozen

from crm.core.errors import ConfigError
from crm.core.segment import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crm.core.components import Columns
    from crm.core.config import RuleSegmentationConfig

Op = Literal["==", "!=", ">=", ">", "<=", "<", "in", "not in"]
Scalar = float | str
Value = float | str | tuple[float, ...] | tuple[str, ...]

#: Customer attributes that hold text; every other column holds numbers.
TEXT_COLUMNS: frozenset[str] = frozenset({"country", "city", "gender"})

EXPECTED_FORM = (
    "expected '<column> <op> <value>' (op: == != >= > <= < in, not in; value: a number, a quoted "
    "string or a [list] of them), such as 'rfm.m >= 4' or 'country in [\"DE\", \"AT\"]'"
)

_HEAD = re.compile(
    r"\s*(?P<column>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*"
    r"(?P<op>==|!=|>=|<=|>|<|not\s+in\b|in\b)\s*"
)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
      | "(?P<dq>[^"]*)"
      | '(?P<sq>[^']*)'
      | (?P<punct>[\[\],])
      | (?P<word>[^\s\[\],'"]+)
    )""",
    re.VERBOSE,
)
_ORDERED: frozenset[str] = frozenset({">=", ">", "<=", "<"})
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class ConditionError(ValueError):
    """A condition that does not parse; the message says what was expected."""


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _value_text(value: Value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value + '"' if '"' not in value else "'" + value + "'"
    return _number_text(value)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs: number, string, punct or word; raises on anything else."""
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            return
        match = _TOKEN.match(text, position)
        if match is None:
            raise ConditionError(f"cannot read {text[position:].strip()!r}")
        kind = cast(str, match.lastgroup)
        yield ("string" if kind in ("dq", "sq") else kind), match[kind]
        position = match.end()


def _scalar(kind: str, text: str) -> Scalar:
    if kind == "number":
        return float(text)
    if kind == "string":
        return text
    if kind == "word":
        raise ConditionError(f'text must be quoted, as in "{text}"')
    raise ConditionError(f"expected a value, got {text!r}")


def _parse_value(text: str) -> Value:
    tokens = list(_tokens(text))
    if not tokens:
        raise ConditionError("no value after the operator")
    if tokens[0] != ("punct", "["):
        if len(tokens) > 1:
            extra = text.strip()
            raise ConditionError(f"expected one value, got {extra!r}")
        return _scalar(*tokens[0])
    items: list[Scalar] = []
    rest = tokens[1:]
    while rest and rest[0] != ("punct", "]"):
        items.append(_scalar(*rest[0]))
        rest = rest[1:]
        if rest and rest[0] == ("punct", ","):
            rest = rest[1:]
        elif rest and rest[0] != ("punct", "]"):
            raise ConditionError(f"expected ',' or ']' in the list, got {rest[0][1]!r}")
    if not rest:
        raise ConditionError("the list has no closing ']'")
    if len(rest) > 1:
        raise ConditionError(f"unexpected {rest[1][1]!r} after the list")
    if not items:
        raise ConditionError("the list is empty")
    if all(isinstance(v, str) for v in items):
        return tuple(cast(list[str], items))
    if all(isinstance(v, float) for v in items):
        return tuple(cast(list[float], items))
    raise ConditionError("a list holds numbers or strings, not both")


@frozen
class Condition:
    """`<column> <op> <value>`, matched against one column at a time."""

    column: str
    op: Op
    value: Value

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse one condition; raises `ConditionError` saying what was expected."""
        if not isinstance(text, str):
            raise ConditionError(f"got {text!r}; {EXPECTED_FORM}")
        head = _HEAD.match(text)
        if head is None:
            hint = (
                " (use == to compare for equality)" if re.search(r"(?<![=!<>])=(?!=)", text) else ""
            )
            raise ConditionError(f"got {text!r}{hint}; {EXPECTED_FORM}")
        op = cast(Op, " ".join(head["op"].split()))
        try:
            value = _parse_value(text[head.end() :])
        except ConditionError as exc:
            raise ConditionError(f"got {text!r}: {exc}; {EXPECTED_FORM}") from None
        if op in ("in", "not in") and not isinstance(value, tuple):
            raise ConditionError(
                f"{op!r} needs a [list] of values, such as "
                f"'{head['column']} {op} [{_value_text(value)}]'; got {text!r}"
            )
        if op not in ("in", "not in") and isinstance(value, tuple):
            raise ConditionError(
                f"{op!r} compares with one value (use 'in' for a list); got {text!r}"
            )
        if op in _ORDERED and isinstance(value, str):
            raise ConditionError(f"{op!r} compares numbers, not the string {value!r}; got {text!r}")
        return cls(head["column"], op, value)

    @property
    def text_value(self) -> bool:
        """Whether this condition compares with text (strings) rather than numbers."""
        probe = self.value[0] if isinstance(self.value, tuple) else self.value
        return isinstance(probe, str)

    def __str__(self) -> str:
        return f"{self.column} {self.op} {_value_text(self.value)}"

    def matches(self, values: NDArray[Any]) -> NDArray[np.bool_]:
        """True where the column value satisfies the condition; never where it is missing."""
        import numpy as np

        column = np.asarray(values)
        if self.text_value:
            if column.dtype.kind not in "OUS":
                raise TypeError(f"{self}: column {self.column!r} holds numbers, not text")
            return self._match_text(column)
        if column.dtype.kind in "OUS":
            raise TypeError(f"{self}: column {self.column!r} holds text, not numbers")
        return self._match_numbers(column.astype(np.float64, copy=False))

    def _match_numbers(self, column: NDArray[np.float64]) -> NDArray[np.bool_]:
        import numpy as np

        known = ~np.isnan(column)
        value = self.value
        if isinstance(value, tuple):
            found = np.isin(column, np.asarray(value, dtype=np.float64))
            return found if self.op == "in" else ~found & known
        number = float(cast(float, value))
        if self.op == "!=":
            return np.asarray(column != number, dtype=np.bool_) & known
        # NaN compares False with every number, so these never match a missing value.
        return np.asarray(_COMPARE[self.op](column, number), dtype=np.bool_)

    def _match_text(self, column: NDArray[Any]) -> NDArray[np.bool_]:
        import numpy as np

        present = np.asarray(column != None, dtype=bool)  # noqa: E711 (elementwise on objects)
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        # A handful of == passes rather than np.isin: isin sorts object arrays, and None does
        # not sort against str.
        found = np.zeros(column.shape[0], dtype=bool)
        for value in values:
            found |= np.asarray(column == value, dtype=bool)
        return found if self.op in ("==", "in") else ~found & present


@frozen
class Rule:
    """Customers matching every condition get `segment`; no conditions match everyone."""

    segment: Segment
    conditions: tuple[Condition, ...]


RuleInput = tuple[str | Segment, str | Sequence[str]]


@frozen
class RuleSegmenter:
    """Rules in order, first match wins; customers matching none get `default` or no segment.

    A `Segmenter`: `segments` lists every segment a rule or the default can assign.
    """

    rules: tuple[Rule, ...]
    default: Segment | None = None

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

    @classmethod
    def from_config(
        cls,
        name: str,
        config: RuleSegmentationConfig,
        *,
        available_columns: Collection[str],
        source: str,
        text_columns: Collection[str] = TEXT_COLUMNS,
    ) -> RuleSegmenter:
        """Build `[segmentations.<name>]`, raising ConfigError lines that name the key path."""
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
    ) -> RuleSegmenter:
        """Build from Python: `[("VIP", ["rfm.m >= 4", "purchases >= 3"]), ("DE", "country == 'DE'")]`.

        Segments may be given as names or as `Segment`s (with description and action). Columns are
        checked only when `available_columns` is given; the pipeline checks `inputs` anyway.
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
            key_path="",
        )


def _build(
    entries: Sequence[tuple[Segment, Sequence[str]]],
    *,
    default: str | Segment | None,
    available_columns: Collection[str] | None,
    text_columns: Collection[str],
    source: str,
    key_path: str,
) -> RuleSegmenter:
    problems: list[str] = []

    def problem(where: str, message: str) -> None:
        path = f"{key_path}.{where}" if key_path else where
        problems.append(f"{source}: {path}: {message}")

    if not entries:
        problem("rules", "expected at least one rule")
    rules: list[Rule] = []
    for i, (segment, when) in enumerate(entries):
        if not segment.name.strip():
            problem(f"rules[{i}].segment", "expected a segment name (a non-empty string)")
        conditions: list[Condition] = []
        for j, text in enumerate(when):
            where = f"rules[{i}].when" + (f"[{j}]" if len(when) > 1 else "")
            try:
                condition = Condition.parse(text)
            except ConditionError as exc:
                problem(where, str(exc))
                continue
            message = _column_problem(condition, available_columns, text_columns)
            if message:
                problem(where, message)
            conditions.append(condition)
        rules.append(Rule(segment, tuple(conditions)))
    if not problems:
        for i, rule in enumerate(rules):
            earlier = _shadowing_rule(rules[:i], rule)
            if earlier is not None:
                problem(
                    f"rules[{i}]",
                    f"the rule for {rule.segment.name!r} can never match: rules[{earlier}] "
                    f"(segment {rules[earlier].segment.name!r}) comes first and matches every "
                    "customer it would match",
                )
        catch_all = next((i for i, rule in enumerate(rules) if not rule.conditions), None)
        if default is not None and catch_all is not None:
            problem(
                "default",
                f"the default can never apply: rules[{catch_all}] has no conditions and matches "
                "every customer",
            )
    if problems:
        raise ConfigError(problems)
    default_segment = Segment(default) if isinstance(default, str) else default
    if default_segment is not None and not default_segment.description:
        default_segment = Segment(
            default_segment.name, "customers that match no rule", default_segment.action
        )
    return RuleSegmenter(rules=tuple(rules), default=default_segment)


def _column_problem(
    condition: Condition,
    available: Collection[str] | None,
    text_columns: Collection[str],
) -> str | None:
    column = condition.column
    if available is not None and column not in available:
        close = difflib.get_close_matches(column, list(available), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(available)) or "none"
        return f"unknown column {column!r}{hint} (known: {known})"
    if column in text_columns and not condition.text_value:
        if condition.op in _ORDERED:
            return f"{column!r} holds text; compare it with == != in or not in and quoted strings"
        return f"{column!r} holds text; compare it with a quoted string, got {condition}"
    if column not in text_columns and condition.text_value:
        return f"{column!r} holds numbers; compare it with a number, got {condition}"
    return None


def _shadowing_rule(earlier: Sequence[Rule], rule: Rule) -> int | None:
    """An earlier rule whose conditions are a subset of this rule's, so it takes all its customers."""
    mine = set(rule.conditions)
    for i, other in enumerate(earlier):
        if set(other.conditions) <= mine:
            return i
    return None
