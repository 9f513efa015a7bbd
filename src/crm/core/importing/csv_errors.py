"""Where a CSV file stops making sense: the field, and the line it starts on.

Python's csv reader (strict mode) says *that* a quote is wrong and on which line it noticed, which
for an unclosed quote is the end of the file. A person needs the line where the broken field
*starts*, and its column. This module finds them by reading the same stretch of the file again
with the RFC 4180 rules the reader applies (a quote opens a value only at the start of a field,
`""` inside a quoted value is a quote, a closing quote must be followed by the delimiter or the
end of the line). It runs only after the reader has failed, from the first line of the batch
that failed, so a clean import never pays for it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from attrs import frozen


@frozen
class CsvProblem:
    """The field (0-based position in its record) that broke, the line it starts on, and why."""

    line: int
    field: int
    reason: str


_START, _PLAIN, _QUOTED, _QUOTE_IN_QUOTED = range(4)


def find_csv_problem(lines: Iterable[str], first_line: int, delimiter: str) -> CsvProblem | None:
    """The first broken field in `lines` (physical lines with their line ends, the first one
    numbered `first_line` and starting a record), or None when every record is well formed."""
    limit = csv.field_size_limit()
    state = _START
    field = length = 0
    field_line = line_no = first_line - 1
    for text in lines:
        line_no += 1
        if state == _START and field == 0 and '"' not in text:
            # A whole record on one line without quotes: nothing can go wrong in it.
            widths = list(map(len, text.split(delimiter)))
            if max(widths) > limit:
                return CsvProblem(line_no, widths.index(max(widths)), _too_long(limit))
            continue
        for char in text:
            if state == _QUOTED:
                if char == '"':
                    state = _QUOTE_IN_QUOTED
                else:
                    length += 1
                    if length > limit:
                        return CsvProblem(field_line, field, _too_long(limit))
                continue
            if state == _QUOTE_IN_QUOTED:
                if char == '"':
                    state, length = _QUOTED, length + 1
                    continue
                if char not in (delimiter, "\r", "\n"):
                    return CsvProblem(
                        field_line,
                        field,
                        f"the quoted value that starts on this line is followed by {char!r} "
                        f"after its closing quote (line {line_no}); a quote inside a quoted "
                        'value is written twice ("")',
                    )
            if char in "\r\n":
                state, field, length, field_line = _START, 0, 0, line_no + 1
                break
            if char == delimiter:
                state, field, length, field_line = _START, field + 1, 0, line_no
            elif state == _START and char == '"':
                state, field_line = _QUOTED, line_no
            else:
                state, length = _PLAIN, length + 1
                if length > limit:
                    return CsvProblem(field_line, field, _too_long(limit))
        else:
            if state in (_PLAIN, _QUOTE_IN_QUOTED, _START) and not text.endswith(("\n", "\r")):
                # The last line of a file without a final line break.
                state, field, length = _START, 0, 0
    if state == _QUOTED:
        return CsvProblem(
            field_line,
            field,
            "the quoted value that starts on this line is never closed: the file ends inside "
            "it (a missing closing quote?)",
        )
    return None


def _too_long(limit: int) -> str:
    return f"the value that starts on this line is longer than {limit:,} characters (an unclosed quote?)"


def column_label(field: int, columns: Sequence[str]) -> str:
    """`column 'name'`, or which field of a record wider than the header (or of the header)."""
    if not columns:
        return f"field {field + 1} of the header"
    if field < len(columns):
        return f"column {columns[field]!r}"
    return f"field {field + 1} (the header has {len(columns)} columns)"
