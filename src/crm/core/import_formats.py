"""The rules for `[import]` values that crm.toml and `crm import` share, so both accept the same.

Kept free of the importer's heavy modules (SQLAlchemy): config structuring runs for every command.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from crm.core.key_paths import key_path

#: `delimiter` value for files whose columns are separated by runs of spaces (CDNOW_master.txt).
WHITESPACE_DELIMITER = "whitespace"


# Each function says what would be right ("expected ..."), or None; the caller says where and
# what it got.


def delimiter_problem(value: str) -> str | None:
    """Why `value` cannot separate columns, or None; `crm import` and crm.toml share this rule."""
    if value == WHITESPACE_DELIMITER or (len(value) == 1 and value not in "\"'\r\n"):
        return None
    return (
        "expected one character such as ',', '\\t' or ';', or "
        f"{WHITESPACE_DELIMITER!r} for columns separated by runs of spaces"
    )


#: A moment every strptime directive can print and read back, with an offset for %z.
_SAMPLE_MOMENT = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)


def date_format_problem(value: str | None) -> str | None:
    """Why `value` is no strptime format, or None; `crm import` and crm.toml share this rule.

    A format must hold a directive (`YYYY` has none, and would match only the text "YYYY") and
    read back what it writes (`%Q` or `%Y%Y` fail in strptime on the first row otherwise).
    """
    if value is None:
        return None
    expected = (
        "expected strptime directives such as '%Y%m%d' or '%m/%d/%Y %H:%M' (leave it unset "
        "for ISO 8601)"
    )
    if "%" not in value:
        return expected
    try:
        datetime.strptime(_SAMPLE_MOMENT.strftime(value), value)
    except (ValueError, re.error, IndexError) as exc:
        return f"{expected}; strptime cannot read back what it writes with it ({exc})"
    return None


def mapping_problem(column: str) -> str | None:
    """Why `column` cannot name the column of a field, or None."""
    if not column.strip():
        return 'expected FIELD = "column name" with a non-empty column name'
    return None


def import_table_problems(config: Any, source: str) -> list[str]:
    """Every value of a structured `[import]` table (an ImportConfig) these rules reject, one
    line each with its key path."""
    found = []
    if (problem := delimiter_problem(config.delimiter)) is not None:
        found.append(f"{source}: import.delimiter: {problem}, got {config.delimiter!r}")
    if (problem := date_format_problem(config.date_format)) is not None:
        found.append(f"{source}: import.date_format: {problem}, got {config.date_format!r}")
    for target in ("customers", "interactions"):
        for name, column in getattr(config, target).items():
            if (problem := mapping_problem(column)) is not None:
                where = key_path(("import", target, name))
                found.append(f"{source}: {where}: {problem}, got {column!r}")
    return found
