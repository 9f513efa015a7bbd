"""Cell parsers: exact money, UTC times, flags, kinds, and the reason for each bad cell."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.core.importing.money import Money, Number
from crm.core.importing.parsers import (
    Date,
    DateTime,
    FieldError,
    Flag,
    Kind,
    Parser,
    Text,
    parse_cells,
)


@pytest.mark.parametrize(
    ("cell", "cents"),
    [
        ("12.30", 1230),
        ("12.3", 1230),
        ("12", 1200),
        ("-0.99", -99),
        ("0.125", 12),  # 12.5 cents: half-even rounds to the even 12
        ("0.135", 14),  # 13.5 cents: to the even 14
        ("1.005", 100),  # exact decimal 100.5 cents, not the float 1.00499999...
        ("1E+3", 100000),
        (" 7.5 ", 750),
        ("999999999999.99", 99999999999999),  # the largest amount
        ("-999999999999.99", -99999999999999),
    ],
)
def test_money_is_exact_cents_rounded_half_even(cell: str, cents: int) -> None:
    assert parse_cells(Money(), [cell]) == ([cents], {})
    assert Money().one(cell) == cents


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (
            "1,000.00",
            "'1,000.00' is not a decimal number; write it with a point and no "
            "thousands separators or currency signs, e.g. 1234.50",
        ),
        (
            "$5",
            "'$5' is not a decimal number; write it with a point and no thousands "
            "separators or currency signs, e.g. 1234.50",
        ),
        ("NaN", "'NaN' is not a finite number"),
        ("-Infinity", "'-Infinity' is not a finite number"),
        ("1e16", "'1e16' is too large (the limit is 10^16)"),
        (
            "9999999999999999.99",
            "'9999999999999999.99' is too large: an amount is at most 999,999,999,999.99 "
            "either way, so that sums of amounts stay exact",
        ),
        (
            "-1000000000000",
            "'-1000000000000' is too large: an amount is at most 999,999,999,999.99 "
            "either way, so that sums of amounts stay exact",
        ),
        (
            "999999999999.995",  # rounds half-even to 1,000,000,000,000.00
            "'999999999999.995' is too large: an amount is at most 999,999,999,999.99 "
            "either way, so that sums of amounts stay exact",
        ),
    ],
)
def test_money_refuses_what_is_not_an_exact_amount(cell: str, reason: str) -> None:
    with pytest.raises(FieldError) as caught:
        Money().one(cell)
    assert str(caught.value) == reason


def test_a_bad_cell_costs_its_column_a_per_cell_pass_naming_each_bad_cell() -> None:
    values, errors = parse_cells(Money(), ["1.00", "x", "", "2.5", "NaN"])
    assert values == [100, None, None, 250, None]
    assert sorted(errors) == [1, 4]
    assert errors[4] == "'NaN' is not a finite number"


def test_an_empty_optional_column_is_none_and_an_empty_required_cell_is_an_error() -> None:
    assert parse_cells(Money(), ["", "", ""]) == ([None, None, None], {})
    assert parse_cells(Kind("visit"), ["", ""]) == (["visit", "visit"], {})
    values, errors = parse_cells(Text(10, required=True), ["a", " ", "b"])
    assert values == ["a", None, "b"]
    assert errors == {1: "is empty; a value is required"}


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("2024-03-31", "2024-03-31 00:00:00.000000"),
        ("2024-03-31 14:05", "2024-03-31 14:05:00.000000"),
        ("2024-03-31T14:05:06.5", "2024-03-31 14:05:06.500000"),
        ("2024-03-31T14:05:00+02:00", "2024-03-31 12:05:00.000000"),
        ("2024-03-31T23:30:00-05:00", "2024-04-01 04:30:00.000000"),
        ("2024-03-31T14:05:00Z", "2024-03-31 14:05:00.000000"),
        ("20240331", "2024-03-31 00:00:00.000000"),
    ],
)
def test_iso_times_are_stored_as_naive_utc_text(cell: str, stored: str) -> None:
    assert parse_cells(DateTime(None), [cell]) == ([stored], {})
    assert DateTime(None).one(cell) == stored


def test_a_column_mixing_offsets_is_converted_cell_by_cell() -> None:
    values, errors = parse_cells(
        DateTime(None), ["2024-01-01T00:30:00+01:00", "2024-01-01 00:30:00"]
    )
    assert (values, errors) == (["2023-12-31 23:30:00.000000", "2024-01-01 00:30:00.000000"], {})


def test_strptime_formats() -> None:
    uci = DateTime("%m/%d/%Y %H:%M")
    assert parse_cells(uci, ["12/1/2010 8:26", "1/12/2011 17:05"]) == (
        ["2010-12-01 08:26:00.000000", "2011-01-12 17:05:00.000000"],
        {},
    )
    cdnow = DateTime("%Y%m%d")
    assert cdnow.one("19970101") == "1997-01-01 00:00:00.000000"
    with pytest.raises(FieldError, match=r"'1997-01-01' does not match the date format '%Y%m%d'"):
        cdnow.one("1997-01-01")
    assert Date("%d.%m.%Y").one("31.12.1990") == "1990-12-31"


@pytest.mark.parametrize(
    ("cell", "flag"),
    [
        ("true", True),
        ("YES", True),
        ("1", True),
        ("False", False),
        (" no ", False),
        ("0", False),
        ("", None),
    ],
)
def test_flags(cell: str, flag: bool | None) -> None:
    assert Flag().one(cell) is flag
    assert parse_cells(Flag(), [cell]) == ([flag], {})


def test_a_flag_that_is_not_yes_or_no() -> None:
    assert parse_cells(Flag(), ["y"])[1] == {
        0: "'y' is not a yes/no value (true/false, yes/no, 1/0, or empty)"
    }


def test_kinds_are_folded_to_lower_case_and_checked() -> None:
    assert parse_cells(Kind("purchase"), ["Visit", "", "email_open"]) == (
        ["visit", "purchase", "email_open"],
        {},
    )
    _values, errors = parse_cells(Kind("purchase"), ["2fa", "x" * 33])
    assert sorted(errors) == [0, 1]


def test_numbers_stay_exact_decimals() -> None:
    assert parse_cells(Number(), ["6", "2.55", "-1"]) == (
        [Decimal("6"), Decimal("2.55"), Decimal("-1")],
        {},
    )


@pytest.mark.parametrize("parser", [Text(5), Money(), DateTime(None), Flag(), Kind("x")])
def test_fast_and_per_cell_paths_agree(parser: Parser) -> None:
    cells = ["1", " 2 ", "", "0", "true"]
    fast, _errors = parse_cells(parser, cells)
    slow = []
    for cell in cells:
        try:
            slow.append(parser.one(cell))
        except FieldError:
            slow.append(None)
    assert fast == slow
