"""Reading a file in batches of rows, each row with the physical line it starts on.

Three layouts: CSV (any one-character delimiter, RFC 4180 quoting; the first non-blank record is
the header, on line 1 for an ordinary file), columns separated by runs of spaces (the header is the
first non-blank line, as in CDNOW_master.txt) and JSON Lines (one object per line; its keys are the
columns, and a record may leave keys out). Blank lines are skipped everywhere.

Rows come as lists of strings aligned with the columns, so the parsers are the same for every
layout; nothing holds more than one batch of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from attrs import frozen

from crm.core.errors import ImportFileError, NotFoundError
from crm.core.importing.csv_errors import column_label, find_csv_problem
from crm.core.importing.options import WHITESPACE, ImportOptions


@frozen
class BadRow:
    """A row the reader itself could not use (wrong number of fields, not JSON)."""

    line: int
    raw: object
    reason: str


@frozen
class Batch:
    """Up to `batch_size` rows: `rows[i]` starts on physical line `lines[i]`.

    `raw[i]` is what a reject file gets back for the row: its cells, or the JSON record.
    """

    lines: Sequence[int]
    rows: Sequence[Sequence[str]]
    raw: Sequence[object]
    bad: Sequence[BadRow]


class Source(ABC):
    """An open file, read front to back in batches."""

    #: The layout a reject file for this source uses.
    reject_format: ClassVar[Literal["csv", "jsonl"]] = "csv"
    #: Whether a record may leave columns out (JSON Lines); then every field can be looked up.
    sparse: ClassVar[bool] = False

    def __init__(self, path: Path, options: ImportOptions) -> None:
        self.path = path
        self.options = options
        try:
            self._binary: IO[bytes] = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"{path}: no such file") from exc
        except OSError as exc:
            raise ImportFileError(f"{path}: cannot be read ({exc.strerror})") from exc
        self.total_bytes = path.stat().st_size
        # newline="" keeps line ends as they are, so a quoted cell keeps its own line breaks and
        # the line count stays physical.
        self._text = io.TextIOWrapper(self._binary, encoding=options.encoding, newline="")
        #: Last physical line consumed.
        self.line = 0
        #: The header (CSV) or the keys of the first record (JSON Lines).
        self.columns: tuple[str, ...] = ()
        try:
            self._open()
        except UnicodeDecodeError as exc:
            self.close()
            raise self._decode_error(exc) from exc
        except BaseException:
            self.close()
            raise

    @abstractmethod
    def _open(self) -> None:
        """Read the header (or the first record) and set `columns`."""

    @abstractmethod
    def _batches(self, size: int) -> Iterator[Batch]: ...

    def batches(self, size: int) -> Iterator[Batch]:
        """Every data row in order, `size` rows (or lines) at a time."""
        try:
            yield from self._batches(size)
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from exc

    def column_index(self, name: str) -> int | None:
        """Where column `name` is in every row, or None when the file has no such column.

        An exact match wins; otherwise a match ignoring case, if there is only one.
        """
        hits = [i for i, column in enumerate(self.columns) if column == name]
        if not hits:
            folded = name.casefold()
            hits = [i for i, column in enumerate(self.columns) if column.casefold() == folded]
        if len(hits) > 1:
            raise ImportFileError(
                f"{self.path}: column {name!r} appears {len(hits)} times in the header; "
                "rename the duplicates"
            )
        return hits[0] if hits else None

    @property
    def position(self) -> int:
        """Bytes read so far (for the progress bar)."""
        return self._binary.tell()

    def reopen(self) -> Source:
        """A fresh reader of the same file, at its first row."""
        return type(self)(self.path, self.options)

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _decode_error(self, exc: UnicodeDecodeError) -> ImportFileError:
        # Text is decoded in blocks, so find the line again, reading bytes line by line.
        decoder = codecs.getincrementaldecoder(self.options.encoding)()
        line = 0
        with self.path.open("rb") as binary:
            for data in binary:
                line += 1
                try:
                    decoder.decode(data)
                except UnicodeDecodeError:
                    break
        return ImportFileError(
            f"{self.path}:{line}: not {self.options.encoding} text ({exc.reason}); "
            "give the file's encoding, e.g. cp1252 or latin-1"
        )

    def _split_bad_widths(
        self, lines: Sequence[int], rows: list[list[str]]
    ) -> tuple[Sequence[int], list[list[str]], list[BadRow]]:
        """Drop blank rows and set aside rows whose number of fields differs from the header."""
        width = len(self.columns)
        if set(map(len, rows)) == {width}:
            return lines, rows, []
        kept_lines: list[int] = []
        kept: list[list[str]] = []
        bad: list[BadRow] = []
        for line, row in zip(lines, rows, strict=True):
            if len(row) == width:
                kept_lines.append(line)
                kept.append(row)
            elif row:
                fields = "field" if len(row) == 1 else "fields"
                bad.append(BadRow(line, row, f"{len(row)} {fields}, the header has {width}"))
        return kept_lines, kept, bad


class CsvSource(Source):
    """RFC 4180 CSV, strictly: a quote that is not closed, or text after a closing quote, is an
    error naming the line the broken field starts on and its column, never a silently merged
    row. A quoted value may span lines; later rows keep their physical line numbers."""

    def _open(self) -> None:
        self._reader = csv.reader(self._text, delimiter=self.options.delimiter, strict=True)
        try:
            for row in self._reader:
                if row:
                    self.columns = tuple(cell.strip() for cell in row)
                    break
            else:
                raise ImportFileError(f"{self.path}: the file is empty; expected a header line")
        except csv.Error as exc:
            raise self._csv_error(exc, 1) from exc
        self.line = self._reader.line_num

    def _csv_error(self, exc: csv.Error, first_line: int) -> ImportFileError:
        """The error for a reader failure in the records from `first_line` on."""
        problem = None
        try:
            with self.path.open(encoding=self.options.encoding, newline="") as text:
                lines = islice(text, first_line - 1, None)
                problem = find_csv_problem(lines, first_line, self.options.delimiter)
        except (OSError, UnicodeDecodeError):
            pass
        if problem is None:
            return ImportFileError(f"{self.path}:{self._reader.line_num}: not valid CSV ({exc})")
        label = column_label(problem.field, self.columns)
        return ImportFileError(f"{self.path}:{problem.line}: {label}: {problem.reason}")

    def _batches(self, size: int) -> Iterator[Batch]:
        while True:
            start = self.line
            try:
                rows = list(islice(self._reader, size))
            except csv.Error as exc:
                raise self._csv_error(exc, start + 1) from exc
            if not rows:
                return
            self.line = self._reader.line_num
            lines: Sequence[int]
            if self.line - start == len(rows):
                lines = range(start + 1, self.line + 1)
            else:
                lines = _starting_lines(start, rows)
            lines, rows, bad = self._split_bad_widths(lines, rows)
            yield Batch(lines, rows, rows, bad)


def _starting_lines(start: int, rows: Sequence[Sequence[str]]) -> list[int]:
    """Line of each row when some quoted cells span lines (each line break inside a cell)."""
    lines = []
    line = start + 1
    for row in rows:
        lines.append(line)
        line += 1
        for cell in row:
            if "\n" in cell or "\r" in cell:
                line += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return lines


class WhitespaceSource(Source):
    """Columns separated by runs of spaces or tabs; no quoting, so no cell holds a space."""

    def _open(self) -> None:
        for text in self._text:
            self.line += 1
            if text.strip():
                self.columns = tuple(text.split())
                return
        raise ImportFileError(f"{self.path}: the file is empty; expected a header line")

    def _batches(self, size: int) -> Iterator[Batch]:
        while True:
            texts = list(islice(self._text, size))
            if not texts:
                return
            start = self.line
            self.line += len(texts)
            rows = list(map(str.split, texts))
            lines, rows, bad = self._split_bad_widths(range(start + 1, self.line + 1), rows)
            yield Batch(lines, rows, rows, bad)


class JsonLinesSource(Source):
    """One JSON object per line. `columns` are the first record's keys (for messages); any key
    can be looked up, and a key a record leaves out reads as an empty cell."""

    reject_format = "jsonl"
    sparse = True

    def _open(self) -> None:
        self._keys: list[str] = []
        head: list[str] = []
        for text in self._text:
            head.append(text)
            if text.strip():
                first, reason = _record(text.strip())
                if not isinstance(first, dict):
                    # Its keys name the columns, so a broken first record is not skipped.
                    raise ImportFileError(f"{self.path}:{len(head)}: {reason}")
                self.columns = tuple(first)
                break
        else:
            raise ImportFileError(f"{self.path}: the file is empty; expected JSON objects")
        self._lines: Iterator[str] = chain(head, self._text)

    def reopen(self) -> Source:
        fresh = JsonLinesSource(self.path, self.options)
        fresh._keys = list(self._keys)
        return fresh

    def column_index(self, name: str) -> int:
        if name not in self._keys:
            self._keys.append(name)
        return self._keys.index(name)

    def _batches(self, size: int) -> Iterator[Batch]:
        keys = tuple(self._keys)
        while True:
            texts = list(islice(self._lines, size))
            if not texts:
                return
            lines: list[int] = []
            rows: list[list[str]] = []
            raw: list[object] = []
            bad: list[BadRow] = []
            for text in texts:
                self.line += 1
                stripped = text.strip()
                if not stripped:
                    continue
                record, reason = _record(stripped)
                if isinstance(record, dict):
                    lines.append(self.line)
                    rows.append([_cell(record.get(key)) for key in keys])
                    raw.append(record)
                else:
                    bad.append(BadRow(self.line, stripped, reason))
            yield Batch(lines, rows, raw, bad)


_loads = json.JSONDecoder(parse_float=Decimal).decode


def _record(text: str) -> tuple[object, str]:
    """The JSON value of one line, or None and why it is not a JSON object."""
    try:
        record = _loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, _TOO_DEEP
    except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
        return (
            None,
            f"not usable JSON (an integer of more than {sys.get_int_max_str_digits()} digits)",
        )
    if not isinstance(record, dict):
        return None, "not a JSON object"
    # Counting brackets is a C loop; only a line with many of them is measured properly.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(record) > MAX_JSON_DEPTH:
        return None, _TOO_DEEP
    return record, ""


#: Records nest at most this deep. Exports are flat; the bound keeps every later step (a cell's
#: JSON text, the record written back to a reject file) clear of Python's recursion limit.
MAX_JSON_DEPTH = 100
_TOO_DEEP = f"not usable JSON (nested more than {MAX_JSON_DEPTH} deep)"


def _depth(value: object) -> int:
    """How deep lists and objects nest in `value` (without recursion)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def _cell(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold (numbers exactly as written)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def open_source(path: Path, options: ImportOptions) -> Source:
    """The reader for `path`: JSON Lines, whitespace-separated columns, or CSV."""
    if options.format_of(path) == "jsonl":
        return JsonLinesSource(path, options)
    if options.delimiter == WHITESPACE:
        return WhitespaceSource(path, options)
    return CsvSource(path, options)
