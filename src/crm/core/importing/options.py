"""What an import is asked to do (`ImportOptions`) and what it did (`ImportReport`)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from attrs import Attribute, field, frozen

from crm.core.errors import ConfigError
from crm.core.import_formats import (
    WHITESPACE_DELIMITER,
    date_format_problem,
    delimiter_problem,
    mapping_problem,
)

#: Kinds are lower-case words; `KNOWN_KINDS` in `crm.core.interaction` lists the ones models use.
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
#: The kind of a row when the file has no kind column (or an empty cell) and no `kind` is given.
DEFAULT_KIND = "purchase"
#: `delimiter` value for files whose columns are separated by runs of spaces (CDNOW_master.txt).
WHITESPACE = WHITESPACE_DELIMITER
FILE_FORMATS = ("csv", "jsonl")


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


# The value rules are crm.core.import_formats', which crm.toml structuring applies too: what
# `crm config check` accepts, `crm import` accepts.


def _check_mapping(_instance: Any, _attribute: Attribute[Any], value: Mapping[str, str]) -> None:
    for name, column in value.items():
        if not isinstance(name, str) or not isinstance(column, str) or mapping_problem(column):
            raise ConfigError(
                f'import mapping {name!r}: expected FIELD = "column name", got {column!r}'
            )


def _check_delimiter(_instance: Any, _attribute: Attribute[Any], value: str) -> None:
    if (problem := delimiter_problem(value)) is not None:
        raise ConfigError(f"import delimiter {value!r}: {problem}")


def _check_file_format(_instance: Any, _attribute: Attribute[Any], value: str | None) -> None:
    if value is not None and value not in FILE_FORMATS:
        raise ConfigError(
            f"import file format {value!r}: expected one of {', '.join(FILE_FORMATS)}"
        )


def _check_kind(_instance: Any, _attribute: Attribute[Any], value: str | None) -> None:
    if value is not None and (len(value) > 32 or not KIND_PATTERN.fullmatch(value)):
        raise ConfigError(
            f"import kind {value!r}: expected a lower-case word of at most 32 characters "
            "(letters, digits, underscores), such as purchase or email_open"
        )


def _check_date_format(_instance: Any, _attribute: Attribute[Any], value: str | None) -> None:
    if (problem := date_format_problem(value)) is not None:
        raise ConfigError(f"import date format {value!r}: {problem}")


def _check_encoding(_instance: Any, _attribute: Attribute[Any], value: str) -> None:
    try:
        known = codecs.lookup(value)._is_text_encoding
    except (LookupError, TypeError, ValueError):
        known = False
    if not known:
        raise ConfigError(
            f"import encoding {value!r}: not a text encoding Python knows; expected one such as "
            "utf-8, cp1252, latin-1 or utf-16"
        )


def _check_batch_size(_instance: Any, _attribute: Attribute[Any], value: int) -> None:
    if value < 1:
        raise ConfigError(f"import batch size {value}: expected a positive number of rows")


@frozen(kw_only=True)
class ImportOptions:
    """How to read one file.

    `mapping` maps a canonical field (see `CUSTOMER_FIELDS`, `INTERACTION_FIELDS`) to the column
    that holds it; a field that is not mapped is read from a column of its own name. Columns that
    feed no field are ignored. `date_format` is strptime syntax for every date and time column;
    without it they are ISO 8601 (a date, or a date and time with an optional UTC offset; a time
    without an offset is UTC). With `skip_bad_rows`, good rows are imported and bad ones written
    to `reject_path` (default `<file>.rejects.csv`, or `.rejects.jsonl` for JSON Lines);
    without it, one bad row means nothing is written.
    """

    mapping: Mapping[str, str] = field(
        factory=dict, converter=_frozen_mapping, validator=_check_mapping, hash=False
    )
    date_format: str | None = field(default=None, validator=_check_date_format)
    delimiter: str = field(default=",", validator=_check_delimiter)
    file_format: Literal["csv", "jsonl"] | None = field(default=None, validator=_check_file_format)
    kind: str | None = field(default=None, validator=_check_kind)
    skip_bad_rows: bool = False
    reject_path: Path | None = None
    batch_size: int = field(default=10_000, validator=_check_batch_size)
    #: Text encoding of the file; a UTF-8 byte-order mark is skipped. Exports from spreadsheet
    #: tools are often "cp1252" or "latin-1".
    encoding: str = field(default="utf-8-sig", validator=_check_encoding)
    #: Customers: an empty cell sets the stored value to empty (NULL) instead of keeping it.
    clear_empty: bool = False
    #: Import rows of customers erased by `crm forget` (refused by default, as bad rows).
    recreate_erased: bool = False
    #: Customers and interactions: keep the columns no field reads in the row's `attributes`
    #: (JSON, by column name; empty cells left out), so a category or topic column needs no
    #: schema change. See `crm.core.importing.extra`.
    keep_extra: bool = False

    def format_of(self, path: Path) -> Literal["csv", "jsonl"]:
        """`file_format`, or JSON Lines for a .jsonl/.ndjson file name, else CSV."""
        if self.file_format is not None:
            return self.file_format
        return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


@frozen(kw_only=True)
class ImportReport:
    """What one import did. Rows are data rows (the header is not counted).

    `rows_read` = `rows_added` + `rows_updated` + `rows_already_present` + `rows_rejected`.
    `customers_created` counts customer rows created: the new customers of a customer file, or
    the bare customers (external id only) an interactions file introduced.
    """

    target: Literal["customers", "interactions", "campaigns"]
    source: Path
    rows_read: int
    rows_added: int
    rows_updated: int
    rows_already_present: int
    rows_rejected: int
    customers_created: int
    reject_path: Path | None
