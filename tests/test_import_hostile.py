"""The reproducers of issue 5, items 1 to 3, on SQLite and PostgreSQL: each hostile file is
refused with its file, line and field, and nothing is written (or, where the file is legal,
imported exactly)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from crm.core.errors import ConfigError, CrmError, ImportDataError, ImportFileError
from crm.core.facts import Facts
from crm.core.importing import ImportOptions, import_customers, import_interactions
from crm.core.importing.money import TOTAL_LIMIT_MINOR
from crm.core.schema import CustomerRow, InteractionRow, Tables

T = Tables.default()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(CustomerRow)) or 0,
            conn.scalar(select(func.count()).select_from(InteractionRow)) or 0,
        )


def external_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(CustomerRow.external_id).order_by(CustomerRow.external_id)))


# 1. Silent row loss -------------------------------------------------------------------------


def test_unclosed_quote_in_customers_names_the_line_it_opens_on(
    engine: Engine, tmp_path: Path
) -> None:
    # printf 'customer_id,name\nQ1,"Bob\nQ2,Alice\nQ3,Carol\n' > q.csv; crm import customers q.csv
    path = write(tmp_path, "q.csv", 'customer_id,name\nQ1,"Bob\nQ2,Alice\nQ3,Carol\n')
    with pytest.raises(ImportFileError) as caught:
        import_customers(engine, path, ImportOptions())
    assert str(caught.value) == (
        f"{path}:2: column 'name': the quoted value that starts on this line is never closed: "
        "the file ends inside it (a missing closing quote?)"
    )
    assert counts(engine) == (0, 0)


def test_unclosed_quote_in_interactions_is_not_swallowed_into_channel(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.csv",
        "customer_id,occurred_at,channel\n"
        "C1,2024-01-01,web\n"
        'C2,2024-01-02,"store\n'
        "C3,2024-01-03,web\n"
        "C4,2024-01-04,web\n",
    )
    with pytest.raises(ImportFileError, match=r"i\.csv:3: column 'channel': the quoted value"):
        import_interactions(engine, path, ImportOptions())
    assert counts(engine) == (0, 0)


def test_text_after_a_closing_quote_is_an_error_at_the_field(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "c.csv", 'customer_id,name\nC1,Ada\nC2,"Bo"b\nC3,Cy\n')
    with pytest.raises(ImportFileError) as caught:
        import_customers(engine, path, ImportOptions())
    assert str(caught.value).startswith(
        f"{path}:3: column 'name': the quoted value that starts on this line is followed by 'b'"
    )
    assert counts(engine) == (0, 0)


def test_a_quote_closed_lines_later_is_found_at_the_line_it_opened(
    engine: Engine, tmp_path: Path
) -> None:
    # The quote opened on line 3 swallows lines 4 and 5; `"` then `x` on line 5 is the error.
    path = write(
        tmp_path, "c.csv", 'customer_id,name,note\nC1,Ada,a\nC2,Bob,"oops\nC3,Cy,c\nC4,"Di"x,d\n'
    )
    with pytest.raises(ImportFileError, match=r"c\.csv:3: column 'note': .* \(line 5\)"):
        import_customers(engine, path, ImportOptions())


@pytest.mark.parametrize("quoted", [False, True])
def test_a_cell_beyond_the_csv_field_limit_names_its_column_and_line(
    engine: Engine, tmp_path: Path, quoted: bool
) -> None:
    cell = '"' + "x\n" * 70_000 + '"' if quoted else "x" * 200_000
    path = write(tmp_path, "c.csv", f"customer_id,note,name\nC1,a,b\nC2,{cell},c\nC3,a,b\n")
    with pytest.raises(ImportFileError) as caught:
        import_customers(engine, path, ImportOptions())
    assert str(caught.value) == (
        f"{path}:3: column 'note': the value that starts on this line is longer than 131,072 "
        "characters (an unclosed quote?)"
    )


def test_a_quoted_cell_spanning_lines_imports_and_later_lines_stay_physical(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "c.csv",
        'customer_id,note,email\nC1,"line one\nline two\r\nline three",a@example.com\n'
        "C2,plain,b@example.com\nC3,plain,not-an-email\n",
    )
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    # Header 1, C1 on 2-4, C2 on 5, C3 on 6.
    assert caught.value.problems == (
        f"{path}:6: email (column 'email'): 'not-an-email' is not an email address "
        "(name@example.com)",
    )
    path.write_text(path.read_text().replace("not-an-email", "c@example.com"))
    report = import_customers(engine, path, ImportOptions())
    assert (report.rows_read, report.rows_added) == (3, 3)
    assert external_ids(engine) == ["C1", "C2", "C3"]


def test_a_line_break_inside_a_mapped_text_field_is_refused(engine: Engine, tmp_path: Path) -> None:
    # A quote closed at the very end swallows Q2 and Q3 into Q1's name: legal CSV, so the
    # name's line breaks are what gives it away.
    path = write(tmp_path, "q.csv", 'customer_id,name\nQ1,"Bob\nQ2,Alice\nQ3,Carol"\n')
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    assert caught.value.problems[0].startswith(
        f"{path}:2: name (column 'name'): contains a line break"
    )
    assert counts(engine) == (0, 0)


# 2. A poisoned database ---------------------------------------------------------------------


def test_ten_huge_amounts_are_refused_one_by_one(engine: Engine, tmp_path: Path) -> None:
    rows = "".join(f"C1,2024-01-{day:02d},9999999999999999.99\n" for day in range(1, 11))
    path = write(tmp_path, "big.csv", "customer_id,occurred_at,amount\n" + rows)
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert caught.value.total == 10
    assert caught.value.problems[0] == (
        f"{path}:2: amount (column 'amount'): '9999999999999999.99' is too large: an amount "
        "is at most 999,999,999,999.99 either way, so that sums of amounts stay exact"
    )
    assert counts(engine) == (0, 0)


def test_the_largest_amounts_sum_exactly(engine: Engine, tmp_path: Path) -> None:
    rows = "".join(f"C1,2024-01-{day:02d},999999999999.99\n" for day in range(1, 11))
    path = write(tmp_path, "big.csv", "customer_id,occurred_at,amount\n" + rows)
    import_interactions(engine, path, ImportOptions())
    with engine.connect() as conn:
        facts = Facts.load(conn, T, date(2025, 1, 1))
    assert facts.revenue_minor.tolist() == [10 * 99_999_999_999_999]


def _store_amount(engine: Engine, external_id: str, minor: int, key: str) -> None:
    """Write an amount straight into the table, as a crm without the limits could have."""
    with engine.begin() as conn:
        customer = conn.scalar(
            select(CustomerRow.id).where(CustomerRow.external_id == external_id)
        ) or conn.scalar(
            insert(CustomerRow)
            .values(external_id=external_id, created_at=datetime(2024, 1, 1))
            .returning(CustomerRow.id)
        )
        conn.execute(
            insert(InteractionRow).values(
                customer_id=customer,
                kind="purchase",
                occurred_at=datetime(2024, 1, 1),
                amount_minor=minor,
                source_key=key,
            )
        )


def test_an_import_that_would_take_the_sum_of_amounts_past_2_to_62_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    _store_amount(engine, "OLD", TOTAL_LIMIT_MINOR - 150_000_000_000_000, "old")
    path = write(
        tmp_path,
        "more.csv",
        "customer_id,occurred_at,amount\n"
        "C1,2024-01-01,999999999999.99\n"  # 0.99... x 10^14 minor: still inside
        "C2,2024-01-02,-999999999999.99\n",  # |amount| counts: this one crosses the limit
    )
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(
        f"{path}:3: amount (column 'amount'): with this row the amounts add up to more than "
        "46,116,860,184,273,879.04 either way"
    )
    assert counts(engine) == (1, 1)


def test_segment_facts_on_a_database_poisoned_before_the_limits_fail_in_one_line(
    engine: Engine,
) -> None:
    _store_amount(engine, "P1", 2**63 - 1, "a")
    _store_amount(engine, "P1", 2**63 - 1, "b")
    with engine.connect() as conn, pytest.raises(CrmError, match="add up to more than 64-bit"):
        Facts.load(conn, T, date(2025, 1, 1))


# 3. Uncaught errors become named lines ------------------------------------------------------


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_an_offset_that_leaves_the_years_1_to_9999_is_a_bad_row(
    engine: Engine, tmp_path: Path, moment: str
) -> None:
    path = write(tmp_path, "t.csv", f"customer_id,occurred_at\nC1,2024-01-01\nC2,{moment}\n")
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:3: occurred_at (column 'occurred_at'): {moment!r} is outside the years 1 to "
        "9999 once converted to UTC",
    )
    assert counts(engine) == (0, 0)


def test_json_nested_a_thousand_deep_under_an_unmapped_key_is_a_bad_row(
    engine: Engine, tmp_path: Path
) -> None:
    deep = "[" * 1000 + "]" * 1000
    path = write(
        tmp_path,
        "c.jsonl",
        '{"customer_id": "C1"}\n' + f'{{"customer_id": "C2", "junk": {deep}}}\n',
    )
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    assert caught.value.problems == (f"{path}:2: not usable JSON (nested more than 100 deep)",)
    assert counts(engine) == (0, 0)


def test_json_nested_deep_but_parsable_is_refused_before_it_reaches_a_reject_file(
    engine: Engine, tmp_path: Path
) -> None:
    deep = "[" * 500 + "]" * 500  # parses, but writing it back could exceed the recursion limit
    path = write(
        tmp_path,
        "c.jsonl",
        '{"customer_id": "C1"}\n' + f'{{"customer_id": "C2", "junk": {deep}}}\n'
        '{"customer_id": "C3", "junk": [[[1]]]}\n',
    )
    report = import_customers(engine, path, ImportOptions(skip_bad_rows=True))
    assert (report.rows_added, report.rows_rejected) == (2, 1)
    assert report.reject_path is not None
    assert json.loads(report.reject_path.read_text()) == {
        "line": 2,
        "error": "not usable JSON (nested more than 100 deep)",
        "text": f'{{"customer_id": "C2", "junk": {deep}}}',
    }


def test_a_json_integer_of_more_than_4300_digits_is_a_bad_row(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "i.jsonl",
        '{"customer_id": "C1", "occurred_at": "2024-01-01"}\n'
        f'{{"customer_id": "C2", "occurred_at": "2024-01-01", "amount": {"9" * 5000}}}\n',
    )
    with pytest.raises(ImportDataError) as caught:
        import_interactions(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:2: not usable JSON (an integer of more than 4300 digits)",
    )


def test_a_lone_surrogate_is_a_bad_row_and_its_reject_line_round_trips(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path, "c.jsonl", '{"customer_id": "C1"}\n{"customer_id": "C2", "name": "x\\ud800"}\n'
    )
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:2: name (column 'name'): contains a lone surrogate (U+D800), which is not a "
        "character",
    )
    report = import_customers(engine, path, ImportOptions(skip_bad_rows=True))
    assert (report.rows_added, report.rows_rejected) == (1, 1)
    assert report.reject_path is not None
    rejected = json.loads(report.reject_path.read_text(encoding="utf-8"))
    assert rejected["name"] == "x\ud800"
    assert rejected["line"] == 2


@pytest.mark.parametrize("file_name", ["n.csv", "n.jsonl"])
def test_a_nul_character_is_refused_on_both_databases(
    engine: Engine, tmp_path: Path, file_name: str
) -> None:
    if file_name.endswith(".csv"):
        text = "customer_id,city\nC1,Paris\nC2,Lon\x00don\n"
    else:
        text = '{"customer_id": "C1", "city": "Paris"}\n{"customer_id": "C2", "city": "L\\u0000"}\n'
    path = write(tmp_path, file_name, text)
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:3: city (column 'city'): contains a NUL character (U+0000), which PostgreSQL "
        "cannot store"
        if file_name.endswith(".csv")
        else f"{path}:2: city (column 'city'): contains a NUL character (U+0000), which "
        "PostgreSQL cannot store",
    )
    assert counts(engine) == (0, 0)


def test_an_unknown_encoding_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="import encoding 'nonesuch': not a text encoding"):
        ImportOptions(encoding="nonesuch")
    with pytest.raises(ConfigError, match="import encoding 'rot13'"):
        ImportOptions(encoding="rot13")  # a codec, but not of bytes to text


def test_a_broken_first_json_line_is_reported_as_line_1(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.jsonl", '{"customer_id": "C1",\n{"customer_id": "C2"}\n')
    with pytest.raises(ImportFileError) as caught:
        import_customers(engine, path, ImportOptions())
    assert str(caught.value).startswith(f"{path}:1: not valid JSON (")


def test_a_byte_order_mark_in_the_middle_is_never_part_of_an_id(
    engine: Engine, tmp_path: Path
) -> None:
    # Two exports joined with cat: the second one's BOM lands before its first row.
    path = tmp_path / "joined.csv"
    path.write_bytes(
        b"\xef\xbb\xbfcustomer_id,name\nC1,Ada\n" + b"\xef\xbb\xbfC2,Bob\n" + b"C3,Cy\n"
    )
    with pytest.raises(ImportDataError) as caught:
        import_customers(engine, path, ImportOptions())
    assert caught.value.problems == (
        f"{path}:3: customer_id (column 'customer_id'): contains a byte-order mark (U+FEFF), "
        "as where two files were joined; remove it",
    )
    assert counts(engine) == (0, 0)


def test_an_unknown_encoding_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crm.cli import cli
    from crm.cli.app import App

    (tmp_path / "crm.toml").write_text('[plugins]\nenabled = ["rfm"]\n')
    path = write(tmp_path, "c.csv", "customer_id\nC1\n")
    result = CliRunner().invoke(
        cli,
        ["import", "customers", str(path), "--encoding", "nonesuch"],
        obj=App(config_path=tmp_path / "crm.toml"),
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: import encoding 'nonesuch': not a text encoding Python knows; expected one "
        "such as utf-8, cp1252, latin-1 or utf-16"
    ]
