"""Property tests of the CSV and JSON Lines readers, on SQLite and PostgreSQL.

Whatever the file holds, an import ends in one of two ways: every record is in the database, or
an error names the file, a line and (for a bad cell) the field, and the database is as before.
Never a traceback, an "unexpected" error, a partial write or a silently dropped row.

Files are built from records (so the test knows which ids a clean import must store and on which
line each record starts), with cells drawn from what hostile exports hold: quotes, delimiters,
line breaks, NUL, byte-order marks, lone surrogates, huge and malformed numbers, times at the
ends of the calendar. CSV files may then be corrupted by a stray quote anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from crm.core.errors import ImportDataError, ImportFileError
from crm.core.importing import ImportOptions, import_customers, import_interactions
from crm.core.schema import CustomerRow, ImportRow, InteractionRow

HOSTILE = st.sampled_from(
    ['"', ",", ";", "\n", "\r", "\r\n", " ", "\t", "\x00", "\ufeff", "é", "[/b]", "=1+1", "\\"]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(alphabet="abcXYZ019 -@.", max_size=4)), max_size=5).map(
    "".join
)
#: Mostly plain cells, so that a fair share of files import cleanly (and the test can check that
#: every record arrived), some of them hostile.
PLAIN = st.text(alphabet="abcXYZ019 -'", max_size=8)
CELLS = st.one_of(PLAIN, PLAIN, TEXT)
IDS = st.one_of(
    st.sampled_from(["C1", "C2", " C3 ", "c1", "C-4"]),
    st.from_regex(r"C[0-9]{1,6}", fullmatch=True),
    TEXT,
)
GOOD_MOMENTS = st.dates().map(str) | st.sampled_from(["2024-03-31T14:05:00+02:00"])
MOMENTS = GOOD_MOMENTS | st.sampled_from(
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "2024-02-30",
        "yesterday",
        "",
    ]
)
GOOD_AMOUNTS = st.decimals(min_value=-(10**11), max_value=10**11, places=2).map(str)
AMOUNTS = st.one_of(
    GOOD_AMOUNTS,
    st.sampled_from(["12.30", "-0.99", "1e3", "999999999999.99", "9999999999999999.99"]),
    st.sampled_from(["NaN", "1,00", "", "1" * 30, "0.005"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (InteractionRow, CustomerRow, ImportRow):
            conn.execute(delete(table))


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(CustomerRow.external_id)))


def stored_rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(CustomerRow)) or 0,
            conn.scalar(select(func.count()).select_from(InteractionRow)) or 0,
        )


def csv_record(cells: list[str], newline: str) -> str:
    """One record as RFC 4180 writes it: a cell holding a delimiter, a quote or a line break
    (CR included, which Python's csv.writer leaves bare) is quoted, its quotes doubled."""
    quoted = [
        '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell
        for cell in cells
    ]
    return ",".join(quoted) + newline


def csv_text(header: list[str], records: list[list[str]], newline: str) -> tuple[str, list[int]]:
    """The file, and the physical line each record starts on."""
    parts = [csv_record(header, newline)]
    starts = []
    line = 2
    for record in records:
        text = csv_record(record, newline)
        starts.append(line)
        # Physical lines as the reader counts them: CR LF, LF and a lone CR each end one.
        line += len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")) - 1
        parts.append(text)
    return "".join(parts), starts


def check_outcome(
    engine: Engine, path: Path, run: Any, starts: list[int] | None, expected_ids: set[str] | None
) -> None:
    """The import either stored every record or named file, line (a record's start line, when
    known) and wrote nothing."""
    before = stored_rows(engine)
    try:
        report = run()
    except ImportDataError as exc:
        event("bad rows named")
        assert exc.total >= len(exc.problems) >= 1
        for problem in exc.problems:
            found = re.match(rf"{re.escape(str(path))}:(\d+): (.+)", problem)
            assert found, problem
            if starts is not None:
                assert int(found.group(1)) in starts, problem
        assert stored_rows(engine) == before
        return
    except ImportFileError as exc:
        # A line and what is wrong there, or the header's problem (it names the columns).
        event("file refused")
        message = str(exc)
        assert re.match(rf"{re.escape(str(path))}:\d+: \S", message) or re.match(
            rf"{re.escape(str(path))}: (no (column|key) |column .* appears \d+ times in the header"
            "|the file is empty)",
            message,
        ), message
        assert stored_rows(engine) == before
        return
    event("imported" if expected_ids is not None else "imported (ids not predicted)")
    if expected_ids is not None:
        assert stored_ids(engine) == expected_ids
    if starts is not None:
        assert report.rows_read == len(starts)
    assert report.rows_rejected == 0


CUSTOMER = st.tuples(
    IDS, CELLS, st.sampled_from(["a@example.com", "", "a@example.com", "nope", "x@y"])
)


@given(
    records=st.lists(CUSTOMER, min_size=1, max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    stray_quote=st.none() | st.integers(min_value=0),
)
def test_any_customer_csv_imports_whole_or_names_file_line_and_field(
    engine: Engine,
    tmp_path: Path,
    records: list[tuple[str, str, str]],
    newline: str,
    stray_quote: int | None,
) -> None:
    reset(engine)
    rows = [list(record) for record in records]
    text, starts = csv_text(["customer_id", "name", "email"], rows, newline)
    if stray_quote is not None:
        at = stray_quote % (len(text) + 1)
        text = text[:at] + '"' + text[at:]
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8", newline="")
    expected: set[str] | None = {cid.strip() for cid, _n, _e in records}
    if stray_quote is not None:
        # What a clean import of the corrupted file must store: the ids of the records a
        # strict RFC 4180 reading finds (Python's csv module as the reference).
        try:
            parsed = list(csv.reader(io.StringIO(text, newline=""), strict=True))
            expected = {row[0].strip() for row in parsed[1:] if row}
        except (csv.Error, IndexError):
            expected = None
    check_outcome(
        engine,
        path,
        lambda: import_customers(engine, path, ImportOptions()),
        None if stray_quote is not None else starts,
        expected,
    )


@given(
    records=st.lists(
        st.tuples(IDS, GOOD_MOMENTS | MOMENTS, GOOD_AMOUNTS | AMOUNTS, CELLS),
        min_size=1,
        max_size=8,
    ),
    stray_quote=st.none() | st.integers(min_value=0),
)
def test_any_interaction_csv_imports_whole_or_names_file_line_and_field(
    engine: Engine,
    tmp_path: Path,
    records: list[tuple[str, str, str, str]],
    stray_quote: int | None,
) -> None:
    reset(engine)
    text, starts = csv_text(
        ["customer_id", "occurred_at", "amount", "channel"], [list(r) for r in records], "\n"
    )
    if stray_quote is not None:
        at = stray_quote % (len(text) + 1)
        text = text[:at] + '"' + text[at:]
    path = tmp_path / "interactions.csv"
    path.write_text(text, encoding="utf-8", newline="")
    clean = stray_quote is None
    check_outcome(
        engine,
        path,
        lambda: import_interactions(engine, path, ImportOptions()),
        starts if clean else None,
        {cid.strip() for cid, *_ in records} if clean else None,
    )
    if clean and stored_rows(engine)[1]:
        assert stored_rows(engine)[1] == len(records)


#: Stands for an integer of 5,000 digits (hypothesis cannot print the number itself).
BIG_INT = "<5000 digits>"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.sampled_from([BIG_INT, 1e308, -0.0])
    | TEXT
    | st.sampled_from(["\ud800", "x\udfff", "\x00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CLEAN_OBJECT = st.fixed_dictionaries(
    {"customer_id": IDS, "occurred_at": GOOD_MOMENTS, "amount": GOOD_AMOUNTS},
    optional={"channel": CELLS, "extra": JSON_VALUES},
)
HOSTILE_OBJECT = st.fixed_dictionaries(
    {"customer_id": IDS | JSON_VALUES, "occurred_at": MOMENTS, "amount": AMOUNTS | JSON_VALUES},
    optional={"channel": JSON_VALUES, "junk": st.just("[" * 1200 + "]" * 1200)},
)
JSON_LINE = st.one_of(
    CLEAN_OBJECT,
    CLEAN_OBJECT,
    CLEAN_OBJECT,
    HOSTILE_OBJECT,
    TEXT,  # not JSON, or JSON that is not an object
)


def json_line(record: object) -> str:
    if isinstance(record, str):
        return record.replace("\n", " ").replace("\r", " ")
    assert isinstance(record, dict)
    junk = record.pop("junk", None)
    text = json.dumps(record).replace(json.dumps(BIG_INT), "9" * 5000)  # ASCII: \\u escapes
    if junk is not None:
        text = text[:-1] + f', "junk": {junk}}}'
    return text


@given(lines=st.lists(JSON_LINE, min_size=1, max_size=8))
def test_any_json_lines_file_imports_whole_or_names_file_and_line(
    engine: Engine, tmp_path: Path, lines: list[object]
) -> None:
    reset(engine)
    texts = [json_line(line) for line in lines]
    path = tmp_path / "interactions.jsonl"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    # A byte-order mark that opens the file is the file's own (utf-8-sig), not part of line 1.
    texts[0] = texts[0].removeprefix("\ufeff")
    objects = [line for line in lines if isinstance(line, dict)]
    all_objects = len(objects) == len(lines)
    ids = {str(o["customer_id"]).strip() for o in objects if isinstance(o["customer_id"], str)}
    check_outcome(
        engine,
        path,
        lambda: import_interactions(engine, path, ImportOptions()),
        [n for n, text in enumerate(texts, 1) if text.strip()],
        ids if all_objects and len(ids) == len(objects) else None,
    )
