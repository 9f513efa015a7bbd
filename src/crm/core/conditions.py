"""Rule conditions: `<column> <op> <value>`, parsed by a small tokenizer, never evaluated as code.

op is one of == != >= > <= < in, not in; value is a number, a quoted string, or a [list] of
either. A missing value (NaN, None) never satisfies a condition, not even `!=` or `not in`. Text
comparisons are exact (case-sensitive). Money columns hold currency units (see
`crm.core.columns`), so `rfm.monetary >= 1000` means 1000.00, as `revenue >= 1000` does.

numpy is imported where columns are evaluated, not at module import: plugins import this module
when they are loaded, and `crm --help` must stay fast.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

from attrs import frozen

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Op = Literal["==", "!=", ">=", ">", "<=", "<", "in", "not in"]
Scalar = float | str
Value = float | str | tuple[float, ...] | tuple[str, ...]

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
#: The operators that order numbers (and so never apply to text).
ORDERED_OPS: frozenset[str] = frozenset({">=", ">", "<=", "<"})
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
        if op in ORDERED_OPS and isinstance(value, str):
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
