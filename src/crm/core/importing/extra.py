"""Extra columns: the columns of a file no field reads, kept in the row's `attributes` on request.

With `ImportOptions.keep_extra` (`--keep-extra`, or `keep_extra = true` in `[import]`), every
column of a customer or interaction file that is not claimed by a field (mapped, or named like
one) is stored in the row's `attributes` JSON object under its column name, as the text the file
holds (numbers as written); empty cells are left out, and a row without any extra value keeps
`attributes` NULL. So a `category`, `discount` or `topic` column reaches models without a schema
change. For JSON Lines the extra keys are those of the first record (as for the header of a CSV).

Attributes do not take part in an interaction's fingerprint: re-importing a file with
`--keep-extra` that was imported without it adds nothing (and fills nothing in).
"""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen
from sqlalchemy import JSON, String, cast, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from crm.core.importing.fields import FIELDS, Target
from crm.core.importing.options import ImportOptions
from crm.core.importing.sources import Batch, Source


@frozen
class ExtraColumns:
    """The unclaimed columns of a file: (column name, index in every row)."""

    columns: tuple[tuple[str, int], ...]

    def __bool__(self) -> bool:
        return bool(self.columns)

    def attributes(self, batch: Batch) -> list[str | None]:
        """Each row's extra values as compact JSON text (keys sorted), or None when none."""
        texts: list[str | None] = []
        dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
        for row in batch.rows:
            found = {name: row[index].strip() for name, index in self.columns if row[index].strip()}
            texts.append(dumps(found) if found else None)
        return texts


#: No extra columns (the default: extra columns are ignored).
NO_EXTRA = ExtraColumns(())


def extra_columns(target: Target, source: Source, options: ImportOptions) -> ExtraColumns:
    """The columns no field claims, when `keep_extra` is on (else none)."""
    if not options.keep_extra:
        return NO_EXTRA
    claimed = {options.mapping.get(f.name, f.name).casefold() for f in FIELDS[target]}
    claimed |= {column.casefold() for column in options.mapping.values()}
    found: list[tuple[str, int]] = []
    for column in source.columns:
        if column and column.casefold() not in claimed:
            index = source.column_index(column)
            if index is not None:
                found.append((column, index))
    return ExtraColumns(tuple(found))


def json_from_text(text: Any, dialect: str) -> ColumnElement[Any]:
    """A staged JSON text as a value for a JSON column.

    PostgreSQL needs an explicit cast from text to json; SQLite stores JSON as text, and a CAST
    to "JSON" there would apply NUMERIC affinity, so the text is passed through untouched.
    """
    if dialect == "postgresql":
        return cast(text, JSON)
    return type_coerce(text, JSON)


def json_as_text(column: Any) -> ColumnElement[Any]:
    """A stored JSON column as text, comparable with the staged text (json has no `=` on
    PostgreSQL; both databases keep the text as written)."""
    return cast(column, String)
