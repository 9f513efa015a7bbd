"""Bad input when importing interactions: errors that name file, line, field and column, capped
problem lists, `skip_bad_rows` and its reject files, refused mappings, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from crm.core.errors import ImportDataError, ImportFileError
from crm.core.importing import ImportOptions, import_interactions
from tests.interaction_import_helpers import counts, interactions, write


def test_a_repeated_interaction_id_is_a_bad_row(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "id,customer_id,occurred_at\nA1,C1,2024-01-01\nA2,C1,2024-01-02\nA1,C2,2024-01-03\n",
    )
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions(mapping={"interaction_id": "id"}))
    assert caught.value.problems == (
        f"{path}:4: interaction_id (column 'id'): 'A1' is already on line 2",
    )
    assert counts(engine) == (0, 0, 0)


def test_a_bad_row_names_file_line_field_column_and_writes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.csv", "customer_id,occurred_at,amount\nC0,2023-01-01,1\n")
    import_interactions(engine, good, ImportOptions())
    before, before_rows = counts(engine), interactions(engine)
    path = write(
        tmp_path,
        "bad.csv",
        "cust,when,Total\n"
        "C1,2024-01-01,12.30\n"
        "C2,2024-13-01,1\n"
        "C3,2024-01-02,12,50\n"
        "\n"
        "C4,2024-01-03,€5\n"
        ",2024-01-03,5\n",
    )
    options = ImportOptions(
        mapping={"customer_id": "cust", "occurred_at": "when", "amount": "Total"}
    )
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, options)
    assert caught.value.total == 4
    assert caught.value.problems == (
        f"{path}:3: occurred_at (column 'when'): '2024-13-01' is not an ISO 8601 date or time, "
        "such as 2024-03-31, 2024-03-31 14:05:00 or 2024-03-31T14:05:00+02:00 "
        "(or give a date format)",
        f"{path}:4: 4 fields, the header has 3",
        f"{path}:6: amount (column 'Total'): '€5' is not a decimal number; write it with a "
        "point and no thousands separators or currency signs, e.g. 1234.50",
        f"{path}:7: customer_id (column 'cust'): is empty; a value is required",
    )
    assert "nothing was imported" in str(caught.value)
    assert counts(engine) == before
    assert interactions(engine) == before_rows


def test_problems_shown_are_capped_but_all_are_counted(engine: Engine, tmp_path: Path) -> None:
    lines = ["customer_id,occurred_at,amount"] + [f"C{n},2024-01-01,x{n}" for n in range(30)]
    path = write(tmp_path, "bad.csv", "\n".join(lines) + "\n")
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert caught.value.total == 30
    assert len(caught.value.problems) == 20
    assert caught.value.problems[0].startswith(f"{path}:2: amount (column 'amount'): 'x0'")
    assert "... and 10 more" in str(caught.value)


def test_skip_bad_rows_imports_the_good_ones_and_writes_rejects(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "customer_id,occurred_at,amount,note\n"
        "C1,2024-01-01,1.00,ok\n"
        'C2,yesterday,2.00,"late, but\nmultiline"\n'
        "C3,2024-01-03,3.00,ok\n"
        "C4,2024-01-04\n"
        "C5,2024-01-05,abc,x\n",
    )
    report = import_interactions(engine, path, ImportOptions(skip_bad_rows=True))
    assert (report.rows_read, report.rows_added, report.rows_rejected) == (5, 2, 3)
    assert report.reject_path == tmp_path / "tx.csv.rejects.csv"
    assert [r["external_id"] for r in interactions(engine)] == ["C1", "C3"]
    assert report.reject_path.read_text(encoding="utf-8") == (
        "customer_id,occurred_at,amount,note,line,error\n"
        'C2,yesterday,2.00,"late, but\nmultiline",3,"occurred_at (column \'occurred_at\'): '
        "'yesterday' is not an ISO 8601 date or time, such as 2024-03-31, 2024-03-31 14:05:00 "
        'or 2024-03-31T14:05:00+02:00 (or give a date format)"\n'
        'C4,2024-01-04,,,6,"2 fields, the header has 4"\n'
        "C5,2024-01-05,abc,x,7,\"amount (column 'amount'): 'abc' is not a decimal number; "
        'write it with a point and no thousands separators or currency signs, e.g. 1234.50"\n'
    )
    # The reject file, fixed, imports with the same options; its extra columns are ignored.
    # (The short row was padded with empty cells, which are valid: no amount, no note.)
    fixed = report.reject_path.read_text(encoding="utf-8").replace("yesterday", "2024-01-02")
    fixed_path = write(tmp_path, "fixed.csv", fixed.replace("abc", "5"))
    again = import_interactions(engine, fixed_path, ImportOptions())
    assert (again.rows_read, again.rows_added, again.rows_rejected) == (3, 3, 0)


def test_skipped_duplicate_ids_go_to_the_reject_file(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tx.csv",
        "id,customer_id,occurred_at\nA1,C1,2024-01-01\nA1,C2,2024-01-02\nA2,C3,2024-01-03\n",
    )
    reject = tmp_path / "out" / "rejects.csv"
    reject.parent.mkdir()
    options = ImportOptions(
        mapping={"interaction_id": "id"}, skip_bad_rows=True, reject_path=reject
    )
    report = import_interactions(engine, path, options)
    assert (report.rows_added, report.rows_rejected, report.reject_path) == (2, 1, reject)
    assert [r["external_id"] for r in interactions(engine)] == ["C1", "C3"]
    assert reject.read_text(encoding="utf-8") == (
        "id,customer_id,occurred_at,line,error\n"
        "A1,C2,2024-01-02,3,interaction_id (column 'id'): 'A1' is already on line 2\n"
    )


def test_missing_required_column_is_one_clear_error(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "tx.csv", "CustomerID,Total\nC1,5\n")
    with pytest.raises(ImportFileError) as caught:
        import_interactions(engine, path, ImportOptions(mapping={"customer_id": "CustomerID"}))
    assert str(caught.value) == (
        f"{path}: no column 'occurred_at' (for occurred_at); columns in the header: "
        "'CustomerID', 'Total'. Map each field to the column that holds it (field=column)."
    )
    assert counts(engine) == (0, 0, 0)


def test_a_kind_that_is_not_a_word_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "tx.csv", "customer_id,occurred_at,kind\nC1,2024-01-01,email open\n")
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:2: kind (column 'kind'): 'email open' is not a kind; expected a word of "
        "lower-case letters, digits and underscores (at most 32), such as purchase, visit or "
        "email_open",
    )


def test_quantity_without_unit_price_is_refused_when_mapped(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "tx.csv", "customer_id,occurred_at,Qty\nC1,2024-01-01,2\n")
    with pytest.raises(ImportFileError, match="quantity is mapped but unit_price is not"):
        import_interactions(engine, path, ImportOptions(mapping={"quantity": "Qty"}))


def test_json_lines_bad_records_are_rejected_as_json(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events.ndjson",
        '{"customer_id": "C1", "occurred_at": "2024-01-01"}\n'
        "{not json}\n"
        '{"customer_id": "C2", "occurred_at": "soon", "amount": 1.50}\n',
    )
    report = import_interactions(engine, path, ImportOptions(skip_bad_rows=True))
    assert (report.rows_added, report.rows_rejected) == (1, 2)
    assert report.reject_path == tmp_path / "events.ndjson.rejects.jsonl"
    lines = report.reject_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        '{"line": 2, "error": "not valid JSON (Expecting property name enclosed in double '
        'quotes at column 2)", "text": "{not json}"}'
    )
    assert lines[1].startswith(
        '{"customer_id": "C2", "occurred_at": "soon", "amount": "1.50", "line": 3, "error": '
        "\"occurred_at (column 'occurred_at'): 'soon' is not an ISO 8601"
    )


def test_json_lines_duplicate_ids_are_rejected_as_written(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events.jsonl",
        '{"id": "E1", "customer_id": "C1", "occurred_at": "2024-01-01", "amount": 2.50}\n'
        '{"id": "E1", "customer_id": "C1", "occurred_at": "2024-01-02", "amount": 3.5}\n',
    )
    options = ImportOptions(mapping={"interaction_id": "id"}, skip_bad_rows=True)
    report = import_interactions(engine, path, options)
    assert (report.rows_added, report.rows_rejected) == (1, 1)
    assert report.reject_path is not None
    assert report.reject_path.read_text(encoding="utf-8") == (
        '{"id": "E1", "customer_id": "C1", "occurred_at": "2024-01-02", "amount": "3.5", '
        '"line": 2, "error": "interaction_id (column \'id\'): \'E1\' is already on line 1"}\n'
    )
