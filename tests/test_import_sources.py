"""Reading files in batches: physical line numbers, layouts, and what the reader rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.core.errors import ImportFileError, NotFoundError
from crm.core.importing import ImportOptions
from crm.core.importing.sources import BadRow, open_source


def rows_with_lines(
    path: Path, options: ImportOptions, size: int = 2
) -> list[tuple[int, list[str]]]:
    with open_source(path, options) as source:
        return [
            (line, list(row))
            for batch in source.batches(size)
            for line, row in zip(batch.lines, batch.rows, strict=True)
        ]


def bad_rows(path: Path, options: ImportOptions) -> list[BadRow]:
    with open_source(path, options) as source:
        return [bad for batch in source.batches(100) for bad in batch.bad]


def test_csv_lines_are_physical_with_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'a,b\n1,x\n\n2,"two\nlines"\n3,"three\r\nmore\r\nlines"\n4,y\n', encoding="utf-8"
    )
    assert rows_with_lines(path, ImportOptions()) == [
        (2, ["1", "x"]),
        (4, ["2", "two\nlines"]),
        (6, ["3", "three\r\nmore\r\nlines"]),
        (9, ["4", "y"]),
    ]


def test_csv_header_is_stripped_and_a_bom_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff customer_id ;Name\r\nC1;Ada\r\n".encode())
    with open_source(path, ImportOptions(delimiter=";")) as source:
        assert source.columns == ("customer_id", "Name")
        assert source.column_index("name") == 1  # case is ignored when nothing matches exactly
        assert source.column_index("email") is None


def test_rows_with_the_wrong_number_of_fields_are_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.tsv"
    path.write_text("a\tb\n1\t2\n1\n1\t2\t3\n", encoding="utf-8")
    assert bad_rows(path, ImportOptions(delimiter="\t")) == [
        BadRow(3, ["1"], "1 field, the header has 2"),
        BadRow(4, ["1", "2", "3"], "3 fields, the header has 2"),
    ]


def test_whitespace_columns_like_cdnow(tmp_path: Path) -> None:
    path = tmp_path / "cdnow.txt"
    path.write_bytes(
        b" customer_id  date number_of_cds  dollar_value\r\n"
        b" 00001 19970101  1   11.77\r\n"
        b"\r\n"
        b"\t00002 19970112  1   12.00\r\n"
    )
    options = ImportOptions(delimiter="whitespace")
    with open_source(path, options) as source:
        assert source.columns == ("customer_id", "date", "number_of_cds", "dollar_value")
    assert rows_with_lines(path, options) == [
        (2, ["00001", "19970101", "1", "11.77"]),
        (4, ["00002", "19970112", "1", "12.00"]),
    ]


def test_json_lines_rows_follow_the_keys_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "C1", "amount": 12.30, "vip": true, "tags": ["a"]}\n'
        '{"id": 7, "amount": null}\n'
        "[1, 2]\n",
        encoding="utf-8",
    )
    with open_source(path, ImportOptions()) as source:
        assert source.columns == ("id", "amount", "vip", "tags")
        assert [source.column_index(key) for key in ("amount", "id", "vip", "tags", "gone")] == [
            0,
            1,
            2,
            3,
            4,
        ]
        batches = list(source.batches(10))
    assert [list(row) for row in batches[0].rows] == [
        ["12.30", "C1", "true", '["a"]', ""],
        ["", "7", "", "", ""],
    ]
    assert batches[0].lines == [1, 2]
    assert batches[0].bad == [BadRow(3, "[1, 2]", "not a JSON object")]


def test_an_empty_file_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="the file is empty; expected a header line"):
        open_source(empty, ImportOptions())
    with pytest.raises(NotFoundError, match="no such file"):
        open_source(tmp_path / "gone.csv", ImportOptions())


def test_text_in_another_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"customer_id,city\nC1,Paris\nC2,K\xf6ln\n")
    with pytest.raises(ImportFileError) as caught, open_source(path, ImportOptions()) as source:
        list(source.batches(10))
    assert str(caught.value) == (
        f"{path}:3: not utf-8-sig text (invalid start byte); "
        "give the file's encoding, e.g. cp1252 or latin-1"
    )
