"""Bad rows: the problem lines an import reports, and the reject file `skip_bad_rows` writes.

A problem reads ``<file>:<line>: <field> (column '<column>'): <reason>``, or
``<file>:<line>: <reason>`` when the row as a whole is wrong (its number of fields, invalid
JSON). `<line>` is the physical line the row starts on; the header is line 1.

The reject file holds each bad row as it was in the file (the same columns, or the same JSON
object) plus two columns, ``line`` and ``error`` (prefixed with ``_`` if the file already has
columns of those names), so it can be fixed and imported again with the same options.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from crm.core.errors import ImportDataError, ImportFileError
from crm.core.importing.options import WHITESPACE
from crm.core.importing.sources import Source

#: Problems an `ImportDataError` shows; all of them are counted.
SHOWN_PROBLEMS = 20


class Problems:
    """Counts every bad row and keeps the first few messages."""

    def __init__(self, path: Path, limit: int = SHOWN_PROBLEMS) -> None:
        self.path = path
        self.limit = limit
        self.total = 0
        self._shown: list[tuple[int, str]] = []

    def add(self, line: int, label: str | None, reason: str) -> str:
        """Count a bad row (`label` names its field and column); returns what is wrong with it,
        without the location, for the reject file's error column."""
        detail = f"{label}: {reason}" if label else reason
        self.total += 1
        if len(self._shown) < self.limit:
            self._shown.append((line, f"{self.path}:{line}: {detail}"))
        return detail

    def error(self) -> ImportDataError:
        shown = [message for _line, message in sorted(self._shown)]
        return ImportDataError(shown, self.total)


def default_reject_path(source: Source) -> Path:
    """`<file>.rejects.csv` beside the file (`.rejects.jsonl` for JSON Lines)."""
    return source.path.with_name(f"{source.path.name}.rejects.{source.reject_format}")


def _extra_names(columns: Sequence[str]) -> tuple[str, str]:
    names = []
    for name in ("line", "error"):
        while name in columns:
            name = f"_{name}"
        names.append(name)
    return names[0], names[1]


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class RejectWriter:
    """Writes bad rows as they come; the file is created on the first one."""

    def __init__(self, path: Path, source: Source) -> None:
        self.path = path
        self.source = source
        self.written = 0
        self._out: IO[str] | None = None
        self._csv: Any = None
        self._line_key, self._error_key = _extra_names(source.columns)

    def write(self, line: int, raw: object, reason: str) -> None:
        out = self._out or self._open()
        if self.source.reject_format == "jsonl":
            if isinstance(raw, dict):
                record = {**raw, self._line_key: line, self._error_key: reason}
            else:
                record = {self._line_key: line, self._error_key: reason, "text": raw}
            out.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")
        else:
            width = len(self.source.columns)
            cells = list(raw) if isinstance(raw, list | tuple) else [str(raw)]
            cells = (cells + [""] * width)[:width]
            self._csv.writerow([*cells, line, reason])
        self.written += 1

    def _open(self) -> IO[str]:
        try:
            # A lone surrogate (JSON "\\ud800") is written back as the same JSON escape.
            out = self.path.open("w", encoding="utf-8", errors="backslashreplace", newline="")
        except OSError as exc:
            raise ImportFileError(
                f"{self.path}: cannot write the reject file ({exc.strerror})"
            ) from exc
        self._out = out
        if self.source.reject_format == "csv":
            delimiter = self.source.options.delimiter
            self._csv = csv.writer(
                out, delimiter="," if delimiter == WHITESPACE else delimiter, lineterminator="\n"
            )
            self._csv.writerow([*self.source.columns, self._line_key, self._error_key])
        return out

    def close(self) -> None:
        if self._out is not None:
            self._out.close()

    def discard(self) -> None:
        """Remove what was written: the import failed, so the rows in it mean nothing."""
        self.close()
        if self._out is not None:
            self.path.unlink(missing_ok=True)
            self._out = None
            self.written = 0
