"""Normalisation rules, one value at a time, against values worked out by hand."""

from __future__ import annotations

import pytest
from crm_idic.identify.normalise import (
    name_words,
    normalise_email,
    normalise_phone,
    region_prefixes,
)
from crm_idic.identify.records import _names
from crm_idic.options import EmailDomainRule, IdentifyOptions

RULES = IdentifyOptions(
    email_domains={"example.com": EmailDomainRule(plus_addressing=True)}
).email_rules()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Anna.Weber@Example.COM ", "anna.weber@example.com"),  # case and spaces only
        ("anna.weber+shop@example.com", "anna.weber@example.com"),  # configured plus rule
        ("anna.weber+shop@example.net", "anna.weber+shop@example.net"),  # no rule: kept
        ("A.N.N.A+x@gmail.com", "anna@gmail.com"),  # Gmail: dots ignored, tag cut
        ("anna@googlemail.com", "anna@gmail.com"),  # the same mailbox under another name
        ("not an address", None),
        ("", None),
    ],
)
def test_email(raw: str, expected: str | None) -> None:
    assert normalise_email(raw, RULES) == expected


def test_region_prefixes_come_from_libphonenumber() -> None:
    assert region_prefixes("DE") == (49, "0")
    assert region_prefixes("US") == (1, "1")
    assert region_prefixes("IT")[0] == 39


@pytest.mark.parametrize(
    "raw",
    ["+49 30 1234567", "0049 30 1234567", "(+49) 301234567", "+49 (0)30 123-4567", "030 1234567"],
)
def test_phone_forms_of_one_german_number(raw: str) -> None:
    assert normalise_phone(raw, *region_prefixes("DE")) == "+49301234567"


def test_phone_without_region_keeps_digits_and_short_is_nothing() -> None:
    assert normalise_phone("030 1234567", None, None) == "0301234567"
    assert normalise_phone("12-3", None, None) is None


def test_names_fold_accents_and_forgive_order() -> None:
    assert name_words("Dr. Jürgen Groß-Müller") == ("jurgen", "gross", "muller")
    assert name_words("Søren Ærø") == ("soren", "aero")
    sorted_names, written, longest, initials = _names(["Müller, Anna", "anna MUELLER", None])
    assert sorted_names == ["anna muller", "anna mueller", None]
    assert written == ["muller anna", "anna mueller", None]
    assert longest == ["muller", "mueller", None]
    assert initials == ["am", "am", None]
