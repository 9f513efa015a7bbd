"""Binding the canonical fields to the columns of one file, and parsing a batch column by column."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from attrs import frozen

from crm.core.errors import ConfigError, ImportFileError
from crm.core.importing.fields import FIELDS, Target
from crm.core.importing.options import ImportOptions
from crm.core.importing.parsers import Parser, parse_cells
from crm.core.importing.sources import Batch, Source


@frozen
class BoundField:
    """A field read from column `column`, at `index` in every row of the source."""

    name: str
    column: str
    index: int
    parser: Parser

    def label(self) -> str:
        """How problems name it: `amount (column 'Total')`."""
        return f"{self.name} (column {self.column!r})"


@frozen
class Plan:
    """The fields a file provides, in canonical order."""

    target: Target
    fields: tuple[BoundField, ...]

    def __contains__(self, name: object) -> bool:
        return any(bound.name == name for bound in self.fields)

    def __getitem__(self, name: str) -> BoundField:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def get(self, name: str) -> BoundField | None:
        return next((bound for bound in self.fields if bound.name == name), None)


def bind(
    target: Target, source: Source, options: ImportOptions, parsers: Mapping[str, Parser]
) -> Plan:
    """Find each field's column; a required or explicitly mapped column that is missing is an
    `ImportFileError` naming it and the columns found."""
    fields = FIELDS[target]
    names = [field.name for field in fields]
    unknown = sorted(set(options.mapping) - set(names))
    if unknown:
        raise ConfigError(
            f"import mapping: {', '.join(map(repr, unknown))} "
            f"{'is not a field' if len(unknown) == 1 else 'are not fields'} of {target}; "
            f"the fields are {', '.join(names)}"
        )
    bound: list[BoundField] = []
    missing: list[str] = []
    for field in fields:
        column = options.mapping.get(field.name, field.name)
        explicit = field.name in options.mapping
        if source.sparse and field.required and column not in source.columns:
            # A record may leave out optional keys, but the first one shows the required ones.
            missing.append(f"{column!r} (for {field.name})")
            continue
        index = source.column_index(column)
        if index is None:
            if field.required or explicit:
                missing.append(f"{column!r} (for {field.name})")
            continue
        name = column if source.sparse else source.columns[index]
        bound.append(BoundField(field.name, name, index, parsers[field.name]))
    if missing:
        raise ImportFileError(_missing_message(source, missing))
    if target == "interactions":
        bound = _quantity_and_price(source, options, bound)
    return Plan(target, tuple(bound))


def _missing_message(source: Source, missing: Sequence[str]) -> str:
    found = ", ".join(map(repr, source.columns)) or "none"
    where = "keys in the first record" if source.sparse else "columns in the header"
    what = "key" if source.sparse else "column"
    return (
        f"{source.path}: no {what} {' and no '.join(missing)}; {where}: {found}. "
        "Map each field to the column that holds it (field=column)."
    )


def _quantity_and_price(
    source: Source, options: ImportOptions, bound: list[BoundField]
) -> list[BoundField]:
    """Quantity and unit price only matter together, and only when there is no amount column."""
    names = {b.name for b in bound}
    if "amount" in names or ("quantity" in names) == ("unit_price" in names):
        return bound
    have, lack = ("quantity", "unit_price") if "quantity" in names else ("unit_price", "quantity")
    if have in options.mapping:
        raise ImportFileError(
            f"{source.path}: {have} is mapped but {lack} is not; amount = quantity x unit_price "
            f"needs both (or map amount to the column that holds the total)"
        )
    return [b for b in bound if b.name != have]


@frozen
class Parsed:
    """One batch parsed column by column: `values[field][i]` for row i, and the first problem
    of each bad row (`problems[i] = (field, reason)`), in canonical field order."""

    values: dict[str, list[Any]]
    problems: dict[int, tuple[BoundField, str]]

    def labelled_problems(self) -> dict[int, tuple[str, str]]:
        """The problems as (field label, reason), the form reports and reject files use."""
        return {i: (bound.label(), reason) for i, (bound, reason) in self.problems.items()}


def good_rows(
    columns: Sequence[Sequence[Any]], size: int, problems: dict[int, tuple[str, str]]
) -> tuple[Iterable[Sequence[Any]], int, dict[int, tuple[str, str]]]:
    """A batch's staged rows from its columns, without the bad ones: (rows, count, problems)."""
    rows = zip(*columns, strict=True)
    if problems:
        good = [row for position, row in enumerate(rows) if position not in problems]
        return good, len(good), problems
    return rows, size, problems


def parse_batch(plan: Plan, batch: Batch) -> Parsed:
    values: dict[str, list[Any]] = {}
    problems: dict[int, tuple[BoundField, str]] = {}
    for bound in plan.fields:
        cells = list(map(itemgetter(bound.index), batch.rows))
        values[bound.name], errors = parse_cells(bound.parser, cells)
        for position, reason in errors.items():
            problems.setdefault(position, (bound, reason))
    return Parsed(values, problems)
