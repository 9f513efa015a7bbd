"""Money cells: exact decimals, amounts in integer minor units, and the limits that keep every
sum of amounts exact in 64 bits."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from itertools import repeat

from crm.core.importing.parsers import FieldError, shown

# Decimal conversions in this context are exact for every realistic value and refuse the rest:
# no spaces, underscores or signalling NaN, nothing of 10^16 or more (so minor units fit a
# 64-bit integer whatever the currency).
MONEY = Context(
    prec=40,
    Emax=15,
    Emin=-40,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, Overflow, DivisionByZero],
)
MONEY_LIMIT = Decimal(10) ** 16
_NUMBER_HINT = "write it with a point and no thousands separators or currency signs, e.g. 1234.50"


def _number(text: str) -> Decimal:
    """A finite decimal below 10^16 in size, or `FieldError`."""
    try:
        value = MONEY.create_decimal(text)
    except Overflow:
        raise FieldError(f"{shown(text)} is too large (the limit is 10^16)") from None
    except InvalidOperation:
        raise FieldError(f"{shown(text)} is not a decimal number; {_NUMBER_HINT}") from None
    if not value.is_finite():
        raise FieldError(f"{shown(text)} is not a finite number")
    return value


#: Amounts are below 10^12 currency units in absolute value (at most 999,999,999,999.99), that
#: is below 10^14 minor units: 92,233 of the largest fit in a 64-bit sum, and the importer also
#: keeps the sum of every stored amount inside 64 bits (`TOTAL_LIMIT_MINOR`).
AMOUNT_LIMIT_MINOR = 10**14
AMOUNT_LIMIT_TEXT = "999,999,999,999.99"
#: The sum of |amount| over all interactions stays below 2^62 minor units, so no sum crm takes
#: (a customer's revenue, a segment's, all of it; 64-bit integers in SQLite and numpy) overflows.
TOTAL_LIMIT_MINOR = 2**62


def too_large_amount(text: str) -> str:
    return (
        f"{shown(text)} is too large: an amount is at most {AMOUNT_LIMIT_TEXT} either way, "
        "so that sums of amounts stay exact"
    )


def checked_minor(value: Decimal, text: str) -> int:
    """`value` in minor units, or `FieldError` when it is beyond the amount limit."""
    minor = to_minor(value)
    if abs(minor) >= AMOUNT_LIMIT_MINOR:
        raise FieldError(too_large_amount(text))
    return minor


def to_minor(value: Decimal) -> int:
    """Money in minor units (cents): exact, with half-even rounding of any further decimals."""
    return round(value.scaleb(2))


class Money:
    """An exact decimal amount, stored as integer minor units (cents)."""

    required = False

    def many(self, cells: Sequence[str]) -> list[int]:
        # round() of a Decimal rounds half-even to an int; a NaN or infinity raises.
        minors = list(map(round, map(Decimal.scaleb, map(MONEY.create_decimal, cells), repeat(2))))
        if (
            max(minors, default=0) >= AMOUNT_LIMIT_MINOR
            or -min(minors, default=0) >= AMOUNT_LIMIT_MINOR
        ):
            raise ValueError("too large")
        return minors

    def one(self, cell: str) -> int | None:
        text = cell.strip()
        return checked_minor(_number(text), text) if text else None


class Number:
    """An exact decimal (a quantity, a unit price), kept as a Decimal for the arithmetic."""

    required = False

    def many(self, cells: Sequence[str]) -> list[Decimal]:
        values = list(map(MONEY.create_decimal, cells))
        if not all(map(Decimal.is_finite, values)):
            raise ValueError("not finite")
        return values

    def one(self, cell: str) -> Decimal | None:
        text = cell.strip()
        return _number(text) if text else None
