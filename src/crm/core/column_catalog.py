"""What rule conditions may read, known before any data is: the load-time side of the columns.

A `ColumnCatalog` holds every column name a run will provide, which of them hold text, and,
for the text columns whose values are known in advance, those values: a segmentation's column
holds the names of its segments (`rfm in ["Champions", "Lost"]`), a stage model's the names of
its stages (`journey == 'repeat buyer'`). `condition_problem` checks one condition against it,
with a did-you-mean for an unknown column or an unknown segment.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator, Mapping

from attrs import field, frozen

from crm.core.conditions import ORDERED_OPS, Condition


@frozen
class KnownValues:
    """The values a text column can hold, and what to call them in messages."""

    #: "segmentation" or "stage model": what the column is.
    kind: str
    #: "segment" or "stage": what one value is.
    noun: str
    values: tuple[str, ...]


@frozen
class ColumnCatalog:
    """Column names, the text columns among them, and the known values of some text columns."""

    names: Collection[str]
    text: Collection[str]
    known: Mapping[str, KnownValues] = field(factory=dict)

    def with_text(self, columns: Mapping[str, KnownValues | None]) -> ColumnCatalog:
        """Also these text columns, with their values where known (a name already here keeps
        its meaning: a segmentation named like a base column or a stage model is not read)."""
        added = {name: values for name, values in columns.items() if name not in self.names}
        known = {name: values for name, values in added.items() if values is not None}
        return ColumnCatalog(
            names=_Union(self.names, added),
            text=_Union(self.text, added),
            known={**self.known, **known},
        )


class _Union(Collection[str]):
    """`base` (which may answer `in` for names it does not list, like `attributes.<key>`) plus
    `extra`, without copying `base`."""

    def __init__(self, base: Collection[str], extra: Iterable[str]) -> None:
        self.base = base
        self.extra = tuple(name for name in extra if name not in base)

    def __contains__(self, name: object) -> bool:
        return name in self.extra or name in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield from self.extra

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def condition_problem(condition: Condition, catalog: ColumnCatalog) -> str | None:
    """What is wrong with `condition` given the columns (None: nothing)."""
    column = condition.column
    if column not in catalog.names:
        known = ", ".join(sorted(catalog.names)) or "none"
        hint = _did_you_mean(column, catalog.names)
        return f"unknown column {column!r}{hint} (known: {known})"
    is_text = column in catalog.text
    if is_text and not condition.text_value:
        if condition.op in ORDERED_OPS:
            return f"{column!r} holds text; compare it with == != in or not in and quoted strings"
        return f"{column!r} holds text; compare it with a quoted string, got {condition}"
    if not is_text and condition.text_value:
        return f"{column!r} holds numbers; compare it with a number, got {condition}"
    known_values = catalog.known.get(column)
    if known_values is None:
        return None
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    unknown = [v for v in values if isinstance(v, str) and v not in known_values.values]
    if not unknown:
        return None
    listed = ", ".join(repr(v) for v in known_values.values) or "none"
    return (
        f"{known_values.kind} {column!r} has no {known_values.noun} {unknown[0]!r}"
        f"{_did_you_mean(unknown[0], known_values.values)} (its {known_values.noun}s: {listed})"
    )
