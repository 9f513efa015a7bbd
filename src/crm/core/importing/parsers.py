"""Cell parsers: a whole column of a batch at a time, with a per-cell path for the reasons.

Every parser turns a column of cells into the values the staging table stores: text, times as
the text SQLAlchemy stores on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff", naive UTC; PostgreSQL reads
the same text), dates as "YYYY-MM-DD", money as integer minor units, flags as bools. `many` is
the fast path: it maps C functions (`datetime.fromisoformat`, `Decimal`) over the column and
raises on the first bad cell; `parse_cells` then runs `one` on every cell of that column to name
each bad cell and its reason. So a clean batch costs a few C loops per column, and only a batch
with a bad cell pays a Python call per cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from itertools import repeat
from operator import attrgetter
from typing import Any, Protocol

from crm.core.importing.options import KIND_PATTERN


class FieldError(ValueError):
    """A cell is not a valid value of its field; the message says why and what would be right."""


class Parser(Protocol):
    #: Whether an empty cell is an error.
    required: bool

    def many(self, cells: Sequence[str]) -> list[Any]:
        """Values for every cell; raises (anything) when a cell is bad."""
        ...

    def one(self, cell: str) -> Any:
        """The value of one cell; raises `FieldError` with the reason when it is bad."""
        ...


# The exceptions the fast paths raise on a bad cell: conversions (ValueError), Decimal signals
# (ArithmeticError) and lookups in a table of accepted words (LookupError).
_BAD_CELL = (ValueError, ArithmeticError, LookupError)


def parse_cells(parser: Parser, cells: Sequence[str]) -> tuple[list[Any], dict[int, str]]:
    """Values of a column, and the reason for each bad cell by its position."""
    if not parser.required and not any(cells):
        # A column that is empty in this batch (common in JSON Lines): no conversions at all.
        return [parser.one("")] * len(cells), {}
    try:
        return parser.many(cells), {}
    except _BAD_CELL:
        pass
    values: list[Any] = []
    errors: dict[int, str] = {}
    for position, cell in enumerate(cells):
        try:
            values.append(parser.one(cell))
        except FieldError as exc:
            values.append(None)
            errors[position] = str(exc)
    return values, errors


def _empty(required: bool) -> None:
    """The value of an empty cell: None, unless the field is required."""
    if required:
        raise FieldError("is empty; a value is required")
    return None


#: What no text field may hold: control characters (line breaks and NUL included), lone
#: surrogates (not characters; UTF-8 cannot encode them) and the byte-order mark (where two
#: files were joined). NUL is refused on SQLite too, so a file imports the same on both databases.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufeff]")


def _forbidden_reason(char: str) -> str:
    if char in "\r\n":
        return (
            "contains a line break; values of this field are one line (a quoted cell spanning "
            "lines, or a quote that is not closed?)"
        )
    if char == "\x00":
        return "contains a NUL character (U+0000), which PostgreSQL cannot store"
    if char == "\ufeff":
        return "contains a byte-order mark (U+FEFF), as where two files were joined; remove it"
    if "\ud800" <= char <= "\udfff":
        return f"contains a lone surrogate (U+{ord(char):04X}), which is not a character"
    return f"contains the control character U+{ord(char):04X}"


def shown(text: str, width: int = 60) -> str:
    """A cell as messages quote it: repr, cut to `width` characters."""
    quoted = repr(text)
    return quoted if len(quoted) <= width else quoted[: width - 4] + "...'"


class Text:
    """Text, stripped of surrounding spaces; empty is None. Control characters, lone surrogates
    and byte-order marks are refused (see `_FORBIDDEN`)."""

    def __init__(self, max_length: int, *, required: bool = False) -> None:
        self.max_length = max_length
        self.required = required

    def many(self, cells: Sequence[str]) -> list[Any]:
        values = list(map(str.strip, cells))
        if max(map(len, values), default=0) > self.max_length:
            raise ValueError("too long")
        if _FORBIDDEN.search("".join(values)):
            raise ValueError("forbidden character")
        if "" in values:
            if self.required:
                raise ValueError("empty")
            return [value or None for value in values]
        return values

    def one(self, cell: str) -> str | None:
        value = cell.strip()
        if not value:
            _empty(self.required)
            return None
        if len(value) > self.max_length:
            raise FieldError(f"is {len(value)} characters long; at most {self.max_length} fit")
        bad = _FORBIDDEN.search(value)
        if bad:
            raise FieldError(_forbidden_reason(bad.group()))
        return value


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class Email(Text):
    """An address with one @ and no spaces (deliverability is not this importer's business)."""

    def many(self, cells: Sequence[str]) -> list[Any]:
        values = super().many(cells)
        if not all(map(_EMAIL.fullmatch, filter(None, values))):
            raise ValueError("not an email address")
        return values

    def one(self, cell: str) -> str | None:
        value = super().one(cell)
        if value is not None and not _EMAIL.fullmatch(value):
            raise FieldError(f"{shown(value)} is not an email address (name@example.com)")
        return value


class Kind:
    """A lower-case word (case is folded); an empty cell is the import's default kind."""

    required = False
    max_length = 32

    def __init__(self, default: str) -> None:
        self.default = default

    def many(self, cells: Sequence[str]) -> list[str]:
        values = list(map(str.lower, map(str.strip, cells)))
        if "" in values:
            values = [value or self.default for value in values]
        if max(map(len, values)) > self.max_length or not all(map(KIND_PATTERN.fullmatch, values)):
            raise ValueError("not a kind")
        return values

    def one(self, cell: str) -> str:
        value = cell.strip().lower()
        if not value:
            return self.default
        if len(value) > self.max_length or not KIND_PATTERN.fullmatch(value):
            raise FieldError(
                f"{shown(cell.strip())} is not a kind; expected a word of lower-case letters, digits "
                "and underscores (at most 32), such as purchase, visit or email_open"
            )
        return value


_tzinfo: Callable[[datetime], tzinfo | None] = attrgetter("tzinfo")


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _strptime_cached(date_format: str) -> Callable[[str], datetime]:
    # Exports repeat the same timestamps (CDNOW has 546 distinct dates in 69,659 rows) and
    # strptime costs ~5 us a call; a bounded cache keeps memory flat.
    @lru_cache(maxsize=16_384)
    def parse(text: str) -> datetime:
        return datetime.strptime(text, date_format)

    return parse


class DateTime:
    """A moment, stored as naive UTC text; an offset in the cell is honoured, none means UTC."""

    def __init__(self, date_format: str | None, *, required: bool = False) -> None:
        self.date_format = date_format
        self.required = required
        self._parse = (
            datetime.fromisoformat if date_format is None else _strptime_cached(date_format)
        )

    def many(self, cells: Sequence[str]) -> list[str]:
        moments = list(map(self._parse, cells))
        if any(map(_tzinfo, moments)):
            moments = list(map(_naive_utc, moments))
        return list(map(datetime.isoformat, moments, repeat(" "), repeat("microseconds")))

    def one(self, cell: str) -> str | None:
        text = cell.strip()
        if not text:
            _empty(self.required)
            return None
        try:
            moment = self._parse(text)
        except ValueError:
            raise FieldError(self._expected(text)) from None
        try:
            return _naive_utc(moment).isoformat(" ", "microseconds")
        except OverflowError:
            raise FieldError(
                f"{shown(text)} is outside the years 1 to 9999 once converted to UTC"
            ) from None

    def _expected(self, text: str) -> str:
        if self.date_format is None:
            return (
                f"{shown(text)} is not an ISO 8601 date or time, such as 2024-03-31, "
                "2024-03-31 14:05:00 or 2024-03-31T14:05:00+02:00 (or give a date format)"
            )
        return f"{shown(text)} does not match the date format {self.date_format!r}"


class Date:
    """A calendar date, stored as "YYYY-MM-DD"."""

    required = False

    def __init__(self, date_format: str | None) -> None:
        self.date_format = date_format
        if date_format is None:
            self._parse: Callable[[str], date] = date.fromisoformat
        else:
            moment = _strptime_cached(date_format)
            self._parse = lambda text: moment(text).date()

    def many(self, cells: Sequence[str]) -> list[str]:
        return list(map(date.isoformat, map(self._parse, cells)))

    def one(self, cell: str) -> str | None:
        text = cell.strip()
        if not text:
            return None
        try:
            return self._parse(text).isoformat()
        except ValueError:
            expected = (
                "an ISO 8601 date such as 1980-07-31"
                if self.date_format is None
                else f"the date format {self.date_format!r}"
            )
            raise FieldError(f"{shown(text)} is not {expected}") from None


_FLAGS: dict[str, bool | None] = {
    "true": True,
    "yes": True,
    "1": True,
    "false": False,
    "no": False,
    "0": False,
    "": None,
}


class Flag:
    """true/false, yes/no, 1/0 (any case), or empty for "not asked"."""

    required = False

    def many(self, cells: Sequence[str]) -> list[bool | None]:
        return list(map(_FLAGS.__getitem__, map(str.lower, map(str.strip, cells))))

    def one(self, cell: str) -> bool | None:
        try:
            return _FLAGS[cell.strip().lower()]
        except KeyError:
            raise FieldError(
                f"{shown(cell.strip())} is not a yes/no value (true/false, yes/no, 1/0, or empty)"
            ) from None
